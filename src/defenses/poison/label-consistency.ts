// Confident learning: Northcutt, Jiang & Chuang 2021, "Confident Learning: Estimating Uncertainty in Dataset Labels", arXiv:1911.00068.
// Repeated k-NN editing: Tomek 1976, "An Experiment with the Edited Nearest-Neighbor Rule", IEEE Trans. SMC 6(6).
/**
 * Label consistency: rows whose label disagrees with what the rest of the data says.
 * - Confident learning (from out-of-sample probabilities p̂): per-class thresholds t_j = mean
 *   p̂_j over rows labelled j; the confident joint C[i][j] counts rows labelled i whose most
 *   likely class among those with p̂_j ≥ t_j is j; it is calibrated to the label counts, and
 *   prune-by-noise-rate flags, for every off-diagonal (i, j), the round(C̃[i][j]) rows labelled i
 *   with the largest margin p̂_j − p̂_i. Scores: 1 − p̂ of the given label (self-confidence).
 * - k-nearest-neighbour disagreement over the representations: the share of a row's k nearest
 *   neighbours (Euclidean, the row itself excluded) carrying another label; flagged above a
 *   threshold (default 0.5: most neighbours disagree). With `rounds` > 1 the rule is repeated on
 *   the rows not yet flagged until a round flags none (Tomek's repeated editing of Wilson's rule):
 *   poisons that were each other's neighbours are found once the first of them are gone.
 * 'auto' uses confident learning when probabilities are given, else the neighbours.
 * Both are made for label noise and flips. Neither catches a backdoor the model has learned when it
 * reads the model's own view: cross-validated victims learn the trigger from the other folds, and in
 * the backdoored model's representation a poison's neighbours are other poisons. Searching the
 * neighbours among the inputs instead (representation 'inputs' in detectPoison) finds relabelled
 * backdoor images among their true class, at the price of many flags on naturally confusable classes.
 */
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import { checkDetectionInput, flaggedRows } from './detection-input.js';
import { rowsByClass } from './linalg.js';
import type { PoisonDetectionInput, PoisonDetectionResult, PoisonDetector } from './poison-detector.js';

export const LABEL_CONSISTENCY_CITATION =
  'k-NN label disagreement; Northcutt, Jiang & Chuang 2021, Confident Learning (arXiv:1911.00068)';

export interface LabelConsistencyOptions {
  /** 'auto' (default): confident learning with probabilities, else k-NN. */
  method?: 'auto' | 'confident-learning' | 'knn';
  /** Neighbours for k-NN. Default 10. */
  k?: number;
  /** k-NN flags rows whose disagreeing share of neighbours exceeds this. Default 0.5. */
  disagreementThreshold?: number;
  /**
   * k-NN: at most this many rounds of the rule, each on the rows not flagged before, stopping at
   * the first round that flags none (repeated editing, Tomek 1976). Default 1.
   */
  rounds?: number;
  /**
   * Where detectPoison searches neighbours: 'activations' (default; the model's penultimate layer,
   * like the other detectors) or 'inputs' (the rows themselves, top principal components when wide).
   * The detector itself uses whatever features it is given.
   */
  representation?: 'inputs' | 'activations';
}

export interface ConfidentJoint {
  /** Per-class thresholds t_j (Infinity for a class no row carries). */
  thresholds: Float64Array;
  /** [numClasses, numClasses] counts: row = given label, column = confidently estimated true label. */
  joint: Int32Array;
  /** The joint calibrated so that row i sums to the number of rows labelled i. */
  calibrated: Float64Array;
}

/** Thresholds and (calibrated) confident joint of Northcutt et al. 2021, §3.1. */
export function confidentJoint(probabilities: Float32Array, labels: Int32Array, numClasses: number): ConfidentJoint {
  const m = numClasses;
  const n = labels.length;
  const sums = new Float64Array(m);
  const counts = new Int32Array(m);
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    sums[y] += probabilities[i * m + y] as number;
    counts[y]++;
  }
  const thresholds = sums.map((s, j) =>
    (counts[j] as number) > 0 ? s / (counts[j] as number) : Number.POSITIVE_INFINITY,
  );
  const joint = new Int32Array(m * m);
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestP = -1;
    for (let j = 0; j < m; j++) {
      const p = probabilities[i * m + j] as number;
      if (p >= (thresholds[j] as number) && p > bestP) {
        best = j;
        bestP = p;
      }
    }
    if (best >= 0) joint[(labels[i] as number) * m + best]++;
  }
  const calibrated = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    let row = 0;
    for (let j = 0; j < m; j++) row += joint[i * m + j] as number;
    if (row === 0) continue;
    for (let j = 0; j < m; j++) calibrated[i * m + j] = ((joint[i * m + j] as number) / row) * (counts[i] as number);
  }
  return { thresholds, joint, calibrated };
}

/** Prune by noise rate: per off-diagonal (i, j), the round(C̃[i][j]) rows labelled i with the largest p̂_j − p̂_i. */
export function pruneByNoiseRate(
  probabilities: Float32Array,
  labels: Int32Array,
  numClasses: number,
  calibrated: Float64Array,
): Uint8Array {
  const m = numClasses;
  const flag = new Uint8Array(labels.length);
  rowsByClass(labels, m).forEach((rows, i) => {
    for (let j = 0; j < m; j++) {
      if (j === i) continue;
      // Keep at least one row of each class (as cleanlab does).
      const count = Math.min(Math.round(calibrated[i * m + j] as number), rows.length - 1);
      if (count <= 0) continue;
      const margin = (r: number) => (probabilities[r * m + j] as number) - (probabilities[r * m + i] as number);
      const order = Array.from(rows).sort((a, b) => margin(b) - margin(a));
      for (let k = 0; k < count; k++) flag[order[k] as number] = 1;
    }
  });
  return flag;
}

/** Confident learning on out-of-sample probabilities. */
export function confidentLearning(probabilities: Float32Array, labels: Int32Array, numClasses: number) {
  const cj = confidentJoint(probabilities, labels, numClasses);
  const flag = pruneByNoiseRate(probabilities, labels, numClasses, cj.calibrated);
  const scores = new Float32Array(labels.length);
  labels.forEach((y, i) => {
    scores[i] = 1 - (probabilities[i * numClasses + y] as number);
  });
  return { ...cj, flag, scores };
}

/** Rows per distance block of the neighbour search (block × n distances at a time). */
const KNN_BLOCK = 512;

/**
 * Share of each row's k nearest neighbours (squared Euclidean, the row itself excluded) whose
 * label differs from the row's. Distances are computed on the tensor backend in blocks.
 */
export function knnDisagreement(features: Float32Array, dim: number, labels: Int32Array, k: number): Float32Array {
  const n = labels.length;
  const kk = Math.min(k, n - 1);
  const out = new Float32Array(n);
  if (kk <= 0) return out;
  const all = tf.tensor2d(features, [n, dim]);
  // Transposed once: the wasm matMul is several times slower with transposeB.
  const allT = tf.transpose(all);
  const norms = tf.tidy(() => tf.sum(tf.square(all), 1));
  try {
    for (let start = 0; start < n; start += KNN_BLOCK) {
      const count = Math.min(KNN_BLOCK, n - start);
      const idx = tf.tidy(() => {
        const block = tf.slice(all, [start, 0], [count, dim]);
        const blockNorms = tf.slice(norms, start, count);
        const d2 = tf.sub(
          tf.add(tf.reshape(blockNorms, [count, 1]), tf.reshape(norms, [1, n])),
          tf.mul(2, tf.matMul(block, allT)),
        );
        // Push each row's own column out of reach.
        const self = tf.mul(tf.oneHot(tf.range(start, start + count, 1, 'int32'), n), 1e30);
        return tf.topk(tf.neg(tf.add(d2, self)), kk).indices;
      });
      const nearest = idx.dataSync() as Int32Array;
      idx.dispose();
      for (let r = 0; r < count; r++) {
        const y = labels[start + r];
        let other = 0;
        for (let q = 0; q < kk; q++) if (labels[nearest[r * kk + q] as number] !== y) other++;
        out[start + r] = other / kk;
      }
    }
  } finally {
    tf.dispose([all, allT, norms]);
  }
  return out;
}

/**
 * Up to `rounds` rounds of the k-NN rule, each among the rows no earlier round flagged; stops at a
 * round that flags none. Scores: a row's highest disagreement over the rounds it took part in.
 */
export function repeatedKnnEditing(
  input: Pick<PoisonDetectionInput, 'features' | 'dim' | 'labels'>,
  k: number,
  threshold: number,
  rounds: number,
): { scores: Float32Array; flag: Uint8Array; rounds: number } {
  const { features, dim, labels } = input;
  const n = labels.length;
  const scores = new Float32Array(n);
  const flag = new Uint8Array(n);
  let active = Int32Array.from({ length: n }, (_, i) => i);
  let done = 0;
  while (done < rounds && active.length > 1) {
    done++;
    const sub = done === 1 ? features : new Float32Array(active.length * dim);
    if (done > 1) {
      active.forEach((row, r) => {
        sub.set(features.subarray(row * dim, (row + 1) * dim), r * dim);
      });
    }
    const subLabels = done === 1 ? labels : Int32Array.from(active, (row) => labels[row] as number);
    const disagreement = knnDisagreement(sub, dim, subLabels, k);
    let flagged = 0;
    active.forEach((row, r) => {
      const d = disagreement[r] as number;
      if (d > (scores[row] as number)) scores[row] = d;
      if (d > threshold) {
        flag[row] = 1;
        flagged++;
      }
    });
    if (flagged === 0) break;
    active = active.filter((row) => !flag[row]);
  }
  return { scores, flag, rounds: done };
}

export function labelConsistency(options: LabelConsistencyOptions = {}): PoisonDetector {
  const method = options.method ?? 'auto';
  const k = options.k ?? 10;
  const threshold = options.disagreementThreshold ?? 0.5;
  if (!['auto', 'confident-learning', 'knn'].includes(method)) {
    throw new AegisInputError(`label consistency: method must be auto, confident-learning or knn, got '${method}'`);
  }
  if (!Number.isInteger(k) || k < 1)
    throw new AegisInputError(`label consistency: k must be a positive integer, got ${k}`);
  if (options.representation !== undefined && !['inputs', 'activations'].includes(options.representation)) {
    throw new AegisInputError(
      `label consistency: representation must be inputs or activations, got '${options.representation}'`,
    );
  }
  if (!(threshold >= 0 && threshold < 1)) {
    throw new AegisInputError(`label consistency: disagreement threshold must be in [0, 1), got ${threshold}`);
  }
  const rounds = options.rounds ?? 1;
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new AegisInputError(`label consistency: rounds must be a positive integer, got ${rounds}`);
  }
  return {
    name: 'label-consistency',
    citation: LABEL_CONSISTENCY_CITATION,
    detect(input: PoisonDetectionInput): PoisonDetectionResult {
      checkDetectionInput(input, 'label consistency');
      const useCl = method === 'confident-learning' || (method === 'auto' && input.probabilities !== undefined);
      if (useCl) {
        if (!input.probabilities) {
          throw new AegisInputError(
            'label consistency: confident learning needs out-of-sample probabilities (e.g. from cross-validation)',
          );
        }
        const cl = confidentLearning(input.probabilities, input.labels, input.numClasses);
        return { method: 'label-consistency', scores: cl.scores, flagged: flaggedRows(cl.flag) };
      }
      const { scores, flag } = repeatedKnnEditing(input, k, threshold, rounds);
      return { method: 'label-consistency', scores, flagged: flaggedRows(flag) };
    },
  };
}
