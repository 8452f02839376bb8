// Kernel two-sample test (Gretton, Borgwardt, Rasch, Schölkopf & Smola 2012, JMLR 13:723-773): unbiased MMD²_u with
// a Gaussian RBF kernel whose bandwidth is the median pairwise distance (the median heuristic, §8), and a permutation
// test for the p-value.
import { AegisInputError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';

export interface MmdResult {
  /** Unbiased estimate of MMD² (can be slightly negative when the samples agree). */
  mmd2: number;
  /** (1 + #{permuted MMD² ≥ observed}) / (1 + permutations). */
  pValue: number;
  /** σ of k(x, y) = exp(−‖x − y‖² / (2σ²)). */
  bandwidth: number;
  permutations: number;
}

/** The kernel matrix of the pooled sample and what every permutation reuses. */
export interface MmdKernel {
  /** n × n, row-major, k(x_i, x_j); the first m rows are the first sample. */
  kernel: Float64Array;
  n: number;
  m: number;
  /** Σ_{j≠i} k(x_i, x_j) per row. */
  rowSums: Float64Array;
  /** Σ_{i<j} k(x_i, x_j). */
  total: number;
  bandwidth: number;
  /** MMD²_u of the actual split. */
  observed: number;
}

/** Rearranges `a` so a[k] is its k-th smallest value, smaller ones before it, larger after (Hoare's FIND); O(n). */
export function selectKth(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k] as number;
}

/** The median heuristic: median pairwise distance ‖x − y‖ (i < j) of squared distances `d2`; 1 if all coincide. */
export function medianBandwidth(d2: Float64Array, n: number): number {
  const upper = new Float64Array((n * (n - 1)) / 2);
  let t = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) upper[t++] = d2[i * n + j] as number;
  const c = upper.length;
  if (c === 0) return 1;
  // Median of the distances (square roots of the middle squared distances); selection, not a full sort.
  const k = (c - 1) >> 1;
  const lower = Math.sqrt(selectKth(upper, k));
  let med = lower;
  if (c % 2 === 0) {
    let next = Number.POSITIVE_INFINITY;
    for (let i = k + 1; i < c; i++) if ((upper[i] as number) < next) next = upper[i] as number;
    med = (lower + Math.sqrt(next)) / 2;
  }
  return med > 0 ? med : 1;
}

/**
 * MMD²_u from the within-group sum of one group. With row sums R and the all-pairs total T fixed, the sum over pairs
 * within group A (size a) determines the rest: cross = Σ_{i∈A} R_i − 2·within_A, within_B = T − within_A − cross.
 */
function mmd2FromWithin(k: MmdKernel, withinA: number, rowSumA: number, a: number): number {
  const b = k.n - a;
  const cross = rowSumA - 2 * withinA;
  const withinB = k.total - withinA - cross;
  return (2 * withinA) / (a * (a - 1)) + (2 * withinB) / (b * (b - 1)) - (2 * cross) / (a * b);
}

/** Rows of the pooled sample handled between yields of mmdKernelSteps. */
const KERNEL_ROWS_PER_STEP = 32;

/** Builds the kernel for samples x (m × dim) and y (rows × dim). */
export function mmdKernel(x: ArrayLike<number>, y: ArrayLike<number>, dim: number, bandwidth?: number): MmdKernel {
  const steps = mmdKernelSteps(x, y, dim, bandwidth);
  let r = steps.next();
  while (!r.done) r = steps.next();
  return r.value;
}

/** mmdKernel as steps of a few rows each, so a caller can interleave other work (the monitor's background mode). */
export function* mmdKernelSteps(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  dim: number,
  bandwidth?: number,
): Generator<void, MmdKernel> {
  const m = x.length / dim;
  const ny = y.length / dim;
  if (!Number.isInteger(m) || !Number.isInteger(ny)) {
    throw new AegisInputError(
      `MMD: sample lengths ${x.length} and ${y.length} are not multiples of the dimension ${dim}`,
    );
  }
  if (m < 2 || ny < 2) throw new AegisInputError(`MMD needs at least 2 rows per sample, got ${m} and ${ny}`);
  const n = m + ny;
  const pooled = new Float64Array(n * dim);
  pooled.set(Float64Array.from(x), 0);
  pooled.set(Float64Array.from(y), m * dim);
  const kernel = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const oi = i * dim;
    for (let j = i + 1; j < n; j++) {
      const oj = j * dim;
      let s = 0;
      for (let c = 0; c < dim; c++) {
        const diff = (pooled[oi + c] as number) - (pooled[oj + c] as number);
        s += diff * diff;
      }
      kernel[i * n + j] = s;
      kernel[j * n + i] = s;
    }
    if (i % KERNEL_ROWS_PER_STEP === KERNEL_ROWS_PER_STEP - 1) yield;
  }
  const sigma = bandwidth ?? medianBandwidth(kernel, n);
  yield;
  const gamma = 1 / (2 * sigma * sigma);
  const rowSums = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) {
      if (j === i) {
        kernel[row + j] = 1;
        continue;
      }
      const v = Math.exp(-gamma * (kernel[row + j] as number));
      kernel[row + j] = v;
      rowSums[i] += v;
      if (j > i) total += v;
    }
    if (i % KERNEL_ROWS_PER_STEP === KERNEL_ROWS_PER_STEP - 1) yield;
  }
  let within = 0;
  let rowSum = 0;
  for (let i = 0; i < m; i++) {
    rowSum += rowSums[i] as number;
    for (let j = i + 1; j < m; j++) within += kernel[i * n + j] as number;
  }
  const k: MmdKernel = { kernel, n, m, rowSums, total, bandwidth: sigma, observed: 0 };
  k.observed = mmd2FromWithin(k, within, rowSum, m);
  return k;
}

/**
 * Draws `count` random splits (the smaller group size kept) and returns how many give MMD²_u ≥ the observed one.
 * Each costs O(a²) for the smaller group a, from a partial Fisher-Yates shuffle.
 */
export function countPermutationsAtLeast(k: MmdKernel, rng: Rng, count: number): number {
  const { kernel, n } = k;
  const a = Math.min(k.m, n - k.m);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  let atLeast = 0;
  for (let p = 0; p < count; p++) {
    for (let i = 0; i < a; i++) {
      const j = i + rng.int(n - i);
      const t = order[i] as number;
      order[i] = order[j] as number;
      order[j] = t;
    }
    let within = 0;
    let rowSum = 0;
    for (let i = 0; i < a; i++) {
      const oi = order[i] as number;
      rowSum += k.rowSums[oi] as number;
      const row = oi * n;
      for (let j = i + 1; j < a; j++) within += kernel[row + (order[j] as number)] as number;
    }
    // Small floating differences must not count an identical split as "smaller".
    if (mmd2FromWithin(k, within, rowSum, a) >= k.observed - 1e-12) atLeast++;
  }
  return atLeast;
}

/**
 * Tests whether rows `x` (m × dim) and `y` come from one distribution. Cost O((m+n)²·dim + permutations·min(m,n)²),
 * so callers subsample to a few hundred rows each.
 */
export function mmdTest(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  dim: number,
  opts: { rng: Rng; permutations?: number; bandwidth?: number },
): MmdResult {
  const k = mmdKernel(x, y, dim, opts.bandwidth);
  const permutations = opts.permutations ?? 200;
  const atLeast = countPermutationsAtLeast(k, opts.rng, permutations);
  return { mmd2: k.observed, pValue: (1 + atLeast) / (1 + permutations), bandwidth: k.bandwidth, permutations };
}
