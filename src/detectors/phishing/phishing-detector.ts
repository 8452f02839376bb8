/**
 * The phishing detector (Detector contract, ../detector.ts): features (./features.ts) into a
 * class-weighted logistic regression (./logistic.ts); one probability per event, a verdict at
 * the operating threshold, and the reasons — the named signals and text n-grams with the largest
 * share of the logit.
 *
 * Operating threshold: chosen on TRAINING data only. The training set is cut into k stratified
 * folds; each fold is scored by a model trained on the other k − 1 (out-of-fold scores, as
 * scikit-learn's cross_val_predict); the threshold is the logit that flags at most `targetFpr`
 * of those out-of-fold legitimate scores (metrics.ts thresholdAtFpr). The final model is then
 * trained on the whole training set. Scores of a model on its own training data are
 * over-confident; out-of-fold scores are what unseen mail looks like.
 *
 * Rule: 'order-statistic' (default; the (⌊targetFpr·n⌋+1)-th highest score, whose expected
 * share of unseen legitimate scores above it is (⌊targetFpr·n⌋+1)/(n+1) — 0.104% at n = 2,876)
 * or 'tail-fit' (generalized Pareto tail, ./operating-threshold.ts). The training summary reports
 * a nested check of both.
 *
 * Mail mode holds the weights of the named phishing indicators ≥ 0 (monotone, see
 * PhishTrainOptions.monotone): a warning sign never lowers the score. Mail and SMS modes weigh
 * down the abundant class of a language the other class barely has (PhishTrainOptions.languageWeight,
 * ./language.ts): the public corpora's phishing is 25% non-English, their legitimate mail 0.1%.
 *
 * Batch-trained: `learn(event)` does nothing (retrain with fit).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AegisInputError, isInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { Reason, TrainableDetector, Verdict } from '../detector.js';
import { rocAuc } from '../metrics.js';
import {
  FEATURE_DEFAULTS,
  type FeatureConfig,
  type FeatureRow,
  Featurizer,
  PHISH_MODES,
  type PhishEvent,
  type PhishMode,
} from './features.js';
import {
  guessLanguage,
  LANGUAGE_NAMES,
  type LanguageCount,
  languageCounts,
  languageSampleWeights,
  languageWarnings,
  lopsidedLanguages,
} from './language.js';
import {
  type LinearModel,
  LOGISTIC_DEFAULTS,
  type LogisticOptions,
  logitOf,
  sigmoid,
  trainLogistic,
} from './logistic.js';
import { chooseThreshold, type NestedCheck, nestedThresholdCheck, type ThresholdRule } from './operating-threshold.js';
import { SIGNAL_DESCRIPTIONS } from './signals.js';

export const PHISH_FORMAT = 'aegis-phishing';
export const PHISH_MODEL_FILE = 'phishing-model.json';

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

const metaShape = z.object({
  format: z.literal(PHISH_FORMAT),
  version: z.literal(1),
  features: z.object({
    mode: z.enum(PHISH_MODES),
    bits: z.number().int().min(1).max(24),
    wordNgrams: z.tuple([z.number().int(), z.number().int()]),
    charNgrams: z.tuple([z.number().int(), z.number().int()]).nullable(),
    foldHomoglyphs: z.boolean(),
    maxTextChars: z.number().int().positive(),
    textOnly: z.boolean(),
    binary: z.boolean(),
    subjectTokens: z.boolean().optional(),
  }),
  denseNames: z.array(z.string()),
  /** Operating threshold on the logit: flag when logit > threshold. */
  threshold: z.number(),
  targetFpr: z.number(),
  training: z.record(z.string(), z.unknown()),
  bias: z.number(),
  dense: z.array(z.number()),
  /** Sparse weights, float32 little-endian, base64. */
  sparse: z.string(),
});
export type PhishMeta = Omit<z.infer<typeof metaShape>, 'bias' | 'dense' | 'sparse'>;

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

function encodeFloats(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function decodeFloats(text: string, length: number, where: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== length * 4) {
    throw new AegisInputError(`${where}: sparse weights hold ${bytes.length / 4} values, expected ${length}`);
  }
  const out = new Float32Array(length);
  new Uint8Array(out.buffer).set(bytes);
  return out;
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
function withLanguages(
  summary: TrainingSummary,
  texts: readonly string[],
  labels: ArrayLike<number>,
  languageWeight: number,
): TrainingSummary {
  const languages = languageCounts(texts, labels);
  return { ...summary, languages, warnings: [...summary.warnings, ...languageWarnings(languages, languageWeight)] };
}

/** A verdict, with a caveat when the message's language was (nearly) one-class in training. */
export interface PhishVerdict extends Verdict {
  caveat?: string;
}

export class PhishingDetector implements TrainableDetector<PhishEvent, number> {
  readonly scoreKind = 'probability' as const;
  readonly featurizer: Featurizer;
  private model: LinearModel | undefined;
  private meta: PhishMeta;

  /** `denseNames`: the signal order of a saved model (see load); default the mode's current signals. */
  constructor(features: Partial<FeatureConfig> & { mode: PhishMode }, denseNames?: readonly string[]) {
    const config = { ...FEATURE_DEFAULTS[features.mode], ...features };
    this.featurizer = new Featurizer(config, denseNames);
    this.meta = {
      format: PHISH_FORMAT,
      version: 1,
      features: config,
      denseNames: [...this.featurizer.denseNames],
      threshold: 0,
      targetFpr: PHISH_TRAIN_DEFAULTS.targetFpr,
      training: {},
    };
  }

  get name(): string {
    return `phishing-${this.meta.features.mode}`;
  }

  get mode(): PhishMode {
    return this.meta.features.mode;
  }

  get info(): PhishMeta {
    return this.meta;
  }

  /** Operating threshold on the logit. */
  get threshold(): number {
    return this.meta.threshold;
  }

  /** The same threshold as a probability. */
  get thresholdProbability(): number {
    return sigmoid(this.meta.threshold);
  }

  get trained(): boolean {
    return this.model !== undefined;
  }

  get weights(): LinearModel {
    if (!this.model) throw new AegisInputError(`${this.name}: not trained yet (fit it or load a saved model)`);
    return this.model;
  }

  featurize(event: PhishEvent): FeatureRow {
    return this.featurizer.featurize(event);
  }

  async fit(events: readonly PhishEvent[], labels?: readonly number[], options: PhishTrainOptions = {}): Promise<void> {
    if (!labels) throw new AegisInputError(`${this.name}: training needs labels (1 phishing, 0 legitimate)`);
    this.fitRows(
      events.map((e) => this.featurize(e)),
      labels,
      options,
    );
  }

  /**
   * What fitRows hands to calibratedLogistic for these rows: the monotone indicators and the
   * language weights (see the header). Benches that call calibratedLogistic directly use it too.
   */
  trainingOptions(
    rows: readonly FeatureRow[],
    labels: ArrayLike<number>,
    options: PhishTrainOptions = {},
  ): { options: PhishTrainOptions; languageWeight: number; reweightedLanguages: string[] } {
    const monotone = options.monotone ?? PHISH_TRAIN_DEFAULTS.monotone;
    const indicators = monotone ? this.featurizer.indicatorIndices : [];
    const training = indicators.length > 0 ? { nonNegativeDense: indicators, ...options.training } : options.training;
    // Language is a collection artefact the text model can learn (./language.ts); URLs have none.
    const languageWeight = this.mode === 'url' ? 1 : (options.languageWeight ?? PHISH_TRAIN_DEFAULTS.languageWeight);
    const reweighted = languageSampleWeights(
      rows.map((r) => r.text),
      labels,
      languageWeight,
    );
    return {
      options: {
        ...options,
        ...(training ? { training } : {}),
        ...(reweighted ? { sampleWeights: reweighted.weights } : {}),
      },
      languageWeight,
      reweightedLanguages: reweighted?.languages ?? [],
    };
  }

  /** Trains on featurized rows (so callers can featurize once and train many variants). */
  fitRows(rows: readonly FeatureRow[], labels: ArrayLike<number>, options: PhishTrainOptions = {}): TrainingSummary {
    const resolved = this.trainingOptions(rows, labels, options);
    const fitted = calibratedLogistic(rows, labels, this.featurizer.hasher.buckets, resolved.options, this.name);
    const { languageWeight, reweightedLanguages } = resolved;
    const summary =
      this.mode === 'url'
        ? fitted.summary
        : {
            ...withLanguages(
              fitted.summary,
              rows.map((r) => r.text),
              labels,
              languageWeight,
            ),
            languageWeight,
            reweightedLanguages,
          };
    this.model = fitted.model;
    this.meta = { ...this.meta, threshold: fitted.threshold, targetFpr: fitted.targetFpr, training: summary };
    return summary;
  }

  /** Logit of each row (higher = more likely phishing; ROC analysis uses these). */
  logits(rows: readonly FeatureRow[]): Float64Array {
    const model = this.weights;
    return Float64Array.from(rows, (r) => logitOf(model, r));
  }

  logit(event: PhishEvent): number {
    return logitOf(this.weights, this.featurize(event));
  }

  score(event: PhishEvent): PhishVerdict {
    const row = this.featurize(event);
    const z = logitOf(this.weights, row);
    const caveat = this.languageCaveat(row.text);
    return {
      score: sigmoid(z),
      label: z > this.meta.threshold ? 'phishing' : this.mode === 'url' ? 'legitimate' : 'ham',
      reasons: this.explain(row),
      ...(caveat ? { caveat } : {}),
    };
  }

  /**
   * Said of a message in a language the training data held nearly only one class of (the
   * summary's `languages`, ./language.ts lopsidedLanguages): its score rests on little evidence.
   * undefined otherwise, and for models saved before languages were counted.
   */
  languageCaveat(text: string): string | undefined {
    const counts = this.meta.training.languages as Record<string, LanguageCount> | undefined;
    if (!counts || this.mode === 'url') return undefined;
    const language = guessLanguage(text);
    if (!lopsidedLanguages(counts).includes(language)) return undefined;
    const { legitimate, phishing } = counts[language] as LanguageCount;
    const name = LANGUAGE_NAMES[language] ?? language;
    return `${name}: trained on ${legitimate} legitimate and ${phishing} phishing ${name} messages; this score rests on little evidence`;
  }

  /** Batch-trained: does nothing (retrain with fit). */
  learn(_event: PhishEvent): void {}

  /** The signals and text n-grams with the largest positive share of the logit, largest first. */
  explain(row: FeatureRow, top = 5): Reason[] {
    const model = this.weights;
    const reasons: Reason[] = [];
    const position = new Map(this.featurizer.denseNames.map((n, i) => [n, i]));
    for (const s of row.signals) {
      const j = position.get(s.feature);
      if (j === undefined) continue;
      const weight = (model.dense[j] as number) * (row.dense[j] as number);
      if (weight > 0) reasons.push({ feature: s.feature, detail: s.detail, weight });
    }
    let textShare = 0;
    for (let k = 0; k < row.sparse.index.length; k++) {
      textShare += (model.sparse[row.sparse.index[k] as number] as number) * (row.sparse.value[k] as number);
    }
    if (textShare > 0) {
      reasons.push({
        feature: 'text',
        detail: `the wording (${this.strongestGrams(row.text).join(', ')})`,
        weight: textShare,
      });
    }
    return reasons.sort((a, b) => b.weight - a.weight).slice(0, top);
  }

  /** Word n-grams of the text with the largest positive weight (quoted). */
  private strongestGrams(text: string, count = 4): string[] {
    const model = this.weights;
    const { wordNgrams } = this.featurizer.config;
    const grams = new Featurizer({ ...this.featurizer.config, charNgrams: null }).hasher.grams(text);
    const scored = grams
      .map((g) => ({ gram: g.gram, w: (model.sparse[g.index] as number) * g.sign }))
      .filter((g) => g.w > 0 && g.gram.split(' ').length <= wordNgrams[1])
      .sort((a, b) => b.w - a.w)
      .slice(0, count);
    return scored.map((g) => `"${g.gram}"`);
  }

  async save(dir: string): Promise<string> {
    const model = this.weights;
    await mkdir(dir, { recursive: true });
    const path = join(dir, PHISH_MODEL_FILE);
    const doc = { ...this.meta, bias: model.bias, dense: [...model.dense], sparse: encodeFloats(model.sparse) };
    await writeFile(path, `${JSON.stringify(doc)}\n`);
    return path;
  }

  static async load(dir: string): Promise<PhishingDetector> {
    const path = existsSync(join(dir, PHISH_MODEL_FILE)) ? join(dir, PHISH_MODEL_FILE) : dir;
    let json: unknown;
    try {
      // A FIFO or device would block the read forever.
      const stat = statSync(path);
      if (!stat.isFile() && !stat.isDirectory()) {
        throw new AegisInputError(`${path}: not a regular file (a FIFO, socket or device); not a phishing model`);
      }
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      if (isInputError(error)) throw error;
      throw new AegisInputError(`${path}: cannot read a phishing model (${(error as Error).message})`, {
        cause: error,
      });
    }
    const parsed = metaShape.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AegisInputError(
        `${path}: not an aegis phishing model (${issue?.path.join('.') || 'document'}: ${issue?.message})`,
      );
    }
    const { bias, dense, sparse, ...meta } = parsed.data;
    // A model saved before signals were added keeps its own signal list (the new signals weigh 0 in it).
    // Models saved before subject tokens existed hashed without them.
    const features = { ...meta.features, subjectTokens: meta.features.subjectTokens ?? false } as FeatureConfig;
    const detector = new PhishingDetector(features, meta.features.textOnly ? [] : meta.denseNames);
    if (dense.length !== detector.featurizer.denseNames.length) {
      throw new AegisInputError(
        `${path}: ${dense.length} dense weights but the model lists ${detector.featurizer.denseNames.length} signals`,
      );
    }
    detector.model = {
      bias,
      dense: Float32Array.from(dense),
      sparse: decodeFloats(sparse, 2 ** meta.features.bits, path),
    };
    detector.meta = { ...meta, features } as PhishMeta;
    return detector;
  }
}

/** One-line description of a signal, for docs and reports. */
export function describeSignal(name: string): string {
  return SIGNAL_DESCRIPTIONS[name] ?? name;
}
