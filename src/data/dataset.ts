/**
 * A Dataset: a dense float32 tensor of examples plus integer labels and class names.
 * Images are NHWC ([n, height, width, channels]) in [0, 1]; tabular data is [n, features].
 * Functions here are pure: they return new datasets and never mutate their input.
 */
import { AegisInputError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { tf } from '../core/runtime.js';

export interface Dataset {
  name: string;
  /** Row-major values, length = product(shape). */
  x: Float32Array;
  /** [n, ...featureShape]. */
  shape: number[];
  /** Class index per example, in [0, classNames.length). */
  y: Int32Array;
  classNames: string[];
  /** Where it was read from. */
  source?: string;
}

export function size(data: Dataset): number {
  return data.shape[0] ?? 0;
}

/** Shape of one example (without the batch dimension). */
export function featureShape(data: Dataset): number[] {
  return data.shape.slice(1);
}

export function featureSize(data: Dataset): number {
  return featureShape(data).reduce((a, b) => a * b, 1);
}

/**
 * Checks that values are finite, the shape matches the data length, and labels are in
 * range. Raises AegisInputError with the first problem found (index and value).
 */
export function validateDataset(data: Dataset): Dataset {
  const n = size(data);
  const per = featureSize(data);
  if (data.shape.length < 2 || data.shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new AegisInputError(
      `dataset '${data.name}': shape [${data.shape}] must be [n, ...features] with positive sizes`,
    );
  }
  if (data.x.length !== n * per) {
    throw new AegisInputError(
      `dataset '${data.name}': shape [${data.shape}] needs ${n * per} values but has ${data.x.length}`,
    );
  }
  if (data.y.length !== n) {
    throw new AegisInputError(`dataset '${data.name}': ${n} examples but ${data.y.length} labels`);
  }
  for (let i = 0; i < data.x.length; i++) {
    if (!Number.isFinite(data.x[i])) {
      throw new AegisInputError(
        `dataset '${data.name}': value ${data.x[i]} at example ${Math.floor(i / per)} (flat index ${i}) is not finite`,
      );
    }
  }
  const k = data.classNames.length;
  for (let i = 0; i < n; i++) {
    const label = data.y[i] ?? -1;
    if (!(label >= 0 && label < k)) {
      throw new AegisInputError(`dataset '${data.name}': label ${label} of example ${i} is outside [0, ${k - 1}]`);
    }
  }
  return data;
}

/** Examples [start, end). */
export function slice(data: Dataset, start: number, end = size(data)): Dataset {
  const per = featureSize(data);
  const s = Math.max(0, Math.min(start, size(data)));
  const e = Math.max(s, Math.min(end, size(data)));
  return {
    ...data,
    x: data.x.slice(s * per, e * per),
    y: data.y.slice(s, e),
    shape: [e - s, ...featureShape(data)],
  };
}

/** The examples at `indices`, in that order. */
export function take(data: Dataset, indices: ArrayLike<number>): Dataset {
  const per = featureSize(data);
  const x = new Float32Array(indices.length * per);
  const y = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i] as number;
    x.set(data.x.subarray(j * per, (j + 1) * per), i * per);
    y[i] = data.y[j] as number;
  }
  return { ...data, x, y, shape: [indices.length, ...featureShape(data)] };
}

/** Seeded shuffle. */
export function shuffle(data: Dataset, rng: Rng): Dataset {
  return take(data, rng.permutation(size(data)));
}

/** Seeded split into two parts; `fraction` goes to the first. */
export function split(data: Dataset, fraction: number, rng: Rng): [Dataset, Dataset] {
  const order = rng.permutation(size(data));
  const cut = Math.round(fraction * size(data));
  return [take(data, order.subarray(0, cut)), take(data, order.subarray(cut))];
}

/** The examples as one tensor [n, ...features] (caller disposes). */
export function toTensor(data: Dataset): tf.Tensor {
  return tf.tensor(data.x, data.shape, 'float32');
}
