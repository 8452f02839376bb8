/**
 * The body of POST /v1/models/:name/predict, checked against the model's input schema before any
 * model call. Three forms are accepted:
 *
 *   {"inputs": [[[[0.1], …]]]}                          nested arrays [n, ...inputShape] (NHWC images)
 *   {"inputs": [[0.1, …], …], "shape": [n, 28, 28, 1]}  flat rows + shape: the HttpModel protocol
 *                                                       (src/models/http-model.ts), so every Aegis
 *                                                       attack can target the gateway
 *   {"inputs": [{"age": 39, "proto": "tcp"}, …]}        records, for models trained on CSV data
 *
 * Every problem is an issue with an exact path (`inputs[0][14][3][0]`, `shape[1]`), listed in the
 * 400 answer; n is capped by server.maxBatch before any value is walked.
 */
import { encodeTabularFeatures } from '../../data/tabular-schema.js';
import { describeValue, type InputIssue } from '../../defenses/validation/input-issues.js';
import type { TensorInputSchema } from '../../defenses/validation/input-schema.js';
import { validateInput } from '../../defenses/validation/validate-input.js';
import { GatewayError } from '../errors.js';
import type { ServedModel } from '../model-registry.js';

export interface PredictInputs {
  /** Row-major values, n × rowSize. */
  rows: Float32Array;
  n: number;
}

const FIELDS = new Set(['inputs', 'shape']);

/** Flat-row schemas per model, built once. */
const flatSchemas = new WeakMap<ServedModel, TensorInputSchema>();

function flatSchema(served: ServedModel): TensorInputSchema {
  let schema = flatSchemas.get(served);
  if (!schema) {
    schema = { ...served.tensorSchema, shape: [null, served.rowSize] };
    flatSchemas.set(served, schema);
  }
  return schema;
}

/** Longest issue path or message answered: field names come from the caller, who could send 4 MiB of one. */
const MAX_ISSUE_TEXT = 200;

function clip(text: string): string {
  return text.length > MAX_ISSUE_TEXT ? `${text.slice(0, MAX_ISSUE_TEXT)}…` : text;
}

function invalid(issues: InputIssue[], omitted = 0): GatewayError {
  return new GatewayError('invalid_input', 'the inputs do not match what the model accepts', {
    issues: issues.map((issue) => ({ ...issue, path: clip(issue.path), message: clip(issue.message) })),
    omitted,
    stage: 'validation',
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Examples a body claims (for limits, before validation): the length of `inputs`, at least 1, at most maxBatch. */
export function claimedExamples(body: unknown, maxBatch: number): number {
  const inputs = isRecord(body) ? body.inputs : undefined;
  const n = Array.isArray(inputs) ? inputs.length : 1;
  return Math.min(Math.max(n, 1), maxBatch);
}

/** Checks and flattens a predict body; throws GatewayError 'invalid_input' with every issue. */
export function readPredictBody(body: unknown, served: ServedModel, maxBatch: number): PredictInputs {
  if (!isRecord(body)) {
    throw invalid([{ path: '(body)', message: `expected a JSON object {"inputs": …}, got ${describeValue(body)}` }]);
  }
  const unknown = Object.keys(body).filter((k) => !FIELDS.has(k));
  if (unknown.length > 0) {
    throw invalid(unknown.slice(0, 10).map((k) => ({ path: k.slice(0, 64), message: 'unknown field' })));
  }
  const { inputs, shape } = body;
  if (!Array.isArray(inputs)) {
    throw invalid([{ path: 'inputs', message: `expected an array of examples, got ${describeValue(inputs)}` }]);
  }
  if (inputs.length === 0) throw invalid([{ path: 'inputs', message: 'expected at least 1 example, got 0' }]);
  if (inputs.length > maxBatch) {
    throw invalid([{ path: 'inputs', message: `expected at most ${maxBatch} examples, got ${inputs.length}` }]);
  }
  const n = inputs.length;
  if (shape !== undefined) return readFlatRows(inputs, shape, served);
  if (served.records && isRecord(inputs[0])) return readRecords(inputs, served);
  const fast = fastRows(inputs, [n, ...served.info.inputShape], served.tensorSchema);
  if (fast) return { rows: fast, n };
  const result = validateInput(served.tensorSchema, inputs);
  if (!result.ok) throw invalid(result.issues, result.omitted);
  return { rows: toFloat32(result.kind === 'tensor' ? result.data : new Float32Array()), n };
}

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The hot path: one tight pass that copies a well-formed batch straight into a Float32Array,
 * accepting exactly what validateInput accepts for a float32 tensor schema (numbers within the
 * range, so no NaN or ±Infinity). Anything else returns null, and validateInput then names every
 * issue. Saves the general walker's bookkeeping on the requests that pass (nearly all of them).
 */
function fastRows(inputs: unknown[], shape: readonly number[], schema: TensorInputSchema): Float32Array | null {
  if (schema.dtype !== 'float32') return null;
  const lo = Math.max(schema.range?.[0] ?? -FLOAT32_MAX, -FLOAT32_MAX);
  const hi = Math.min(schema.range?.[1] ?? FLOAT32_MAX, FLOAT32_MAX);
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  return copyValid(inputs, shape, 0, lo, hi, out, 0) === out.length ? out : null;
}

/** Copies `node` (depth `depth` of `shape`) into `out` from `at`; the next position, or -1 at the first bad item. */
function copyValid(
  node: unknown,
  shape: readonly number[],
  depth: number,
  lo: number,
  hi: number,
  out: Float32Array,
  at: number,
): number {
  if (!Array.isArray(node) || node.length !== shape[depth]) return -1;
  let pos = at;
  if (depth === shape.length - 1) {
    for (let i = 0; i < node.length; i++) {
      const v = node[i];
      if (typeof v !== 'number' || !(v >= lo && v <= hi)) return -1;
      out[pos++] = v;
    }
    return pos;
  }
  for (let i = 0; i < node.length; i++) {
    pos = copyValid(node[i], shape, depth + 1, lo, hi, out, pos);
    if (pos < 0) return -1;
  }
  return pos;
}

function readFlatRows(inputs: unknown[], shape: unknown, served: ServedModel): PredictInputs {
  const n = inputs.length;
  const want = [n, ...served.info.inputShape];
  const ok =
    Array.isArray(shape) &&
    shape.length === want.length &&
    shape.every((d, i) => typeof d === 'number' && d === want[i]);
  if (!ok) {
    const got = Array.isArray(shape) ? `[${shape.slice(0, 8).map(describeDim).join(', ')}]` : describeValue(shape);
    throw invalid([
      { path: 'shape', message: `expected [${want.join(', ')}] (examples, then the model's input shape), got ${got}` },
    ]);
  }
  const fast = fastRows(inputs, [n, served.rowSize], served.tensorSchema);
  if (fast) return { rows: fast, n };
  const result = validateInput(flatSchema(served), inputs);
  if (!result.ok) throw invalid(result.issues, result.omitted);
  return { rows: toFloat32(result.kind === 'tensor' ? result.data : new Float32Array()), n };
}

function readRecords(inputs: unknown[], served: ServedModel): PredictInputs {
  const records = served.records;
  if (!records) throw invalid([{ path: 'inputs', message: 'this model takes numeric inputs, not records' }]);
  const result = validateInput(records.schema, inputs, { root: 'inputs' });
  if (!result.ok) throw invalid(result.issues, result.omitted);
  if (result.kind !== 'tabular') throw invalid([{ path: 'inputs', message: 'expected records' }]);
  const encoded = encodeTabularFeatures(records.tabular, result.records);
  if (encoded.x.length !== inputs.length * served.rowSize) {
    throw new GatewayError('internal', 'internal error');
  }
  return { rows: encoded.x, n: inputs.length };
}

function describeDim(d: unknown): string {
  return typeof d === 'number' ? String(d) : describeValue(d);
}

function toFloat32(data: Float32Array | Int32Array | Uint8Array): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}
