/**
 * Training with an operating threshold chosen on TRAINING data only. The training set is cut into
 * k stratified folds; each fold is scored by a model trained on the other k − 1 (out-of-fold
 * scores, as scikit-learn's cross_val_predict); the threshold is the logit that flags at most
 * `targetFpr` of those out-of-fold legitimate scores (metrics.ts thresholdAtFpr). The final model
 * is then trained on the whole training set. Scores of a model on its own training data are
 * over-confident; out-of-fold scores are what unseen mail looks like.
 *
 * Rule: 'order-statistic' (default; the (⌊targetFpr·n⌋+1)-th highest score, whose expected
 * share of unseen legitimate scores above it is (⌊targetFpr·n⌋+1)/(n+1) — 0.104% at n = 2,876)
 * or 'tail-fit' (generalized Pareto tail, ./operating-threshold.ts). The training summary reports
 * a nested check of both, and warns when the target is finer than the legitimate examples resolve.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { rocAuc } from '../metrics.js';
import type { FeatureRow } from './features.js';
import type { LanguageCount } from './language.js';
import { type LinearModel, LOGISTIC_DEFAULTS, type LogisticOptions, logitOf, trainLogistic } from './logistic.js';
import { chooseThreshold, type NestedCheck, nestedThresholdCheck, type ThresholdRule } from './operating-threshold.js';

export interface PhishTrainOptions {
  seed?: number;
  /** Share of legitimate training events (out-of-fold) the threshold may flag. Default 0.001 (0.1%). */
  targetFpr?: number;
  /** Folds for the out-of-fold threshold. Default 5. */
  folds?: number;
  /**
   * How the threshold is read off the out-of-fold legitimate scores (./operating-threshold.ts):
   * 'order-statistic' (default) or 'tail-fit' (generalized Pareto tail; needs ≥ 1,000 legitimate).
   */
  thresholdRule?: ThresholdRule;
  /**
   * Mail mode: hold the weights of the named phishing indicators ≥ 0 (all mail signals except
   * NEUTRAL_MAIL_SIGNALS; logistic.ts nonNegativeDense). Default true. No effect in URL/SMS modes.
   */
  monotone?: boolean;
  /**
   * Mail and SMS modes: in each language with ≥ 20 examples of one class and under a tenth as
   * many of the other (./language.ts lopsidedLanguages), the abundant class's examples weigh this
   * much in training, so that the language itself counts for less. Default 0.1; 1 turns it off.
   */
  languageWeight?: number;
  /** Weight of each row in the loss (calibratedLogistic; fitRows sets it from languageWeight). */
  sampleWeights?: ArrayLike<number>;
  training?: Partial<Omit<LogisticOptions, 'seed' | 'sampleWeights'>>;
  progress?: boolean;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export const PHISH_TRAIN_DEFAULTS: {
  targetFpr: number;
  folds: number;
  thresholdRule: ThresholdRule;
  monotone: boolean;
  languageWeight: number;
} = {
  targetFpr: 0.001,
  folds: 5,
  thresholdRule: 'order-statistic',
  monotone: true,
  languageWeight: 0.1,
};

export interface TrainingSummary {
  examples: number;
  phishing: number;
  legitimate: number;
  folds: number;
  /** ROC AUC of the out-of-fold scores (training data, never test data). */
  outOfFoldAuc: number;
  /** Share of out-of-fold phishing above the chosen threshold. */
  outOfFoldRecall: number;
  outOfFoldFalsePositiveRate: number;
  thresholdRule: ThresholdRule;
  /**
   * Nested check of each rule on the out-of-fold scores (threshold from k − 1 folds, applied to
   * the k-th): false positives of `legitimate`, and recall. null where a rule cannot run (too few
   * legitimate examples for the tail fit).
   */
  nested: Record<ThresholdRule, Pick<NestedCheck, 'falsePositives' | 'falsePositiveRate' | 'recall'> | null>;
  /**
   * What makes the figures less trustworthy than they look (empty when nothing does): a target the
   * legitimate examples cannot resolve; a language one class lacks (mail and SMS modes).
   */
  warnings: string[];
  /** Mail and SMS modes: legitimate and phishing training examples per guessed language (./language.ts). */
  languages?: Record<string, LanguageCount>;
  /** Mail and SMS modes: the weight of the abundant class in the languages listed in reweightedLanguages. */
  languageWeight?: number;
  reweightedLanguages?: string[];
  seconds: number;
  [key: string]: unknown;
}

/** k stratified folds (fold index per example), seeded. */
export function stratifiedFolds(labels: ArrayLike<number>, k: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const fold = new Int32Array(labels.length);
  for (const cls of [0, 1]) {
    const idx: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === cls) idx.push(i);
    rng.shuffle(idx);
    idx.forEach((i, r) => {
      fold[i] = r % k;
    });
  }
  return fold;
}

export interface CalibratedModel {
  model: LinearModel;
  /** Logit threshold flagging at most targetFpr of the out-of-fold legitimate scores. */
  threshold: number;
  targetFpr: number;
  summary: TrainingSummary;
  /** Out-of-fold logit of each training example, and its fold. */
  outOfFold: Float64Array;
  fold: Int32Array;
}

/**
 * k-fold out-of-fold threshold, then the final model on all rows (see the header). Rows may come
 * from any featurization whose sparse part has `buckets` buckets (the artefact baseline uses it too).
 */
export function calibratedLogistic(
  rows: readonly FeatureRow[],
  labels: ArrayLike<number>,
  buckets: number,
  options: PhishTrainOptions = {},
  who = 'phishing model',
): CalibratedModel {
  const started = performance.now();
  const seed = options.seed ?? 0;
  const targetFpr = options.targetFpr ?? PHISH_TRAIN_DEFAULTS.targetFpr;
  const k = options.folds ?? PHISH_TRAIN_DEFAULTS.folds;
  if (!(Number.isInteger(k) && k >= 2)) throw new AegisInputError(`folds must be an integer ≥ 2, got ${k}`);
  const training: LogisticOptions = { ...LOGISTIC_DEFAULTS, ...options.training, seed };
  const y = Int32Array.from(labels as ArrayLike<number>);
  if (y.length !== rows.length) throw new AegisInputError(`${who}: ${rows.length} examples but ${y.length} labels`);
  const phishing = y.reduce((a, b) => a + b, 0);
  const legitimate = y.length - phishing;
  if (phishing < k || legitimate < k) {
    throw new AegisInputError(
      `${who}: ${phishing} phishing and ${legitimate} legitimate examples; need at least ${k} of each for ${k}-fold calibration`,
    );
  }
  const weights = options.sampleWeights;
  if (weights && weights.length !== y.length) {
    throw new AegisInputError(`${who}: ${y.length} examples but ${weights.length} sample weights`);
  }
  const fold = stratifiedFolds(y, k, seed ^ 0x5eed);
  const oof = new Float64Array(y.length);
  for (let f = 0; f < k; f++) {
    options.onProgress?.('calibrate', f, k + 1);
    const trainIdx: number[] = [];
    const testIdx: number[] = [];
    for (let i = 0; i < y.length; i++) (fold[i] === f ? testIdx : trainIdx).push(i);
    const m = trainLogistic(
      trainIdx.map((i) => rows[i] as FeatureRow),
      trainIdx.map((i) => y[i] as number),
      buckets,
      {
        ...training,
        seed: seed + f + 1,
        ...(weights ? { sampleWeights: trainIdx.map((i) => weights[i] as number) } : {}),
      },
    );
    for (const i of testIdx) oof[i] = logitOf(m, rows[i] as FeatureRow);
  }
  const rule = options.thresholdRule ?? PHISH_TRAIN_DEFAULTS.thresholdRule;
  const threshold = chooseThreshold(
    oof.filter((_, i) => y[i] === 0),
    targetFpr,
    rule,
  );
  const nestedOf = (r: ThresholdRule) => {
    try {
      const c = nestedThresholdCheck(oof, y, fold, targetFpr, r);
      return { falsePositives: c.falsePositives, falsePositiveRate: c.falsePositiveRate, recall: c.recall };
    } catch (error) {
      if (error instanceof AegisInputError) return null;
      throw error;
    }
  };
  options.onProgress?.('train', k, k + 1);
  const model = trainLogistic(rows, y, buckets, weights ? { ...training, sampleWeights: weights } : training);
  options.onProgress?.('train', k + 1, k + 1);
  let caught = 0;
  let flagged = 0;
  for (let i = 0; i < y.length; i++) {
    if ((oof[i] as number) <= threshold) continue;
    if (y[i] === 1) caught++;
    else flagged++;
  }
  const summary: TrainingSummary = {
    warnings: thresholdWarnings(legitimate, targetFpr, rule),
    examples: y.length,
    phishing,
    legitimate,
    folds: k,
    outOfFoldAuc: rocAuc(oof, y),
    outOfFoldRecall: caught / phishing,
    outOfFoldFalsePositiveRate: flagged / legitimate,
    thresholdRule: rule,
    nested: { 'order-statistic': nestedOf('order-statistic'), 'tail-fit': nestedOf('tail-fit') },
    seconds: (performance.now() - started) / 1000,
    ...training,
  };
  return { model, threshold, targetFpr, summary, outOfFold: oof, fold };
}

/**
 * Too few legitimate examples for the target: when ⌊targetFpr · n⌋ = 0 the order statistic is the
 * highest out-of-fold legitimate score, which one unusual message sets, and an unseen legitimate
 * score exceeds the highest of n with probability 1/(n + 1) — above the target.
 */
export function thresholdWarnings(legitimate: number, targetFpr: number, rule: ThresholdRule): string[] {
  if (rule !== 'order-statistic' || Math.floor(targetFpr * legitimate + 1e-9) > 0) return [];
  const percent = (x: number) => `${Number((100 * x).toPrecision(2))}%`;
  return [
    `${legitimate} legitimate training examples cannot resolve a ${percent(targetFpr)} false-positive target: ` +
      `the threshold is the highest out-of-fold legitimate score, which one unusual message sets, and expects ` +
      `${percent(1 / (legitimate + 1))} false positives; the nested check shows what it did. ` +
      `Add legitimate data (${Math.ceil(1 / targetFpr)} or more) or raise the target.`,
  ];
}

/** The summary with its examples counted per guessed language, and a warning where one class is missing. */
