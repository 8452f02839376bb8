// Population stability index (Siddiqi 2006, "Credit Risk Scorecards", ch. 8; properties in Yurdakul 2018, Western
// Michigan Univ. dissertation): PSI = Σ_bins (c − r)·ln(c / r) over the bins' shares in the reference (r) and current
// (c) samples, with bins at the reference's quantiles.

/** Default number of quantile bins (deciles). */
export const PSI_BINS = 10;
/** Share given to an empty bin so ln(c/r) stays finite: 1e-4, i.e. "one in ten thousand". */
export const PSI_EPSILON = 1e-4;

/**
 * Bin edges from a sorted reference sample: the order statistics at ranks ⌊k(n−1)/B⌋, k = 1…B−1, without repeats and
 * without the maximum, so every reference bin holds at least one value (ties, e.g. the many 0 pixels of an image,
 * merge bins instead of leaving them empty). Bins are right-closed: (−∞, e₁], (e₁, e₂], …, (e_last, ∞). A constant
 * feature gets the single edge c, so anything above it lands in a bin the reference never filled.
 */
export function quantileEdges(sorted: ArrayLike<number>, bins = PSI_BINS): Float64Array {
  const n = sorted.length;
  if (n === 0) return new Float64Array(0);
  const max = sorted[n - 1] as number;
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const v = sorted[Math.floor((k * (n - 1)) / bins)] as number;
    if (v < max && (edges.length === 0 || v > (edges[edges.length - 1] as number))) edges.push(v);
  }
  if (edges.length === 0) edges.push(max);
  return Float64Array.from(edges);
}

/** Index of the bin holding v: the number of edges strictly below v (binary search). */
export function binOf(v: number, edges: ArrayLike<number>): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts of `values` per bin (edges.length + 1 bins). */
export function binCounts(values: ArrayLike<number>, edges: ArrayLike<number>): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  for (let i = 0; i < values.length; i++) counts[binOf(values[i] as number, edges)]++;
  return counts;
}

/** PSI of two count vectors over the same bins; a share of 0 becomes `epsilon` (shares are not renormalised). */
export function psiFromCounts(reference: ArrayLike<number>, current: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  let refTotal = 0;
  let curTotal = 0;
  for (let b = 0; b < reference.length; b++) {
    refTotal += reference[b] as number;
    curTotal += current[b] as number;
  }
  if (refTotal === 0 || curTotal === 0) return 0;
  let psi = 0;
  for (let b = 0; b < reference.length; b++) {
    const r = (reference[b] as number) / refTotal || epsilon;
    const c = (current[b] as number) / curTotal || epsilon;
    psi += (c - r) * Math.log(c / r);
  }
  return psi;
}

/** PSI of two unsorted samples with `bins` quantile bins of the reference. */
export function populationStabilityIndex(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  opts: { bins?: number; epsilon?: number } = {},
): number {
  const edges = quantileEdges(Float64Array.from(reference).sort(), opts.bins ?? PSI_BINS);
  return psiFromCounts(binCounts(reference, edges), binCounts(current, edges), opts.epsilon ?? PSI_EPSILON);
}
