/**
 * How well a calibrated detector separates adversarial from clean inputs, on held-out data
 * (never the data its threshold was calibrated on):
 * - detection rate: of the adversarial examples that actually fool the undefended model (from
 *   inputs it classified correctly), the share flagged. Attempts that failed to fool the model
 *   are not counted: flagging a harmless input is no win (Xu et al. 2018 count the same way);
 * - false-positive rate: the share of the clean held-out inputs flagged;
 * - ROC AUC between the scores of those clean inputs and of the successful adversarial examples
 *   (threshold-free; Fawcett 2006);
 * - undetected success rate: of the correctly classified clean inputs, the share the attack
 *   turned into misclassifications the detector did not flag — what the attacker still gets.
 */
import { predictLabelsBatched } from '../../attacks/evasion/budget-rows.js';
import type { LabeledBatch } from '../../attacks/evasion/evasion-attack.js';
import { secondsSince } from '../../attacks/evasion/white-box.js';
import { aucOf, rocCurve } from '../../attacks/membership/roc.js';
import { AegisInputError } from '../../core/errors.js';
import type { tf } from '../../core/runtime.js';
import type { Norm } from '../../core/threat-model.js';
import { type Model, requireGradients } from '../../models/model.js';
import { type DetectingModel, isDetectingModel } from '../defense.js';
import { craftAdaptive } from './adaptive-attack.js';
import { attackNorm, craftAdversarial, type DetectionAttack, parseDetectionAttack } from './adversarial-examples.js';
import { flaggedRate } from './calibration.js';
import { checkInputShape } from './detecting-model.js';

/** One attack at one budget to measure the detector against. */
export interface DetectionRun {
  /** fgsm, pgd, cw, or adaptive (adaptive-attack.ts: PGD that knows the detector). */
  attack: DetectionAttack | 'adaptive';
  /** Budget (C&W: L2; Infinity = unclipped minimum-norm C&W). */
  eps: number;
  norm?: Norm;
  steps?: number;
  stepSize?: number;
  /** Adaptive attack only: κ (or a κ schedule), the logit margin to reach before it turns to the detector. */
  confidence?: number | readonly number[];
}

export interface DetectionRow {
  attack: string;
  eps: number;
  norm: Norm;
  /** Inputs attacked. */
  examples: number;
  /** Of those, classified correctly by the undefended model (the only ones an attack can flip). */
  cleanCorrect: number;
  /** Adversarial examples that fool the model (the ones detection is measured on). */
  successful: number;
  /** successful / cleanCorrect. */
  attackSuccessRate: number;
  /** Flagged share of the successful adversarial examples (null when there are none). */
  detectionRate: number | null;
  /** Flagged share of the clean inputs (same for every row of one evaluation). */
  falsePositiveRate: number;
  /** ROC AUC of successful-adversarial vs clean scores (null when there are none). */
  auc: number | null;
  /** (successful and not flagged) / cleanCorrect. */
  undetectedSuccessRate: number;
  seconds: number;
}

export interface DetectionEvaluation {
  threshold: number;
  targetFalsePositiveRate: number;
  /** Clean held-out inputs scored. */
  cleanExamples: number;
  falsePositiveRate: number;
  rows: DetectionRow[];
}

/** Detection figures from scores and predictions (pure; the thresholding rule is score > threshold). */
export function detectionMetrics(args: {
  labels: Int32Array;
  cleanPredictions: Int32Array;
  adversarialPredictions: Int32Array;
  cleanScores: Float32Array;
  adversarialScores: Float32Array;
  threshold: number;
}): Omit<DetectionRow, 'attack' | 'eps' | 'norm' | 'seconds'> {
  const { labels, cleanPredictions, adversarialPredictions, cleanScores, adversarialScores, threshold } = args;
  const n = labels.length;
  if ([cleanPredictions, adversarialPredictions, cleanScores, adversarialScores].some((a) => a.length !== n)) {
    throw new AegisInputError(`detection metrics: labels, predictions and scores must all have ${n} entries`);
  }
  let cleanCorrect = 0;
  let cleanFlagged = 0;
  const fooledScores: number[] = [];
  let detected = 0;
  for (let i = 0; i < n; i++) {
    if ((cleanScores[i] as number) > threshold) cleanFlagged++;
    if (cleanPredictions[i] !== labels[i]) continue;
    cleanCorrect++;
    if (adversarialPredictions[i] === labels[i]) continue;
    const s = adversarialScores[i] as number;
    fooledScores.push(s);
    if (s > threshold) detected++;
  }
  const successful = fooledScores.length;
  return {
    examples: n,
    cleanCorrect,
    successful,
    attackSuccessRate: cleanCorrect ? successful / cleanCorrect : 0,
    detectionRate: successful ? detected / successful : null,
    falsePositiveRate: n ? cleanFlagged / n : 0,
    auc: successful && n ? aucOf(rocCurve(fooledScores, cleanScores)) : null,
    undetectedSuccessRate: cleanCorrect ? (successful - detected) / cleanCorrect : 0,
  };
}

/** The clean side of an evaluation: the model's labels and the detector's scores on the clean inputs. */
export interface CleanReference {
  predictions: Int32Array;
  scores: Float32Array;
}

export async function cleanReference(model: DetectingModel, x: tf.Tensor, batchSize = 100): Promise<CleanReference> {
  const predictions = await predictLabelsBatched(model, x, batchSize);
  return { predictions, scores: (await model.detector.detect(x)).scores };
}

/**
 * Detection figures for adversarial versions `xAdv` of the clean inputs behind `clean` (labels
 * `labels`), however they were crafted — e.g. once per attack and then scored by several detectors.
 */
export async function measureAdversarial(
  model: DetectingModel,
  labels: Int32Array,
  xAdv: tf.Tensor,
  clean: CleanReference,
  batchSize = 100,
): Promise<Omit<DetectionRow, 'attack' | 'eps' | 'norm' | 'seconds'>> {
  const adversarialPredictions = await predictLabelsBatched(model, xAdv, batchSize);
  const adversarial = await model.detector.detect(xAdv);
  return detectionMetrics({
    labels,
    cleanPredictions: clean.predictions,
    adversarialPredictions,
    cleanScores: clean.scores,
    adversarialScores: adversarial.scores,
    threshold: model.detector.threshold,
  });
}

export interface EvaluateDetectionOptions {
  seed: number;
  batchSize?: number;
  /** Called after each run with its row. */
  onRow?: (row: DetectionRow) => void;
}

/**
 * Runs every attack in `runs` against the undefended model inside `model` (the adaptive one
 * against model + detector) on the held-out `data`, and measures the detector on the results.
 */
export async function evaluateDetection(
  model: Model,
  data: LabeledBatch,
  runs: readonly DetectionRun[],
  options: EvaluateDetectionOptions,
): Promise<DetectionEvaluation> {
  if (!isDetectingModel(model)) {
    throw new AegisInputError(`evaluateDetection needs a model guarded by a detector; '${model.info.name}' has none`);
  }
  const detecting: DetectingModel = model;
  const white = requireGradients(model, 'detection evaluation (it crafts white-box adversarial examples)');
  checkInputShape(data.x, model.info, 'evaluateDetection');
  const n = data.y.length;
  if ((data.x.shape[0] ?? 0) !== n)
    throw new AegisInputError(`evaluateDetection: ${data.x.shape[0]} inputs but ${n} labels`);
  for (let i = 0; i < n; i++) {
    const y = data.y[i] as number;
    if (!(y >= 0 && y < model.info.numClasses)) {
      throw new AegisInputError(
        `evaluateDetection: label ${y} of example ${i} is outside [0, ${model.info.numClasses - 1}]`,
      );
    }
  }
  if (runs.length === 0) throw new AegisInputError('evaluateDetection: give at least one attack to measure against');
  const batchSize = options.batchSize ?? 100;
  const { detector } = detecting;
  const clean = await cleanReference(detecting, data.x, batchSize);
  const rows: DetectionRow[] = [];
  for (const [index, run] of runs.entries()) {
    const t0 = performance.now();
    const seed = options.seed + index;
    const common = { eps: run.eps, steps: run.steps, stepSize: run.stepSize, seed, batchSize };
    let norm: Norm;
    let xAdv: Awaited<ReturnType<typeof craftAdversarial>>;
    if (run.attack === 'adaptive') {
      norm = run.norm ?? 'linf';
      xAdv = await craftAdaptive(model, data.x, data.y, { ...common, norm, confidence: run.confidence });
    } else {
      const attack = parseDetectionAttack(run.attack);
      norm = attackNorm(attack, run.norm);
      xAdv = await craftAdversarial(white, data.x, data.y, attack, { ...common, norm });
    }
    try {
      const metrics = await measureAdversarial(detecting, data.y, xAdv, clean, batchSize);
      const row: DetectionRow = { attack: run.attack, eps: run.eps, norm, ...metrics, seconds: secondsSince(t0) };
      rows.push(row);
      options.onRow?.(row);
    } finally {
      xAdv.dispose();
    }
  }
  return {
    threshold: detector.threshold,
    targetFalsePositiveRate: detector.targetFalsePositiveRate,
    cleanExamples: n,
    falsePositiveRate: flaggedRate(clean.scores, detector.threshold),
    rows,
  };
}
