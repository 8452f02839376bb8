// L2-regularised logistic regression trained by mini-batch Adam (Kingma & Ba, ICLR 2015), with lazy (touched-coordinates-only) updates for sparse inputs as TensorFlow's LazyAdam.
/**
 * The phishing model: a linear score over dense named signals and sparse hashed n-grams,
 *
 *     logit = b + w_d · dense + w_s · sparse,   P(phishing) = σ(logit),
 *
 * trained on class-weighted log loss ('balanced': each class weighs n / (2 · n_class), as
 * scikit-learn's class_weight='balanced'), so a 1:5 phishing:ham corpus is not solved by saying
 * "ham". A linear model explains itself exactly: each feature's share of the logit is w_j · x_j.
 * Updates touch only the coordinates present in the batch (plus the dense part and the bias), so
 * an epoch costs the number of non-zeros, not 2^18 per step.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { FeatureRow } from './features.js';

export interface LogisticOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** L2 penalty λ on the weights (not the bias), as λ/2·‖w‖² per example. */
  l2: number;
  balanced: boolean;
  seed: number;
  /**
   * Dense weights held ≥ 0 (projected after every step): signals declared as phishing indicators
   * may raise the score but never lower it, so the model cannot learn "this warning sign means
   * legitimate" from a corpus quirk, and an attacker cannot lower the score by adding one
   * (monotonic classification, Incer et al., IWSPA 2018). Indices into the dense vector.
   */
  nonNegativeDense?: readonly number[];
  /**
   * Weight of each example in the loss (default 1 each); 'balanced' then balances the classes'
   * weight sums instead of their counts. Used to weigh down examples whose language is a
   * collection artefact (./language.ts languageSampleWeights).
   */
  sampleWeights?: ArrayLike<number>;
}

export const LOGISTIC_DEFAULTS: Omit<LogisticOptions, 'seed'> = {
  epochs: 20,
  batchSize: 32,
  learningRate: 0.05,
  l2: 1e-6,
  balanced: true,
};

export interface LinearModel {
  dense: Float32Array;
  sparse: Float32Array;
  bias: number;
}

export function emptyModel(denseSize: number, buckets: number): LinearModel {
  return { dense: new Float32Array(denseSize), sparse: new Float32Array(buckets), bias: 0 };
}

export function logitOf(model: LinearModel, row: FeatureRow): number {
  let z = model.bias;
  for (let j = 0; j < row.dense.length; j++) z += (model.dense[j] as number) * (row.dense[j] as number);
  const { index, value } = row.sparse;
  for (let k = 0; k < index.length; k++) z += (model.sparse[index[k] as number] as number) * (value[k] as number);
  return z;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-8;

/** Per-example weight lookup; refuses a wrong length, negative or non-finite weights, or a class weighing 0 in all. */
function checkedSampleWeights(weights: ArrayLike<number> | undefined, labels: ArrayLike<number>, n: number) {
  if (weights === undefined) return (_i: number) => 1;
  if (weights.length !== n)
    throw new AegisInputError(`phishing model: ${n} examples but ${weights.length} sample weights`);
  const sum = [0, 0];
  for (let i = 0; i < n; i++) {
    const w = weights[i] as number;
    if (!(Number.isFinite(w) && w >= 0)) {
      throw new AegisInputError(`phishing model: sample weight ${w} of example ${i} is not a finite number ≥ 0`);
    }
    sum[labels[i] as number] += w;
  }
  if (sum[0] === 0 || sum[1] === 0) throw new AegisInputError('phishing model: one class has zero total sample weight');
  return (i: number) => weights[i] as number;
}

/** Trains a fresh model on rows with labels 1 (phishing) / 0 (legitimate). */
export function trainLogistic(
  rows: readonly FeatureRow[],
  labels: ArrayLike<number>,
  buckets: number,
  options: LogisticOptions,
  onEpoch?: (epoch: number, loss: number) => void,
): LinearModel {
  const n = rows.length;
  if (n === 0) throw new AegisInputError('phishing model: no training examples');
  if (labels.length !== n) throw new AegisInputError(`phishing model: ${n} examples but ${labels.length} labels`);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    if (y !== 0 && y !== 1) throw new AegisInputError(`phishing model: label ${y} of example ${i} is not 0 or 1`);
    positives += y;
  }
  if (positives === 0 || positives === n) {
    throw new AegisInputError(
      `phishing model: training needs both classes, got ${positives} phishing and ${n - positives} legitimate`,
    );
  }
  const d = (rows[0] as FeatureRow).dense.length;
  const sampleWeight = checkedSampleWeights(options.sampleWeights, labels, n);
  let totalWeight = 0;
  let positiveWeight = 0;
  for (let i = 0; i < n; i++) {
    totalWeight += sampleWeight(i);
    if (labels[i] === 1) positiveWeight += sampleWeight(i);
  }
  const weightOf = options.balanced
    ? [totalWeight / (2 * (totalWeight - positiveWeight)), totalWeight / (2 * positiveWeight)]
    : [1, 1];
  const model = emptyModel(d, buckets);
  // Adam state: dense part, sparse part, bias; `seen` = the step each sparse coordinate last moved.
  const md = new Float64Array(d);
  const vd = new Float64Array(d);
  const ms = new Float32Array(buckets);
  const vs = new Float32Array(buckets);
  let mb = 0;
  let vb = 0;
  const gs = new Float64Array(buckets);
  const touched = new Int32Array(buckets);
  const mark = new Uint8Array(buckets);
  const rng = new Rng(options.seed);
  const nonNegative = options.nonNegativeDense ?? [];
  for (const j of nonNegative) {
    if (!(Number.isInteger(j) && j >= 0 && j < d)) {
      throw new AegisInputError(`phishing model: non-negative weight index ${j} is outside the ${d} signals`);
    }
  }
  let step = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const order = rng.permutation(n);
    let lossSum = 0;
    for (let start = 0; start < n; start += options.batchSize) {
      const end = Math.min(n, start + options.batchSize);
      const gd = new Float64Array(d);
      let gb = 0;
      let nTouched = 0;
      let batchWeight = 0;
      for (let t = start; t < end; t++) {
        const i = order[t] as number;
        const row = rows[i] as FeatureRow;
        const y = labels[i] as number;
        const w = (weightOf[y] as number) * sampleWeight(i);
        batchWeight += w;
        const z = logitOf(model, row);
        const p = sigmoid(z);
        lossSum += w * (y === 1 ? -Math.log(Math.max(p, 1e-12)) : -Math.log(Math.max(1 - p, 1e-12)));
        const g = w * (p - y);
        gb += g;
        for (let j = 0; j < d; j++) gd[j] = (gd[j] as number) + g * (row.dense[j] as number);
        const { index, value } = row.sparse;
        for (let k = 0; k < index.length; k++) {
          const j = index[k] as number;
          if (mark[j] === 0) {
            mark[j] = 1;
            touched[nTouched++] = j;
          }
          gs[j] = (gs[j] as number) + g * (value[k] as number);
        }
      }
      step++;
      const lr = (options.learningRate * Math.sqrt(1 - B2 ** step)) / (1 - B1 ** step);
      // A batch whose examples all weigh 0 contributes no loss gradient (only the L2 pull and momentum).
      const scale = batchWeight > 0 ? 1 / batchWeight : 0;
      const lam = options.l2;
      for (let j = 0; j < d; j++) {
        const g = (gd[j] as number) * scale + lam * (model.dense[j] as number);
        md[j] = B1 * (md[j] as number) + (1 - B1) * g;
        vd[j] = B2 * (vd[j] as number) + (1 - B2) * g * g;
        model.dense[j] = (model.dense[j] as number) - (lr * (md[j] as number)) / (Math.sqrt(vd[j] as number) + EPS);
      }
      for (const j of nonNegative) if ((model.dense[j] as number) < 0) model.dense[j] = 0;
      for (let t = 0; t < nTouched; t++) {
        const j = touched[t] as number;
        const g = (gs[j] as number) * scale + lam * (model.sparse[j] as number);
        gs[j] = 0;
        mark[j] = 0;
        ms[j] = B1 * (ms[j] as number) + (1 - B1) * g;
        vs[j] = B2 * (vs[j] as number) + (1 - B2) * g * g;
        model.sparse[j] = (model.sparse[j] as number) - (lr * (ms[j] as number)) / (Math.sqrt(vs[j] as number) + EPS);
      }
      const g = gb * scale;
      mb = B1 * mb + (1 - B1) * g;
      vb = B2 * vb + (1 - B2) * g * g;
      model.bias -= (lr * mb) / (Math.sqrt(vb) + EPS);
    }
    onEpoch?.(epoch + 1, lossSum / n);
  }
  return model;
}
