/**
 * The two spaces an evasion attack on a flow classifier lives in: the RAW feature space, where the
 * attacker acts and where the constraints are stated (bytes, seconds, connection counts, rates),
 * and the ENCODED space the model reads (signed log1p, standardised, one-hot). The encoder's
 * numeric part is differentiable, so gradients flow from the model back to raw values, and
 * invertible, so an encoded batch (adversarial training) can be brought back to raw values.
 * Categorical one-hots are carried unchanged: no transformation here touches them.
 */
import { tf } from '../../../core/runtime.js';
import type { FlowEncoder } from '../encoder.js';

/** Per-column constants of the encoder as tensors [1 × p]. */
export interface EncoderTensors {
  mean: tf.Tensor2D;
  std: tf.Tensor2D;
  /** 1 where the column is log-scaled. */
  log: tf.Tensor2D;
  /** 1 where the column holds integers. */
  integer: tf.Tensor2D;
  p: number;
  d: number;
}

/** Creates the constants (caller disposes with disposeEncoderTensors). */
export function encoderTensors(encoder: FlowEncoder): EncoderTensors {
  const n = encoder.numeric;
  const row = (f: (i: number) => number) => tf.tensor2d([n.map((_, i) => f(i))], [1, n.length]);
  return {
    mean: row((i) => n[i]?.mean ?? 0),
    std: row((i) => n[i]?.std ?? 1),
    log: row((i) => (n[i]?.log ? 1 : 0)),
    integer: row((i) => (n[i]?.integer ? 1 : 0)),
    p: n.length,
    d: encoder.dimension,
  };
}

export function disposeEncoderTensors(t: EncoderTensors): void {
  tf.dispose([t.mean, t.std, t.log, t.integer]);
}

/** sign(v)·log1p(|v|), differentiable. */
function signedLog1p(v: tf.Tensor): tf.Tensor {
  return tf.sub(tf.log1p(tf.relu(v)), tf.log1p(tf.relu(tf.neg(v))));
}

/** sign(t)·expm1(|t|). */
function signedExpm1(t: tf.Tensor): tf.Tensor {
  return tf.sub(tf.sub(tf.exp(tf.relu(t)), 1), tf.sub(tf.exp(tf.relu(tf.neg(t))), 1));
}

/** Raw numeric values [n × p] → encoded numeric part [n × p] (finite inputs). */
export function encodeNumeric(raw: tf.Tensor2D, e: EncoderTensors): tf.Tensor2D {
  return tf.tidy(() => {
    const t = tf.add(tf.mul(e.log, signedLog1p(raw)), tf.mul(tf.sub(1, e.log), raw));
    return tf.div(tf.sub(t, e.mean), e.std) as tf.Tensor2D;
  });
}

/** Encoded numeric part → raw values; integer columns are rounded (float32 round trips drift). */
export function decodeNumeric(z: tf.Tensor2D, e: EncoderTensors): tf.Tensor2D {
  return tf.tidy(() => {
    const t = tf.add(tf.mul(z, e.std), e.mean);
    const v = tf.add(tf.mul(e.log, signedExpm1(t)), tf.mul(tf.sub(1, e.log), t));
    return tf.add(tf.mul(e.integer, tf.round(v)), tf.mul(tf.sub(1, e.integer), v)) as tf.Tensor2D;
  });
}

/** Splits an encoded batch [n × d] into its numeric part [n × p] and one-hot part [n × (d − p)]. */
export function splitEncoded(x: tf.Tensor2D, e: EncoderTensors): [tf.Tensor2D, tf.Tensor2D] {
  const n = x.shape[0];
  return [tf.slice(x, [0, 0], [n, e.p]), tf.slice(x, [0, e.p], [n, e.d - e.p])];
}

/** Numeric raw values and the unchanged one-hot part → the encoded batch. */
export function assemble(raw: tf.Tensor2D, oneHot: tf.Tensor2D, e: EncoderTensors): tf.Tensor2D {
  return tf.tidy(() => tf.concat([encodeNumeric(raw, e), oneHot], 1) as tf.Tensor2D);
}
