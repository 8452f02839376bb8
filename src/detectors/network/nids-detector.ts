/**
 * The network intrusion detector: a supervised classifier for the attacks it was trained on, plus
 * novelty detectors trained on normal traffic only for the attacks it was not (autoencoder
 * reconstruction error, isolation forest, distance to the nearest normal training flow). A flow
 * is an attack when
 *
 *     P(attack) > t_sup   or   autoencoder error > t_ae   or   isolation score > t_if   or   k-NN distance > t_knn,
 *
 * each threshold set so that the component flags `targetFpr` of the benign flows of a validation
 * split held out from the TRAINING file (stratified, seeded) — never from test data. The models
 * are fitted on the rest of the training file. The combined score is r / (1 + r) with
 * r = max(P/t_sup, e/t_ae, s/t_if), so score > 0.5 exactly when some component crosses its
 * threshold, and scores rank flows for ROC analysis.
 * That is the 'any' combination. The 'evidence' combination (combine.ts) instead turns each score
 * into benign-tail evidence −log10 p against the same benign validation flows and flags a flow when
 * the weighted sum of evidence exceeds the sum that flags `targetFpr` of them.
 * In multi-class mode the class is the classifier's argmax, except that a flow flagged only by
 * novelty gets the most likely attack class, and a flow no component flags is normal.
 */

import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import type { Dataset } from '../../data/dataset.js';
import { fileSystemHandler } from '../../models/fs-io-handler.js';
import { loadTfjsModel, saveTfjsModel, type TfjsModel } from '../../models/tfjs-model.js';
import { trainingSummary } from '../../models/train.js';
import type { Detector, Reason, TrainableDetector, Verdict } from '../detector.js';
import { thresholdAtFpr } from '../metrics.js';
import { reconstructionErrors, rowMeans, trainAutoencoder } from './autoencoder.js';
import {
  type ComponentScores,
  calibrateEvidence,
  combinationShape,
  combinedEvidence,
  type EvidenceCombination,
  evidenceScore,
  fitTail,
} from './combine.js';
import { type EncodeResult, FlowEncoder } from './encoder.js';
import { byColumn, classifierContributions, reasonsFrom } from './explain.js';
import { IsolationForest } from './isolation-forest.js';
import { KnnNovelty } from './knn.js';
import { layoutByName } from './layouts.js';
import { type FlowRecord, type FlowTable, recordsToTable, takeRows } from './read-flows.js';
import { type ClassifierOptions, trainFlowClassifier } from './supervised.js';

export const NIDS_FORMAT = 'aegis-nids';
export type NoveltyKind = 'autoencoder' | 'iforest' | 'knn';
export const NOVELTY_KINDS: readonly NoveltyKind[] = ['autoencoder', 'iforest', 'knn'];
/** The components, in the order the `driver` field numbers them. */
export const COMPONENTS = ['supervised', 'autoencoder', 'iforest', 'knn'] as const;
export type Component = (typeof COMPONENTS)[number];

export interface NidsTrainOptions {
  seed: number;
  /** 'multiclass' (the layout's classes) or 'binary' (normal/attack). Default multiclass. */
  mode?: 'multiclass' | 'binary';
  /** Novelty detectors to combine with the classifier. Default ['autoencoder'] (NIDS_DEFAULTS). */
  novelty?: NoveltyKind[];
  /**
   * 'any' (a flow is an attack when any component crosses its own threshold) or 'evidence' (the
   * weighted sum of calibrated benign-tail evidence, combine.ts). Default NIDS_DEFAULTS.combine.
   */
  combine?: 'any' | 'evidence';
  /** 'evidence': the classifier's weight; the novelty detectors share the rest equally. */
  supervisedWeight?: number;
  /**
   * 'any': share of benign validation flows each novelty detector may flag. 'evidence': share the
   * combined evidence may flag (each component's own threshold, for its figures alone, likewise).
   */
  targetFpr?: number;
  /** 'any': share the classifier may flag (default 0.02); 'argmax' keeps P(attack) > 0.5 instead. */
  supervisedFpr?: number | 'argmax';
  /** Share of the training file held out (stratified) to calibrate thresholds and stop early. Default 0.2. */
  validationFraction?: number;
  classifier?: Omit<Partial<ClassifierOptions>, 'seed' | 'validation'>;
  autoencoder?: { hidden?: number[]; epochs?: number; batchSize?: number; learningRate?: number };
  forest?: { trees?: number; sampleSize?: number };
  /** Nearest-neighbour novelty (knn.ts): the neighbour rank k (default 1). */
  knn?: { k?: number; maxReferences?: number };
  /** Columns left out of the features. */
  excludeColumns?: string[];
  progress?: boolean;
}

/**
 * The design chosen by bench/nids.ts --stage select on KDDTrain+_20Percent alone (leave-attacks-out
 * validation, selection.ts's rule; see docs/network-detection.md): an unweighted 5-class MLP, a
 * 256-64-256 autoencoder and the nearest-neighbour distance, combined by 'evidence' with the
 * classifier at weight 0.2 and the combined evidence at 5% benign validation FPR. The isolation
 * forest and the 'any' combination stay available.
 */
export const NIDS_DEFAULTS = {
  mode: 'multiclass' as const,
  novelty: ['autoencoder', 'knn'] as NoveltyKind[],
  combine: 'evidence' as 'any' | 'evidence',
  supervisedWeight: 0.2,
  targetFpr: 0.05,
  supervisedFpr: 'argmax' as number | 'argmax',
  classWeightPower: 0,
  validationFraction: 0.2,
  autoencoderHidden: [256, 64],
  autoencoderEpochs: 30,
};

const thresholdsShape = z.object({
  supervised: z.number(),
  autoencoder: z.number().optional(),
  iforest: z.number().optional(),
  knn: z.number().optional(),
});
export type NidsThresholds = z.infer<typeof thresholdsShape>;

const metaShape = z.object({
  format: z.literal(NIDS_FORMAT),
  version: z.literal(1),
  layout: z.string(),
  mode: z.enum(['multiclass', 'binary']),
  classNames: z.array(z.string()).min(2),
  novelty: z.array(z.enum(['autoencoder', 'iforest', 'knn'])),
  targetFpr: z.number(),
  supervisedFpr: z.union([z.number(), z.literal('argmax')]),
  thresholds: thresholdsShape,
  /** Absent: the 'any' combination (models saved before the evidence combination existed too). */
  combination: combinationShape.optional(),
  training: z.record(z.string(), z.unknown()),
});
export type NidsMeta = z.infer<typeof metaShape>;

function countLabels(labels: readonly string[]): Record<string, number> {
  // A Map, not an object literal: a label may be any text, '__proto__' or 'constructor' too.
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return Object.fromEntries(counts);
}

/** Everything the detector computes for a batch of flows. */
export interface NidsScores {
  size: number;
  encoded: EncodeResult;
  /** Class probabilities [size × classes]. */
  probs: Float32Array;
  /** 1 − P(normal). */
  pAttack: Float64Array;
  /** log P(attack) − log P(normal), from the logits. */
  logOdds: Float64Array;
  autoencoder?: Float64Array;
  iforest?: Float64Array;
  /** Distance to the nearest normal training flow. */
  knn?: Float64Array;
  /** 'evidence' combination: the weighted benign-tail evidence. */
  evidence?: Float64Array;
  /** r / (1 + r), r the largest score/threshold ratio ('any') or evidence/threshold; > 0.5 = attack. */
  combined: Float64Array;
  attack: Uint8Array;
  /** Class index consistent with `attack` (see the header). */
  predicted: Int32Array;
  /** Index into COMPONENTS of the component with the largest ratio. */
  driver: Uint8Array;
  seconds: number;
}

/** Seeded split keeping each class's share on both sides (a class with one example stays in training). */
export function stratifiedSplit(keys: readonly string[], fraction: number, seed: number): [Int32Array, Int32Array] {
  const rng = new Rng(seed);
  const byKey = new Map<string, number[]>();
  keys.forEach((k, i) => {
    const list = byKey.get(k) ?? [];
    list.push(i);
    byKey.set(k, list);
  });
  const first: number[] = [];
  const second: number[] = [];
  for (const key of [...byKey.keys()].sort()) {
    const list = byKey.get(key) as number[];
    rng.shuffle(list);
    const cut = list.length < 2 ? 0 : Math.round(fraction * list.length);
    second.push(...list.slice(0, cut));
    first.push(...list.slice(cut));
  }
  return [Int32Array.from(first).sort(), Int32Array.from(second).sort()];
}

/** Class index per row for the given class names ('attack' takes every non-normal row in binary mode). */
export function classIndex(table: FlowTable, classNames: readonly string[], mode: 'multiclass' | 'binary'): Int32Array {
  const normal = table.layout.normalClass;
  return Int32Array.from(table.classes, (c) => {
    if (mode === 'binary') return c === normal ? 0 : 1;
    return c === undefined ? -1 : classNames.indexOf(c);
  });
}

/** The multi-class task's classes: the layout's fixed list, else normal then the training families by frequency. */
function classNamesOf(table: FlowTable, mode: 'multiclass' | 'binary'): string[] {
  const normal = table.layout.normalClass;
  if (mode === 'binary') return [normal, 'attack'];
  if (table.layout.fixedClasses.length > 0) return [...table.layout.fixedClasses];
  const counts = new Map<string, number>();
  for (const c of table.classes) if (c !== undefined && c !== normal) counts.set(c, (counts.get(c) ?? 0) + 1);
  if (counts.size === 0) {
    throw new AegisInputError(
      `${table.source}: only ${normal} flows; the multi-class classifier needs attack flows too (--mode binary trains without)`,
    );
  }
  return [normal, ...[...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([c]) => c)];
}

/** Benign validation scores of each component (what the thresholds are calibrated on). */
export interface CalibrationScores {
  pAttack: Float64Array;
  logOdds: Float64Array;
  autoencoder?: Float64Array;
  iforest?: Float64Array;
  /** Distance to the nearest normal training flow. */
  knn?: Float64Array;
}

/** What each component's benign tail is fitted on (combine.ts): log-odds, log reconstruction error, isolation score. */
export function evidenceInputs(raw: Omit<CalibrationScores, 'pAttack'>): ComponentScores {
  return {
    supervised: raw.logOdds,
    ...(raw.autoencoder ? { autoencoder: raw.autoencoder.map((e) => Math.log(Math.max(e, 1e-12))) } : {}),
    ...(raw.iforest ? { iforest: raw.iforest } : {}),
    ...(raw.knn ? { knn: raw.knn.map((e) => Math.log(Math.max(e, 1e-6))) } : {}),
  };
}

/** Per-component thresholds and, for 'evidence', the combination, on the benign calibration scores. */
export function calibrateOperatingPoint(
  raw: CalibrationScores,
  op: { combine: 'any' | 'evidence'; targetFpr: number; supervisedFpr: number | 'argmax'; supervisedWeight: number },
): { thresholds: NidsThresholds; combination?: EvidenceCombination } {
  // At 1 every benign flow may be flagged: no threshold exists (the evidence one would be −∞).
  if (!(op.targetFpr >= 0 && op.targetFpr < 1)) {
    throw new AegisInputError(`target false-positive rate must be in [0, 1), got ${op.targetFpr}`);
  }
  if (op.combine === 'any') return { thresholds: calibrate(raw, op.targetFpr, op.supervisedFpr) };
  return {
    thresholds: calibrate(raw, op.targetFpr, op.targetFpr),
    combination: calibrateEvidence(evidenceInputs(raw), op.supervisedWeight, op.targetFpr),
  };
}

/** Thresholds at the operating point on the benign calibration scores. */
export function calibrate(
  raw: CalibrationScores,
  noveltyFpr: number,
  supervisedFpr: number | 'argmax',
): NidsThresholds {
  return {
    supervised: supervisedFpr === 'argmax' ? 0.5 : Math.max(thresholdAtFpr(raw.pAttack, supervisedFpr), 1e-6),
    ...(raw.autoencoder ? { autoencoder: Math.max(thresholdAtFpr(raw.autoencoder, noveltyFpr), 1e-12) } : {}),
    ...(raw.iforest ? { iforest: Math.max(thresholdAtFpr(raw.iforest, noveltyFpr), 1e-12) } : {}),
    ...(raw.knn ? { knn: Math.max(thresholdAtFpr(raw.knn, noveltyFpr), 1e-12) } : {}),
  };
}

export class NidsDetector implements TrainableDetector<FlowRecord, string> {
  readonly name = 'nids-combined';
  readonly scoreKind = 'probability' as const;
  /** Benign validation scores from training (kept in memory, not saved): lets withOperatingPoint recalibrate. */
  calibration?: CalibrationScores;

  private constructor(
    readonly meta: NidsMeta,
    readonly encoder: FlowEncoder,
    readonly classifier: TfjsModel,
    readonly autoencoder: tfl.LayersModel | undefined,
    readonly forest: IsolationForest | undefined,
    readonly knn: KnnNovelty | undefined = undefined,
  ) {}

  get classNames(): string[] {
    return this.meta.classNames;
  }

  get thresholds(): NidsThresholds {
    return this.meta.thresholds;
  }

  /** Trains every component on a labelled training table (see the header for the protocol). */
  static async train(table: FlowTable, options: NidsTrainOptions): Promise<NidsDetector> {
    if (!table.labelled) throw new AegisInputError(`${table.source}: training needs labelled flows`);
    const mode = options.mode ?? NIDS_DEFAULTS.mode;
    const novelty = [...new Set(options.novelty ?? NIDS_DEFAULTS.novelty)];
    const combine = options.combine ?? NIDS_DEFAULTS.combine;
    const supervisedWeight = options.supervisedWeight ?? NIDS_DEFAULTS.supervisedWeight;
    const targetFpr = options.targetFpr ?? NIDS_DEFAULTS.targetFpr;
    const supervisedFpr = combine === 'evidence' ? targetFpr : (options.supervisedFpr ?? NIDS_DEFAULTS.supervisedFpr);
    const fraction = options.validationFraction ?? NIDS_DEFAULTS.validationFraction;
    if (!(fraction > 0 && fraction < 1))
      throw new AegisInputError(`validation fraction must be in (0, 1), got ${fraction}`);
    const rng = new Rng(options.seed);
    const classNames = classNamesOf(table, mode);
    const y = classIndex(table, classNames, mode);
    const known = Int32Array.from(y.keys()).filter((i) => (y[i] as number) >= 0);
    const labelled = takeRows(table, known);
    const [fitIdx, valIdx] = stratifiedSplit(
      labelled.classes.map((c) => String(c)),
      fraction,
      rng.fork(),
    );
    const fitTable = takeRows(labelled, fitIdx);
    const valTable = takeRows(labelled, valIdx);
    if (!fitTable.classes.includes(table.layout.normalClass) || !valTable.classes.includes(table.layout.normalClass)) {
      const normal = table.classes.filter((c) => c === table.layout.normalClass).length;
      throw new AegisInputError(
        normal === 0
          ? `${table.source}: needs normal (${table.layout.normalClass}) flows in training`
          : `${table.source}: ${normal} normal (${table.layout.normalClass}) flow(s) are too few to split between fitting and validation (${Math.round(100 * fraction)}% held out); training needs more`,
      );
    }
    const encoder = FlowEncoder.fit(fitTable, { exclude: options.excludeColumns ?? [] });
    const d = encoder.dimension;
    const fitX = encoder.encode(fitTable).x;
    const valX = encoder.encode(valTable).x;
    const yAll = classIndex(labelled, classNames, mode);
    const fitY = Int32Array.from(fitIdx, (i) => yAll[i] as number);
    const valY = Int32Array.from(valIdx, (i) => yAll[i] as number);
    const dataset = (x: Float32Array, yy: Int32Array, name: string): Dataset => ({
      name,
      x,
      shape: [yy.length, d],
      y: yy,
      classNames,
    });
    const train = dataset(fitX, fitY, `${table.layout.name}-train`);
    const validation = dataset(valX, valY, `${table.layout.name}-validation`);
    const t0 = performance.now();
    const fitted = await trainFlowClassifier(train, {
      classWeightPower: NIDS_DEFAULTS.classWeightPower,
      ...options.classifier,
      seed: rng.fork() & 0x7fffffff,
      validation,
      progress: options.progress ?? false,
    });
    const training: Record<string, unknown> = {
      source: table.source,
      flows: table.size,
      // Flows per raw label: evaluation tells attacks seen in training from never-seen ones by it.
      labels: countLabels(table.labels),
      fitFlows: fitTable.size,
      validationFlows: valTable.size,
      classifier: {
        ...trainingSummary(fitted.result, fitted.options, train),
        classWeights: Object.fromEntries(classNames.map((c, k) => [c, Number(fitted.weights[k]?.toPrecision(4))])),
        members: fitted.members.length,
        memberBestEpochs: fitted.members.map((m) => m.bestEpoch),
        seconds: (performance.now() - t0) / 1000,
      },
    };
    const normalRows = (yy: Int32Array) => Int32Array.from(yy.keys()).filter((i) => yy[i] === 0);
    const fitNormal = normalRows(fitY);
    const valNormal = normalRows(valY);
    const normalFitX = gatherRows(fitX, d, fitNormal);
    const normalValX = gatherRows(valX, d, valNormal);
    let autoencoder: tfl.LayersModel | undefined;
    let forest: IsolationForest | undefined;
    let knn: KnnNovelty | undefined;
    const aeSeed = rng.fork();
    const ifSeed = rng.fork();
    if (novelty.includes('autoencoder')) {
      const ae = await trainAutoencoder(normalFitX, fitNormal.length, d, {
        hidden: NIDS_DEFAULTS.autoencoderHidden,
        epochs: NIDS_DEFAULTS.autoencoderEpochs,
        ...options.autoencoder,
        seed: aeSeed,
      });
      autoencoder = ae.network;
      training.autoencoder = {
        hidden: options.autoencoder?.hidden ?? NIDS_DEFAULTS.autoencoderHidden,
        normalFlows: fitNormal.length,
        epochs: ae.losses.length,
        finalLoss: ae.losses[ae.losses.length - 1],
        seconds: ae.seconds,
      };
    }
    if (novelty.includes('iforest')) {
      const t1 = performance.now();
      forest = IsolationForest.fit(
        { x: normalFitX, rows: fitNormal.length, dimension: d },
        { ...options.forest, seed: ifSeed },
      );
      training.iforest = {
        normalFlows: fitNormal.length,
        trees: forest.spec.trees.length,
        sampleSize: forest.spec.sampleSize,
        seconds: (performance.now() - t1) / 1000,
      };
    }
    if (novelty.includes('knn')) {
      const t1 = performance.now();
      // Its own fork after the others', so adding it leaves their seeds (and models) unchanged.
      knn = KnnNovelty.fit(normalFitX, fitNormal.length, d, { ...options.knn, seed: rng.fork() });
      training.knn = {
        normalFlows: fitNormal.length,
        references: knn.rows,
        k: knn.k,
        seconds: (performance.now() - t1) / 1000,
      };
    }
    const meta: NidsMeta = {
      format: NIDS_FORMAT,
      version: 1,
      layout: table.layout.name,
      mode,
      classNames,
      novelty: novelty.filter((k) => ({ autoencoder, iforest: forest, knn })[k] !== undefined),
      targetFpr,
      supervisedFpr,
      thresholds: { supervised: 0.5 },
      training,
    };
    const detector = new NidsDetector(meta, encoder, fitted.model, autoencoder, forest, knn);
    // Thresholds at the target FPR on the held-out benign flows.
    const { probs: _, ...raw } = detector.componentScores(normalValX, valNormal.length);
    const point = calibrateOperatingPoint(raw, { combine, targetFpr, supervisedFpr, supervisedWeight });
    meta.thresholds = point.thresholds;
    if (point.combination) meta.combination = point.combination;
    training.calibration = {
      benignValidationFlows: valNormal.length,
      combine,
      ...(combine === 'evidence' ? { fpr: targetFpr, supervisedWeight } : { noveltyFpr: targetFpr, supervisedFpr }),
    };
    detector.calibration = raw;
    return detector;
  }

  /**
   * The same models at another operating point (thresholds recalibrated on the benign validation
   * scores kept from training), optionally without some novelty detectors. Shares the models.
   */
  withOperatingPoint(op: {
    targetFpr: number;
    supervisedFpr?: number | 'argmax';
    novelty?: NoveltyKind[];
    combine?: 'any' | 'evidence';
    supervisedWeight?: number;
  }): NidsDetector {
    if (!this.calibration) throw new AegisInputError('withOperatingPoint needs a detector trained in this process');
    const novelty = op.novelty ?? this.meta.novelty;
    const combine = op.combine ?? 'any';
    const raw: CalibrationScores = {
      pAttack: this.calibration.pAttack,
      logOdds: this.calibration.logOdds,
      ...(novelty.includes('autoencoder') && this.calibration.autoencoder
        ? { autoencoder: this.calibration.autoencoder }
        : {}),
      ...(novelty.includes('iforest') && this.calibration.iforest ? { iforest: this.calibration.iforest } : {}),
      ...(novelty.includes('knn') && this.calibration.knn ? { knn: this.calibration.knn } : {}),
    };
    const supervisedFpr = combine === 'evidence' ? op.targetFpr : (op.supervisedFpr ?? op.targetFpr);
    const { combination: _, ...meta } = this.meta;
    const point = calibrateOperatingPoint(raw, {
      combine,
      targetFpr: op.targetFpr,
      supervisedFpr,
      supervisedWeight: op.supervisedWeight ?? NIDS_DEFAULTS.supervisedWeight,
    });
    const d = new NidsDetector(
      {
        ...meta,
        novelty: novelty.filter((k) => raw[k] !== undefined),
        targetFpr: op.targetFpr,
        supervisedFpr,
        thresholds: point.thresholds,
        ...(point.combination ? { combination: point.combination } : {}),
      },
      this.encoder,
      this.classifier,
      raw.autoencoder ? this.autoencoder : undefined,
      raw.iforest ? this.forest : undefined,
      raw.knn ? this.knn : undefined,
    );
    d.calibration = this.calibration;
    return d;
  }

  /** Raw component scores on encoded rows. */
  componentScores(
    x: Float32Array,
    rows: number,
    /** Skip the novelty detectors (when only the classifier matters). */
    classifierOnly = false,
  ): {
    probs: Float32Array;
    pAttack: Float64Array;
    logOdds: Float64Array;
    autoencoder?: Float64Array;
    iforest?: Float64Array;
    knn?: Float64Array;
  } {
    const d = this.encoder.dimension;
    const k = this.classNames.length;
    const probs = new Float32Array(rows * k);
    const logOdds = new Float64Array(rows);
    const batch = 2048;
    for (let start = 0; start < rows; start += batch) {
      const count = Math.min(batch, rows - start);
      const [p, lo] = tf.tidy(() => {
        const z = this.classifier.logits(tf.tensor2d(x.subarray(start * d, (start + count) * d), [count, d]));
        // log Σ_{c≠normal} e^{z_c} − z_normal: exact where 1 − P(normal) rounds to 1 in float32.
        const odds = tf.sub(
          tf.logSumExp(tf.slice(z, [0, 1], [count, k - 1]), 1),
          tf.reshape(tf.slice(z, [0, 0], [count, 1]), [count]),
        );
        return [tf.softmax(z), odds];
      });
      probs.set(p.dataSync() as Float32Array, start * k);
      logOdds.set(lo.dataSync() as Float32Array, start);
      tf.dispose([p, lo]);
    }
    const pAttack = Float64Array.from({ length: rows }, (_, i) => 1 - (probs[i * k] as number));
    const out: ReturnType<NidsDetector['componentScores']> = { probs, pAttack, logOdds };
    if (classifierOnly) return out;
    if (this.autoencoder) out.autoencoder = rowMeans(reconstructionErrors(this.autoencoder, x, rows, d), rows, d);
    if (this.forest) out.iforest = this.forest.score({ x, rows, dimension: d });
    if (this.knn) out.knn = this.knn.score(x, rows);
    return out;
  }

  /** Scores a table of flows. */
  scoreTable(
    table: FlowTable,
    /** Encoding and component scores of this table from a detector with the same models (selection re-thresholds them). */
    cached?: Pick<NidsScores, 'encoded' | 'probs' | 'pAttack' | 'logOdds' | 'autoencoder' | 'iforest' | 'knn'>,
  ): NidsScores {
    const t0 = performance.now();
    const encoded = cached?.encoded ?? this.encoder.encode(table);
    const raw = cached ?? this.componentScores(encoded.x, table.size);
    const k = this.classNames.length;
    const t = this.thresholds;
    const n = table.size;
    const combined = new Float64Array(n);
    const attack = new Uint8Array(n);
    const predicted = new Int32Array(n);
    const driver = new Uint8Array(n);
    const combination = this.meta.combination;
    const evidence = combination ? combinedEvidence(combination, evidenceInputs(raw), n) : undefined;
    for (let i = 0; i < n; i++) {
      if (combination && evidence) {
        combined[i] = evidenceScore(evidence.evidence[i] as number, combination.threshold);
        driver[i] = evidence.driver[i] as number;
        attack[i] = (evidence.evidence[i] as number) > combination.threshold ? 1 : 0;
        predicted[i] = attack[i] ? mostLikelyAttack(raw.probs, i, k) : 0;
        continue;
      }
      const ratios = [
        (raw.pAttack[i] as number) / t.supervised,
        raw.autoencoder && t.autoencoder ? (raw.autoencoder[i] as number) / t.autoencoder : 0,
        raw.iforest && t.iforest ? (raw.iforest[i] as number) / t.iforest : 0,
        raw.knn && t.knn ? (raw.knn[i] as number) / t.knn : 0,
      ];
      let r = ratios[0] as number;
      let who = 0;
      for (let c = 1; c < ratios.length; c++) {
        if ((ratios[c] as number) > r) {
          r = ratios[c] as number;
          who = c;
        }
      }
      combined[i] = r / (1 + r);
      driver[i] = who;
      attack[i] = r > 1 ? 1 : 0;
      predicted[i] = attack[i] ? mostLikelyAttack(raw.probs, i, k) : 0;
    }
    return {
      size: n,
      encoded,
      probs: raw.probs,
      pAttack: raw.pAttack,
      logOdds: raw.logOdds,
      ...(raw.autoencoder ? { autoencoder: raw.autoencoder } : {}),
      ...(raw.iforest ? { iforest: raw.iforest } : {}),
      ...(raw.knn ? { knn: raw.knn } : {}),
      ...(evidence ? { evidence: evidence.evidence } : {}),
      combined,
      attack,
      predicted,
      driver,
      seconds: (performance.now() - t0) / 1000,
    };
  }

  /** Reasons for rows of a scored table: the driving component's top features first, then the others'. */
  explain(table: FlowTable, scores: NidsScores, rows: readonly number[], top = 5, only?: Component): Reason[][] {
    const d = this.encoder.dimension;
    const x = gatherRows(scores.encoded.x, d, rows);
    const grad = rows.length > 0 ? classifierContributions(this.classifier, x, rows.length, 0) : new Float32Array(0);
    const aeErr =
      this.autoencoder && rows.length > 0 ? reconstructionErrors(this.autoencoder, x, rows.length, d) : undefined;
    const knnDiff = this.knn && rows.length > 0 ? this.knn.differences(x, rows.length) : undefined;
    return rows.map((row, k) => {
      const lists: Record<Component, Reason[]> = { supervised: [], autoencoder: [], iforest: [], knn: [] };
      lists.supervised = reasonsFrom(
        byColumn(this.encoder, grad, k * d),
        table,
        row,
        'classifier',
        (c) => `raises the attack log-odds by ${c.weight.toFixed(2)}`,
      );
      if (aeErr) {
        lists.autoencoder = reasonsFrom(
          byColumn(this.encoder, aeErr, k * d),
          table,
          row,
          'autoencoder',
          (c) => `reconstruction error ${c.weight.toFixed(2)}`,
        );
      }
      if (this.forest) {
        const attribution = this.forest.attribution({ x, rows: rows.length, dimension: d }, k);
        lists.iforest = reasonsFrom(
          byColumn(this.encoder, attribution),
          table,
          row,
          'isolation forest',
          (c) => `isolates the flow early (${(100 * c.weight).toFixed(0)}% of split credit)`,
        );
      }
      if (knnDiff) {
        lists.knn = reasonsFrom(
          byColumn(this.encoder, knnDiff, k * d),
          table,
          row,
          'nearest normal flow',
          (c) => `squared distance ${c.weight.toFixed(2)} from the nearest normal training flow`,
        );
      }
      const first = only ?? (COMPONENTS[scores.driver[row] as number] as Component);
      const ordered = only ? [only] : [first, ...COMPONENTS.filter((c) => c !== first)];
      const seen = new Set<string>();
      const out: Reason[] = [];
      for (const c of ordered) {
        for (const reason of lists[c].slice(0, c === first ? 3 : 1)) {
          if (seen.has(reason.feature) || out.length >= top) continue;
          seen.add(reason.feature);
          out.push(reason);
        }
      }
      return out;
    });
  }

  /** A verdict per row (score, label, reasons). */
  verdicts(table: FlowTable, scores: NidsScores, rows: readonly number[]): Verdict[] {
    const reasons = this.explain(table, scores, rows);
    return rows.map((row, k) => ({
      score: scores.combined[row] as number,
      label: this.classNames[scores.predicted[row] as number] ?? 'attack',
      reasons: reasons[k] ?? [],
    }));
  }

  /** Scores one flow (a record keyed by column name). */
  score(event: FlowRecord): Verdict {
    const table = this.recordsTable([event]);
    const scores = this.scoreTable(table);
    return this.verdicts(table, scores, [0])[0] as Verdict;
  }

  /**
   * One component as a Detector of its own: its raw score ('probability' for the classifier's
   * P(attack), 'anomaly' for the novelty scores), its label at its own threshold, its reasons.
   */
  component(kind: Component): Detector<FlowRecord> {
    const threshold = this.thresholds[kind];
    if (threshold === undefined || (kind !== 'supervised' && !this.meta.novelty.includes(kind))) {
      throw new AegisInputError(
        `this detector has no ${kind} component (novelty: ${this.meta.novelty.join(', ') || 'none'})`,
      );
    }
    const names = {
      supervised: 'nids-supervised',
      autoencoder: 'nids-autoencoder',
      iforest: 'nids-iforest',
      knn: 'nids-knn',
    } as const;
    return {
      name: names[kind],
      scoreKind: kind === 'supervised' ? 'probability' : 'anomaly',
      score: (event: FlowRecord): Verdict => {
        const table = this.recordsTable([event]);
        const s = this.scoreTable(table);
        const raw = kind === 'supervised' ? s.pAttack : (s[kind] as Float64Array);
        const score = raw[0] as number;
        return {
          score,
          label: score > threshold ? 'attack' : 'normal',
          reasons: this.explain(table, s, [0], 5, kind)[0] ?? [],
        };
      },
      learn: () => undefined,
    };
  }

  /** Batch-trained: streaming updates do nothing (retrain with `fit` or `aegis nids train`). */
  learn(_event: FlowRecord): void {}

  /** TrainableDetector.fit is for already-built detectors: retraining replaces components; use NidsDetector.train. */
  async fit(): Promise<void> {
    throw new AegisInputError('NidsDetector: train a new detector with NidsDetector.train(table, options)');
  }

  /** Records (streaming events) as a table in this detector's layout and columns. */
  recordsTable(records: readonly FlowRecord[]): FlowTable {
    return recordsToTable(
      records,
      layoutByName(this.meta.layout),
      this.encoder.numeric.map((n) => n.name),
      this.encoder.spec.categorical.map((c) => c.name),
    );
  }

  /** A copy with another classifier (adversarial training keeps the encoder, novelty detectors and thresholds). */
  withClassifier(classifier: TfjsModel, threshold: number, training: Record<string, unknown>): NidsDetector {
    return new NidsDetector(
      {
        ...this.meta,
        thresholds: { ...this.meta.thresholds, supervised: threshold },
        training: { ...this.meta.training, ...training },
      },
      this.encoder,
      classifier,
      this.autoencoder,
      this.forest,
      this.knn,
    );
  }

  /**
   * A copy with another classifier whose threshold — and, for the 'evidence' combination, whose
   * benign tail and the combined threshold — are recalibrated at the same operating point on these
   * benign encoded flows (adversarial training). The novelty detectors' thresholds and tails are kept.
   */
  withRecalibratedClassifier(
    classifier: TfjsModel,
    benignX: Float32Array,
    rows: number,
    training: Record<string, unknown>,
  ): NidsDetector {
    const swapped = this.withClassifier(classifier, this.thresholds.supervised, training);
    const { probs: _, ...raw } = swapped.componentScores(benignX, rows);
    const fpr = this.meta.supervisedFpr;
    const supervised = fpr === 'argmax' ? 0.5 : Math.max(thresholdAtFpr(raw.pAttack, fpr), 1e-6);
    let combination = this.meta.combination;
    if (combination) {
      const tails = { ...combination.tails, supervised: fitTail(raw.logOdds) };
      const { evidence } = combinedEvidence({ weights: combination.weights, tails }, evidenceInputs(raw), rows);
      combination = { ...combination, tails, threshold: thresholdAtFpr(evidence, combination.fpr) };
    }
    return new NidsDetector(
      {
        ...swapped.meta,
        thresholds: { ...swapped.meta.thresholds, supervised },
        ...(combination ? { combination } : {}),
      },
      this.encoder,
      classifier,
      this.autoencoder,
      this.forest,
      this.knn,
    );
  }

  /** Writes nids.json, encoder.json, classifier/ (tfjs + aegis.json), autoencoder/, iforest.json, knn.json. */
  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'nids.json'), `${JSON.stringify(this.meta, null, 2)}\n`);
    await writeFile(join(dir, 'encoder.json'), `${JSON.stringify(this.encoder.toJson(), null, 2)}\n`);
    await saveTfjsModel(this.classifier, join(dir, 'classifier'));
    if (this.autoencoder) await this.autoencoder.save(fileSystemHandler(join(dir, 'autoencoder')));
    if (this.forest) await writeFile(join(dir, 'iforest.json'), JSON.stringify(this.forest.toJson()));
    if (this.knn) await writeFile(join(dir, 'knn.json'), JSON.stringify(this.knn.toJson()));
  }

  static async load(dir: string): Promise<NidsDetector> {
    const metaPath = join(dir, 'nids.json');
    if (!existsSync(metaPath)) throw new AegisInputError(`${dir}: not a NIDS model directory (no nids.json)`);
    const meta = parseJson(metaPath, await readFile(metaPath, 'utf8'), metaShape);
    /** A JSON file of the model directory; missing or unparsable → AegisInputError naming it. */
    const json = async (name: string): Promise<unknown> => {
      const path = join(dir, name);
      if (!existsSync(path)) throw new AegisInputError(`${dir}: ${name} is missing`);
      return parseJson(path, await readFile(path, 'utf8'), z.unknown());
    };
    const encoder = FlowEncoder.fromJson(await json('encoder.json'), join(dir, 'encoder.json'));
    const mismatch = (part: string) => new AegisInputError(`${dir}: the ${part} does not match encoder.json`);
    let forest: IsolationForest | undefined;
    if (meta.novelty.includes('iforest')) {
      forest = IsolationForest.fromJson(await json('iforest.json'), join(dir, 'iforest.json'));
      if (forest.toJson().dimension !== encoder.dimension) throw mismatch('iforest.json');
    }
    let knn: KnnNovelty | undefined;
    if (meta.novelty.includes('knn')) {
      knn = KnnNovelty.fromJson(await json('knn.json'), join(dir, 'knn.json'));
      if (knn.dimension !== encoder.dimension) throw mismatch('knn.json');
    }
    const classifier = await loadTfjsModel(join(dir, 'classifier'));
    if (classifier.info.inputShape[0] !== encoder.dimension || classifier.info.numClasses !== meta.classNames.length) {
      classifier.dispose();
      throw new AegisInputError(`${dir}: the classifier does not match encoder.json / nids.json`);
    }
    let autoencoder: tfl.LayersModel | undefined;
    if (meta.novelty.includes('autoencoder')) {
      try {
        autoencoder = await tfl.loadLayersModel(fileSystemHandler(join(dir, 'autoencoder')));
        const [input] = autoencoder.inputs;
        const [output] = autoencoder.outputs;
        if (input?.shape[1] !== encoder.dimension || output?.shape[1] !== encoder.dimension) {
          throw mismatch('autoencoder');
        }
      } catch (error) {
        classifier.dispose();
        autoencoder?.dispose();
        throw error;
      }
    }
    return new NidsDetector(meta, encoder, classifier, autoencoder, forest, knn);
  }

  dispose(): void {
    this.classifier.dispose();
    this.autoencoder?.dispose();
    this.knn?.dispose();
  }
}

/** The most likely attack class (index ≥ 1) of row i of [n × k] class probabilities. */
function mostLikelyAttack(probs: Float32Array, i: number, k: number): number {
  let best = 1;
  for (let c = 2; c < k; c++) if ((probs[i * k + c] as number) > (probs[i * k + best] as number)) best = c;
  return best;
}

/** Rows of a row-major [n × d] matrix, in the order given. */
export function gatherRows(x: Float32Array, d: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * d);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k] as number;
    out.set(x.subarray(r * d, (r + 1) * d), k * d);
  }
  return out;
}

function parseJson<T>(path: string, text: string, shape: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AegisInputError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = shape.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AegisInputError(`${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}
