/**
 * The training rows themselves as a detector representation (flattened), reduced to their top
 * principal components when wide: label-consistency's neighbours are searched here, where a
 * relabelled backdoor image still sits among images of its true class (in the backdoored model's
 * representation it sits among the other poisons). The covariance and the projection run on the
 * tensor backend; the components come from a few seeded subspace iterations (randomized PCA,
 * Halko, Martinsson & Tropp 2011), enough for a neighbour search.
 */
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import { type Dataset, featureSize, size } from '../../data/dataset.js';
import type { Activations } from './activations.js';
import { type Eigen, topEigen } from './linalg.js';

/** Components kept for wide inputs (Fashion-MNIST: 784 pixels → 64). */
export const INPUT_COMPONENTS = 64;

export function inputFeatures(data: Dataset, seed: number, components = INPUT_COMPONENTS): Activations {
  const n = size(data);
  const dim = featureSize(data);
  if (dim <= components) return { features: data.x.slice(), dim };
  const centred = tf.tidy(() => {
    const x = tf.tensor2d(data.x, [n, dim]);
    return tf.sub(x, tf.mean(x, 0, true));
  });
  let eig: Eigen;
  try {
    const cov = tf.tidy(() => tf.div(tf.matMul(tf.transpose(centred), centred), n));
    try {
      // The block products run on the backend: [count, dim] x [dim, dim] (cov is symmetric).
      const multiply = (block: Float64Array, count: number): Float64Array => {
        const out = tf.tidy(() => tf.matMul(tf.tensor2d(Float32Array.from(block), [count, dim]), cov));
        const values = Float64Array.from(out.dataSync());
        out.dispose();
        return values;
      };
      eig = topEigen(new Float64Array(0), dim, components, new Rng(seed), 20, multiply);
    } finally {
      cov.dispose();
    }
    const kept = eig.values.length;
    const basis = tf.tensor2d(Float32Array.from(eig.vectors), [kept, dim]);
    const projected = tf.tidy(() => tf.matMul(centred, tf.transpose(basis)));
    basis.dispose();
    const features = projected.dataSync() as Float32Array;
    projected.dispose();
    return { features, dim: kept };
  } finally {
    centred.dispose();
  }
}
