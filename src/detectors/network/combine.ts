// Weighted combination of p-values (Good 1955, "On the weighted combination of significance tests", JRSS B; Fisher 1925's method with weights) with a peaks-over-threshold exponential tail beyond the benign sample (Pickands 1975, Annals of Statistics).
/**
 * Calibrated combination of the detector's component scores. Raw scores live on incomparable
 * scales (a classifier's log-odds reach 30 on flows it is sure of; a reconstruction error is a
 * mean square), so a maximum of score/threshold ratios lets whichever score has the longest tail
 * decide the ranking — on NSL-KDD, the classifier's over-confident log-odds on shifted normal
 * traffic. Here each component score s becomes benign-tail evidence
 *
 *     q(s) = −log10 p(s),   p(s) = (#{benign calibration scores ≥ s} + 1) / (n + 1),
 *
 * the empirical p-value of s against benign validation flows of the TRAINING file. Beyond the m-th
 * largest benign score u (m = max(10, 1% of n)) p is extrapolated by an exponential tail,
 * p(s) = m/(n+1) · exp(−(s − u)/β), β the mean excess of the top m benign scores over u, so flows
 * more extreme than every benign one keep their order without one component's scale dominating.
 * The combined evidence is E = Σ_c w_c q_c(s_c) (weights sum to 1), and the operating threshold
 * is the E that flags a target share of the benign calibration flows.
 */
import { z } from 'zod';
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import { thresholdAtFpr } from '../metrics.js';

/** Benign order statistics kept per component (more are subsampled evenly). */
export const TAIL_QUANTILES = 2048;
/** Share of benign scores (at least TAIL_MIN) that the exponential tail is fitted to. */
export const TAIL_SHARE = 0.01;
export const TAIL_MIN = 10;

export const tailShape = z.object({
  /** Benign scores seen in calibration. */
  n: z.number().int().positive(),
  /** Ascending order statistics (all of them, or TAIL_QUANTILES evenly spaced ones). */
  quantiles: z.array(z.number()).min(1),
  /** Tail start: the m-th largest benign score. */
  anchor: z.number(),
  /** Benign scores at or above the anchor. */
  m: z.number().int().positive(),
  /** Mean excess of those scores over the anchor (exponential tail scale). */
  beta: z.number().positive(),
});
/** The benign reference of one component's score. */
export type BenignTail = z.infer<typeof tailShape>;

/** Fits the benign reference from benign calibration scores (finite numbers). */
export function fitTail(benign: ArrayLike<number>): BenignTail {
  const n = benign.length;
  if (n === 0) throw new AegisInputError('score calibration: no benign scores to calibrate on');
  const sorted = Float64Array.from(benign).sort();
  if (sorted.some((v) => !Number.isFinite(v)))
    throw new AegisInputError('score calibration: a benign score is not finite');
  const m = Math.min(n, Math.max(TAIL_MIN, Math.ceil(TAIL_SHARE * n)));
  const anchor = sorted[n - m] as number;
  let excess = 0;
  for (let i = n - m; i < n; i++) excess += (sorted[i] as number) - anchor;
  const beta = Math.max(excess / m, 1e-6);
  const g = Math.min(n, TAIL_QUANTILES);
  const quantiles = Array.from(
    { length: g },
    (_, k) => sorted[g === n ? k : Math.round((k * (n - 1)) / (g - 1))] as number,
  );
  return { n, quantiles, anchor, m, beta };
}

/** Index of the first quantile ≥ s. */
function lowerBound(q: readonly number[], s: number): number {
  let lo = 0;
  let hi = q.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((q[mid] as number) < s) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** −log10 of the benign tail p-value of s (0 for scores at or below every benign one). NaN counts as benign-typical. */
export function tailEvidence(t: BenignTail, s: number): number {
  if (Number.isNaN(s)) return 0;
  if (s > t.anchor) return -Math.log10(t.m / (t.n + 1)) + (s - t.anchor) / (t.beta * Math.LN10);
  const g = t.quantiles.length;
  const atLeast = ((g - lowerBound(t.quantiles, s)) * t.n) / g;
  return 0 - Math.log10((atLeast + 1) / (t.n + 1)); // 0 − … keeps +0 (not −0) at p = 1
}

/**
 * Differentiable stand-in for tailEvidence (for gradient attacks): the exponential-tail line
 * extended below the anchor and floored smoothly at 0. Equal to tailEvidence beyond the anchor.
 */
export function tailEvidenceSurrogate(t: BenignTail, s: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const line = tf.add(-Math.log10(t.m / (t.n + 1)), tf.div(tf.sub(s, t.anchor), t.beta * Math.LN10));
    return tf.softplus(line);
  });
}

export const EVIDENCE_COMPONENTS = ['supervised', 'autoencoder', 'iforest', 'knn'] as const;
export type EvidenceComponent = (typeof EVIDENCE_COMPONENTS)[number];

export const combinationShape = z.object({
  kind: z.literal('evidence'),
  /** Share of benign calibration flows the combined evidence may flag. */
  fpr: z.number().min(0).max(1),
  weights: z.partialRecord(z.enum(EVIDENCE_COMPONENTS), z.number().min(0)),
  tails: z.partialRecord(z.enum(EVIDENCE_COMPONENTS), tailShape),
  /** Flag when E > threshold. */
  threshold: z.number(),
});
export type EvidenceCombination = z.infer<typeof combinationShape>;

/**
 * The scores each component's tail is fitted on: the classifier's attack log-odds, the log of the
 * autoencoder's error and of the nearest-neighbour distance (heavy-tailed on their natural scale),
 * the isolation score as it is.
 */
export type ComponentScores = Partial<Record<EvidenceComponent, ArrayLike<number>>>;

/** Weights: `supervisedWeight` for the classifier, the rest shared equally by the novelty detectors present. */
export function evidenceWeights(
  present: readonly EvidenceComponent[],
  supervisedWeight: number,
): Partial<Record<EvidenceComponent, number>> {
  if (!(supervisedWeight >= 0 && supervisedWeight <= 1)) {
    throw new AegisInputError(`supervised weight must be in [0, 1], got ${supervisedWeight}`);
  }
  const novelty = present.filter((c) => c !== 'supervised');
  if (novelty.length === 0) return { supervised: 1 };
  const w: Partial<Record<EvidenceComponent, number>> = { supervised: supervisedWeight };
  for (const c of novelty) w[c] = (1 - supervisedWeight) / novelty.length;
  return w;
}

/** Combined evidence per row from tails and weights, and the component contributing most (index into EVIDENCE_COMPONENTS). */
export function combinedEvidence(
  c: Pick<EvidenceCombination, 'weights' | 'tails'>,
  scores: ComponentScores,
  rows: number,
): { evidence: Float64Array; driver: Uint8Array } {
  const evidence = new Float64Array(rows);
  const driver = new Uint8Array(rows);
  const top = new Float64Array(rows).fill(Number.NEGATIVE_INFINITY);
  EVIDENCE_COMPONENTS.forEach((name, k) => {
    const w = c.weights[name];
    const tail = c.tails[name];
    const s = scores[name];
    if (w === undefined || !tail) return;
    if (!s) throw new AegisInputError(`score combination: no ${name} scores`);
    for (let i = 0; i < rows; i++) {
      const part = w * tailEvidence(tail, s[i] as number);
      evidence[i] = (evidence[i] as number) + part;
      if (part > (top[i] as number)) {
        top[i] = part;
        driver[i] = k;
      }
    }
  });
  return { evidence, driver };
}

/** Fits tails on benign calibration scores and the threshold at `fpr` of them. */
export function calibrateEvidence(benign: ComponentScores, supervisedWeight: number, fpr: number): EvidenceCombination {
  const present = EVIDENCE_COMPONENTS.filter((c) => benign[c] !== undefined);
  const weights = evidenceWeights(present, supervisedWeight);
  const tails: Partial<Record<EvidenceComponent, BenignTail>> = {};
  for (const c of present) if (weights[c] !== undefined) tails[c] = fitTail(benign[c] as ArrayLike<number>);
  const rows = (benign.supervised ?? benign[present[0] as EvidenceComponent] ?? []).length;
  const { evidence } = combinedEvidence({ weights, tails }, benign, rows);
  return { kind: 'evidence', fpr, weights, tails, threshold: thresholdAtFpr(evidence, fpr) };
}

/** Maps evidence to the detector's (0, 1) score: r/(1 + r), r = E / threshold, so > 0.5 exactly when flagged. */
export function evidenceScore(evidence: number, threshold: number): number {
  const r = evidence / Math.max(threshold, 1e-9);
  return r / (1 + r);
}
