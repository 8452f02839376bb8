// Xu, Evans & Qi 2018, "Feature Squeezing: Detecting Adversarial Examples in Deep Neural Networks", NDSS (arXiv:1704.01155).
/**
 * Feature squeezing as a detector: squeeze the input (bit-depth reduction, median smoothing),
 * compare the model's softmax on the original and on each squeezed version, and score the input
 * by the largest L1 distance (the paper's joint detector). Clean inputs barely move under the
 * squeezers; adversarial perturbations, tuned to the exact pixels, often do not survive them.
 * The threshold is the (1 − fpr) quantile of clean scores (calibration.ts).
 *
 * Defaults as the paper's best joint detectors: 1-bit depth and 2×2 median for single-channel
 * images (MNIST), 5-bit depth and 2×2 median for colour images (CIFAR-10); non-image inputs get
 * bit-depth reduction only (5 bits).
 *
 * The squeezers are reused from src/defenses/validation/ (reduceBitDepth, medianSmooth). For
 * adaptive attacks the score is differentiable: through the median filter's own min/max network
 * (exact almost everywhere), and through bit-depth reduction by BPDA (Athalye, Carlini & Wagner
 * 2018): rounding is the identity on the backward pass.
 *
 * Params: fpr (default 0.05), bits (0 = no bit-depth squeezer; default by input kind as above),
 * median (window side, 0 = no median squeezer; default 2 for images, 0 otherwise).
 */
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import type { Dataset } from '../../data/dataset.js';
import { isDifferentiable, type Model, type ModelInfo, requireAccess } from '../../models/model.js';
import type { Defense, DefenseContext } from '../defense.js';
import { type ParamSpec, readParams } from '../output/params.js';
import { reduceBitDepth } from '../validation/bit-depth.js';
import { MAX_MEDIAN_SIZE, medianSmooth } from '../validation/median-smoothing.js';
import { straightThrough } from '../validation/sanitized-model.js';
import { checkCleanData, checkFpr, DEFAULT_FPR, thresholdAtFpr } from './calibration.js';
import {
  type DetectorModel,
  type DifferentiableScorer,
  scoreDataset,
  ThresholdDetector,
  withDetector,
} from './detecting-model.js';

/** One squeezer: a transform of a batch, and whether its gradient is replaced by the identity (BPDA). */
export interface Squeezer {
  name: string;
  squeeze(x: tf.Tensor): tf.Tensor;
  /** true: differentiate as the identity (the transform's own gradient is zero almost everywhere). */
  straightThrough: boolean;
}

export function bitDepthSqueezer(bits: number, range: [number, number] = [0, 1]): Squeezer {
  return { name: `bit-depth-${bits}`, squeeze: (x) => reduceBitDepth(x, bits, range), straightThrough: true };
}

export function medianSqueezer(size: number): Squeezer {
  return { name: `median-${size}x${size}`, squeeze: (x) => medianSmooth(x, size), straightThrough: false };
}

/** Images are [height, width, channels]. */
function isImage(info: Pick<ModelInfo, 'inputShape'>): boolean {
  return info.inputShape.length === 3;
}

/** The paper's bit depth for this kind of input: 1 for one-channel images, else 5. */
export function defaultBits(info: Pick<ModelInfo, 'inputShape'>): number {
  return isImage(info) && info.inputShape[2] === 1 ? 1 : 5;
}

export const FEATURE_SQUEEZING_PARAMS = {
  fpr: {
    type: 'number',
    default: DEFAULT_FPR,
    positive: true,
    max: 0.5,
    description: 'target false-positive rate on clean data',
  },
  bits: {
    type: 'integer',
    default: 1,
    min: 0,
    max: 16,
    description: 'bit depth of the bit-depth squeezer (0 = none; default 1 for one-channel images, else 5)',
  },
  median: {
    type: 'integer',
    default: 2,
    min: 0,
    max: MAX_MEDIAN_SIZE,
    description: 'median-filter window side (0 = none; default 2 for images, else 0)',
  },
} satisfies Record<string, ParamSpec>;

/** The squeezers for `bits` and `median` (0 = leave that one out). */
export function squeezersFor(info: ModelInfo, bits: number, median: number): Squeezer[] {
  const out: Squeezer[] = [];
  if (bits > 0) out.push(bitDepthSqueezer(bits, info.inputRange));
  if (median > 0) {
    if (!isImage(info)) {
      throw new AegisInputError(
        `feature-squeezing: median smoothing needs image inputs [height, width, channels]; model '${info.name}' takes [${info.inputShape}] (set median to 0)`,
      );
    }
    out.push(medianSqueezer(median));
  }
  if (out.length === 0) throw new AegisInputError('feature-squeezing: no squeezer left (bits and median are both 0)');
  return out;
}

/** Per-example L1 distance between two probability batches [batch, classes]. */
function l1(a: tf.Tensor, b: tf.Tensor): tf.Tensor1D {
  return tf.sum(tf.abs(tf.sub(a, b)), 1) as tf.Tensor1D;
}

export class FeatureSqueezingScorer implements DifferentiableScorer {
  constructor(
    readonly model: Model,
    readonly squeezers: readonly Squeezer[],
  ) {
    requireAccess(model, 'scores', 'feature squeezing (it compares class probabilities)');
    if (squeezers.length === 0) throw new AegisInputError('feature-squeezing: give at least one squeezer');
  }

  /** max over squeezers of ‖softmax(x) − softmax(squeeze(x))‖₁, through predictScores (any scores model). */
  async score(x: tf.Tensor): Promise<Float32Array> {
    const original = await this.model.predictScores(x);
    let best: tf.Tensor1D | undefined;
    try {
      for (const s of this.squeezers) {
        const squeezed = tf.tidy(() => s.squeeze(x));
        let probs: tf.Tensor2D | undefined;
        try {
          probs = await this.model.predictScores(squeezed);
          const current = best;
          best = tf.tidy(() => {
            const d = l1(original, probs as tf.Tensor2D);
            return current ? (tf.maximum(current, d) as tf.Tensor1D) : d;
          });
          current?.dispose();
        } finally {
          squeezed.dispose();
          probs?.dispose();
        }
      }
      return (await (best as tf.Tensor1D).data()) as Float32Array;
    } finally {
      original.dispose();
      best?.dispose();
    }
  }

  /** The same score, differentiable (needs a white-box model): BPDA through bit-depth reduction. */
  scoreTensor(x: tf.Tensor): tf.Tensor1D {
    const model = this.model;
    if (!isDifferentiable(model)) {
      throw new AegisInputError(
        `feature-squeezing: model '${model.info.name}' has no gradients, so the score is not differentiable`,
      );
    }
    return tf.tidy(() => {
      const p = tf.softmax(model.logits(x));
      const distances = this.squeezers.map((s) => {
        const squeeze = s.straightThrough ? straightThrough(s.squeeze) : s.squeeze;
        return l1(p, tf.softmax(model.logits(squeeze(x))));
      });
      return tf.max(tf.stack(distances, 1), 1) as tf.Tensor1D;
    });
  }

  /**
   * Surrogate for adaptive attacks (He, Wei, Chen, Carlini & Song 2017 attack squeezing this way):
   * make every squeezed input predict the class the model now predicts, by a logit margin of κ —
   * Σ_s max(max_{j≠ŷ} Z_j(s(x)) − Z_ŷ(s(x)), −κ). Once all agree confidently the L1 score is near 0,
   * and unlike the L1 of two saturated softmaxes its gradient does not vanish.
   */
  attackLoss(x: tf.Tensor, logits: tf.Tensor2D, confidence: number): tf.Tensor1D {
    const model = this.model;
    if (!isDifferentiable(model)) {
      throw new AegisInputError(`feature-squeezing: model '${model.info.name}' has no gradients`);
    }
    return tf.tidy(() => {
      const k = logits.shape[1] ?? 0;
      const predicted = tf.oneHot(tf.argMax(logits, 1), k);
      const losses = this.squeezers.map((s) => {
        const squeeze = s.straightThrough ? straightThrough(s.squeeze) : s.squeeze;
        const z = model.logits(squeeze(x));
        const own = tf.sum(tf.mul(z, predicted), 1);
        const other = tf.max(tf.sub(z, tf.mul(predicted, 1e9)), 1);
        return tf.maximum(tf.sub(other, own), -confidence);
      });
      return tf.addN(losses) as tf.Tensor1D;
    });
  }

  /** Holds no tensors. */
  dispose(): void {}
}

export interface FeatureSqueezingOptions {
  fpr?: number;
  /** Squeezers to use; default squeezersFor(info, defaultBits(info), 2 or 0). */
  squeezers?: Squeezer[];
}

/** Default squeezers for the model's kind of input (see the file comment). */
export function defaultSqueezers(info: ModelInfo): Squeezer[] {
  return squeezersFor(info, defaultBits(info), isImage(info) ? 2 : 0);
}

/** Builds the scorer and sets its threshold at `fpr` on clean `calibration` data. */
export async function fitFeatureSqueezingDetector(
  model: Model,
  calibration: Dataset | undefined,
  options: FeatureSqueezingOptions = {},
): Promise<ThresholdDetector> {
  const who = 'feature-squeezing';
  const fpr = checkFpr(options.fpr ?? DEFAULT_FPR, who);
  const clean = checkCleanData(calibration, model.info, who, 'calibration', 'to set its threshold');
  const scorer = new FeatureSqueezingScorer(model, options.squeezers ?? defaultSqueezers(model.info));
  const threshold = thresholdAtFpr(await scoreDataset(scorer, clean), fpr, who);
  return new ThresholdDetector(scorer, threshold, fpr, model.info, who);
}

/** The model guarded by a calibrated feature-squeezing detector. */
export async function featureSqueezingModel(
  model: Model,
  calibration: Dataset | undefined,
  options: FeatureSqueezingOptions = {},
): Promise<DetectorModel> {
  return withDetector(model, await fitFeatureSqueezingDetector(model, calibration, options));
}

export const featureSqueezingDefense: Defense = {
  name: 'feature-squeezing',
  title: 'Feature squeezing (bit depth + median smoothing)',
  citation: 'Xu, Evans & Qi 2018, "Feature Squeezing: Detecting Adversarial Examples in Deep Neural Networks", NDSS',
  kind: 'detector',
  mitigations: ['AML.M0015'],
  async apply(model: Model, context: DefenseContext): Promise<Model> {
    const specs = {
      ...FEATURE_SQUEEZING_PARAMS,
      bits: { ...FEATURE_SQUEEZING_PARAMS.bits, default: defaultBits(model.info) },
      median: { ...FEATURE_SQUEEZING_PARAMS.median, default: isImage(model.info) ? 2 : 0 },
    };
    const p = readParams('feature-squeezing', specs, context.params);
    return featureSqueezingModel(model, context.calibration, {
      fpr: p.fpr,
      squeezers: squeezersFor(model.info, p.bits, p.median),
    });
  },
};
