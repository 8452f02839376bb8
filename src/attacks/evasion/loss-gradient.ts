/**
 * Input gradients of the classification loss, shared by the gradient attacks: softmax
 * cross-entropy on logits (Goodfellow et al. 2015; Madry et al. 2018), and the steepest
 * ascent direction of a gradient under a norm.
 */
import { tf } from '../../core/runtime.js';
import type { Norm } from '../../core/threat-model.js';
import type { DifferentiableModel } from '../../models/model.js';

/** Softmax cross-entropy summed over the batch (sum, not mean: per-example gradients stay unscaled). */
export function crossEntropy(logits: tf.Tensor, oneHot: tf.Tensor): tf.Scalar {
  // tfjs's softmaxCrossEntropy carries a custom gradient (softmax − labels): one fused backward step.
  return tf.losses.softmaxCrossEntropy(oneHot, logits, undefined, 0, tf.Reduction.SUM) as tf.Scalar;
}

/**
 * x ↦ ∂loss/∂x for fixed labels. The returned function allocates tensors: call it inside tf.tidy.
 */
export function lossGradient(model: DifferentiableModel, oneHot: tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  return tf.grad((x: tf.Tensor) => crossEntropy(model.logits(x), oneHot));
}

/**
 * x ↦ ∂loss/∂x for fixed labels, through the model's own fast path (`crossEntropyGradient`,
 * e.g. ONNX Runtime for imported ONNX models) when it has one, else through tfjs autodiff.
 * The caller disposes the returned gradient.
 */
export function crossEntropyGradientFn(
  model: DifferentiableModel,
  oneHot: tf.Tensor,
): (x: tf.Tensor) => Promise<tf.Tensor> {
  const fast = model.crossEntropyGradient?.bind(model);
  if (fast) {
    return async (x) => {
      const { grad, logits } = await fast(x, oneHot);
      logits.dispose();
      return grad;
    };
  }
  const gradient = lossGradient(model, oneHot);
  return async (x) => tf.tidy(() => gradient(x));
}

/** Labels as a one-hot float matrix [batch, numClasses] (caller disposes). */
export function oneHotLabels(labels: Int32Array, numClasses: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses), 'float32') as tf.Tensor2D);
}

/** Per-example L2 norms of a batch, shaped [batch, 1, …, 1] so they broadcast against it. */
export function perExampleL2(t: tf.Tensor): tf.Tensor {
  const axes = t.shape.map((_, i) => i).slice(1);
  return tf.sqrt(tf.sum(tf.square(t), axes, true));
}

/** Steepest ascent direction of unit size: sign(g) for L-inf, g/‖g‖₂ per example for L2 (zero stays zero). */
export function steepestAscent(g: tf.Tensor, norm: Norm): tf.Tensor {
  if (norm === 'linf') return tf.sign(g);
  return tf.div(g, tf.maximum(perExampleL2(g), 1e-12));
}

/** Reshapes a per-example vector [batch] to [batch, 1, …, 1] matching `like`'s rank (for tf.where/mul). */
export function perExample(v: tf.Tensor, like: tf.Tensor): tf.Tensor {
  return tf.reshape(v, [v.shape[0] ?? 0, ...like.shape.slice(1).map(() => 1)]);
}
