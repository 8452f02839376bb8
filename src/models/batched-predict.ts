/**
 * Prediction over a large batch in slices, so a 10,000-example tensor never becomes one
 * 10,000-row activation: every model that predicts from logits shares these two loops.
 */
import { tf } from '../core/runtime.js';

/** Examples per slice when predicting. */
export const PREDICT_BATCH = 256;

/** Applies `fn` to slices of at most PREDICT_BATCH examples, each in its own tidy. */
export function inSlices(x: tf.Tensor, fn: (batch: tf.Tensor) => tf.Tensor): tf.Tensor[] {
  const n = x.shape[0] ?? 0;
  if (n <= PREDICT_BATCH) return [tf.tidy(() => fn(x))];
  const parts: tf.Tensor[] = [];
  for (let start = 0; start < n; start += PREDICT_BATCH) {
    parts.push(tf.tidy(() => fn(tf.slice(x, start, Math.min(PREDICT_BATCH, n - start)))));
  }
  return parts;
}

/** Softmax scores of `logits`, computed slice by slice and joined. */
export function scoresInSlices(x: tf.Tensor, logits: (batch: tf.Tensor) => tf.Tensor): tf.Tensor2D {
  const parts = inSlices(x, (b) => tf.softmax(logits(b)));
  if (parts.length === 1) return parts[0] as tf.Tensor2D;
  const out = tf.concat(parts) as tf.Tensor2D;
  tf.dispose(parts);
  return out;
}

/** Arg-max labels of `logits`, computed slice by slice. */
export async function labelsInSlices(x: tf.Tensor, logits: (batch: tf.Tensor) => tf.Tensor): Promise<Int32Array> {
  const labels = new Int32Array(x.shape[0] ?? 0);
  let offset = 0;
  for (const part of inSlices(x, (b) => tf.argMax(logits(b), 1))) {
    const values = (await part.data()) as Int32Array;
    part.dispose();
    labels.set(values, offset);
    offset += values.length;
  }
  return labels;
}
