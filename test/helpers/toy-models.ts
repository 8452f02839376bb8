/**
 * A small white-box model for attack tests: a one-hidden-layer MLP written with tf ops,
 * trained with Adam on seeded, well separated Gaussian blobs in [0, 1]^dims.
 *
 *   const { model, x, y } = await trainToyModel({ seed: 1, dims: 20, classes: 3, n: 300 });
 *
 * `model` is a DifferentiableModel (access 'gradients'); `x` is [n, dims] (caller disposes
 * x and model); `y` are the blob labels.
 */
import { Rng } from '../../src/core/rng.js';
import { initRuntime, tf } from '../../src/core/runtime.js';
import type { DifferentiableModel, ModelInfo } from '../../src/models/model.js';

export interface ToyModelOptions {
  seed: number;
  dims?: number;
  classes?: number;
  /** Examples (returned as x, y; also the training set). */
  n?: number;
  hidden?: number;
  trainSteps?: number;
  /** Blob standard deviation per feature. */
  spread?: number;
}

export interface ToyModel {
  model: DifferentiableModel;
  x: tf.Tensor2D;
  y: Int32Array;
}

class ToyMlp implements DifferentiableModel {
  readonly info: ModelInfo;

  constructor(
    private readonly w1: tf.Variable,
    private readonly b1: tf.Variable,
    private readonly w2: tf.Variable,
    private readonly b2: tf.Variable,
    dims: number,
    classes: number,
  ) {
    this.info = { name: 'toy-mlp', access: 'gradients', inputShape: [dims], numClasses: classes, inputRange: [0, 1] };
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const h = tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, this.w1), this.b1));
      return tf.add(tf.matMul(h, this.w2), this.b2) as tf.Tensor2D;
    });
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

  dispose(): void {
    for (const v of [this.w1, this.b1, this.w2, this.b2]) v.dispose();
  }
}

/** Blob data: class centres uniform in [0.25, 0.75]^dims, Gaussian noise, clipped to [0, 1]. */
export function makeBlobs(rng: Rng, n: number, dims: number, classes: number, spread: number) {
  const centres = Array.from({ length: classes }, () => rng.uniformArray(dims, 0.25, 0.75));
  const x = new Float32Array(n * dims);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    y[i] = c;
    for (let j = 0; j < dims; j++) {
      x[i * dims + j] = Math.min(1, Math.max(0, (centres[c]?.[j] ?? 0) + spread * rng.normal()));
    }
  }
  return { x, y };
}

export async function trainToyModel(options: ToyModelOptions): Promise<ToyModel> {
  await initRuntime();
  const { seed, dims = 20, classes = 3, n = 300, hidden = 32, trainSteps = 300, spread = 0.1 } = options;
  const rng = new Rng(seed);
  const data = makeBlobs(rng, n, dims, classes, spread);
  const init = (rows: number, cols: number) =>
    tf.tidy(() => tf.variable(tf.mul(tf.tensor2d(rng.normalArray(rows * cols), [rows, cols]), Math.sqrt(2 / rows))));
  const model = new ToyMlp(
    init(dims, hidden),
    tf.variable(tf.zeros([hidden])),
    init(hidden, classes),
    tf.variable(tf.zeros([classes])),
    dims,
    classes,
  );
  const x = tf.tensor2d(data.x, [n, dims]);
  const oneHot = tf.tidy(() => tf.oneHot(tf.tensor1d(data.y, 'int32'), classes));
  const optimizer = tf.train.adam(0.01);
  for (let step = 0; step < trainSteps; step++) {
    tf.tidy(() => {
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(oneHot, model.logits(x)) as tf.Scalar);
    });
  }
  optimizer.dispose();
  oneHot.dispose();
  return { model, x, y: data.y };
}
