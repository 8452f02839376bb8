/**
 * Toy models for the black-box attack tests, needing no training:
 *
 * - `toyImageModel({ seed, side, classes, n })`: a fixed random linear softmax classifier on
 *   [side, side, 1] images in [0, 1], and n images it labels itself (kept only when the logit
 *   margin is at least `minMargin`, so every clean example is classified correctly and not
 *   trivially close to the boundary). Its weights are smooth 2×2 blocks plus noise, so
 *   squares of pixels matter together, as on real images.
 * - `withThrowingLogits(model)`: the same model whose `logits` throws, to prove an attack
 *   never touches gradients.
 */
import { Rng } from '../../src/core/rng.js';
import { initRuntime, tf } from '../../src/core/runtime.js';
import type { DifferentiableModel, ModelInfo } from '../../src/models/model.js';

export class LinearSoftmaxModel implements DifferentiableModel {
  readonly info: ModelInfo;
  private readonly w: tf.Tensor2D;
  private readonly b: tf.Tensor1D;

  constructor(
    readonly weights: Float32Array,
    readonly bias: Float32Array,
    inputShape: number[],
    classes: number,
  ) {
    const d = inputShape.reduce((a, c) => a * c, 1);
    this.w = tf.tensor2d(weights, [d, classes]);
    this.b = tf.tensor1d(bias);
    this.info = { name: 'toy-linear', access: 'gradients', inputShape, numClasses: classes, inputRange: [0, 1] };
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0] ?? 0, -1]), this.w), this.b) as tf.Tensor2D);
  }

  async predictScores(x: tf.Tensor): Promise<tf.Tensor2D> {
    return tf.tidy(() => tf.softmax(this.logits(x)));
  }

  async predictLabels(x: tf.Tensor): Promise<Int32Array> {
    const labels = tf.tidy(() => tf.argMax(this.logits(x), 1));
    const out = new Int32Array(await labels.data());
    labels.dispose();
    return out;
  }

  /** Logits of one flat example, in float64 (for exact margins in tests). */
  logitsOf(row: ArrayLike<number>): Float64Array {
    const k = this.bias.length;
    const out = Float64Array.from(this.bias);
    for (let f = 0; f < row.length; f++) {
      for (let j = 0; j < k; j++)
        out[j] = (out[j] as number) + (row[f] as number) * (this.weights[f * k + j] as number);
    }
    return out;
  }

  /**
   * Smallest perturbation that changes the label, ignoring the [0, 1] box (so a lower bound
   * on the true minimum): min over j ≠ y of margin_j / ‖w_y − w_j‖ in the dual norm (L2 → L2,
   * L-inf → L1).
   */
  minimalPerturbation(row: ArrayLike<number>, y: number, norm: 'l2' | 'linf'): number {
    const k = this.bias.length;
    const logits = this.logitsOf(row);
    let best = Infinity;
    for (let j = 0; j < k; j++) {
      if (j === y) continue;
      let dual = 0;
      for (let f = 0; f < row.length; f++) {
        const diff = (this.weights[f * k + y] as number) - (this.weights[f * k + j] as number);
        dual += norm === 'l2' ? diff * diff : Math.abs(diff);
      }
      dual = norm === 'l2' ? Math.sqrt(dual) : dual;
      best = Math.min(best, ((logits[y] as number) - (logits[j] as number)) / dual);
    }
    return best;
  }

  dispose(): void {
    this.w.dispose();
    this.b.dispose();
  }
}

export interface ToyImageData {
  model: LinearSoftmaxModel;
  /** [n, side, side, 1] (caller disposes). */
  x: tf.Tensor4D;
  y: Int32Array;
}

export async function toyImageModel(options: {
  seed: number;
  side?: number;
  classes?: number;
  n?: number;
  minMargin?: number;
}): Promise<ToyImageData> {
  await initRuntime();
  const { seed, side = 8, classes = 4, n = 60, minMargin = 1 } = options;
  const rng = new Rng(seed);
  const d = side * side;
  const weights = new Float32Array(d * classes);
  const blocks = Math.ceil(side / 2);
  for (let j = 0; j < classes; j++) {
    const coarse = rng.normalArray(blocks * blocks);
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        const block = coarse[Math.floor(r / 2) * blocks + Math.floor(c / 2)] as number;
        weights[(r * side + c) * classes + j] = block + 0.3 * rng.normal();
      }
    }
  }
  // Zero logits at the grey image (all 0.5), so classes are roughly balanced over [0, 1]^d.
  const bias = new Float32Array(classes);
  for (let j = 0; j < classes; j++) {
    let s = 0;
    for (let f = 0; f < d; f++) s += weights[f * classes + j] as number;
    bias[j] = -0.5 * s;
  }
  const model = new LinearSoftmaxModel(weights, bias, [side, side, 1], classes);

  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let kept = 0, tries = 0; kept < n; tries++) {
    if (tries > 1000 * n) throw new Error('toyImageModel: could not draw enough examples with the requested margin');
    const row = rng.uniformArray(d, 0, 1);
    const logits = model.logitsOf(row);
    const order = Array.from(logits.keys()).sort((a, b) => (logits[b] as number) - (logits[a] as number));
    const top = order[0] as number;
    if ((logits[top] as number) - (logits[order[1] as number] as number) < minMargin) continue;
    x.set(row, kept * d);
    y[kept] = top;
    kept++;
  }
  return { model, x: tf.tensor4d(x, [n, side, side, 1]), y };
}

/** `model` seen through a wrapper whose logits throw: any gradient use fails loudly. */
export function withThrowingLogits(model: DifferentiableModel): DifferentiableModel {
  return {
    info: { ...model.info, name: `${model.info.name}-no-logits` },
    logits(): tf.Tensor2D {
      throw new Error('logits must not be called by a black-box attack');
    },
    predictScores: (x) => model.predictScores(x),
    predictLabels: (x) => model.predictLabels(x),
    dispose: () => {},
  };
}
