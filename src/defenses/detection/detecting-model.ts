/**
 * An adversarial-input detector as a model wrapper: the model's predictions pass through
 * unchanged, and `detector.detect(x)` gives a score and a verdict per input. A detector is a
 * scorer (higher = more adversarial) plus a threshold calibrated on clean data (calibration.ts).
 *
 * Access: the wrapper keeps the inner model's access. A detector does not change what the model
 * predicts, so its logits ARE the inner model's logits, and a white-box attacker of the wrapped
 * model legitimately gets them — that is the non-adaptive setting the detection papers evaluate
 * (the attacker ignores the detector). Attacks that know the detector differentiate its score as
 * well (adaptive-attack.ts, through `DifferentiableScorer`).
 */
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import { type Dataset, toTensor } from '../../data/dataset.js';
import { type DifferentiableModel, isDifferentiable, type Model, type ModelInfo } from '../../models/model.js';
import type { AdversarialInputDetector, DetectingModel, DetectionVerdicts } from '../defense.js';
import { checkScores, flagScores } from './calibration.js';

/** Examples per scoring pass (bounds memory on large inputs). */
export const DETECT_BATCH = 256;

/** Scores inputs; higher = more likely adversarial. */
export interface InputScorer {
  /** Per-example scores for a batch of inputs of the model's shape (checked by the caller). */
  score(x: tf.Tensor): Promise<Float32Array>;
  /** Frees tensors the scorer holds (never the model's). */
  dispose(): void;
}

/** A scorer an adaptive attacker can differentiate. */
export interface DifferentiableScorer extends InputScorer {
  /**
   * Per-example scores [batch], synchronous and differentiable in x (call inside tf.grad/tf.tidy).
   * Non-differentiable steps are replaced by their straight-through (BPDA) approximation.
   * With `shift`, score(x) equals scoreTensor(x + shift(x)).
   */
  scoreTensor(x: tf.Tensor): tf.Tensor1D;
  /**
   * Optional input pre-processing the scorer applies first, as an additive shift that is locally
   * constant in x (e.g. a signed-gradient step), so its own gradient is ignored. Caller disposes.
   */
  shift?(x: tf.Tensor): tf.Tensor;
  /**
   * Optional surrogate the adaptive attack descends instead of the score, when the score's own
   * gradient is poor (e.g. differences of saturated softmax outputs): per example, lower = less
   * suspicious. `x` is already shifted; `logits` are the classifier's on the unshifted input;
   * `confidence` is the attack's κ. Synchronous and differentiable, like scoreTensor.
   */
  attackLoss?(x: tf.Tensor, logits: tf.Tensor2D, confidence: number): tf.Tensor1D;
}

export function isDifferentiableScorer(scorer: InputScorer): scorer is DifferentiableScorer {
  return typeof (scorer as Partial<DifferentiableScorer>).scoreTensor === 'function';
}

/** Throws AegisInputError unless x is [batch, ...info.inputShape] with batch ≥ 1. */
export function checkInputShape(x: tf.Tensor, info: ModelInfo, who: string): void {
  const got = x.shape.slice(1);
  const want = info.inputShape;
  if ((x.shape[0] ?? 0) === 0 || got.length !== want.length || got.some((d, i) => d !== want[i])) {
    throw new AegisInputError(
      `${who}: inputs must have shape [batch ≥ 1, ${want}] for model '${info.name}', got [${x.shape}]`,
    );
  }
}

/** Scores of a large batch, computed DETECT_BATCH examples at a time. */
export async function scoreInBatches(
  scorer: InputScorer,
  x: tf.Tensor,
  batchSize = DETECT_BATCH,
): Promise<Float32Array> {
  const n = x.shape[0] ?? 0;
  if (n <= batchSize) return scorer.score(x);
  const out = new Float32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const part = tf.slice(x, start, Math.min(batchSize, n - start));
    try {
      out.set(await scorer.score(part), start);
    } finally {
      part.dispose();
    }
  }
  return out;
}

/** Scores of a whole clean dataset. */
export async function scoreDataset(scorer: InputScorer, data: Dataset): Promise<Float32Array> {
  const x = toTensor(data);
  try {
    return await scoreInBatches(scorer, x);
  } finally {
    x.dispose();
  }
}

/** A scorer with a threshold: the AdversarialInputDetector of defense.ts. */
export class ThresholdDetector implements AdversarialInputDetector {
  constructor(
    readonly scorer: InputScorer,
    readonly threshold: number,
    readonly targetFalsePositiveRate: number,
    /** The guarded model's info (input shape checks, messages). */
    readonly info: ModelInfo,
    /** Detector name for messages, e.g. 'feature-squeezing'. */
    readonly name: string,
  ) {}

  /** Scores only (no verdicts), checked for shape and NaN. */
  async scores(x: tf.Tensor): Promise<Float32Array> {
    checkInputShape(x, this.info, this.name);
    const scores = await scoreInBatches(this.scorer, x);
    checkScores(scores, this.name);
    return scores;
  }

  async detect(x: tf.Tensor): Promise<DetectionVerdicts> {
    const scores = await this.scores(x);
    return { scores, flagged: flagScores(scores, this.threshold) };
  }

  dispose(): void {
    this.scorer.dispose();
  }
}

/** The inner model, unchanged, plus a detector. Label-only or score-only models stay so. */
export class DetectorModel implements DetectingModel {
  readonly info: ModelInfo;

  constructor(
    /** The guarded model (not owned: dispose it yourself). */
    readonly inner: Model,
    readonly detector: ThresholdDetector,
  ) {
    this.info = { ...inner.info, name: `${inner.info.name}+${detector.name}` };
  }

  predictLabels(x: tf.Tensor): Promise<Int32Array> {
    return this.inner.predictLabels(x);
  }

  predictScores(x: tf.Tensor): Promise<tf.Tensor2D> {
    return this.inner.predictScores(x);
  }

  /** Frees the detector's tensors; the inner model stays alive. */
  dispose(): void {
    this.detector.dispose();
  }
}

/** A detector around a white-box model: the same logits (and gradient fast path) as the model. */
export class DifferentiableDetectorModel extends DetectorModel implements DifferentiableModel {
  constructor(
    override readonly inner: DifferentiableModel,
    detector: ThresholdDetector,
  ) {
    super(inner, detector);
    const fast = inner.crossEntropyGradient?.bind(inner);
    if (fast) this.crossEntropyGradient = fast;
  }

  crossEntropyGradient?: DifferentiableModel['crossEntropyGradient'];

  logits(x: tf.Tensor): tf.Tensor2D {
    return this.inner.logits(x);
  }
}

/** Wraps `inner` with `detector`, keeping `logits` when the inner model has them. */
export function withDetector(inner: Model, detector: ThresholdDetector): DetectorModel {
  return isDifferentiable(inner)
    ? new DifferentiableDetectorModel(inner, detector)
    : new DetectorModel(inner, detector);
}
