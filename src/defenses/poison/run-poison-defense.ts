/**
 * Poison detection end to end. `detectPoison` reads a trained model's penultimate-layer
 * representations of its training set (and, for label consistency, out-of-sample probabilities by
 * cross-validation) and runs the chosen detectors. `defendAgainstPoison` then measures what each
 * detector buys: precision and recall of its flagged rows against the true poison, and clean
 * accuracy and attack success of the victim retrained — same recipe, same seed — without them.
 */
import type { PoisonedTrainingSet, VictimTrainer } from '../../attacks/poisoning/poisoning-attack.js';
import { AegisInputError } from '../../core/errors.js';
import { type Dataset, size, take, validateDataset } from '../../data/dataset.js';
import type { Model } from '../../models/model.js';
import { type Activations, penultimateActivations } from './activations.js';
import { crossValidatedProbabilities } from './cross-validation.js';
import { expectedFraction } from './detection-input.js';
import { evaluateDetection } from './evaluate-detection.js';
import { clusterWithReclassification } from './exclusionary-reclassification.js';
import { inputFeatures } from './input-features.js';
import type { DetectionMetrics, PoisonDetectionResult } from './poison-detector.js';
import { createPoisonDetector, type PoisonDetectorOptions, parsePoisonDetectors } from './registry.js';

export interface DetectPoisonOptions {
  /** The training set to examine (possibly poisoned). */
  train: Dataset;
  /** A model trained on `train`: its penultimate layer gives the representations. */
  model: Model;
  /** Detector names (see POISON_DETECTOR_NAMES). */
  detectors: readonly string[];
  expectedPoisonFraction?: number;
  seed: number;
  detectorOptions?: PoisonDetectorOptions;
  /** Out-of-sample probabilities [n, classes], if already known. */
  probabilities?: Float32Array;
  /** The training recipe, for cross-validated probabilities (label consistency with method 'confident-learning'). */
  trainVictim?: VictimTrainer;
  /** Cross-validation folds. Default 4. */
  folds?: number;
  /**
   * The recipe of activation clustering's exclusionary-reclassification models (criterion
   * 'reclassification'), e.g. the victim's with fewer epochs. Default `trainVictim`.
   */
  reclassificationTrainer?: VictimTrainer;
  /** Progress messages (what is being computed). */
  onProgress?: (message: string) => void;
}

export interface PoisonDetectionRun extends PoisonDetectionResult {
  /** The detector's own time plus the shared work it needed (representations, cross-validation). */
  seconds: number;
}

const since = (start: number) => (performance.now() - start) / 1000;

/** Runs the detectors on one trained model's view of its training set. */
export async function detectPoison(o: DetectPoisonOptions): Promise<PoisonDetectionRun[]> {
  const names = parsePoisonDetectors(o.detectors);
  validateDataset(o.train);
  expectedFraction(o, 'poison detection');
  const detectors = names.map((name) => createPoisonDetector(name, o.detectorOptions));
  const n = size(o.train);
  let started = performance.now();
  o.onProgress?.('penultimate-layer activations');
  const { features, dim } = await penultimateActivations(o.model, o.train);
  const activationSeconds = since(started);
  let probabilities = o.probabilities;
  let extraSeconds = 0;
  const lc = o.detectorOptions?.labelConsistency;
  const wantsLabels = names.includes('label-consistency');
  if (wantsLabels && lc?.method === 'confident-learning' && probabilities === undefined) {
    if (!o.trainVictim) {
      throw new AegisInputError(
        'confident learning needs out-of-sample probabilities or a training recipe to get them',
      );
    }
    started = performance.now();
    probabilities = await crossValidatedProbabilities(o.train, o.trainVictim, {
      folds: o.folds,
      seed: o.seed,
      onFold: (done, total) => o.onProgress?.(`cross-validation fold ${done}/${total}`),
    });
    extraSeconds = since(started);
  }
  let labelFeatures: Activations = { features, dim };
  if (wantsLabels && lc?.representation === 'inputs' && lc?.method !== 'confident-learning') {
    started = performance.now();
    labelFeatures = inputFeatures(o.train, o.seed);
    extraSeconds += since(started);
  }
  const input = {
    features,
    dim,
    labels: o.train.y,
    numClasses: o.train.classNames.length,
    ...(probabilities ? { probabilities } : {}),
    ...(o.expectedPoisonFraction !== undefined ? { expectedPoisonFraction: o.expectedPoisonFraction } : {}),
    seed: o.seed,
  };
  const ac = o.detectorOptions?.activationClustering;
  const runs: PoisonDetectionRun[] = [];
  for (const [i, detector] of detectors.entries()) {
    o.onProgress?.(detector.name);
    const start = performance.now();
    const labels = names[i] === 'label-consistency';
    let result: PoisonDetectionResult;
    if (names[i] === 'activation-clustering' && ac?.criterion === 'reclassification') {
      const trainModel = o.reclassificationTrainer ?? o.trainVictim;
      if (!trainModel) {
        throw new AegisInputError(
          'activation clustering with exclusionary reclassification needs a training recipe to retrain without each cluster',
        );
      }
      const context = { train: o.train, trainModel, ...(o.onProgress ? { onProgress: o.onProgress } : {}) };
      result = (await clusterWithReclassification(input, context, ac)).result;
    } else {
      result = detector.detect(labels ? { ...input, ...labelFeatures } : input);
    }
    if (result.scores.length !== n)
      throw new Error(`${detector.name} returned ${result.scores.length} scores for ${n} rows`);
    runs.push({ ...result, seconds: since(start) + activationSeconds + (labels ? extraSeconds : 0) });
  }
  return runs;
}

export interface PoisonDefenseOptions {
  poisoned: PoisonedTrainingSet;
  trainVictim: VictimTrainer;
  /** Clean accuracy and attack success rate of a victim, measured as the attack measures them. */
  evaluate: (model: Model) => Promise<{ cleanAccuracy: number; attackSuccessRate: number }>;
  detectors: string[];
  expectedPoisonFraction?: number;
  seed: number;
  /** The victim already trained on the poisoned set (else it is trained here, once, and disposed). */
  poisonedModel?: Model;
  detectorOptions?: PoisonDetectorOptions;
  /** Cross-validation folds for label consistency. Default 4. */
  folds?: number;
  /** Recipe of exclusionary reclassification's models (activation clustering). Default `trainVictim`. */
  reclassificationTrainer?: VictimTrainer;
  onProgress?: (message: string) => void;
}

/** One detector's outcome: detection metrics and the retrained victim's figures. */
export interface PoisonDefenseRow extends DetectionMetrics {
  method: string;
  /** Victim retrained without the flagged rows: accuracy on clean test data. */
  cleanAccuracy: number;
  /** Victim retrained without the flagged rows: attack success rate. */
  attackSuccessRate: number;
  /** Detection time (with its representations / cross-validation). */
  detectionSeconds: number;
  /** Detection + retraining + evaluation. */
  seconds: number;
}

/** For each detector: flag, measure precision/recall, drop the flagged rows, retrain, evaluate. */
export async function defendAgainstPoison(o: PoisonDefenseOptions): Promise<PoisonDefenseRow[]> {
  const { train, poisonIndices } = o.poisoned;
  const n = size(train);
  parsePoisonDetectors(o.detectors);
  if (!Number.isInteger(o.seed)) throw new AegisInputError(`poison defense: seed must be an integer, got ${o.seed}`);
  const model = o.poisonedModel ?? (await o.trainVictim(train, o.seed));
  let runs: PoisonDetectionRun[];
  try {
    runs = await detectPoison({
      train,
      model,
      detectors: o.detectors,
      expectedPoisonFraction: o.expectedPoisonFraction,
      seed: o.seed,
      detectorOptions: o.detectorOptions,
      trainVictim: o.trainVictim,
      folds: o.folds,
      ...(o.reclassificationTrainer ? { reclassificationTrainer: o.reclassificationTrainer } : {}),
      onProgress: o.onProgress,
    });
  } finally {
    if (!o.poisonedModel) await model.dispose();
  }
  const rows: PoisonDefenseRow[] = [];
  for (const run of runs) {
    const started = performance.now();
    const metrics = evaluateDetection(run.flagged, poisonIndices, n);
    const flagged = new Uint8Array(n);
    for (const i of run.flagged) flagged[i] = 1;
    const keep = Int32Array.from({ length: n - metrics.flaggedCount }, () => 0);
    let k = 0;
    for (let i = 0; i < n; i++) if (!flagged[i]) keep[k++] = i;
    if (keep.length === 0)
      throw new AegisInputError(`${run.method} flagged every training row; nothing is left to train on`);
    o.onProgress?.(`retraining without the ${metrics.flaggedCount} rows ${run.method} flagged`);
    const retrained = await o.trainVictim(take(train, keep), o.seed);
    let figures: { cleanAccuracy: number; attackSuccessRate: number };
    try {
      figures = await o.evaluate(retrained);
    } finally {
      await retrained.dispose();
    }
    rows.push({
      method: run.method,
      ...metrics,
      ...figures,
      detectionSeconds: run.seconds,
      seconds: run.seconds + since(started),
    });
  }
  return rows;
}
