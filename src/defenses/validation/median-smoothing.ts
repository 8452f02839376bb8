// Xu, Evans & Qi 2018, "Feature Squeezing: Detecting Adversarial Examples in Deep Neural Networks", NDSS.
/**
 * Median smoothing: each value becomes the median of its size×size neighbourhood, per channel
 * of NHWC images — as scipy.ndimage.median_filter(x, size=(1, size, size, 1), mode='reflect') in
 * the authors' code: edges mirror the image including the edge value (d c b a | a b c d), an even
 * window covers offsets −size/2 … size/2 − 1, and the median of an even count is the upper of
 * the two middle values (scipy's rank size²/2). Xu et al. use 2×2 (MNIST, CIFAR-10, ImageNet)
 * and 3×3 (ImageNet).
 *
 * The median is computed with a sorting network of min/max ops (the median-of-9 network of
 * Paeth as in Devillard's opt_med9; the optimal 4-sorter; odd-even transposition otherwise), so
 * it runs as whole-tensor ops and is differentiable almost everywhere: its gradient flows to the
 * selected neighbour, as through max pooling. The smoothed model therefore keeps the wrapped
 * model's access, and white-box attacks differentiate through the filter (an adaptive attack).
 */
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import type { Model } from '../../models/model.js';
import type { Defense } from '../defense.js';
import { intParam } from './defense-params.js';
import { SanitizedModel, type Sanitizer } from './sanitized-model.js';

export const DEFAULT_MEDIAN_SIZE = 2;
export const MAX_MEDIAN_SIZE = 5;

type Comparator = readonly [number, number];

/** Paeth's median-of-9 network (Devillard, "Fast median search", opt_med9): median at index 4. */
// biome-ignore format: ten comparators per line
const MEDIAN9: readonly Comparator[] = [
  [1, 2], [4, 5], [7, 8], [0, 1], [3, 4], [6, 7], [1, 2], [4, 5], [7, 8], [0, 3],
  [5, 8], [4, 7], [3, 6], [1, 4], [2, 5], [4, 7], [4, 2], [6, 4], [4, 2],
];
/** Optimal sorting network for 4 values. */
const SORT4: readonly Comparator[] = [
  [0, 1],
  [2, 3],
  [0, 2],
  [1, 3],
  [1, 2],
];

/** Odd-even transposition sort: k rounds of neighbour comparisons sort k values. */
function oddEvenTransposition(k: number): Comparator[] {
  const net: Comparator[] = [];
  for (let round = 0; round < k; round++) {
    for (let i = round % 2; i + 1 < k; i += 2) net.push([i, i + 1]);
  }
  return net;
}

function networkFor(k: number): readonly Comparator[] {
  if (k === 9) return MEDIAN9;
  if (k === 4) return SORT4;
  return oddEvenTransposition(k);
}

/**
 * The value of rank `rank` (0 = smallest) among `values`, elementwise, through a network of
 * compare-exchanges (a ← min, b ← max) that places it at index `rank`. Outputs no later step
 * needs are never computed.
 */
export function selectRank(values: readonly tf.Tensor[], rank: number, net = networkFor(values.length)): tf.Tensor {
  const needMin: boolean[] = [];
  const needMax: boolean[] = [];
  const needed = new Set([rank]);
  for (let c = net.length - 1; c >= 0; c--) {
    const [a, b] = net[c] as Comparator;
    needMin[c] = needed.has(a);
    needMax[c] = needed.has(b);
    if (needMin[c] || needMax[c]) {
      needed.add(a);
      needed.add(b);
    }
  }
  const p = [...values];
  net.forEach(([a, b], c) => {
    if (!needMin[c] && !needMax[c]) return;
    const x = p[a] as tf.Tensor;
    const y = p[b] as tf.Tensor;
    if (needMin[c]) p[a] = tf.minimum(x, y);
    if (needMax[c]) p[b] = tf.maximum(x, y);
  });
  return p[rank] as tf.Tensor;
}

/** Pads `before`/`after` values along `axis` by mirroring, edge included (scipy 'reflect', numpy 'symmetric'). */
export function reflectPad(x: tf.Tensor, axis: number, before: number, after: number): tf.Tensor {
  const n = x.shape[axis] ?? 0;
  if (before > n || after > n) {
    throw new AegisInputError(
      `median smoothing: a ${before + after + 1}-wide window needs images at least ${Math.max(before, after)} wide`,
    );
  }
  // Slices, reverse and concat (not tf.mirrorPad, whose tfjs gradient drops the mirrored part).
  const edge = (start: number, size: number) => {
    const begin = x.shape.map(() => 0);
    const sizes = x.shape.map(() => -1);
    begin[axis] = start;
    sizes[axis] = size;
    return tf.reverse(tf.slice(x, begin, sizes), axis);
  };
  const parts = [...(before > 0 ? [edge(0, before)] : []), x, ...(after > 0 ? [edge(n - after, after)] : [])];
  return parts.length === 1 ? x : tf.concat(parts, axis);
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > MAX_MEDIAN_SIZE) {
    throw new AegisInputError(
      `median smoothing: window size must be an integer in [1, ${MAX_MEDIAN_SIZE}], got ${size}`,
    );
  }
}

/** size×size median filter per channel of NHWC images [n, h, w, c] (allocates; call in tf.tidy or dispose). */
export function medianSmooth(x: tf.Tensor, size: number): tf.Tensor {
  checkSize(size);
  if (x.rank !== 4) {
    throw new AegisInputError(
      `median smoothing needs NHWC images [n, height, width, channels], got shape [${x.shape}]`,
    );
  }
  if (size === 1) return tf.clone(x);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const before = Math.floor(size / 2);
  const after = size - 1 - before;
  return tf.tidy(() => {
    const padded = reflectPad(reflectPad(x, 1, before, after), 2, before, after);
    const windows: tf.Tensor[] = [];
    for (let dy = 0; dy < size; dy++) {
      for (let dx = 0; dx < size; dx++) windows.push(tf.slice(padded, [0, dy, dx, 0], [n, h, w, c]));
    }
    return selectRank(windows, Math.floor((size * size) / 2));
  });
}

export function medianSanitizer(size: number): Sanitizer {
  checkSize(size);
  return { name: `median-${size}x${size}`, differentiable: true, transform: (x) => medianSmooth(x, size) };
}

/** The model behind a size×size median filter (same access as the model: the filter is differentiable). */
export function withMedianSmoothing(model: Model, size = DEFAULT_MEDIAN_SIZE): SanitizedModel {
  if (model.info.inputShape.length !== 3) {
    throw new AegisInputError(
      `median smoothing needs image inputs [height, width, channels]; model '${model.info.name}' takes [${model.info.inputShape}]`,
    );
  }
  return new SanitizedModel(model, medianSanitizer(size));
}

/** params: size (window side, integer 1–5, default 2 as Xu et al. for MNIST and CIFAR-10). */
export const medianSmoothingDefense: Defense = {
  name: 'median-smoothing',
  title: 'Median smoothing',
  citation: 'Xu, Evans & Qi 2018, "Feature Squeezing: Detecting Adversarial Examples in Deep Neural Networks", NDSS',
  kind: 'preprocessor',
  mitigations: ['AML.M0010'],
  async apply(model, context) {
    return withMedianSmoothing(
      model,
      intParam(context.params, 'median-smoothing', 'size', DEFAULT_MEDIAN_SIZE, 1, MAX_MEDIAN_SIZE),
    );
  },
};
