// Online logistic regression with per-coordinate AdaGrad steps (Duchi, Hazan & Singer 2011, JMLR) and L2 towards a prior weight vector (a Gaussian prior, MAP), as in the per-coordinate online learners of McMahan et al. 2013 ("Ad Click Prediction: a View from the Trenches", KDD).
/**
 * The triage ranking model: P(true incident) = σ(b + Σ_i w_i x_i) over named incident features
 * (features.ts). Before any verdict the weights are a hand-set prior (severity, confidence,
 * rarity, asset criticality, user risk, kill-chain breadth), so the queue is sensible on day
 * one; each analyst verdict is one AdaGrad step on the log loss with an L2 pull back towards the
 * prior, so a few verdicts cannot wipe the prior out and unseen features (a new signature) start
 * from it. Features are a sparse name → value map: a signature's indicator `sig:<id>` has prior 0
 * and gets a weight only once analysts judge its incidents, which is how "this rule is noisy" is
 * learned.
 *
 * The model is linear, so it explains itself exactly: reasons are b and every w_i · x_i, and they
 * sum to the logit. No random choice is made anywhere: same verdicts in the same order → same weights.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { Reason, Verdict } from '../detector.js';
import type { IncidentFeatures } from './features.js';

export type AnalystVerdict = 'tp' | 'fp';

export interface RankerOptions {
  /** AdaGrad base step η. */
  learningRate: number;
  /** AdaGrad damping β in η / (β + √Σg²), as McMahan et al.'s per-coordinate rate: small first gradients take small steps. */
  beta: number;
  /**
   * Strength of the hand-set prior on the listed features and the intercept, in verdicts: the MAP
   * objective is Σ log loss + λ/2 · ‖w − w0‖², spread over the n verdicts seen (λ/n per step).
   * Strong, so that a run of false positives is blamed on what is specific to them, not on severity.
   */
  l2: number;
  /** The same for features the prior does not list (signature indicators, tactics): weak, so they learn. */
  l2Learned: number;
  /** Prior (initial) weights by feature name; features not listed start at 0. */
  prior: Readonly<Record<string, number>>;
  /** Prior intercept. */
  priorBias: number;
  /** Score at or above which the label is 'likely-tp'. */
  threshold: number;
  /** Verdicts remembered for replay (the most recent); 0 = purely online. */
  memory: number;
  /** Passes over the remembered verdicts after each new one. */
  replayEpochs: number;
  /** Seed of the replay order. */
  seed: number;
}

/** Hand-set prior: what a triage analyst looks at first (severity, confidence, rare signatures, crown jewels, risky users). */
export const DEFAULT_PRIOR: Readonly<Record<string, number>> = Object.freeze({
  severity_max: 3,
  confidence_max: 1.5,
  confidence_mean: 0.5,
  signature_rarity: 3,
  asset_criticality: 1,
  user_risk: 2,
  distinct_tactics: 1,
  distinct_signatures: 1,
  log_alert_count: 1,
});

export const RANKER_DEFAULTS: RankerOptions = {
  learningRate: 0.5,
  beta: 1,
  l2: 20,
  l2Learned: 0.3,
  prior: DEFAULT_PRIOR,
  priorBias: -3,
  threshold: 0.5,
  memory: 0,
  replayEpochs: 0,
  seed: 1,
};

/** What score() returns: a Verdict (score = probability) plus the logit the reasons add up to. */
export interface RankedVerdict extends Verdict {
  logit: number;
}

export interface RankerJSON {
  kind: 'aegis-triage-ranker';
  version: 1;
  options: RankerOptions;
  bias: number;
  biasAccum: number;
  weights: Record<string, number>;
  accum: Record<string, number>;
  verdicts: { tp: number; fp: number };
  /** Remembered verdicts (feature values, 1 = tp), oldest first. */
  history: { values: Record<string, number>; y: number }[];
}

const BIAS = 'bias';

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function valuesOf(features: IncidentFeatures | Readonly<Record<string, number>>): Readonly<Record<string, number>> {
  return 'values' in features && typeof features.values === 'object'
    ? (features as IncidentFeatures).values
    : (features as Readonly<Record<string, number>>);
}

function checkFinite(values: Readonly<Record<string, number>>, where: string): void {
  for (const [k, v] of Object.entries(values)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new AegisInputError(`${where}: feature '${k}' must be a finite number, got ${String(v)}`);
    }
  }
}

export class TriageRanker {
  readonly name = 'triage-ranker';
  readonly scoreKind = 'probability' as const;
  readonly options: RankerOptions;
  private bias: number;
  private biasAccum = 0;
  private readonly weights = new Map<string, number>();
  private readonly accum = new Map<string, number>();
  private readonly counts = { tp: 0, fp: 0 };
  private readonly history: { values: Record<string, number>; y: number }[] = [];

  constructor(options: Partial<RankerOptions> = {}) {
    this.options = { ...RANKER_DEFAULTS, ...options, prior: { ...(options.prior ?? RANKER_DEFAULTS.prior) } };
    const { learningRate, threshold } = this.options;
    if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
      throw new AegisInputError(`triage ranker: learningRate must be > 0, got ${learningRate}`);
    }
    if (!(this.options.beta >= 0) || !Number.isFinite(this.options.beta)) {
      throw new AegisInputError(`triage ranker: beta must be ≥ 0, got ${this.options.beta}`);
    }
    for (const k of ['memory', 'replayEpochs'] as const) {
      const v = this.options[k];
      if (!(Number.isInteger(v) && v >= 0))
        throw new AegisInputError(`triage ranker: ${k} must be an integer ≥ 0, got ${v}`);
    }
    for (const k of ['l2', 'l2Learned'] as const) {
      const v = this.options[k];
      if (!(v >= 0) || !Number.isFinite(v)) throw new AegisInputError(`triage ranker: ${k} must be ≥ 0, got ${v}`);
    }
    if (!(threshold >= 0 && threshold <= 1)) {
      throw new AegisInputError(`triage ranker: threshold must be in [0, 1], got ${threshold}`);
    }
    checkFinite(this.options.prior, 'triage ranker prior');
    this.bias = this.options.priorBias;
  }

  /** Current weight of a feature (its prior until a verdict touched it). */
  weight(feature: string): number {
    return this.weights.get(feature) ?? this.options.prior[feature] ?? 0;
  }

  /** Current intercept. */
  get intercept(): number {
    return this.bias;
  }

  /** Verdicts learned so far. */
  get verdicts(): { tp: number; fp: number } {
    return { ...this.counts };
  }

  /** b + Σ w_i x_i. */
  logit(features: IncidentFeatures | Readonly<Record<string, number>>): number {
    let z = this.bias;
    for (const [k, x] of Object.entries(valuesOf(features))) if (x !== 0) z += this.weight(k) * x;
    return z;
  }

  /**
   * P(true incident) and its explanation: the intercept and each feature's w_i · x_i (non-zero ones),
   * largest push towards "true" first. The reasons' weights sum to the logit.
   */
  score(features: IncidentFeatures | Readonly<Record<string, number>>): RankedVerdict {
    const values = valuesOf(features);
    checkFinite(values, 'triage ranker score');
    const notes = 'notes' in features && typeof features.notes === 'object' ? (features as IncidentFeatures).notes : {};
    const reasons: Reason[] = [];
    let z = this.bias;
    for (const [k, x] of Object.entries(values)) {
      if (x === 0) continue;
      const w = this.weight(k);
      const c = w * x;
      z += c;
      if (c === 0) continue;
      const what = notes[k] ?? `${k} = ${x.toFixed(3)}`;
      reasons.push({ feature: k, detail: `${what} (weight ${w.toFixed(2)} × ${x.toFixed(2)})`, weight: c });
    }
    reasons.sort((a, b) => b.weight - a.weight || a.feature.localeCompare(b.feature));
    reasons.push({ feature: BIAS, detail: 'base rate (intercept)', weight: this.bias });
    const score = sigmoid(z);
    return { score, logit: z, label: score >= this.options.threshold ? 'likely-tp' : 'likely-fp', reasons };
  }

  /** One analyst verdict: an AdaGrad step on the log loss, L2 towards the prior on the touched weights. */
  update(features: IncidentFeatures | Readonly<Record<string, number>>, verdict: AnalystVerdict): void {
    if (verdict !== 'tp' && verdict !== 'fp') {
      throw new AegisInputError(`triage ranker: verdict must be 'tp' or 'fp', got '${String(verdict)}'`);
    }
    const values = valuesOf(features);
    checkFinite(values, 'triage ranker update');
    const y = verdict === 'tp' ? 1 : 0;
    this.counts[verdict]++;
    this.step(values, y);
    const { memory, replayEpochs, seed } = this.options;
    if (memory <= 0) return;
    this.history.push({ values: { ...values }, y });
    if (this.history.length > memory) this.history.splice(0, this.history.length - memory);
    // Replay the remembered verdicts in a seeded order: one pass of SGD over a queue the analyst
    // worked top-down is biased towards the latest verdicts; replay fits them jointly.
    const rng = new Rng((seed ^ Math.imul(this.counts.tp + this.counts.fp, 0x9e3779b1)) >>> 0);
    for (let e = 0; e < replayEpochs; e++) {
      for (const i of rng.permutation(this.history.length)) {
        const h = this.history[i] as { values: Record<string, number>; y: number };
        this.step(h.values, h.y);
      }
    }
  }

  /** One AdaGrad step on one example's log loss. */
  private step(values: Readonly<Record<string, number>>, y: number): void {
    const err = sigmoid(this.logit(values)) - y;
    const { learningRate: eta, beta, l2, l2Learned, prior, priorBias } = this.options;
    const n = Math.max(1, this.counts.tp + this.counts.fp);
    for (const [k, x] of Object.entries(values)) {
      if (x === 0) continue;
      const w = this.weight(k);
      const w0 = prior[k];
      const g = err * x + (w0 === undefined ? (l2Learned * w) / n : (l2 * (w - w0)) / n);
      const acc = (this.accum.get(k) ?? 0) + g * g;
      this.accum.set(k, acc);
      this.weights.set(k, w - (eta * g) / (beta + Math.sqrt(acc)));
    }
    const gb = err + (l2 * (this.bias - priorBias)) / n;
    this.biasAccum += gb * gb;
    this.bias -= (eta * gb) / (beta + Math.sqrt(this.biasAccum));
  }

  /** Indices of `items` by decreasing score (ties keep input order). */
  rank(items: readonly (IncidentFeatures | Readonly<Record<string, number>>)[]): number[] {
    const z = items.map((f) => this.logit(f));
    return z.map((_, i) => i).sort((a, b) => (z[b] as number) - (z[a] as number) || a - b);
  }

  toJSON(): RankerJSON {
    return {
      kind: 'aegis-triage-ranker',
      version: 1,
      options: { ...this.options, prior: { ...this.options.prior } },
      bias: this.bias,
      biasAccum: this.biasAccum,
      weights: Object.fromEntries(this.weights),
      accum: Object.fromEntries(this.accum),
      verdicts: { ...this.counts },
      history: this.history.map((h) => ({ values: { ...h.values }, y: h.y })),
    };
  }

  static fromJSON(json: unknown): TriageRanker {
    const j = json as Partial<RankerJSON> | null;
    if (!j || typeof j !== 'object' || j.kind !== 'aegis-triage-ranker') {
      throw new AegisInputError("triage ranker state: not a saved ranker (kind must be 'aegis-triage-ranker')");
    }
    if (j.version !== 1) throw new AegisInputError(`triage ranker state: unsupported version ${String(j.version)}`);
    if (!j.options || !j.weights || !j.accum || typeof j.bias !== 'number' || typeof j.biasAccum !== 'number') {
      throw new AegisInputError('triage ranker state: missing options, weights, accumulators or bias');
    }
    checkFinite(j.weights, 'triage ranker state weights');
    checkFinite(j.accum, 'triage ranker state accumulators');
    const r = new TriageRanker(j.options);
    r.bias = j.bias;
    r.biasAccum = j.biasAccum;
    for (const [k, v] of Object.entries(j.weights)) r.weights.set(k, v);
    for (const [k, v] of Object.entries(j.accum)) r.accum.set(k, v);
    r.counts.tp = j.verdicts?.tp ?? 0;
    r.counts.fp = j.verdicts?.fp ?? 0;
    for (const h of j.history ?? []) {
      if (!h || typeof h.values !== 'object' || (h.y !== 0 && h.y !== 1)) {
        throw new AegisInputError('triage ranker state: a remembered verdict is malformed');
      }
      checkFinite(h.values, 'triage ranker state history');
      r.history.push({ values: { ...h.values }, y: h.y });
    }
    return r;
  }
}
