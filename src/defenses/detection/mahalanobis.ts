// Lee, Lee, Lee & Shin 2018, "A Simple Unified Framework for Detecting Out-of-Distribution Samples and Adversarial Attacks", NeurIPS (arXiv:1807.03888).
/**
 * Mahalanobis detector: class-conditional Gaussians with one shared (tied) covariance over the
 * penultimate-layer activations f(x) (the input of the 'logits' Dense layer), fitted on clean
 * training data with the true labels. Confidence M(x) = max_c −(f(x) − μ_c)ᵀ Σ⁻¹ (f(x) − μ_c);
 * the detector's score is −M(x), the distance to the closest class. Optional input
 * pre-processing (the paper's Eq. 4): x̂ = x − ε·sign(∇ₓ (f(x) − μ_ĉ)ᵀ Σ⁻¹ (f(x) − μ_ĉ)), a
 * small step toward higher confidence, scored instead of x.
 *
 * Σ is shrunk toward a scaled identity, Σ' = (1 − α)Σ + α·(tr Σ / d)·I, so the inverse exists
 * when ReLU units are dead on the training data (zero variance) and stays well conditioned.
 * The paper also combines several layers with a logistic regression tuned on adversarial data;
 * this is its single-layer, attack-agnostic form.
 *
 * Params: fpr (default 0.05), shrinkage α (default 0.01), noise ε of the pre-processing
 * (default 0 = off; the paper tunes it among 0–0.01 for inputs in [0, 1]).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import { type Dataset, featureShape, featureSize, size, split } from '../../data/dataset.js';
import type { Model, ModelInfo } from '../../models/model.js';
import type { Defense, DefenseContext } from '../defense.js';
import { type ParamSpec, readParams } from '../output/params.js';
import { networkOf, penultimateModel } from '../poison/activations.js';
import { centredRows, covariance, rowsByClass, symmetricEigen } from '../poison/linalg.js';
import { checkCleanData, checkFpr, DEFAULT_FPR, thresholdAtFpr } from './calibration.js';
import {
  type DetectorModel,
  type DifferentiableScorer,
  scoreDataset,
  ThresholdDetector,
  withDetector,
} from './detecting-model.js';

export const MAHALANOBIS_PARAMS = {
  fpr: {
    type: 'number',
    default: DEFAULT_FPR,
    positive: true,
    max: 0.5,
    description: 'target false-positive rate on clean data',
  },
  shrinkage: {
    type: 'number',
    default: 0.01,
    min: 0,
    max: 1,
    description: 'covariance shrinkage toward a scaled identity',
  },
  noise: { type: 'number', default: 0, min: 0, description: 'ε of the input pre-processing step (0 = off)' },
  layer: {
    type: 'integer',
    default: -1,
    min: -1,
    description: 'layer index whose activations are modelled (-1 = penultimate)',
  },
} satisfies Record<string, ParamSpec>;

/** Class means and the whitening of the tied covariance, fitted on penultimate activations. */
export interface ClassGaussians {
  dim: number;
  /** Classes that had training examples (the others cannot be the closest class). */
  classes: number[];
  /** Means of those classes, row-major [classes.length, dim]. */
  means: Float64Array;
  /** W [dim, dim] with W Wᵀ = Σ'⁻¹, so (f − μ)ᵀ Σ'⁻¹ (f − μ) = ‖(f − μ) W‖². */
  whitening: Float64Array;
}

/**
 * Fits class means and a shared covariance (pooled within-class scatter / n), shrunk by `shrinkage`.
 * `features` is row-major [n, dim]; `labels` in [0, numClasses).
 */
export function fitClassGaussians(
  features: Float32Array,
  dim: number,
  labels: Int32Array,
  numClasses: number,
  shrinkage: number,
): ClassGaussians {
  const n = labels.length;
  if (features.length !== n * dim)
    throw new AegisInputError(`mahalanobis: ${n} labels for ${features.length / dim} feature rows`);
  if (!(shrinkage >= 0 && shrinkage <= 1))
    throw new AegisInputError(`mahalanobis: shrinkage must be in [0, 1], got ${shrinkage}`);
  const byClass = rowsByClass(labels, numClasses);
  const classes: number[] = [];
  const means: number[] = [];
  const pooled = new Float64Array(dim * dim);
  byClass.forEach((rows, c) => {
    if (rows.length === 0) return;
    classes.push(c);
    const mean = new Float64Array(dim);
    for (const r of rows) for (let j = 0; j < dim; j++) mean[j] += features[r * dim + j] as number;
    for (let j = 0; j < dim; j++) means.push((mean[j] as number) / rows.length);
    const cov = covariance(centredRows(features, dim, rows), rows.length, dim);
    const weight = rows.length / n;
    for (let i = 0; i < pooled.length; i++) pooled[i] += weight * (cov[i] as number);
  });
  let trace = 0;
  for (let i = 0; i < dim; i++) trace += pooled[i * dim + i] as number;
  const scale = trace / dim > 0 ? trace / dim : 1;
  // A floor far below any real variance keeps the inverse finite when shrinkage is 0.
  const floor = 1e-9 * scale;
  for (let i = 0; i < pooled.length; i++) pooled[i] *= 1 - shrinkage;
  for (let i = 0; i < dim; i++) pooled[i * dim + i] += shrinkage * scale;
  const { values, vectors } = symmetricEigen(pooled, dim);
  // Σ'⁻¹ = V diag(1/λ) Vᵀ = W Wᵀ with W = V diag(λ^-½): column k of W is eigenvector k / √λ_k.
  const whitening = new Float64Array(dim * dim);
  for (let k = 0; k < dim; k++) {
    const inv = 1 / Math.sqrt(Math.max(values[k] as number, floor));
    for (let i = 0; i < dim; i++) whitening[i * dim + k] = (vectors[k * dim + i] as number) * inv;
  }
  return { dim, classes, means: Float64Array.from(means), whitening };
}

/**
 * The representation the detector models: a cut of the network at one layer. Convolutional
 * outputs [batch, h, w, c] are averaged over space to [batch, c], as Lee et al. do for every layer
 * but the last; dense outputs are used as they are.
 */
export class FeatureLayer {
  readonly dim: number;
  readonly pooled: boolean;
  /** 'penultimate' or the layer's name. */
  readonly name: string;
  /** Shares the network's weights: never dispose it. */
  private readonly cut: tfl.LayersModel;

  /** `layer`: undefined/-1 = the penultimate representation (input of the final Dense layer), else a layer index or name. */
  constructor(
    readonly network: tfl.LayersModel,
    layer?: number | string,
  ) {
    if (layer === undefined || layer === -1) {
      this.cut = penultimateModel(network);
      this.name = 'penultimate';
    } else {
      const all = network.layers;
      const index = typeof layer === 'number' ? layer : all.findIndex((l) => l.name === layer);
      const chosen = all[index];
      if (!chosen || index >= all.length - 1 || !Number.isInteger(index)) {
        throw new AegisInputError(
          `mahalanobis: layer ${String(layer)} is not a hidden layer of '${network.name}' (layers 0–${all.length - 2}: ${all
            .slice(0, -1)
            .map((l) => l.name)
            .join(', ')}; -1 = penultimate)`,
        );
      }
      this.cut = tfl.model({ inputs: network.inputs, outputs: chosen.output as tfl.SymbolicTensor });
      this.name = chosen.name;
    }
    const shape = this.cut.outputs[0]?.shape.slice(1) ?? [];
    this.pooled = shape.length === 3;
    const dims = this.pooled ? shape.slice(2) : shape;
    this.dim = dims.reduce((a: number, b) => a * (b ?? 0), 1);
    if (!(this.dim > 0)) throw new AegisInputError(`mahalanobis: layer '${this.name}' has no fixed size [${shape}]`);
  }

  /** Activations [batch, dim] (differentiable). */
  features(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const out = this.cut.apply(x, { training: false }) as tf.Tensor;
      const n = x.shape[0] ?? 0;
      return tf.reshape(this.pooled ? tf.mean(out, [1, 2]) : out, [n, this.dim]) as tf.Tensor2D;
    });
  }

  /** Activations of every example of `data`, row-major [n, dim], in batches. */
  async ofDataset(data: Dataset, batchSize = 256): Promise<Float32Array> {
    const n = size(data);
    const per = featureSize(data);
    const shape = featureShape(data);
    const out = new Float32Array(n * this.dim);
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      const f = tf.tidy(() =>
        this.features(tf.tensor(data.x.subarray(start * per, (start + count) * per), [count, ...shape], 'float32')),
      );
      try {
        out.set((await f.data()) as Float32Array, start * this.dim);
      } finally {
        f.dispose();
      }
    }
    return out;
  }
}

/** Scores inputs by their Mahalanobis distance to the closest class in the layer's feature space. */
export class MahalanobisScorer implements DifferentiableScorer {
  private readonly whitening: tf.Tensor2D;
  /** Whitened class means [classes, dim]. */
  private readonly centres: tf.Tensor2D;

  constructor(
    readonly layer: FeatureLayer,
    readonly gaussians: ClassGaussians,
    /** ε of the pre-processing step (0 = none). */
    readonly noise: number,
    readonly inputRange: [number, number],
  ) {
    const { dim, classes, means, whitening } = gaussians;
    this.whitening = tf.tensor2d(Float32Array.from(whitening), [dim, dim]);
    this.centres = tf.tidy(() =>
      tf.matMul(tf.tensor2d(Float32Array.from(means), [classes.length, dim]), this.whitening),
    );
  }

  /** Squared Mahalanobis distance to every fitted class, [batch, classes] (differentiable). */
  distances(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const g = tf.matMul(this.layer.features(x), this.whitening);
      // Differences first (not ‖g‖² − 2g·m + ‖m‖²): no cancellation in float32.
      const diff = tf.sub(tf.expandDims(g, 1), tf.expandDims(this.centres, 0));
      return tf.sum(tf.square(diff), 2) as tf.Tensor2D;
    });
  }

  scoreTensor(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => tf.min(this.distances(x), 1) as tf.Tensor1D);
  }

  /** The pre-processing step as a shift: −ε·sign(∇ min_c distance), kept inside the domain. */
  shift(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      if (this.noise === 0) return tf.zerosLike(x);
      const g = tf.grad((v: tf.Tensor) => tf.sum(this.scoreTensor(v)))(x);
      const moved = tf.clipByValue(tf.sub(x, tf.mul(tf.sign(g), this.noise)), this.inputRange[0], this.inputRange[1]);
      return tf.sub(moved, x);
    });
  }

  async score(x: tf.Tensor): Promise<Float32Array> {
    const s = tf.tidy(() => {
      if (this.noise === 0) return this.scoreTensor(x);
      return this.scoreTensor(tf.add(x, this.shift(x)));
    });
    try {
      return (await s.data()) as Float32Array;
    } finally {
      s.dispose();
    }
  }

  /** Frees the fitted tensors (the network's weights belong to the model). */
  dispose(): void {
    this.whitening.dispose();
    this.centres.dispose();
  }
}

export interface MahalanobisOptions {
  fpr?: number;
  shrinkage?: number;
  noise?: number;
  /** Layer index or name; default (-1) the penultimate representation. */
  layer?: number | string;
  /** Seed of the fit/calibration split, used only when there is no training data. */
  seed?: number;
}

/**
 * Fits the class Gaussians on `train` (true labels) and sets the threshold at `fpr` on
 * `calibration`. Without `train`, half of `calibration` (seeded) fits and the other half calibrates:
 * a threshold set on the fitting data itself would sit too low and over-flag fresh inputs.
 */
export async function fitMahalanobisDetector(
  model: Model,
  data: { train?: Dataset; calibration?: Dataset },
  options: MahalanobisOptions = {},
): Promise<ThresholdDetector> {
  const who = 'mahalanobis';
  const fpr = checkFpr(options.fpr ?? DEFAULT_FPR, who);
  const shrinkage = options.shrinkage ?? MAHALANOBIS_PARAMS.shrinkage.default;
  const noise = options.noise ?? 0;
  if (!(Number.isFinite(noise) && noise >= 0))
    throw new AegisInputError(`${who}: noise must be a number >= 0, got ${noise}`);
  const network = networkOf(model);
  let calibration = checkCleanData(data.calibration, model.info, who, 'calibration', 'to set its threshold');
  let train: Dataset;
  if (data.train) {
    train = checkCleanData(data.train, model.info, who, 'train', 'to fit its class Gaussians');
  } else {
    if (size(calibration) < 4)
      throw new AegisInputError(`${who}: without training data, calibration data needs at least 4 examples`);
    [train, calibration] = split(calibration, 0.5, new Rng(options.seed ?? 0));
  }
  checkLabels(train, model.info, who);
  const layer = new FeatureLayer(network, options.layer);
  const gaussians = fitClassGaussians(
    await layer.ofDataset(train),
    layer.dim,
    train.y,
    model.info.numClasses,
    shrinkage,
  );
  const scorer = new MahalanobisScorer(layer, gaussians, noise, model.info.inputRange);
  try {
    const threshold = thresholdAtFpr(await scoreDataset(scorer, calibration), fpr, who);
    return new ThresholdDetector(scorer, threshold, fpr, model.info, who);
  } catch (error) {
    scorer.dispose();
    throw error;
  }
}

function checkLabels(train: Dataset, info: ModelInfo, who: string): void {
  for (let i = 0; i < train.y.length; i++) {
    const y = train.y[i] as number;
    if (!(y >= 0 && y < info.numClasses)) {
      throw new AegisInputError(`${who}: training label ${y} of example ${i} is outside [0, ${info.numClasses - 1}]`);
    }
  }
}

/** The model guarded by a fitted Mahalanobis detector. */
export async function mahalanobisModel(
  model: Model,
  data: { train?: Dataset; calibration?: Dataset },
  options: MahalanobisOptions = {},
): Promise<DetectorModel> {
  return withDetector(model, await fitMahalanobisDetector(model, data, options));
}

export const mahalanobisDefense: Defense = {
  name: 'mahalanobis',
  title: 'Mahalanobis-distance detector (penultimate layer)',
  citation:
    'Lee, Lee, Lee & Shin 2018, "A Simple Unified Framework for Detecting Out-of-Distribution Samples and Adversarial Attacks", NeurIPS',
  kind: 'detector',
  mitigations: ['AML.M0015'],
  async apply(model: Model, context: DefenseContext): Promise<Model> {
    const p = readParams('mahalanobis', MAHALANOBIS_PARAMS, context.params);
    return mahalanobisModel(model, context, { ...p, seed: context.seed });
  },
};
