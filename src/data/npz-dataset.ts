/**
 * A Dataset from a NumPy .npz file holding an input array and a label array (e.g. the
 * output of np.savez('test.npz', x=images, y=labels)). Images come out NHWC in float32.
 */
import { basename } from 'node:path';
import { AegisInputError } from '../core/errors.js';
import { type Dataset, validateDataset } from './dataset.js';
import { FASHION_MNIST_CLASSES } from './fashion-mnist.js';
import { type NdArray, toFloat32 } from './npy.js';
import { readNpzFile } from './npz.js';

export interface NpzDatasetOptions {
  /** Array names; by default the first pair found of x/y, x_test/y_test, x_train/y_train, images/labels, X/Y. */
  x?: string;
  y?: string;
  /** Class names, or 'fashion-mnist' for its 10 names; default "0".."k-1" with k = max label + 1. */
  classNames?: string[] | 'fashion-mnist';
  /**
   * Image layout of x. 'auto' treats rank-4 x with dim 1 in {1,3} and last dim not in {1,3}
   * as NCHW; rank-3 x [n,h,w] gets a channel axis.
   */
  layout?: 'auto' | 'nchw' | 'nhwc';
  /** Divide uint8 inputs by 255 so images land in [0, 1] (default true). */
  scaleUint8?: boolean;
  name?: string;
}

const PAIRS: [string, string][] = [
  ['x', 'y'],
  ['x_test', 'y_test'],
  ['x_train', 'y_train'],
  ['images', 'labels'],
  ['X', 'Y'],
];

function pickArrays(arrays: Record<string, NdArray>, path: string, opts: NpzDatasetOptions): [string, string] {
  const names = Object.keys(arrays);
  const missing = (n: string) =>
    new AegisInputError(`${path}: no array named '${n}' (arrays: ${names.join(', ')}); pick them with --x/--y`);
  if (opts.x !== undefined || opts.y !== undefined) {
    const pair = PAIRS.find(([x, y]) => x === opts.x || y === opts.y);
    const x = opts.x ?? pair?.[0] ?? 'x';
    const y = opts.y ?? pair?.[1] ?? 'y';
    if (!(x in arrays)) throw missing(x);
    if (!(y in arrays)) throw missing(y);
    return [x, y];
  }
  const found = PAIRS.filter(([x, y]) => x in arrays && y in arrays);
  if (found.length === 0) {
    throw new AegisInputError(
      `${path}: found no input/label pair (looked for ${PAIRS.map((p) => p.join('/')).join(', ')}; arrays: ${names.join(', ')})`,
    );
  }
  if (found.length > 1) {
    throw new AegisInputError(
      `${path}: several input/label pairs (${found.map((p) => p.join('/')).join(', ')}); choose one with the x/y options`,
    );
  }
  return found[0];
}

/** Labels as int32 class indices: integer dtypes (int64 range-checked), integral floats, or one-hot rows. */
export function labelsToInt32(arr: NdArray, where: string): Int32Array {
  const { shape, data } = arr;
  if (shape.length === 2 && shape[1] > 1) return oneHotToIndex(arr, where);
  if (shape.length !== 1 && !(shape.length === 2 && shape[1] === 1)) {
    throw new AegisInputError(`${where}: labels must have shape [n] (or [n,1], or one-hot [n,k]), got [${shape}]`);
  }
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Number(data[i]);
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      throw new AegisInputError(`${where}: label ${String(data[i])} at index ${i} is not a valid class index`);
    }
    out[i] = v;
  }
  return out;
}

function oneHotToIndex(arr: NdArray, where: string): Int32Array {
  const [n, k] = arr.shape;
  const values = toFloat32(arr);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let hot = -1;
    for (let j = 0; j < k; j++) {
      const v = values[i * k + j];
      if (v === 1 && hot === -1) hot = j;
      else if (v !== 0) {
        throw new AegisInputError(`${where}: row ${i} of the [${arr.shape}] label array is not one-hot`);
      }
    }
    if (hot === -1) throw new AegisInputError(`${where}: row ${i} of the [${arr.shape}] label array is all zero`);
    out[i] = hot;
  }
  return out;
}

/** NCHW [n,c,h,w] → NHWC [n,h,w,c]. */
export function nchwToNhwc(x: Float32Array, shape: number[]): Float32Array {
  const [n, c, h, w] = shape;
  const out = new Float32Array(x.length);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    const src = b * c * plane;
    for (let ch = 0; ch < c; ch++) {
      const from = src + ch * plane;
      for (let p = 0; p < plane; p++) out[src + p * c + ch] = x[from + p];
    }
  }
  return out;
}

/** True when a rank-4 image shape looks channels-first: dim 1 is 1 or 3 and the last dim is not. */
export function looksNchw(shape: readonly number[]): boolean {
  return shape.length === 4 && (shape[1] === 1 || shape[1] === 3) && shape[3] !== 1 && shape[3] !== 3;
}

function toInputs(arr: NdArray, where: string, opts: NpzDatasetOptions): { x: Float32Array; shape: number[] } {
  if (arr.dtype === 'bool' || arr.shape.length < 2) {
    throw new AegisInputError(
      `${where}: inputs must be a numeric array [n, ...features], got ${arr.dtype} [${arr.shape}]`,
    );
  }
  let x = toFloat32(arr);
  if (arr.dtype === 'uint8' && opts.scaleUint8 !== false) x = x.map((v) => v / 255);
  let shape = [...arr.shape];
  const layout = opts.layout ?? 'auto';
  if (shape.length === 3) {
    shape = [...shape, 1];
  } else if (layout === 'nchw' || (layout === 'auto' && looksNchw(shape))) {
    if (shape.length !== 4) throw new AegisInputError(`${where}: layout 'nchw' needs rank-4 inputs, got [${shape}]`);
    x = nchwToNhwc(x, shape);
    shape = [shape[0], shape[2], shape[3], shape[1]];
  }
  return { x, shape };
}

function classNamesFor(y: Int32Array, where: string, opts: NpzDatasetOptions): string[] {
  let max = -1;
  for (const v of y) max = Math.max(max, v);
  if (opts.classNames === 'fashion-mnist') {
    if (max > 9) throw new AegisInputError(`${where}: label ${max} does not fit Fashion-MNIST's 10 classes`);
    return [...FASHION_MNIST_CLASSES];
  }
  if (opts.classNames) return [...opts.classNames];
  return Array.from({ length: max + 1 }, (_, i) => String(i));
}

/** Loads and validates a Dataset from an .npz file. */
export async function loadNpzDataset(path: string, opts: NpzDatasetOptions = {}): Promise<Dataset> {
  const arrays = readNpzFile(path);
  const [xName, yName] = pickArrays(arrays, path, opts);
  const { x, shape } = toInputs(arrays[xName], `${path}: '${xName}'`, opts);
  const y = labelsToInt32(arrays[yName], `${path}: '${yName}'`);
  if (y.length !== shape[0]) {
    throw new AegisInputError(`${path}: '${xName}' has ${shape[0]} examples but '${yName}' has ${y.length} labels`);
  }
  return validateDataset({
    name: opts.name ?? basename(path).replace(/\.npz$/i, ''),
    x,
    shape,
    y,
    classNames: classNamesFor(y, path, opts),
    source: path,
  });
}
