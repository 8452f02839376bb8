/**
 * The Defense contract (DESIGN.md): a defense wraps a model (sanitisers, output hardening,
 * adversarial-input detectors), a dataset (poison filters, src/defenses/poison/) or training
 * (adversarial training). A defended model is still a `Model`, so every attack in the project
 * runs against it unchanged — including attacks that know the defense is there.
 */
import type { tf } from '../core/runtime.js';
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../models/model.js';

export type DefenseKind =
  /** Transforms inputs before the model (bit-depth reduction, median smoothing, JPEG-style quantisation). */
  | 'preprocessor'
  /** Changes what the model reveals (top-k, rounding, label-only, reverse sigmoid). */
  | 'output'
  /** Scores inputs as adversarial or not, beside the prediction (feature squeezing, Mahalanobis). */
  | 'detector'
  /** Trains a new, more robust model (PGD-AT, FBF, TRADES). */
  | 'training';

/** What a defense may use when it is applied. */
export interface DefenseContext {
  /** Clean training data (training defenses; detectors that fit class statistics). */
  train?: Dataset;
  /** Clean held-out data for calibration (detector thresholds at a chosen false-positive rate). */
  calibration?: Dataset;
  seed: number;
  /** true: progress bar on stderr; false: silent (long work: adversarial training). */
  progress?: boolean;
  /** Defense-specific settings from the CLI/library (e.g. {k: 3}, {bits: 4}, {fpr: 0.05}, {epochs: 10}). */
  params?: Record<string, number | string | boolean>;
}

/** Verdicts of an adversarial-input detector for a batch. */
export interface DetectionVerdicts {
  /** Higher = more likely adversarial. */
  scores: Float32Array;
  /** 1 where score > threshold. */
  flagged: Uint8Array;
}

export interface AdversarialInputDetector {
  /** Scores above it are flagged (set at a chosen false-positive rate on clean data). */
  readonly threshold: number;
  /** The false-positive rate the threshold was calibrated for. */
  readonly targetFalsePositiveRate: number;
  detect(x: tf.Tensor): Promise<DetectionVerdicts>;
}

/** A model guarded by a detector: predictions as usual, plus a verdict per input. */
export interface DetectingModel extends Model {
  readonly detector: AdversarialInputDetector;
}

export function isDetectingModel(model: Model): model is DetectingModel {
  return typeof (model as Partial<DetectingModel>).detector?.detect === 'function';
}

export interface Defense {
  /** CLI name: feature-squeezing, mahalanobis, pgd-at, fbf, trades, top-k, rounding, label-only, reverse-sigmoid, bit-depth, median-smoothing, jpeg. */
  readonly name: string;
  readonly title: string;
  /** One-line paper citation. */
  readonly citation: string;
  readonly kind: DefenseKind;
  /** MITRE ATLAS mitigation ids (AML.M…) the defense implements. */
  readonly mitigations: readonly string[];
  /** Returns the defended model (a new model for training defenses). The input model is not disposed. */
  apply(model: Model, context: DefenseContext): Promise<Model>;
}
