// Two-sample Kolmogorov-Smirnov test (Smirnov 1939): exact statistic; p-value exact by lattice-path counting for small
// samples (Hodges 1957, Ark. Mat. 3:469-486) or from the asymptotic Kolmogorov distribution with Stephens' (1970,
// J. R. Stat. Soc. B 32:115-122) small-sample correction λ = (√nₑ + 0.12 + 0.11/√nₑ)·D (Press et al., Numerical Recipes §14.3).
import { AegisInputError } from '../core/errors.js';

/** Largest n1·n2 for which the p-value is counted exactly (SciPy's ks_2samp used the same cut-off before 1.5). */
export const KS_EXACT_MAX_PRODUCT = 10_000;

export interface KsStatistic {
  /** sup |F₁ − F₂| of the two empirical distribution functions, in [0, 1]. */
  statistic: number;
  /** The statistic as an integer: statistic = numerator / (n1·n2). */
  numerator: number;
  n1: number;
  n2: number;
}

export interface KsResult extends KsStatistic {
  pValue: number;
  method: 'exact' | 'asymptotic';
}

/**
 * D of two samples that are already sorted ascending. Ties are stepped over together, so D is read only between
 * distinct values (as SciPy does). O(n1 + n2).
 */
export function ksStatisticSorted(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  n1 = a.length,
  n2 = b.length,
): KsStatistic {
  if (n1 === 0 || n2 === 0) throw new AegisInputError('Kolmogorov-Smirnov needs two non-empty samples');
  let i = 0;
  let j = 0;
  let best = 0;
  while (i < n1 && j < n2) {
    const ai = a[i] as number;
    const bj = b[j] as number;
    const v = Math.min(ai, bj);
    while (i < n1 && (a[i] as number) <= v) i++;
    while (j < n2 && (b[j] as number) <= v) j++;
    // F₁ = i/n1, F₂ = j/n2; compare i·n2 with j·n1 in integers so D is exact.
    const diff = Math.abs(i * n2 - j * n1);
    if (diff > best) best = diff;
  }
  return { statistic: best / (n1 * n2), numerator: best, n1, n2 };
}

/** KS test of two unsorted samples (copies and sorts them). */
export function ks2Sample(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const sa = Float64Array.from(a).sort();
  const sb = Float64Array.from(b).sort();
  for (const v of [...sa.subarray(0, 1), ...sa.subarray(-1), ...sb.subarray(0, 1), ...sb.subarray(-1)]) {
    if (!Number.isFinite(v)) throw new AegisInputError(`Kolmogorov-Smirnov: sample value ${v} is not finite`);
  }
  const d = ksStatisticSorted(sa, sb);
  return { ...d, ...ksPValue(d) };
}

/** P(D ≥ observed) under H₀ (both samples from one continuous distribution). */
export function ksPValue(d: KsStatistic): { pValue: number; method: 'exact' | 'asymptotic' } {
  if (d.numerator === 0) return { pValue: 1, method: d.n1 * d.n2 <= KS_EXACT_MAX_PRODUCT ? 'exact' : 'asymptotic' };
  if (d.n1 * d.n2 <= KS_EXACT_MAX_PRODUCT) return { pValue: ksExactPValue(d.numerator, d.n1, d.n2), method: 'exact' };
  return { pValue: ksAsymptoticPValue(d.statistic, d.n1, d.n2), method: 'asymptotic' };
}

/**
 * Exact P(D ≥ h/(n1·n2)): the share of the C(n1+n2, n1) equally likely merge orders (monotone lattice paths from (0,0)
 * to (n1,n2)) that touch |i·n2 − j·n1| ≥ h somewhere. Counting the paths that reach the boundary (not those that stay
 * inside) keeps full relative precision for tiny p-values. O(n1·n2) doubles; counts stay below 1e60 for n1·n2 ≤ 10⁴.
 */
export function ksExactPValue(h: number, n1: number, n2: number): number {
  if (h <= 0) return 1;
  const width = n2 + 1;
  const total = new Float64Array(width); // paths from (0,0) to (i, j), row i kept in place
  const outside = new Float64Array(width); // of those, paths that touched the boundary
  for (let i = 0; i <= n1; i++) {
    for (let j = 0; j <= n2; j++) {
      if (i === 0 && j === 0) {
        total[0] = 1;
        outside[0] = 0;
        continue;
      }
      const t = (i > 0 ? (total[j] as number) : 0) + (j > 0 ? (total[j - 1] as number) : 0);
      total[j] = t;
      if (Math.abs(i * n2 - j * n1) >= h) outside[j] = t;
      else outside[j] = (i > 0 ? (outside[j] as number) : 0) + (j > 0 ? (outside[j - 1] as number) : 0);
    }
  }
  return Math.min(1, (outside[n2] as number) / (total[n2] as number));
}

/** Q_KS(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}, the Kolmogorov survival function. */
export function kolmogorovSurvival(lambda: number): number {
  if (lambda <= 0) return 1;
  // For small λ the alternating series converges slowly; use the Jacobi-theta form 1 − √(2π)/λ Σ e^{−(2k−1)²π²/(8λ²)}.
  if (lambda < 1.18) {
    const w = (Math.PI * Math.PI) / (8 * lambda * lambda);
    let sum = 0;
    for (let k = 1; k <= 20; k++) sum += Math.exp(-(2 * k - 1) * (2 * k - 1) * w);
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * sum));
  }
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += k % 2 === 1 ? term : -term;
    if (term < 1e-300 || term < Math.abs(sum) * 1e-16) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** Asymptotic p-value with Stephens' correction, nₑ = n1·n2/(n1+n2). */
export function ksAsymptoticPValue(statistic: number, n1: number, n2: number): number {
  const ne = (n1 * n2) / (n1 + n2);
  const root = Math.sqrt(ne);
  return kolmogorovSurvival((root + 0.12 + 0.11 / root) * statistic);
}
