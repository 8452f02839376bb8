// Xu, Evans & Qi 2018, "Feature Squeezing: Detecting Adversarial Examples in Deep Neural Networks", NDSS.
/**
 * Bit-depth reduction: each value keeps `bits` bits, x' = round(x · (2^bits − 1)) / (2^bits − 1)
 * on the unit range (inputs are mapped from the model's input range and back). Rounding is half
 * to even, as numpy's rint in the authors' code. Xu et al. squeeze MNIST to 1 bit, CIFAR-10 to
 * 5 bits and ImageNet to 4 bits.
 *
 * Not differentiable (the gradient of rounding is zero almost everywhere): the wrapped model
 * grants at most 'scores' unless BPDA is asked for (see sanitized-model.ts).
 */
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import type { Model } from '../../models/model.js';
import type { Defense } from '../defense.js';
import { boolParam, intParam } from './defense-params.js';
import { SanitizedModel, type Sanitizer } from './sanitized-model.js';

export const DEFAULT_BITS = 4;

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 16) {
    throw new AegisInputError(`bit-depth reduction: bits must be an integer in [1, 16], got ${bits}`);
  }
}

/** Values clipped to `range` and reduced to 2^bits levels spread evenly over it (allocates; call in tf.tidy or dispose). */
export function reduceBitDepth(x: tf.Tensor, bits: number, range: [number, number] = [0, 1]): tf.Tensor {
  checkBits(bits);
  const levels = 2 ** bits - 1;
  const [lo, hi] = range;
  return tf.tidy(() => {
    const unit = lo === 0 && hi === 1 ? x : tf.div(tf.sub(x, lo), hi - lo);
    const squeezed = tf.div(tf.round(tf.mul(tf.clipByValue(unit, 0, 1), levels)), levels);
    return lo === 0 && hi === 1 ? squeezed : tf.add(tf.mul(squeezed, hi - lo), lo);
  });
}

export function bitDepthSanitizer(bits: number, range: [number, number] = [0, 1]): Sanitizer {
  checkBits(bits);
  return { name: `bit-depth-${bits}`, differentiable: false, transform: (x) => reduceBitDepth(x, bits, range) };
}

/** The model behind bit-depth reduction (access at most 'scores' unless bpda). */
export function withBitDepthReduction(
  model: Model,
  bits = DEFAULT_BITS,
  options: { bpda?: boolean } = {},
): SanitizedModel {
  return new SanitizedModel(model, bitDepthSanitizer(bits, model.info.inputRange), options);
}

/** params: bits (integer 1–16, default 4), bpda (default false: straight-through gradients for adaptive attacks). */
export const bitDepthDefense: Defense = {
  name: 'bit-depth',
  title: 'Bit-depth reduction',
  citation: 'Xu, Evans & Qi 2018, "Feature Squeezing: Detecting Adversarial Examples in Deep Neural Networks", NDSS',
  kind: 'preprocessor',
  mitigations: ['AML.M0010'],
  async apply(model, context) {
    const bits = intParam(context.params, 'bit-depth', 'bits', DEFAULT_BITS, 1, 16);
    return withBitDepthReduction(model, bits, { bpda: boolParam(context.params, 'bit-depth', 'bpda', false) });
  },
};
