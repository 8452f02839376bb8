/**
 * Runs a poisoning attack over a list of poison fractions: trains a victim on clean data once (the
 * baseline), then per fraction crafts the poisoned set(s), trains the victim with the same recipe
 * and seed, and measures it on clean test data. One PoisoningRow per fraction:
 *
 * - poisonFraction / poisonCount: poisoned rows over training rows, and their number (per trial)
 * - cleanAccuracy: the poisoned victim on the clean test set (mean over trials)
 * - attackSuccessRate: Σ hits / Σ eligible over the trials (the attack defines both; see its file)
 * - cleanBaselineAccuracy: the clean-data victim on the same test set; accuracyDrop = it − cleanAccuracy
 * - eligible: test inputs the rate is measured on (per trial); trials: victims trained
 * - seconds: crafting + training + measuring, all trials of the fraction
 * plus any metric the attack reports (targetRateWithoutTrigger, baselineConfusion, …) averaged over
 * trials, and columns an `afterVictim` hook adds (the poison-detection defenses).
 */
import { AegisInputError } from '../../core/errors.js';
import { makeThreatModel, type ThreatModel } from '../../core/threat-model.js';
import type { Dataset } from '../../data/dataset.js';
import type { TextDataset } from '../../data/text-dataset.js';
import { predictDataset } from '../../models/evaluate.js';
import type { Model, ModelInfo } from '../../models/model.js';
import type { AttackResultLike } from '../../report/build-report.js';
import { checkFraction, rowCount } from './poison-rows.js';
import {
  isTextData,
  type PoisonableData,
  type PoisonedTrainingSet,
  type PoisoningAttack,
  type PoisoningRow,
  type PoisonTrial,
  type VictimTrainer,
} from './poisoning-attack.js';

/** What an `afterVictim` hook gets: the poisoned set, its victim, and a way to judge another victim. */
export interface VictimContext {
  fraction: number;
  poisoned: PoisonedTrainingSet;
  victim: Model;
  trainVictim: VictimTrainer;
  seed: number;
  /** The clean test set, encoded. */
  test: Dataset;
  /** Clean accuracy and attack success of any victim, measured as for the row. */
  measure(model: Model): Promise<{ cleanAccuracy: number; attackSuccessRate: number }>;
}

export interface RunPoisoningOptions {
  attack: PoisoningAttack;
  train: PoisonableData;
  test: PoisonableData;
  trainVictim: VictimTrainer;
  fractions: number[];
  seed: number;
  /** Texts → features (e.g. the hashing vectorizer); required when the data are texts. */
  encode?: (data: TextDataset) => Dataset;
  /** Valid input domain of the victim's inputs (threat model). Default [0, 1], or [-1, 1] for hashed text. */
  inputRange?: [number, number];
  /** Example pairs kept for the report, from the largest fraction's first trial. Default 8. */
  keepExamples?: number;
  /** Extra row metrics per victim (averaged over trials), e.g. detection precision/recall. */
  afterVictim?: (ctx: VictimContext) => Promise<Record<string, number>>;
  /** Called after each victim: done and total (baseline included). */
  onProgress?: (done: number, total: number) => void;
}

export interface PoisoningResult extends AttackResultLike {
  rows: PoisoningRow[];
  /** The clean-data victim's test accuracy. */
  baselineAccuracy: number;
  /** ModelInfo of the last victim (for report.model). */
  victim: ModelInfo;
}

/** Checks a fraction list: non-empty, each in [0, 1). */
export function checkFractions(fractions: readonly number[]): number[] {
  if (fractions.length === 0) throw new AegisInputError('no poison fractions given');
  return fractions.map((f) => checkFraction(f));
}

function accuracy(predicted: Int32Array, y: Int32Array): number {
  let correct = 0;
  for (let i = 0; i < y.length; i++) if (predicted[i] === y[i]) correct++;
  return y.length ? correct / y.length : 0;
}

/** Sums per-trial metrics so the row can report their means. */
class Averager {
  private readonly sums = new Map<string, number>();
  private readonly counts = new Map<string, number>();

  add(metrics: Record<string, number> | undefined): void {
    for (const [key, value] of Object.entries(metrics ?? {})) {
      if (!Number.isFinite(value)) continue;
      this.sums.set(key, (this.sums.get(key) ?? 0) + value);
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    }
  }

  means(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, sum] of this.sums) out[key] = sum / (this.counts.get(key) ?? 1);
    return out;
  }
}

export async function runPoisoning(opts: RunPoisoningOptions): Promise<PoisoningResult> {
  const { attack, train, test, trainVictim, seed } = opts;
  const fractions = checkFractions(opts.fractions);
  if (!Number.isInteger(seed)) throw new AegisInputError(`seed must be an integer, got ${seed}`);
  if (isTextData(train) !== isTextData(test)) {
    throw new AegisInputError('training and test data must both be texts or both be numeric');
  }
  if (train.classNames.length !== test.classNames.length) {
    throw new AegisInputError(
      `training data has ${train.classNames.length} classes but test data has ${test.classNames.length}`,
    );
  }
  const text = isTextData(train);
  if (text && !opts.encode) throw new AegisInputError('text data needs an encoder (e.g. the hashing vectorizer)');
  const encode = (data: PoisonableData): Dataset =>
    isTextData(data) ? (opts.encode as (d: TextDataset) => Dataset)(data) : data;
  attack.check(train, test);

  const total = 1 + fractions.length;
  let done = 0;
  const testSet = encode(test);
  const baseline = await trainVictim(encode(train), seed);
  let baselinePredictions: Int32Array;
  try {
    baselinePredictions = await predictDataset(baseline, testSet);
  } finally {
    await baseline.dispose();
  }
  const baselineAccuracy = accuracy(baselinePredictions, test.y);
  opts.onProgress?.(++done, total);

  const keep = opts.keepExamples ?? 8;
  let examples: PoisoningResult['examples'];
  let victimInfo: ModelInfo | undefined;
  const rows: PoisoningRow[] = [];
  const largest = fractions.indexOf(Math.max(...fractions));

  for (let f = 0; f < fractions.length; f++) {
    const fraction = fractions[f] as number;
    const started = performance.now();
    const trials = await attack.craft(train, fraction, seed, { test, baselinePredictions });
    let hits = 0;
    let eligible = 0;
    const averages = new Averager();
    for (let t = 0; t < trials.length; t++) {
      const trial = trials[t] as PoisonTrial;
      const poisoned: PoisonedTrainingSet = {
        train: encode(trial.data),
        poisonIndices: trial.poisonIndices,
        ...(trial.targetClass !== undefined ? { targetClass: trial.targetClass } : {}),
      };
      const judge = async (model: Model) => {
        const cleanPredictions = await predictDataset(model, testSet);
        const count = await trial.measure({
          victim: model,
          test,
          predict: (data) => predictDataset(model, encode(data)),
          cleanPredictions,
          baselinePredictions,
        });
        return { cleanPredictions, count };
      };
      const victim = await trainVictim(poisoned.train, seed);
      try {
        victimInfo = victim.info;
        const { cleanPredictions, count } = await judge(victim);
        hits += count.hits;
        eligible += count.eligible;
        const n = rowCount(trial.data);
        averages.add({
          poisonCount: trial.poisonIndices.length,
          poisonFraction: n ? trial.poisonIndices.length / n : 0,
          cleanAccuracy: accuracy(cleanPredictions, test.y),
          eligible: count.eligible,
          ...trial.info,
          ...count.extra,
        });
        if (opts.afterVictim) {
          averages.add(
            await opts.afterVictim({
              fraction,
              poisoned,
              victim,
              trainVictim,
              seed,
              test: testSet,
              measure: async (model) => {
                const judged = await judge(model);
                return {
                  cleanAccuracy: accuracy(judged.cleanPredictions, test.y),
                  attackSuccessRate: judged.count.eligible ? judged.count.hits / judged.count.eligible : 0,
                };
              },
            }),
          );
        }
        if (f === largest && t === 0 && keep > 0 && trial.examples) {
          examples = await examplePairs(victim, trial, test, keep);
        }
      } finally {
        await victim.dispose();
      }
    }
    const {
      poisonFraction = 0,
      poisonCount = 0,
      cleanAccuracy = 0,
      eligible: perTrial = 0,
      ...rest
    } = averages.means();
    rows.push({
      poisonFraction,
      poisonCount,
      cleanAccuracy,
      attackSuccessRate: eligible ? hits / eligible : 0,
      cleanBaselineAccuracy: baselineAccuracy,
      accuracyDrop: baselineAccuracy - cleanAccuracy,
      ...rest,
      eligible: perTrial,
      trials: trials.length,
      seconds: (performance.now() - started) / 1000,
    });
    opts.onProgress?.(++done, total);
  }

  const threatModel: ThreatModel = makeThreatModel({
    access: attack.access,
    epsilons: [],
    inputRange: opts.inputRange ?? (text ? [-1, 1] : [0, 1]),
    knowledge: attack.knowledge(Math.max(...fractions)),
  });
  return {
    attack: attack.name,
    title: attack.title,
    citation: attack.citation,
    atlas: attack.atlas,
    threatModel,
    mitigations: attack.mitigations,
    rows,
    ...(examples ? { examples } : {}),
    baselineAccuracy,
    victim: victimInfo as ModelInfo,
  };
}

async function examplePairs(
  victim: Model,
  trial: PoisonTrial,
  test: PoisonableData,
  keep: number,
): Promise<PoisoningResult['examples']> {
  const pairs = trial.examples?.(test, keep);
  if (!pairs || pairs.first.y.length === 0) return undefined;
  const per = pairs.first.shape.slice(1).reduce((a, b) => a * b, 1);
  const n = pairs.first.y.length;
  const rows = (x: Float32Array) => Array.from({ length: n }, (_, i) => x.slice(i * per, (i + 1) * per));
  return {
    shape: pairs.first.shape.slice(1),
    eps: 0,
    clean: rows(pairs.first.x),
    adversarial: rows(pairs.second.x),
    labels: Array.from(pairs.labels),
    cleanPredictions: Array.from(await predictDataset(victim, pairs.first)),
    adversarialPredictions: Array.from(await predictDataset(victim, pairs.second)),
    captions: pairs.captions,
  };
}
