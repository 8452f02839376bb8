/**
 * Checks a value against a tensor schema: either plain JSON (nested arrays of numbers, as a
 * request body carries them) or a tfjs tensor. JSON is walked once; its numbers go straight
 * into a typed array, which becomes a tensor only after every check has passed.
 */
import { tf } from '../../core/runtime.js';
import { boundsText, describeValue, type IssueList } from './input-issues.js';
import type { TensorDtype, TensorInputSchema } from './input-schema.js';

export type TensorData = Float32Array | Int32Array | Uint8Array;

export interface ValidTensorInput {
  ok: true;
  kind: 'tensor';
  /** Concrete shape (null dimensions resolved). */
  shape: number[];
  dtype: TensorDtype;
  /** Row-major values (a copy; free to keep or change). */
  data: TensorData;
}

const FLOAT32_MAX = 3.4028234663852886e38;
const INT32: [number, number] = [-2147483648, 2147483647];
const UINT8: [number, number] = [0, 255];

/** What one value must satisfy, precomputed from the schema. */
interface LeafRule {
  lo: number;
  hi: number;
  integer: boolean;
  message: (v: unknown) => string;
}

function leafRule(schema: TensorInputSchema): LeafRule {
  const [rangeLo, rangeHi] = schema.range ?? [undefined, undefined];
  if (schema.dtype === 'float32') {
    const expected = `expected a finite number${boundsText(rangeLo, rangeHi)}`;
    return {
      lo: Math.max(rangeLo ?? -FLOAT32_MAX, -FLOAT32_MAX),
      hi: Math.min(rangeHi ?? FLOAT32_MAX, FLOAT32_MAX),
      integer: false,
      message: (v) =>
        typeof v === 'number' && Number.isFinite(v) && Math.abs(v) > FLOAT32_MAX
          ? `expected a number representable as float32 (magnitude <= ${FLOAT32_MAX}), got ${v}`
          : `${expected}, got ${describeValue(v)}`,
    };
  }
  const [typeLo, typeHi] = schema.dtype === 'int32' ? INT32 : UINT8;
  const lo = Math.max(typeLo, Math.ceil(rangeLo ?? typeLo));
  const hi = Math.min(typeHi, Math.floor(rangeHi ?? typeHi));
  return { lo, hi, integer: true, message: (v) => `expected an integer in [${lo}, ${hi}], got ${describeValue(v)}` };
}

function allocate(dtype: TensorDtype, size: number): TensorData {
  if (dtype === 'float32') return new Float32Array(size);
  return dtype === 'int32' ? new Int32Array(size) : new Uint8Array(size);
}

function indexPath(root: string, indices: ArrayLike<number>, depth: number): string {
  let out = root;
  for (let d = 0; d < depth; d++) out += `[${indices[d]}]`;
  return out;
}

function shapeText(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? '*' : d)).join(', ')}]`;
}

/**
 * Dimensions of the value: fixed ones from the schema, null ones from the first item at that
 * depth (every other item must then match it). undefined where the value is too broken to say.
 */
function resolveDims(schema: TensorInputSchema, value: unknown): (number | undefined)[] {
  const dims: (number | undefined)[] = [];
  let node = value;
  for (const fixed of schema.shape) {
    if (fixed !== null) dims.push(fixed);
    else dims.push(Array.isArray(node) && node.length > 0 ? node.length : undefined);
    node = Array.isArray(node) ? node[0] : undefined;
  }
  return dims;
}

/** Validates nested arrays of numbers; on success returns the values as a typed array. */
export function validateTensorJson(
  schema: TensorInputSchema,
  value: unknown,
  root: string,
  issues: IssueList,
): ValidTensorInput | undefined {
  const rank = schema.shape.length;
  const dims = resolveDims(schema, value);
  const rule = leafRule(schema);
  const indices = new Int32Array(rank);
  const { lo, hi, integer } = rule;

  // Pass 1 checks only. Sizes taken from the first items prove nothing until every item has
  // matched them, so nothing is allocated before then (a crafted body could claim a huge shape).
  const walk = (node: unknown, depth: number): void => {
    const fixed = schema.shape[depth] ?? null;
    const want = dims[depth];
    if (!Array.isArray(node)) {
      const items = fixed === null ? 'an array' : `an array of ${fixed} item${fixed === 1 ? '' : 's'}`;
      issues.add(
        () => indexPath(root, indices, depth),
        () => `expected ${items}, got ${describeValue(node)}`,
      );
      return;
    }
    const n = node.length;
    if (fixed === null && n === 0) {
      issues.add(() => indexPath(root, indices, depth), 'expected at least 1 item, got 0');
      return;
    }
    if (want !== undefined && n !== want) {
      const like = fixed === null ? ` (as ${indexPath(root, new Int32Array(rank), depth)} has)` : '';
      issues.add(
        () => indexPath(root, indices, depth),
        () => `expected ${want} item${want === 1 ? '' : 's'}${like}, got ${n}`,
      );
      return;
    }
    if (depth === rank - 1) {
      for (let i = 0; i < n; i++) {
        const v = node[i];
        if (typeof v === 'number' && v >= lo && v <= hi && (!integer || Number.isInteger(v))) continue;
        indices[depth] = i;
        issues.add(
          () => indexPath(root, indices, depth + 1),
          () => rule.message(v),
        );
      }
      return;
    }
    for (let i = 0; i < n; i++) {
      indices[depth] = i;
      walk(node[i], depth + 1);
    }
  };

  walk(value, 0);
  if (!issues.ok) return undefined;
  // Pass 2: the value is a full rectangular array of valid numbers; copy it row-major.
  const shape = dims as number[];
  const data = allocate(
    schema.dtype,
    shape.reduce((a, b) => a * b, 1),
  );
  flatten(value as unknown[], 0, rank, data, 0);
  return { ok: true, kind: 'tensor', shape, dtype: schema.dtype, data };
}

/** Copies validated nested arrays into `data` from `pos`; returns the next position. */
function flatten(node: unknown[], depth: number, rank: number, data: TensorData, pos: number): number {
  let at = pos;
  if (depth === rank - 1) {
    for (let i = 0; i < node.length; i++) data[at++] = node[i] as number;
    return at;
  }
  for (let i = 0; i < node.length; i++) at = flatten(node[i] as unknown[], depth + 1, rank, data, at);
  return at;
}

/** Row-major flat index → [i][j][k] path. */
function flatIndexPath(root: string, shape: readonly number[], flat: number): string {
  const indices = new Array<number>(shape.length);
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d] ?? 1;
    indices[d] = rest % size;
    rest = Math.floor(rest / size);
  }
  return indexPath(root, indices, shape.length);
}

/** The tfjs dtype that carries a schema dtype (tfjs has no uint8: int32 holds it). */
export function tfDtypeOf(dtype: TensorDtype): 'float32' | 'int32' {
  return dtype === 'float32' ? 'float32' : 'int32';
}

/**
 * True when every value of `x` lies in [lo, hi], decided on the backend with one download of three
 * scalars: min and max bound the values, and NaN (which min and max may skip) makes the sum NaN.
 * A false answer (or a sum that overflows) only means "look closer": the caller then reads the values.
 */
function allWithin(x: tf.Tensor, lo: number, hi: number): boolean {
  if (x.size === 0) return true;
  const [min = Number.NaN, max = Number.NaN, sum = Number.NaN] = tf.tidy(() =>
    tf.stack([tf.min(x), tf.max(x), tf.cast(tf.sum(x), 'float32')]).dataSync(),
  );
  return min >= lo && max <= hi && (x.dtype !== 'float32' || Number.isFinite(sum));
}

/**
 * Checks a tensor's dtype, rank, shape and every value. Valid tensors are checked on the backend
 * (no copy of the values); only a tensor with a bad value is read back, to name each bad element.
 */
export function checkTensor(schema: TensorInputSchema, x: tf.Tensor, root: string, issues: IssueList): boolean {
  const want = tfDtypeOf(schema.dtype);
  if (x.dtype !== want) {
    issues.add(root, `expected a ${want} tensor${schema.dtype === 'uint8' ? ' (uint8 values)' : ''}, got ${x.dtype}`);
    return false;
  }
  const expected = shapeText(schema.shape);
  if (x.rank !== schema.shape.length) {
    issues.add(
      root,
      `expected shape ${expected} (rank ${schema.shape.length}), got [${x.shape.join(', ')}] (rank ${x.rank})`,
    );
    return false;
  }
  const bad = x.shape.findIndex((d, i) => {
    const fixed = schema.shape[i];
    return fixed === null ? d < 1 : d !== fixed;
  });
  if (bad >= 0) {
    const fixed = schema.shape[bad];
    const need = fixed === null ? 'at least 1' : String(fixed);
    issues.add(
      root,
      `expected shape ${expected}, got [${x.shape.join(', ')}] (dimension ${bad} is ${x.shape[bad]}, expected ${need})`,
    );
    return false;
  }
  const rule = leafRule(schema);
  const { lo, hi } = rule;
  if (allWithin(x, lo, hi)) return true;
  const values = x.dataSync() as Float32Array | Int32Array;
  const before = issues.count;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v >= lo && v <= hi) continue; // NaN fails both comparisons
    issues.add(
      () => flatIndexPath(root, x.shape, i),
      () => rule.message(v),
    );
  }
  return issues.count === before;
}

/** Validates a tensor; on success returns a copy of its values. */
export function validateTensorValue(
  schema: TensorInputSchema,
  x: tf.Tensor,
  root: string,
  issues: IssueList,
): ValidTensorInput | undefined {
  if (!checkTensor(schema, x, root, issues) || !issues.ok) return undefined;
  const values = x.dataSync() as Float32Array | Int32Array;
  const data = schema.dtype === 'uint8' ? Uint8Array.from(values) : values.slice();
  return { ok: true, kind: 'tensor', shape: [...x.shape], dtype: schema.dtype, data };
}

/** The validated values as a tensor (uint8 as int32, tfjs has no uint8). The caller disposes it. */
export function toInputTensor(valid: ValidTensorInput): tf.Tensor {
  const data = valid.data instanceof Uint8Array ? Int32Array.from(valid.data) : valid.data;
  return tf.tensor(data, valid.shape, tfDtypeOf(valid.dtype));
}
