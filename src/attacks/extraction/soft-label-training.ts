/**
 * Training a surrogate on the victim's answers: cross-entropy against soft targets,
 * −Σ_k t_k log softmax(z)_k (Hinton, Vinyals & Dean 2015 distillation at temperature 1; one-hot
 * targets make it the usual cross-entropy), Adam, seeded shuffling. Kept apart from
 * models/train.ts, which trains on integer labels.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import { networkLogits } from '../../models/tfjs-model.js';

export interface SoftLabelFitOptions {
  epochs: number;
  /** Default 64. */
  batchSize?: number;
  seed: number;
}

export class SoftLabelTrainer {
  private readonly optimizer: tf.Optimizer;
  private readonly variables: tf.Variable[];

  constructor(
    readonly network: tfl.LayersModel,
    learningRate = 1e-3,
  ) {
    this.optimizer = tf.train.adam(learningRate);
    this.variables = network.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  /** One Adam step on a batch; returns the batch's mean loss (caller disposes). */
  step(x: tf.Tensor, targets: tf.Tensor): tf.Scalar {
    return tf.tidy(
      () =>
        this.optimizer.minimize(
          () => softCrossEntropy(networkLogits(this.network, x, true), targets),
          true,
          this.variables,
        ) as tf.Scalar,
    );
  }

  /** `epochs` passes over (x, targets) in seeded random order; returns the last epoch's mean loss. */
  async fit(x: tf.Tensor, targets: tf.Tensor, options: SoftLabelFitOptions): Promise<number> {
    const n = x.shape[0] ?? 0;
    const batchSize = options.batchSize ?? 64;
    if (!Number.isInteger(options.epochs) || options.epochs <= 0) {
      throw new AegisInputError(`surrogate training: epochs must be a positive integer, got ${options.epochs}`);
    }
    if (n === 0) throw new AegisInputError('surrogate training: no examples');
    const rng = new Rng(options.seed);
    let last = Number.NaN;
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = tf.tensor1d(rng.permutation(n), 'int32');
      let sum: tf.Scalar = tf.scalar(0);
      for (let start = 0; start < n; start += batchSize) {
        const count = Math.min(batchSize, n - start);
        const loss = tf.tidy(() => {
          const idx = tf.slice(order, start, count);
          return this.step(tf.gather(x, idx), tf.gather(targets, idx));
        });
        const next = tf.tidy(() => tf.add(sum, tf.mul(loss, count))) as tf.Scalar;
        tf.dispose([sum, loss]);
        sum = next;
      }
      order.dispose();
      last = ((await sum.data())[0] ?? Number.NaN) / n;
      sum.dispose();
      if (!Number.isFinite(last)) throw new AegisInputError(`surrogate training diverged (loss ${last})`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    return last;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** Mean over the batch of −Σ t·log softmax(logits). */
export function softCrossEntropy(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as tf.Scalar);
}
