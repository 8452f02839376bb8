// Guo, Pleiss, Sun & Weinberger 2017, "On Calibration of Modern Neural Networks", ICML (expected calibration error).
/**
 * What a (defended) model is still worth to its honest users: top-1 accuracy, expected
 * calibration error and agreement of its top-1 labels with the undefended model's.
 *
 * ECE (Guo et al. eq. 3): predictions are grouped by confidence into M equal-width bins
 * ((m−1)/M, m/M] (a confidence of exactly 0 goes to the first), and
 *   ECE = Σ_m |B_m|/n · |acc(B_m) − conf(B_m)|.
 * Confidence is the largest returned score, as returned (top-k scores are not renormalised
 * here either). A label-only model returns no confidence: its answers are read as one-hot
 * vectors (confidence 1, ART's ClassLabels view), so its ECE is its error rate.
 */
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import { accessCovers } from '../../core/threat-model.js';
import { type Dataset, featureShape, featureSize, size, validateDataset } from '../../data/dataset.js';
import { predictDataset } from '../../models/evaluate.js';
import type { Model } from '../../models/model.js';
import { argmaxRow } from './output-model.js';

/** Guo et al.'s bin count. */
export const ECE_BINS = 15;

export interface UtilityMetrics {
  /** Top-1 accuracy on the true labels. */
  accuracy: number;
  /** Expected calibration error, 15 bins. */
  ece: number;
  /** Fraction of examples where the top-1 label equals the undefended model's (1 without a reference). */
  agreement: number;
  /** Mean returned top-1 confidence. */
  meanConfidence: number;
  examples: number;
  /** 1 when confidences are read from scores, 0 when the model only returns labels (confidence 1). */
  scoresReturned: number;
}

/** Expected calibration error of confidences against correctness (1 = right, 0 = wrong). */
export function expectedCalibrationError(
  confidences: ArrayLike<number>,
  correct: ArrayLike<number | boolean>,
  bins = ECE_BINS,
): number {
  const n = confidences.length;
  if (n === 0) throw new AegisInputError('calibration error: no predictions');
  if (correct.length !== n) {
    throw new AegisInputError(`calibration error: ${n} confidences but ${correct.length} correctness flags`);
  }
  if (!Number.isInteger(bins) || bins < 1)
    throw new AegisInputError(`calibration error: bins must be ≥ 1, got ${bins}`);
  const count = new Float64Array(bins);
  const hits = new Float64Array(bins);
  const confSum = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const raw = confidences[i] as number;
    // float32 softmax can land a hair outside [0, 1]; anything further (or NaN) is a broken model.
    if (!(raw >= -1e-6 && raw <= 1 + 1e-6)) {
      throw new AegisInputError(`calibration error: confidence ${i} is ${raw}, not in [0, 1]`);
    }
    const c = Math.min(1, Math.max(0, raw));
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(c * bins) - 1));
    count[b] = (count[b] as number) + 1;
    hits[b] = (hits[b] as number) + (correct[i] ? 1 : 0);
    confSum[b] = (confSum[b] as number) + c;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const m = count[b] as number;
    if (m > 0) ece += (m / n) * Math.abs((hits[b] as number) / m - (confSum[b] as number) / m);
  }
  return ece;
}

/** Top-1 label and returned confidence per example, one query each (labels-only models: confidence 1). */
export async function labelsAndConfidences(
  model: Model,
  data: Dataset,
  batchSize = 256,
): Promise<{ labels: Int32Array; confidences: Float64Array }> {
  validateDataset(data);
  const want = model.info.inputShape.join(',');
  if (featureShape(data).join(',') !== want) {
    throw new AegisInputError(
      `dataset '${data.name}' has examples of shape [${featureShape(data)}] but model '${model.info.name}' expects [${want}]`,
    );
  }
  const n = size(data);
  if (!accessCovers(model.info.access, 'scores')) {
    return { labels: await predictDataset(model, data, batchSize), confidences: new Float64Array(n).fill(1) };
  }
  const k = model.info.numClasses;
  const per = featureSize(data);
  const labels = new Int32Array(n);
  const confidences = new Float64Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const x = tf.tensor(data.x.subarray(start * per, (start + count) * per), [count, ...featureShape(data)], 'float32');
    try {
      const scores = await model.predictScores(x);
      const values = await scores.data();
      scores.dispose();
      for (let i = 0; i < count; i++) {
        const top = argmaxRow(values, i, k);
        labels[start + i] = top;
        confidences[start + i] = values[i * k + top] as number;
      }
    } finally {
      x.dispose();
    }
  }
  return { labels, confidences };
}

/** Accuracy, ECE and label agreement of `model` on `data`; `reference` = the undefended model or its labels. */
export async function utilityMetrics(
  model: Model,
  data: Dataset,
  reference?: Model | Int32Array,
): Promise<UtilityMetrics> {
  const { labels, confidences } = await labelsAndConfidences(model, data);
  const n = labels.length;
  if (n === 0) throw new AegisInputError(`utility metrics: dataset '${data.name}' is empty`);
  const refLabels =
    reference instanceof Int32Array || reference === undefined ? reference : await predictDataset(reference, data);
  if (refLabels && refLabels.length !== n) {
    throw new AegisInputError(`utility metrics: ${refLabels.length} reference labels for ${n} examples`);
  }
  const correct = new Uint8Array(n);
  let right = 0;
  let same = 0;
  let conf = 0;
  for (let i = 0; i < n; i++) {
    correct[i] = labels[i] === data.y[i] ? 1 : 0;
    right += correct[i] as number;
    same += !refLabels || refLabels[i] === labels[i] ? 1 : 0;
    conf += confidences[i] as number;
  }
  return {
    accuracy: right / n,
    ece: expectedCalibrationError(confidences, correct),
    agreement: same / n,
    meanConfidence: conf / n,
    examples: n,
    scoresReturned: accessCovers(model.info.access, 'scores') ? 1 : 0,
  };
}
