/**
 * Clean accuracy of any Model (white-box, ONNX, remote, defended) through predictLabels, so it
 * needs only 'labels' access.
 */
import { AegisInputError } from '../core/errors.js';
import { tf } from '../core/runtime.js';
import { type Dataset, featureShape, featureSize, size, validateDataset } from '../data/dataset.js';
import type { Model } from './model.js';

/** Predicted label per example, in batches of `batchSize`. */
export async function predictDataset(model: Model, data: Dataset, batchSize = 256): Promise<Int32Array> {
  validateDataset(data);
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new AegisInputError(`batch size must be a positive integer, got ${batchSize}`);
  }
  const want = model.info.inputShape;
  const got = featureShape(data);
  if (want.join(',') !== got.join(',')) {
    throw new AegisInputError(
      `dataset '${data.name}' has examples of shape [${got}] but model '${model.info.name}' expects [${want}]`,
    );
  }
  const n = size(data);
  const per = featureSize(data);
  const labels = new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const x = tf.tensor(data.x.subarray(start * per, (start + count) * per), [count, ...got], 'float32');
    try {
      labels.set(await model.predictLabels(x), start);
    } finally {
      x.dispose();
    }
  }
  return labels;
}

/** Fraction of examples whose predicted label equals the true one. */
export async function evaluateAccuracy(model: Model, data: Dataset, batchSize = 256): Promise<number> {
  const predicted = await predictDataset(model, data, batchSize);
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === data.y[i]) correct++;
  return correct / predicted.length;
}
