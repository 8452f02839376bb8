/**
 * Declarative input schemas: what a model accepts, as plain JSON, checked with zod when read.
 *
 * - tensor:  a dense array of numbers (`shape`, null = any length, e.g. the batch), its dtype,
 *            an optional value range and finite values only;
 * - tabular: records of named features (numbers with optional bounds, categories from a list);
 * - text:    strings with a length limit, allowed character classes and Unicode normalisation.
 *
 * A schema is data, so it can sit in a model's metadata (aegis.json) and be served by the
 * gateway; validate-input.ts checks values (JSON request bodies or tensors) against it.
 */
import { z } from 'zod';
import { AegisInputError } from '../../core/errors.js';
import type { TabularSchema } from '../../data/tabular-schema.js';
import type { Model, ModelInfo } from '../../models/model.js';

export const TENSOR_DTYPES = ['float32', 'int32', 'uint8'] as const;
export type TensorDtype = (typeof TENSOR_DTYPES)[number];

/**
 * Character classes a text schema may allow (Unicode properties; see text-characters.ts):
 * letters \p{L}, marks \p{M}, digits \p{Nd}, numbers \p{N}, punctuation \p{P}, symbols \p{S},
 * whitespace \p{White_Space}, emoji (pictographs, modifiers, flags, ZWJ, VS16, keycaps, tags),
 * ascii (printable ASCII U+0020–U+007E).
 */
export const CHAR_CLASSES = [
  'letters',
  'marks',
  'digits',
  'numbers',
  'punctuation',
  'symbols',
  'whitespace',
  'emoji',
  'ascii',
] as const;
export type CharClass = (typeof CHAR_CLASSES)[number];

export const NORMALIZATION_FORMS = ['NFC', 'NFKC'] as const;

const finiteNumber = z.number().finite();

const tensorSchema = z
  .object({
    kind: z.literal('tensor'),
    /** Full shape including the batch axis; null = any (positive) length. */
    shape: z
      .array(z.union([z.number().int().positive(), z.null()]), {
        error: 'shape must be an array of positive integers or null',
      })
      .min(1, { error: 'shape needs at least one dimension' }),
    dtype: z.enum(TENSOR_DTYPES),
    /** Inclusive [min, max] every value must lie in. */
    range: z.tuple([finiteNumber, finiteNumber]).optional(),
    /** Always true: NaN and ±Infinity are never accepted. Written out so the schema says so. */
    finite: z.literal(true).default(true),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.range && !(s.range[0] <= s.range[1])) {
      ctx.addIssue({ code: 'custom', path: ['range'], message: `min ${s.range[0]} > max ${s.range[1]}` });
    }
  });

const numberFeature = z
  .object({
    name: z.string().min(1),
    type: z.literal('number'),
    min: finiteNumber.optional(),
    max: finiteNumber.optional(),
    integer: z.boolean().optional(),
    /** A missing value (absent, null or '') is accepted; the encoder fills it in. Default false. */
    optional: z.boolean().optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.min !== undefined && f.max !== undefined && !(f.min <= f.max)) {
      ctx.addIssue({ code: 'custom', path: ['max'], message: `min ${f.min} > max ${f.max}` });
    }
  });

const categoryFeature = z
  .object({
    name: z.string().min(1),
    type: z.literal('category'),
    values: z.array(z.string()).min(1, { error: 'a category feature needs at least one value' }),
    optional: z.boolean().optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.values.forEach((v, i) => {
      if (seen.has(v)) ctx.addIssue({ code: 'custom', path: ['values', i], message: `duplicate value '${v}'` });
      seen.add(v);
    });
  });

const tabularSchema = z
  .object({
    kind: z.literal('tabular'),
    features: z
      .array(z.discriminatedUnion('type', [numberFeature, categoryFeature]))
      .min(1, { error: 'a tabular schema needs at least one feature' }),
    /** Fields accepted and ignored (e.g. the label column or dropped ID columns of a CSV). */
    ignore: z.array(z.string()).optional(),
    /** Accept (and drop) fields the schema does not name. Default false: they are an error. */
    allowUnknownFields: z.boolean().optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    s.features.forEach((f, i) => {
      if (seen.has(f.name)) {
        ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `duplicate feature '${f.name}'` });
      }
      seen.add(f.name);
    });
    s.ignore?.forEach((name, i) => {
      if (seen.has(name)) {
        ctx.addIssue({ code: 'custom', path: ['ignore', i], message: `'${name}' is a feature and cannot be ignored` });
      }
    });
  });

const textSchema = z
  .object({
    kind: z.literal('text'),
    /** Most characters (Unicode code points, after normalisation). */
    maxLength: z.number().int().positive(),
    minLength: z.number().int().nonnegative().optional(),
    /** Allowed classes; with allowedPattern, a character is allowed when either allows it. */
    charClasses: z.array(z.enum(CHAR_CLASSES)).min(1).optional(),
    /** Regular expression source (u flag) that one allowed character matches, e.g. "[a-z0-9 ]". */
    allowedPattern: z.string().min(1).optional(),
    /** Unicode normalisation applied before the checks (and returned). */
    normalization: z.enum(NORMALIZATION_FORMS).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.minLength !== undefined && s.minLength > s.maxLength) {
      ctx.addIssue({ code: 'custom', path: ['minLength'], message: `${s.minLength} > maxLength ${s.maxLength}` });
    }
    if (s.allowedPattern !== undefined) {
      try {
        new RegExp(s.allowedPattern, 'u');
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['allowedPattern'], message: (error as Error).message });
      }
    }
  });

export const inputSchemaShape = z.discriminatedUnion('kind', [tensorSchema, tabularSchema, textSchema]);

export type InputSchema = z.infer<typeof inputSchemaShape>;
export type TensorInputSchema = z.infer<typeof tensorSchema>;
export type TabularInputSchema = z.infer<typeof tabularSchema>;
export type TabularFeature = TabularInputSchema['features'][number];
export type TextInputSchema = z.infer<typeof textSchema>;

/** A zod issue path as people write it: features[2].values[0]. */
export function formatSchemaPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(root)';
}

/** Checks parsed JSON as an input schema; errors name every bad field. `source` names the schema. */
export function parseInputSchema(json: unknown, source = 'input schema'): InputSchema {
  const parsed = inputSchemaShape.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    if (keys.length > 0) {
      const at = issue.path.length > 0 ? `${formatSchemaPath(issue.path)}.` : '';
      return keys.map((k) => `${at}${k}: unknown field`).join('; ');
    }
    return `${formatSchemaPath(issue.path)}: ${issue.message}`;
  });
  throw new AegisInputError(`${source}: not a valid input schema: ${problems.join('; ')}`);
}

/** The default schema of a model: [any batch, ...inputShape] float32 values in its input range. */
export function schemaForModel(model: Model | ModelInfo): TensorInputSchema {
  const info = 'info' in model ? model.info : model;
  return {
    kind: 'tensor',
    shape: [null, ...info.inputShape],
    dtype: 'float32',
    range: [info.inputRange[0], info.inputRange[1]],
    finite: true,
  };
}

export interface TabularDerivation {
  /**
   * 'none' (default): numeric features need only be finite — the encoder clips values outside
   * the training range, and test data routinely exceed it. 'training': the training min/max
   * become hard bounds (stricter, for features with a fixed domain).
   */
  bounds?: 'none' | 'training';
  /** Accept missing values (the encoder uses the training mean / all-zero one-hot). Default false. */
  allowMissing?: boolean;
}

/**
 * The record schema of a model trained on CSV data, from its saved tabular schema
 * (load-model.ts tabularSchemaOf): one feature per column; the label and dropped columns are ignored.
 */
export function tabularInputSchema(tabular: TabularSchema, options: TabularDerivation = {}): TabularInputSchema {
  const optional = options.allowMissing ? { optional: true } : {};
  const features: TabularFeature[] = tabular.columns.map((c) =>
    c.kind === 'numeric'
      ? {
          name: c.name,
          type: 'number',
          ...(options.bounds === 'training' ? { min: c.min, max: c.max } : {}),
          ...optional,
        }
      : { name: c.name, type: 'category', values: [...c.categories], ...optional },
  );
  return { kind: 'tabular', features, ignore: [tabular.label.column, ...tabular.dropped] };
}
