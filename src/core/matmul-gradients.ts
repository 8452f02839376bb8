/**
 * The MatMul (BatchMatMul) gradient with every operand transposed explicitly, so each product
 * is a plain a·b. tfjs-backend-wasm runs only untransposed rank-2 products on XNNPACK; with
 * transposeA or transposeB it falls back to a naive loop: the input gradient of a Dense layer
 * (dy·Wᵀ, [100,64]×[64,800]) takes 3.5–5 ms that way and ~0.5 ms as transpose + XNNPACK product.
 * The products are the standard ones (d(a·b) = dy·bᵀ, aᵀ·dy), as tfjs's stock gradient.
 */
import * as tf from '@tensorflow/tfjs-core';

/** t with its last two axes swapped. */
function swapLast2(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  const r = t.rank;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return tf.transpose(t, perm);
}

export const batchMatMulGradConfig: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved;
    const g = dy as tf.Tensor;
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    if (!transposeA && !transposeB) {
      return { a: () => tf.matMul(g, swapLast2(b)), b: () => tf.matMul(swapLast2(a), g) };
    }
    if (!transposeA && transposeB) {
      return { a: () => tf.matMul(g, b), b: () => tf.matMul(swapLast2(g), a) };
    }
    if (transposeA && !transposeB) {
      return { a: () => tf.matMul(b, swapLast2(g)), b: () => tf.matMul(a, g) };
    }
    return { a: () => tf.matMul(swapLast2(b), swapLast2(g)), b: () => tf.matMul(swapLast2(g), swapLast2(a)) };
  },
};

/** Registers the MatMul gradient over tfjs's stock one (call after the stock gradients). Idempotent. */
export function registerMatMulGradients(): void {
  if (tf.getGradient(tf.BatchMatMul) === batchMatMulGradConfig) return;
  const env = tf.env();
  const prod = env.getBool('PROD');
  env.set('PROD', true); // silences tfjs's "Overriding the gradient" notice
  try {
    tf.registerGradient(batchMatMulGradConfig);
  } finally {
    env.set('PROD', prod);
  }
}
