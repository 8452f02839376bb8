/**
 * The evasion attack contract, after Foolbox 3: an attack takes a list of budgets
 * (epsilons) and returns one row per budget, so one call gives a robustness curve.
 * Fixed-budget attacks (FGSM, PGD, Square) run once per epsilon; minimum-norm attacks
 * (C&W, DeepFool, HopSkipJump) run once and their perturbations are then clipped to
 * each epsilon (see budget-rows.ts).
 */
import type { tf } from '../../core/runtime.js';
import type { Access, Norm, ThreatModel } from '../../core/threat-model.js';
import type { Model } from '../../models/model.js';

/** One budget's outcome. */
export interface EvasionRow {
  eps: number;
  /** Accuracy on the adversarial inputs (all examples). */
  accuracy: number;
  /** Of the examples the model classified correctly, the fraction the attack flipped. */
  successRate: number;
  /** Mean perturbation size, in the threat model's norm, over successful examples (0 if none). */
  meanPerturbation: number;
  /** Model queries the attack made (0 for white-box attacks, which use gradients). */
  queries: number;
  /** Gradient evaluations (white-box) — how much work the attack did. */
  gradients?: number;
  seconds: number;
}

/** A few clean/adversarial pairs kept for the report's image grid. */
export interface ExamplePairs {
  /** Shape of one example (NHWC without batch). */
  shape: number[];
  eps: number;
  clean: Float32Array[];
  adversarial: Float32Array[];
  labels: number[];
  cleanPredictions: number[];
  adversarialPredictions: number[];
}

export interface EvasionResult {
  attack: string;
  title: string;
  citation: string;
  atlas: string;
  threatModel: ThreatModel;
  rows: EvasionRow[];
  examples?: ExamplePairs;
}

export interface AttackOptions {
  seed: number;
  /** Iterations (PGD, C&W, DeepFool, Square, HSJ), when the attack has them. */
  steps?: number;
  /** Step size (PGD: absolute; defaults are attack-specific). */
  stepSize?: number;
  /** Random restarts (PGD). */
  restarts?: number;
  /** Examples per batch sent to the model. */
  batchSize?: number;
  /** How many clean/adversarial pairs to keep for the report (default 8). */
  keepExamples?: number;
  /** Called as work completes: done and total in the attack's own unit. */
  onProgress?: (done: number, total: number) => void;
}

/** Examples to attack: NHWC (or [n, features]) tensor plus true labels. */
export interface LabeledBatch {
  x: tf.Tensor;
  y: Int32Array;
}

export interface EvasionAttack {
  /** CLI name: fgsm, pgd, cw, deepfool, square, hsj. */
  readonly name: string;
  readonly title: string;
  /** One-line paper citation. */
  readonly citation: string;
  /** The least access the attack needs. */
  readonly access: Access;
  readonly norms: readonly Norm[];
  readonly kind: 'fixed-budget' | 'minimum-norm';
  run(model: Model, data: LabeledBatch, threat: ThreatModel, options: AttackOptions): Promise<EvasionResult>;
}

/** MITRE ATLAS: Craft Adversarial Data — white-box (.000) or black-box (.001) optimisation. */
export function atlasTechnique(access: Access): string {
  return access === 'gradients' ? 'AML.T0043.000' : 'AML.T0043.001';
}
