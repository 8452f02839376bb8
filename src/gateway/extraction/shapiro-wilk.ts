// Royston 1995, "Remark AS R94: A Remark on Algorithm AS 181: The W-test for Normality", Applied Statistics 44(4) (after Royston 1992, Statistics and Computing 2).
/**
 * The Shapiro-Wilk W test of normality for 3 ≤ n ≤ 5000 (Royston's range): W is the squared
 * correlation between the ordered sample and Royston's approximation of the expected normal
 * order-statistic weights a; small W means "not normal". The p-value uses Royston's normalising
 * transformations of W (exact for n = 3). Same algorithm as R's `shapiro.test` and
 * `scipy.stats.shapiro` (both ports of swilk); the normal quantiles here are computed to full
 * double precision, as R does.
 *
 * The weights depend only on n, so they are cached (a bounded map shared by every caller):
 * PRADA tests a sliding window of thousands of distances after every query.
 */
import { AegisInputError } from '../../core/errors.js';

export const SHAPIRO_WILK_MIN_N = 3;
export const SHAPIRO_WILK_MAX_N = 5000;

export interface ShapiroWilkResult {
  /** The statistic W in (0, 1]; 1 for a sample with zero range (no evidence against normality). */
  w: number;
  /** Royston's approximate p-value of W under normality. */
  pValue: number;
  n: number;
}

/** Polynomial c[0] + c[1]·x + c[2]·x² + … */
function poly(c: readonly number[], x: number): number {
  let r = 0;
  for (let i = c.length - 1; i >= 0; i--) r = r * x + (c[i] as number);
  return r;
}

/** erfc(x) for x ≥ 0: positive series for small x, continued fraction (modified Lentz) for large x. */
function erfcPositive(x: number): number {
  if (x < 2.5) {
    // erf(x) = 2/√π · e^{−x²} · Σ_n 2ⁿ x^{2n+1} / (1·3·…·(2n+1)): all terms positive, no cancellation.
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
  }
  // erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))).
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const an = n / 2;
    d = x + an * d;
    d = Math.abs(d) < tiny ? 1 / tiny : 1 / d;
    c = x + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** Upper tail of the standard normal, P(Z > z). */
export function normalUpperTail(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  return z >= 0 ? 0.5 * erfcPositive(z / Math.SQRT2) : 1 - 0.5 * erfcPositive(-z / Math.SQRT2);
}

/** Standard normal density. */
function normalDensity(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

// Acklam's rational approximation of the normal quantile (relative error < 1.2e-9), as scalars:
// it runs n/2 times per new sample size.
const A0 = -39.69683028665376;
const A1 = 220.9460984245205;
const A2 = -275.9285104469687;
const A3 = 138.357751867269;
const A4 = -30.66479806614716;
const A5 = 2.506628277459239;
const B0 = -54.47609879822406;
const B1 = 161.5858368580409;
const B2 = -155.6989798598866;
const B3 = 66.80131188771972;
const B4 = -13.28068155288572;
const QC0 = -0.007784894002430293;
const QC1 = -0.3223964580411365;
const QC2 = -2.400758277161838;
const QC3 = -2.549732539343734;
const QC4 = 4.374664141464968;
const QC5 = 2.938163982698783;
const QD0 = 0.007784695709041462;
const QD1 = 0.3224671290700398;
const QD2 = 2.445134137142996;
const QD3 = 3.754408661907416;
const P_LOW = 0.02425;

function acklamTail(q: number): number {
  return (
    (((((QC0 * q + QC1) * q + QC2) * q + QC3) * q + QC4) * q + QC5) / ((((QD0 * q + QD1) * q + QD2) * q + QD3) * q + 1)
  );
}

function acklam(p: number): number {
  if (p < P_LOW) return acklamTail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - P_LOW) return -acklamTail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((A0 * r + A1) * r + A2) * r + A3) * r + A4) * r + A5) * q) /
    (((((B0 * r + B1) * r + B2) * r + B3) * r + B4) * r + 1)
  );
}

/** Normal quantile Φ⁻¹(p) for p in (0, 1): Acklam's approximation, then Halley steps to full precision. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return Number.NEGATIVE_INFINITY;
    if (p === 1) return Number.POSITIVE_INFINITY;
    return Number.NaN;
  }
  let x = acklam(p);
  for (let step = 0; step < 2; step++) {
    // Work in the tail where p is small so the residual keeps its relative precision.
    const e = p < 0.5 ? normalUpperTail(-x) - p : -(normalUpperTail(x) - (1 - p));
    const u = e / normalDensity(x);
    x -= u / (1 + (x * u) / 2);
  }
  return x;
}

// Royston (1992/1995) constants, as in AS R94.
const C1 = [0, 0.221157, -0.147981, -2.07119, 4.434685, -2.706056];
const C2 = [0, 0.042981, -0.293762, -1.752461, 5.682633, -3.582633];
const C3 = [0.544, -0.39978, 0.025054, -6.714e-4];
const C4 = [1.3822, -0.77857, 0.062767, -0.0020322];
const C5 = [-1.5861, -0.31082, -0.083751, 0.0038915];
const C6 = [-0.4803, -0.082676, 0.0030302];
const G = [-2.273, 0.459];

const COEFFICIENT_CACHE_SIZE = 128;
const coefficientCache = new Map<number, Float64Array>();

/**
 * Royston's weights a_1 … a_⌊n/2⌋ (a_1 for the extremes x_(n) − x_(1), decreasing inwards).
 * The full antisymmetric vector is (−a_1, −a_2, …, a_2, a_1); Σ over it of a² = 1.
 */
export function shapiroWilkWeights(n: number): Float64Array {
  if (!Number.isInteger(n) || n < SHAPIRO_WILK_MIN_N || n > SHAPIRO_WILK_MAX_N) {
    throw new AegisInputError(
      `Shapiro-Wilk needs between ${SHAPIRO_WILK_MIN_N} and ${SHAPIRO_WILK_MAX_N} values, got ${n}`,
    );
  }
  const cached = coefficientCache.get(n);
  if (cached) {
    // Refresh its place so the map evicts the least recently used sizes first.
    coefficientCache.delete(n);
    coefficientCache.set(n, cached);
    return cached;
  }
  const half = Math.floor(n / 2);
  const a = new Float64Array(half);
  if (n === 3) {
    a[0] = Math.SQRT1_2;
  } else {
    const m = new Float64Array(half);
    let summ2 = 0;
    for (let i = 0; i < half; i++) {
      // Acklam's quantile alone (relative error < 1.2e-9) keeps W within ~1e-9 of R and scipy at a
      // fraction of the cost; a cache miss at n = 5000 then costs tens of microseconds, not milliseconds.
      const v = acklam((i + 1 - 0.375) / (n + 0.25));
      m[i] = v;
      summ2 += v * v;
    }
    summ2 *= 2;
    const ssumm2 = Math.sqrt(summ2);
    const rsn = 1 / Math.sqrt(n);
    const m0 = m[0] as number;
    const a1 = poly(C1, rsn) - m0 / ssumm2;
    let first: number;
    let fac: number;
    if (n > 5) {
      first = 2;
      const m1 = m[1] as number;
      const a2 = -m1 / ssumm2 + poly(C2, rsn);
      fac = Math.sqrt((summ2 - 2 * m0 * m0 - 2 * m1 * m1) / (1 - 2 * a1 * a1 - 2 * a2 * a2));
      a[1] = a2;
    } else {
      first = 1;
      fac = Math.sqrt((summ2 - 2 * m0 * m0) / (1 - 2 * a1 * a1));
    }
    a[0] = a1;
    for (let i = first; i < half; i++) a[i] = -(m[i] as number) / fac;
  }
  coefficientCache.set(n, a);
  if (coefficientCache.size > COEFFICIENT_CACHE_SIZE) {
    const oldest = coefficientCache.keys().next().value as number;
    coefficientCache.delete(oldest);
  }
  return a;
}

/** Royston's p-value of W for a sample of n. */
export function shapiroWilkPValue(w: number, n: number): number {
  if (n === 3) {
    // Exact for n = 3 (W ≥ 3/4 always).
    const pw = (6 / Math.PI) * (Math.asin(Math.sqrt(Math.min(1, w))) - Math.PI / 3);
    return Math.max(0, Math.min(1, pw));
  }
  if (w >= 1) return 1;
  let y = Math.log(1 - w);
  let mean: number;
  let sd: number;
  if (n <= 11) {
    const gamma = poly(G, n);
    if (y >= gamma) return 1e-99;
    y = -Math.log(gamma - y);
    mean = poly(C3, n);
    sd = Math.exp(poly(C4, n));
  } else {
    const ln = Math.log(n);
    mean = poly(C5, ln);
    sd = Math.exp(poly(C6, ln));
  }
  return normalUpperTail((y - mean) / sd);
}

/**
 * W of the ascending values sorted[start, end) (no copy, no check of the order beyond a cheap
 * one on the ends). For PRADA's sliding window, which it keeps sorted.
 */
export function shapiroWilkSorted(sorted: ArrayLike<number>, start = 0, end = sorted.length): ShapiroWilkResult {
  const n = end - start;
  const a = shapiroWilkWeights(n);
  const lo = sorted[start] as number;
  const hi = sorted[end - 1] as number;
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) {
    throw new AegisInputError('Shapiro-Wilk: the sample holds a value that is not a finite number');
  }
  if (hi < lo) throw new AegisInputError('Shapiro-Wilk: shapiroWilkSorted needs values in ascending order');
  const range = hi - lo;
  if (range === 0 || range < Math.abs(hi) * 1e-15) return { w: 1, pValue: 1, n };
  // Centre on the median and scale by the range: W is location- and scale-free, and this keeps
  // the sums well conditioned when the spread is tiny next to the values (scipy gh-14462).
  const mid = start + (n >> 1);
  const median = n % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  let sum = 0;
  for (let i = start; i < end; i++) sum += ((sorted[i] as number) - median) / range;
  const mean = sum / n;
  let ss = 0;
  for (let i = start; i < end; i++) {
    const d = ((sorted[i] as number) - median) / range - mean;
    ss += d * d;
  }
  let num = 0;
  const half = a.length;
  for (let i = 0; i < half; i++) {
    num += (a[i] as number) * (((sorted[end - 1 - i] as number) - (sorted[start + i] as number)) / range);
  }
  // Σa² = 1 and Σa = 0, so W is the squared correlation of a with the ordered sample.
  const w = Math.min(1, (num * num) / ss);
  return { w, pValue: shapiroWilkPValue(w, n), n };
}

/** The Shapiro-Wilk test of `sample` (any order; 3 to 5000 finite values). */
export function shapiroWilk(sample: ArrayLike<number>): ShapiroWilkResult {
  const n = sample.length;
  if (n < SHAPIRO_WILK_MIN_N || n > SHAPIRO_WILK_MAX_N) {
    throw new AegisInputError(
      `Shapiro-Wilk needs between ${SHAPIRO_WILK_MIN_N} and ${SHAPIRO_WILK_MAX_N} values, got ${n}` +
        (n > SHAPIRO_WILK_MAX_N ? ' (beyond Royston’s range the p-value approximation is not validated)' : ''),
    );
  }
  const sorted = Float64Array.from(sample);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(sorted[i])) {
      throw new AegisInputError(`Shapiro-Wilk: value ${sorted[i]} at index ${i} is not a finite number`);
    }
  }
  sorted.sort();
  return shapiroWilkSorted(sorted);
}
