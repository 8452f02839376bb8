/**
 * The inner maximisation of adversarial training, on tensors inside a training step: PGD
 * (Madry et al. 2018) on the softmax cross-entropy against target distributions — one-hot labels
 * for PGD-AT and FGSM-RS/FBF, the model's own clean prediction for TRADES (whose KL term has the
 * same input gradient as that cross-entropy: the entropy of the clean prediction is a constant).
 * Steps, projection and random starts are those of src/attacks/evasion/pgd.ts.
 */

import { lossGradient } from '../../attacks/evasion/loss-gradient.js';
import { pgdStep, randomStart } from '../../attacks/evasion/pgd.js';
import type { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import type { DifferentiableModel } from '../../models/model.js';

export interface InnerMaxSettings {
  eps: number;
  stepSize: number;
  steps: number;
  range: [number, number];
}

/**
 * `steps` L-inf PGD steps from `start` (consumed: disposed here) on the cross-entropy of
 * model(x') against `targets` ([batch, classes], one-hot or probabilities). Returns x' (caller
 * disposes); every intermediate tensor is freed.
 */
export function pgdMaximise(
  model: DifferentiableModel,
  x: tf.Tensor,
  targets: tf.Tensor,
  start: tf.Tensor,
  s: InnerMaxSettings,
): tf.Tensor {
  const gradient = lossGradient(model, targets);
  let xAdv = start;
  try {
    for (let k = 0; k < s.steps; k++) {
      const current = xAdv;
      const next = tf.tidy(() => pgdStep(x, current, gradient(current), { ...s, norm: 'linf' }));
      current.dispose();
      xAdv = next;
    }
    return xAdv;
  } catch (error) {
    xAdv.dispose();
    throw error;
  }
}

/** Uniform random start in the L-inf eps-ball around x, clipped to the domain (PGD-AT, FGSM-RS/FBF). */
export function uniformStart(x: tf.Tensor, eps: number, range: [number, number], rng: Rng): tf.Tensor {
  return randomStart(x, eps, 'linf', range, rng);
}

/** TRADES' start: x + 0.001·N(0, 1) (Zhang et al.'s code), not clipped until the first projection. */
export function gaussianStart(x: tf.Tensor, rng: Rng, scale = 0.001): tf.Tensor {
  const noise = rng.normalArray(x.size);
  return tf.tidy(() => tf.add(x, tf.mul(tf.tensor(noise, x.shape), scale)));
}

/** The network as a white-box model for the inner attack (inference-mode logits). */
export function innerModel(logits: (x: tf.Tensor) => tf.Tensor2D, numClasses: number): DifferentiableModel {
  return {
    info: { name: 'training-network', access: 'gradients', inputShape: [], numClasses, inputRange: [0, 1] },
    logits,
    predictLabels: async () => {
      throw new Error('innerModel is for gradients only');
    },
    predictScores: async () => {
      throw new Error('innerModel is for gradients only');
    },
    dispose: () => undefined,
  };
}
