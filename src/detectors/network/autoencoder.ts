// Autoencoder anomaly detection by reconstruction error: Sakurada & Yairi 2014, "Anomaly Detection Using Autoencoders with Nonlinear Dimensionality Reduction", MLSDA; on NSL-KDD e.g. Aygun & Yavuz 2017, IEEE CSCloud.
/**
 * An undercomplete autoencoder trained on normal traffic only: it learns to reconstruct what
 * normal flows look like, so a flow it reconstructs badly is unlike anything in the normal
 * training data — a candidate for an attack never seen in training. The novelty score is the mean
 * squared reconstruction error over the (standardised) features; the features with the largest
 * squared errors are the reasons. Training is a written-out Adam loop (Kingma & Ba 2015) with
 * seeded shuffling and seeded initial weights, so the same seed gives the same network.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';

export interface AutoencoderOptions {
  /** Units of the encoder's hidden layers; the decoder mirrors them. Default [64, 16] (bottleneck last). */
  hidden?: number[];
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  seed: number;
}

export interface AutoencoderFit {
  network: tfl.LayersModel;
  /** Mean training loss per epoch. */
  losses: number[];
  seconds: number;
}

/** Examples per forward pass when scoring. */
const SCORE_BATCH = 1024;

/** Dense ReLU encoder → bottleneck → mirrored decoder → linear output of the input's size. */
export function buildAutoencoder(dimension: number, hidden: number[], seed: number): tfl.Sequential {
  if (hidden.length === 0 || hidden.some((h) => !Number.isInteger(h) || h <= 0)) {
    throw new AegisInputError(`autoencoder: hidden sizes [${hidden}] must be positive integers`);
  }
  const rng = new Rng(seed);
  const next = () => rng.uint32() & 0x7fffffff;
  const model = tfl.sequential({ name: 'nids-autoencoder' });
  model.add(tfl.layers.inputLayer({ inputShape: [dimension] }));
  const sizes = [...hidden, ...hidden.slice(0, -1).reverse()];
  for (const units of sizes) {
    model.add(
      tfl.layers.dense({ units, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed: next() }) }),
    );
  }
  model.add(
    tfl.layers.dense({
      units: dimension,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: next() }),
      name: 'reconstruction',
    }),
  );
  return model;
}

/** Trains an autoencoder on rows x[n × d] (normal traffic). */
export async function trainAutoencoder(
  x: Float32Array,
  rows: number,
  dimension: number,
  o: AutoencoderOptions,
): Promise<AutoencoderFit> {
  if (rows < 2) throw new AegisInputError(`autoencoder: needs at least 2 normal training flows, got ${rows}`);
  const epochs = o.epochs ?? 30;
  const batchSize = o.batchSize ?? 128;
  const rng = new Rng(o.seed);
  const network = buildAutoencoder(dimension, o.hidden ?? [64, 16], rng.fork());
  const optimizer = tf.train.adam(o.learningRate ?? 1e-3);
  const variables = network.trainableWeights.map((w) => w.read() as tf.Variable);
  const data = tf.tensor2d(x, [rows, dimension]);
  const losses: number[] = [];
  const t0 = performance.now();
  try {
    for (let e = 0; e < epochs; e++) {
      const order = tf.tensor1d(rng.permutation(rows), 'int32');
      let sum = tf.scalar(0);
      for (let start = 0; start < rows; start += batchSize) {
        const count = Math.min(batchSize, rows - start);
        const cost = tf.tidy(() => {
          const batch = tf.gather(data, tf.slice(order, start, count));
          return optimizer.minimize(
            () => tf.mean(tf.square(tf.sub(network.apply(batch) as tf.Tensor2D, batch))) as tf.Scalar,
            true,
            variables,
          ) as tf.Scalar;
        });
        const next = tf.tidy(() => tf.add(sum, tf.mul(cost, count)));
        tf.dispose([sum, cost]);
        sum = next as tf.Scalar;
      }
      losses.push(((await sum.data())[0] ?? Number.NaN) / rows);
      tf.dispose([sum, order]);
      if (!Number.isFinite(losses[losses.length - 1])) {
        throw new AegisInputError(`autoencoder training diverged at epoch ${e + 1}; lower the learning rate`);
      }
    }
  } catch (error) {
    network.dispose();
    throw error;
  } finally {
    data.dispose();
    optimizer.dispose();
  }
  return { network, losses, seconds: (performance.now() - t0) / 1000 };
}

/** Squared reconstruction error per feature, [n × d] row-major. */
export function reconstructionErrors(
  network: tfl.LayersModel,
  x: Float32Array,
  rows: number,
  dimension: number,
): Float32Array {
  const out = new Float32Array(rows * dimension);
  for (let start = 0; start < rows; start += SCORE_BATCH) {
    const count = Math.min(SCORE_BATCH, rows - start);
    const errors = tf.tidy(() => {
      const batch = tf.tensor2d(x.subarray(start * dimension, (start + count) * dimension), [count, dimension]);
      return tf.square(tf.sub(network.apply(batch) as tf.Tensor2D, batch));
    });
    out.set(errors.dataSync() as Float32Array, start * dimension);
    errors.dispose();
  }
  return out;
}

/** Reconstruction of rows (for explanations: what the normal model expected), [n × d]. */
export function reconstruct(network: tfl.LayersModel, x: Float32Array, rows: number, dimension: number): Float32Array {
  const out = tf.tidy(() => network.apply(tf.tensor2d(x, [rows, dimension])) as tf.Tensor);
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

/** Mean of each row of a [n × d] matrix: the novelty score from per-feature errors. */
export function rowMeans(m: Float32Array, rows: number, dimension: number): Float64Array {
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < dimension; j++) s += m[i * dimension + j] as number;
    out[i] = s / dimension;
  }
  return out;
}
