/**
 * joblib (joblib/numpy_pickle.py) writes each NumPy array as a NumpyArrayWrapper object in the
 * pickle, then the array's raw bytes straight into the stream right after the BUILD opcode
 * (one padding-length byte and padding when `numpy_array_alignment_bytes` is set), or a
 * nested protocol-2 pickle for object arrays. The pickle resumes after them. This works out
 * from the wrapper's state how many raw bytes to skip.
 */
import { asGlobal, asObj, asSeq, classOf, dictGet, fullName, textOf, type Value } from './pickle-values.js';

export type JoblibArrayLayout =
  /** `bytes` raw bytes follow, after a padding byte and padding when `aligned`. */
  | { kind: 'raw'; bytes: number; aligned: boolean; describe: string }
  /** An object array: a nested pickle follows. */
  | { kind: 'pickle'; describe: string }
  /** Old joblib (< 0.10): the array lives in a separate file next to the pickle. */
  | { kind: 'external'; file: string }
  /** A wrapper whose layout cannot be worked out: the rest of the stream cannot be located. */
  | { kind: 'unknown'; reason: string };

const WRAPPERS = new Set([
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper',
]);
const OLD_WRAPPERS = new Set([
  'joblib.numpy_pickle_compat.NDArrayWrapper',
  'joblib.numpy_pickle_compat.ZNDArrayWrapper',
  'joblib.numpy_pickle.NDArrayWrapper',
  'joblib.numpy_pickle.ZNDArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.NDArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.ZNDArrayWrapper',
]);

/** Bytes per item and whether items are Python objects, from a pickled numpy.dtype('f8', False, True). */
export function dtypeItem(dtype: Value | undefined): { itemsize: number; hasObject: boolean } | undefined {
  const obj = asObj(dtype);
  const callee = asGlobal(obj?.callee);
  if (obj === undefined || callee === undefined || !/^numpy(\._core|\.core)?\.dtype$/.test(fullName(callee)))
    return undefined;
  const spec = textOf(asSeq(obj.args)?.items[0]);
  const m = spec === undefined ? null : /^[<>|=]?([a-zA-Z?])(\d*)/.exec(spec);
  if (!m) return undefined;
  const state = asSeq(obj.state)?.items ?? [];
  // State: (version, endian, subarray, names, fields, elsize, alignment, flags[, metadata]).
  const elsize = typeof state[5] === 'number' ? state[5] : -1;
  const flags = typeof state[7] === 'number' ? state[7] : 0;
  const kind = m[1];
  const n = m[2] === '' ? (kind === '?' ? 1 : Number.NaN) : Number(m[2]);
  const hasObject = kind === 'O' || (flags & 1) === 1;
  const itemsize = elsize > 0 ? elsize : kind === 'U' ? 4 * n : n;
  return Number.isFinite(itemsize) && itemsize >= 0 ? { itemsize, hasObject } : undefined;
}

function shapeCount(shape: Value | undefined): number | undefined {
  const seq = asSeq(shape);
  if (seq === undefined || seq.n !== seq.items.length) return undefined;
  let count = 1;
  for (const d of seq.items) {
    const dim = typeof d === 'bigint' ? Number(d) : d;
    if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 0) return undefined;
    count *= dim;
  }
  return count;
}

/** The layout after BUILD on `inst` with `state`, or undefined when `inst` is not a joblib array wrapper. */
export function joblibArrayLayout(inst: Value, state: Value): JoblibArrayLayout | undefined {
  const cls = classOf(inst);
  if (cls === undefined) return undefined;
  const name = fullName(cls);
  if (OLD_WRAPPERS.has(name)) return { kind: 'external', file: textOf(dictGet(state, 'filename')) ?? '?' };
  if (!WRAPPERS.has(name)) return undefined;
  const item = dtypeItem(dictGet(state, 'dtype'));
  if (item === undefined) return { kind: 'unknown', reason: 'its dtype cannot be read' };
  const shape = dictGet(state, 'shape');
  const count = shapeCount(shape);
  if (count === undefined) return { kind: 'unknown', reason: 'its shape cannot be read' };
  const describe = `array of ${count} items`;
  if (item.hasObject) return { kind: 'pickle', describe };
  const bytes = count * item.itemsize;
  if (!Number.isSafeInteger(bytes))
    return { kind: 'unknown', reason: `its size (${count} × ${item.itemsize}) is too large` };
  const alignment = dictGet(state, 'numpy_array_alignment_bytes');
  const aligned = alignment !== undefined && alignment !== null;
  return { kind: 'raw', bytes, aligned, describe: `${describe} × ${item.itemsize} bytes` };
}
