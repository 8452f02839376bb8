/**
 * The Model contract: anything that maps a batch of inputs to class scores, and says how
 * much of itself it reveals (its access level). Defenses that wrap a model return a Model,
 * so every attack runs against a defended model unchanged.
 *
 * Inputs are tfjs tensors of shape [batch, ...info.inputShape]; images are NHWC
 * ([batch, height, width, channels]) in info.inputRange (usually [0, 1]).
 */

import { AccessError } from '../core/errors.js';
import type { tf } from '../core/runtime.js';
import { type Access, accessCovers } from '../core/threat-model.js';

export interface ModelInfo {
  /** Human-readable name (file name, URL, builder name). */
  name: string;
  /** What the model reveals: 'gradients' (white-box), 'scores' (probabilities) or 'labels'. */
  access: Access;
  /** Shape of one input, without the batch dimension (NHWC for images). */
  inputShape: number[];
  numClasses: number;
  /** Valid input domain. */
  inputRange: [number, number];
  /** SHA-256 of the model file, when the model came from one. */
  sha256?: string;
  /** Where it came from (path or URL). */
  source?: string;
  classNames?: string[];
}

export interface Model {
  readonly info: ModelInfo;
  /** Predicted class per example. Every access level grants this. */
  predictLabels(x: tf.Tensor): Promise<Int32Array>;
  /** Class probabilities [batch, numClasses]. Needs 'scores' or 'gradients' access. */
  predictScores(x: tf.Tensor): Promise<tf.Tensor2D>;
  /** Frees native or tensor memory held by the model. */
  dispose(): void | Promise<void>;
}

/** A white-box model: differentiable logits, synchronous so they run inside tf.grad/tf.tidy. */
export interface DifferentiableModel extends Model {
  logits(x: tf.Tensor): tf.Tensor2D;
  /**
   * Optional fast path: ∂(softmax cross-entropy summed over the batch)/∂x and the logits,
   * computed outside tfjs (e.g. by ONNX Runtime). x is [batch, ...info.inputShape], oneHot
   * [batch, numClasses]; the caller disposes both results.
   */
  crossEntropyGradient?(x: tf.Tensor, oneHot: tf.Tensor): Promise<{ grad: tf.Tensor; logits: tf.Tensor2D }>;
}

export function isDifferentiable(model: Model): model is DifferentiableModel {
  return model.info.access === 'gradients' && typeof (model as DifferentiableModel).logits === 'function';
}

/** Throws AccessError (exit code 2 in the CLI) unless the model grants `need`. */
export function requireAccess(model: Model, need: Access, who: string): void {
  if (!accessCovers(model.info.access, need)) {
    throw new AccessError(
      `${who} needs '${need}' access, but model '${model.info.name}' only grants '${model.info.access}'`,
    );
  }
}

/** requireAccess for gradients, narrowing the type. */
export function requireGradients(model: Model, who: string): DifferentiableModel {
  requireAccess(model, 'gradients', who);
  if (!isDifferentiable(model)) {
    throw new AccessError(`${who} needs gradients, but model '${model.info.name}' has no differentiable graph`);
  }
  return model;
}
