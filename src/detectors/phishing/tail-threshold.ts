// Peaks-over-threshold quantile estimate (Pickands 1975; Balkema & de Haan 1974) with a generalized Pareto fit by maximum likelihood (Grimshaw 1993), as in SPOT (Siffer et al., KDD 2017).
/**
 * A threshold that flags a target share q of benign scores, estimated from the TAIL of the benign
 * score distribution instead of one order statistic. With n benign scores, the empirical 1 − q
 * quantile at q = 0.1% and n ≈ 3,000 is set by the 3rd-highest score alone — very noisy. Here:
 *
 *  1. t = the empirical (1 − tailFraction) quantile (SPOT uses the 98th percentile);
 *  2. the N_t exceedances y = s − t > 0 are fitted with a generalized Pareto distribution
 *     GPD(γ, σ), the limit law of exceedances over a high threshold;
 *  3. the threshold is z_q = t + σ/γ · ((q·n / N_t)^(−γ) − 1)   (γ = 0: t − σ·ln(q·n / N_t)).
 *
 * The GPD fit maximises the profile likelihood over θ = γ/σ (for a fixed θ the MLE of γ is
 * mean(ln(1 + θ·y)), Grimshaw's reduction) on a grid refined by golden-section search. γ is kept
 * ≥ −1, where the likelihood is bounded.
 */
import { AegisInputError } from '../../core/errors.js';

export interface TailFitOptions {
  /** Share of the benign scores above the tail start t. Default 0.02 (SPOT's 98th percentile). */
  tailFraction?: number;
  /** Fewest exceedances the fit accepts. Default 20. */
  minExceedances?: number;
}

export const TAIL_FIT_DEFAULTS: Required<TailFitOptions> = { tailFraction: 0.02, minExceedances: 20 };

export interface GpdFit {
  /** Shape γ (> 0 heavy tail, 0 exponential, < 0 bounded). */
  shape: number;
  /** Scale σ > 0. */
  scale: number;
  logLikelihood: number;
}

export interface TailThreshold extends GpdFit {
  /** The estimated score above which a share `targetFpr` of benign scores lies. */
  threshold: number;
  /** Tail start t and the number of scores strictly above it. */
  tailStart: number;
  exceedances: number;
  samples: number;
}

/** Profile log-likelihood of θ = γ/σ for exceedances y (> 0); NaN outside the domain or for γ < −1. */
function profile(y: Float64Array, theta: number): { ll: number; shape: number; scale: number } {
  const n = y.length;
  if (Math.abs(theta) < 1e-12) {
    let mean = 0;
    for (const v of y) mean += v;
    mean /= n;
    return { ll: -n * Math.log(mean) - n, shape: 0, scale: mean };
  }
  let sumLog = 0;
  for (const v of y) {
    const a = 1 + theta * v;
    if (!(a > 0)) return { ll: Number.NaN, shape: Number.NaN, scale: Number.NaN };
    sumLog += Math.log(a);
  }
  const shape = sumLog / n;
  const scale = shape / theta;
  if (!(shape >= -1) || !(scale > 0)) return { ll: Number.NaN, shape, scale };
  return { ll: -n * Math.log(scale) - (1 / shape + 1) * sumLog, shape, scale };
}

/** Maximum-likelihood GPD fit of positive exceedances. */
export function fitGpd(exceedances: ArrayLike<number>): GpdFit {
  const y = Float64Array.from(exceedances);
  if (y.length < 2) throw new AegisInputError(`GPD fit: needs at least 2 exceedances, got ${y.length}`);
  let max = 0;
  let mean = 0;
  for (const v of y) {
    if (!(v > 0) || !Number.isFinite(v))
      throw new AegisInputError(`GPD fit: exceedances must be finite and > 0, got ${v}`);
    max = Math.max(max, v);
    mean += v / y.length;
  }
  // θ candidates: from just above −1/max (bounded tail) through 0 to heavy tails (θ·mean up to 1e4).
  const grid: number[] = [0];
  for (let i = 1; i < 200; i++) grid.push((-1 / max) * (1 - i / 200) ** 2);
  for (let i = 0; i <= 200; i++) grid.push(10 ** (-4 + (8 * i) / 200) / mean);
  grid.sort((a, b) => a - b);
  let best = 0;
  let bestLl = Number.NEGATIVE_INFINITY;
  grid.forEach((theta, i) => {
    const { ll } = profile(y, theta);
    if (ll > bestLl) {
      bestLl = ll;
      best = i;
    }
  });
  // Golden-section refinement between the neighbours of the best grid point.
  let lo = grid[Math.max(0, best - 1)] as number;
  let hi = grid[Math.min(grid.length - 1, best + 1)] as number;
  const g = (Math.sqrt(5) - 1) / 2;
  const f = (t: number) => {
    const { ll } = profile(y, t);
    return Number.isNaN(ll) ? Number.NEGATIVE_INFINITY : ll;
  };
  for (let it = 0; it < 100 && hi - lo > 1e-12 * (1 + Math.abs(lo)); it++) {
    const a = hi - g * (hi - lo);
    const b = lo + g * (hi - lo);
    if (f(a) >= f(b)) hi = b;
    else lo = a;
  }
  const refined = profile(y, (lo + hi) / 2);
  const pick = !Number.isNaN(refined.ll) && refined.ll >= bestLl ? refined : profile(y, grid[best] as number);
  return { shape: pick.shape, scale: pick.scale, logLikelihood: pick.ll };
}

/** Score above which an estimated share `targetFpr` of benign scores lies (see the header). */
export function tailThreshold(
  benignScores: ArrayLike<number>,
  targetFpr: number,
  options: TailFitOptions = {},
): TailThreshold {
  const { tailFraction, minExceedances } = { ...TAIL_FIT_DEFAULTS, ...options };
  if (!(tailFraction > 0 && tailFraction < 1)) {
    throw new AegisInputError(`tail fit: tailFraction must be in (0, 1), got ${tailFraction}`);
  }
  if (!(targetFpr > 0 && targetFpr < tailFraction)) {
    throw new AegisInputError(
      `tail fit: target false-positive rate must be in (0, tailFraction = ${tailFraction}), got ${targetFpr}`,
    );
  }
  const n = benignScores.length;
  const sorted = Float64Array.from(benignScores).sort();
  if (sorted.some((s) => !Number.isFinite(s))) throw new AegisInputError('tail fit: a benign score is NaN or infinite');
  const needed = Math.ceil(minExceedances / tailFraction);
  if (n < needed) {
    throw new AegisInputError(
      `tail fit: ${n} benign scores are too few — ${minExceedances} exceedances over the top ${tailFraction * 100}% need at least ${needed}`,
    );
  }
  const tailStart = sorted[Math.floor((1 - tailFraction) * n) - 1] as number;
  const y: number[] = [];
  for (let i = n - 1; i >= 0 && (sorted[i] as number) > tailStart; i--) y.push((sorted[i] as number) - tailStart);
  if (y.length < minExceedances) {
    throw new AegisInputError(
      `tail fit: only ${y.length} benign scores lie above the tail start ${tailStart} (ties); need ${minExceedances}`,
    );
  }
  const fit = fitGpd(y);
  const r = (targetFpr * n) / y.length;
  const excess =
    Math.abs(fit.shape) < 1e-9 ? -fit.scale * Math.log(r) : (fit.scale / fit.shape) * (r ** -fit.shape - 1);
  return { ...fit, threshold: tailStart + excess, tailStart, exceedances: y.length, samples: n };
}
