/** A model's class probabilities for many examples, in batches (the offline monitor and the drift bench need them). */
import { tf } from '../core/runtime.js';
import type { Model } from '../models/model.js';

/** Scores [n × numClasses] of `x` (n examples of the model's input shape, row-major). */
export async function modelScores(model: Model, x: Float32Array, n: number, batchSize = 256): Promise<Float32Array> {
  const shape = model.info.inputShape;
  const per = shape.reduce((a, b) => a * b, 1);
  const k = model.info.numClasses;
  const out = new Float32Array(n * k);
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const input = tf.tensor(x.subarray(start * per, end * per), [end - start, ...shape], 'float32');
    try {
      const scores = await model.predictScores(input);
      out.set(await scores.data<'float32'>(), start * k);
      scores.dispose();
    } finally {
      input.dispose();
    }
  }
  return out;
}
