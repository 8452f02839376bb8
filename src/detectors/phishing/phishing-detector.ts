/**
 * The phishing detector (Detector contract, ../detector.ts): features (./features.ts) into a
 * class-weighted logistic regression (./logistic.ts); one probability per event, a verdict at
 * the operating threshold chosen on training data (./calibrated-training.ts), and the reasons —
 * the named signals and text n-grams with the largest share of the logit.
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
import type { Reason, TrainableDetector, Verdict } from '../detector.js';
import {
  calibratedLogistic,
  PHISH_TRAIN_DEFAULTS,
  type PhishTrainOptions,
  type TrainingSummary,
} from './calibrated-training.js';
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
  languageSampleWeights,
  languageWarnings,
  lopsidedLanguages,
  tallyLanguages,
} from './language.js';
import { type LinearModel, logitOf, sigmoid } from './logistic.js';
import { SIGNAL_DESCRIPTIONS } from './signals.js';

export const PHISH_FORMAT = 'aegis-phishing';
export const PHISH_MODEL_FILE = 'phishing-model.json';

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
  ): {
    options: PhishTrainOptions;
    languageWeight: number;
    reweightedLanguages: string[];
    /** Examples per guessed language (mail and SMS modes). */
    languages?: Record<string, LanguageCount>;
  } {
    const monotone = options.monotone ?? PHISH_TRAIN_DEFAULTS.monotone;
    const indicators = monotone ? this.featurizer.indicatorIndices : [];
    const training = indicators.length > 0 ? { nonNegativeDense: indicators, ...options.training } : options.training;
    const withIndicators = { ...options, ...(training ? { training } : {}) };
    // Language is a collection artefact the text model can learn (./language.ts); URLs have none.
    if (this.mode === 'url') return { options: withIndicators, languageWeight: 1, reweightedLanguages: [] };
    const languageWeight = options.languageWeight ?? PHISH_TRAIN_DEFAULTS.languageWeight;
    const tally = tallyLanguages(
      rows.map((r) => r.text),
      labels,
    );
    const reweighted = languageSampleWeights(tally, labels, languageWeight);
    return {
      options: reweighted ? { ...withIndicators, sampleWeights: reweighted.weights } : withIndicators,
      languageWeight,
      reweightedLanguages: reweighted?.languages ?? [],
      languages: tally.counts,
    };
  }

  /** Trains on featurized rows (so callers can featurize once and train many variants). */
  fitRows(rows: readonly FeatureRow[], labels: ArrayLike<number>, options: PhishTrainOptions = {}): TrainingSummary {
    const resolved = this.trainingOptions(rows, labels, options);
    const fitted = calibratedLogistic(rows, labels, this.featurizer.hasher.buckets, resolved.options, this.name);
    const { languageWeight, reweightedLanguages, languages } = resolved;
    const summary: TrainingSummary = languages
      ? {
          ...fitted.summary,
          languages,
          warnings: [...fitted.summary.warnings, ...languageWarnings(languages, languageWeight)],
          languageWeight,
          reweightedLanguages,
        }
      : fitted.summary;
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
