/**
 * The input schema of a saved model, from its metadata (aegis.json): an explicit `inputSchema`
 * entry when there is one, else the record schema of a model trained on CSV data (`tabular`),
 * else the tensor schema of its input shape and range. What the gateway validates requests with.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AegisInputError } from '../../core/errors.js';
import { parseSchema } from '../../data/tabular-schema.js';
import { AEGIS_JSON, aegisMetaSchema } from '../../models/tfjs-model.js';
import { type InputSchema, parseInputSchema, tabularInputSchema } from './input-schema.js';

/** The metadata key of an explicit schema (aegis.json is read leniently, so the key can be added by hand). */
export const INPUT_SCHEMA_KEY = 'inputSchema';

/** The schema described by parsed aegis.json contents; `source` names the file in errors. */
export function inputSchemaFromMeta(meta: unknown, source = AEGIS_JSON): InputSchema {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new AegisInputError(`${source}: expected a JSON object`);
  }
  const explicit = (meta as Record<string, unknown>)[INPUT_SCHEMA_KEY];
  if (explicit !== undefined) return parseInputSchema(explicit, `${source}: ${INPUT_SCHEMA_KEY}`);
  const parsed = aegisMetaSchema.safeParse(meta);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AegisInputError(`${source}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const { tabular, inputShape, inputRange } = parsed.data;
  if (tabular !== undefined) return tabularInputSchema(parseSchema(tabular, `${source}: tabular`));
  return { kind: 'tensor', shape: [null, ...inputShape], dtype: 'float32', range: inputRange, finite: true };
}

/** The input schema of a saved model directory (see inputSchemaFromMeta). */
export function loadInputSchema(modelDir: string): InputSchema {
  const path = join(modelDir, AEGIS_JSON);
  if (!existsSync(path)) throw new AegisInputError(`${path}: not found (a saved Aegis model directory has one)`);
  let meta: unknown;
  try {
    meta = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AegisInputError(`${path}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return inputSchemaFromMeta(meta, path);
}
