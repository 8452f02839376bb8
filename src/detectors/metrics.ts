// Fawcett 2006, "An introduction to ROC analysis", Pattern Recognition Letters (ROC, AUC); precision/recall/F1 as in van Rijsbergen 1979 and scikit-learn's classification_report.
/**
 * Metrics shared by the defender-side detectors (network, phishing, …).
 *
 * Binary: the positive class is the threat (attack, phishing). A detector flags an event when its
 * score is strictly above the operating threshold; thresholdAtFpr picks that threshold from the
 * scores of known-benign events (training or validation data, never test data) so that at most a
 * target share of them is flagged. Multi-class: per-class precision/recall/F1, macro-F1 and the
 * confusion matrix. Conventions follow scikit-learn: a ratio with an empty denominator is 0
 * (zero_division=0), and macro-F1 averages over the classes that occur in the truth or in the
 * predictions.
 */
import { aucOf, type RocPoint, rocCurve } from '../attacks/membership/roc.js';
import { AegisInputError } from '../core/errors.js';

export type { RocPoint } from '../attacks/membership/roc.js';

export interface BinaryMetrics {
  /** TP / (TP + FP). */
  precision: number;
  /** TP / (TP + FN): share of threats caught (detection rate). */
  recall: number;
  f1: number;
  /** FP / (FP + TN): share of benign events flagged. */
  falsePositiveRate: number;
  accuracy: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface ClassMetrics {
  name: string;
  precision: number;
  recall: number;
  f1: number;
  /** Examples of this class in the truth. */
  support: number;
}

export interface MulticlassMetrics {
  accuracy: number;
  /** Unweighted mean F1 over classes present in the truth or the predictions. */
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusion[t][p]: examples of true class t predicted as p. */
  confusion: number[][];
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

function f1Of(precision: number, recall: number): number {
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

function checkSameLength(a: ArrayLike<unknown>, b: ArrayLike<unknown>, what: string): void {
  if (a.length !== b.length) {
    throw new AegisInputError(`${what}: ${a.length} true labels but ${b.length} predictions/scores`);
  }
  if (a.length === 0) throw new AegisInputError(`${what}: no examples to evaluate`);
}

function isPositive(v: number | boolean): boolean {
  return v === true || v === 1;
}

/** Confusion counts and ratios; truth and predicted are 1/true for the threat class. */
export function binaryMetrics(
  truth: ArrayLike<number | boolean>,
  predicted: ArrayLike<number | boolean>,
): BinaryMetrics {
  checkSameLength(truth, predicted, 'binary metrics');
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = isPositive(truth[i] as number | boolean);
    const p = isPositive(predicted[i] as number | boolean);
    if (t && p) tp++;
    else if (t) fn++;
    else if (p) fp++;
    else tn++;
  }
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return {
    precision,
    recall,
    f1: f1Of(precision, recall),
    falsePositiveRate: ratio(fp, fp + tn),
    accuracy: (tp + tn) / truth.length,
    tp,
    fp,
    tn,
    fn,
  };
}

/** Scores of the positives and of the negatives, checked for NaN. */
function splitScores(scores: ArrayLike<number>, truth: ArrayLike<number | boolean>): [number[], number[]] {
  checkSameLength(truth, scores, 'ROC');
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    if (Number.isNaN(s)) throw new AegisInputError(`ROC: score ${i} is NaN`);
    (isPositive(truth[i] as number | boolean) ? pos : neg).push(s);
  }
  if (pos.length === 0 || neg.length === 0) {
    throw new AegisInputError(
      `ROC: needs both classes, got ${pos.length} positives and ${neg.length} negatives (AUC is undefined)`,
    );
  }
  return [pos, neg];
}

/** ROC curve of a score (higher = more suspicious) against binary truth. */
export function rocOf(scores: ArrayLike<number>, truth: ArrayLike<number | boolean>): RocPoint[] {
  const [pos, neg] = splitScores(scores, truth);
  return rocCurve(pos, neg);
}

/** Area under the ROC curve (ties count half). */
export function rocAuc(scores: ArrayLike<number>, truth: ArrayLike<number | boolean>): number {
  return aucOf(rocOf(scores, truth));
}

/**
 * The threshold t such that "flag when score > t" flags at most floor(targetFpr · n) of the n
 * benign scores given (ties at t are not flagged, so the bound holds with ties too).
 * targetFpr 0 gives the largest benign score; targetFpr ≥ 1 flags everything (−Infinity).
 */
export function thresholdAtFpr(benignScores: ArrayLike<number>, targetFpr: number): number {
  if (!(targetFpr >= 0 && targetFpr <= 1)) {
    throw new AegisInputError(`target false-positive rate must be in [0, 1], got ${targetFpr}`);
  }
  if (benignScores.length === 0) throw new AegisInputError('threshold at FPR: no benign scores to calibrate on');
  const sorted = Float64Array.from(benignScores).sort().reverse();
  if (sorted.some((s) => Number.isNaN(s))) throw new AegisInputError('threshold at FPR: a benign score is NaN');
  const allowed = Math.floor(targetFpr * sorted.length + 1e-9);
  if (allowed >= sorted.length) return Number.NEGATIVE_INFINITY;
  return sorted[allowed] as number;
}

/** Flags (1) where score > threshold. */
export function applyThreshold(scores: ArrayLike<number>, threshold: number): Uint8Array {
  return Uint8Array.from(scores as ArrayLike<number>, (s) => (s > threshold ? 1 : 0));
}

/** confusion[t][p] over k classes; labels must be integers in [0, k). */
export function confusionMatrix(truth: ArrayLike<number>, predicted: ArrayLike<number>, k: number): number[][] {
  checkSameLength(truth, predicted, 'confusion matrix');
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i] as number;
    const p = predicted[i] as number;
    if (!(Number.isInteger(t) && t >= 0 && t < k) || !(Number.isInteger(p) && p >= 0 && p < k)) {
      throw new AegisInputError(`confusion matrix: example ${i} has label ${t} / prediction ${p} outside [0, ${k})`);
    }
    (m[t] as number[])[p]++;
  }
  return m;
}

/** Accuracy, per-class precision/recall/F1, macro-F1 and confusion matrix. */
export function multiclassMetrics(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classNames: readonly string[],
): MulticlassMetrics {
  const k = classNames.length;
  const confusion = confusionMatrix(truth, predicted, k);
  let correct = 0;
  const perClass: ClassMetrics[] = [];
  let f1Sum = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    const row = confusion[c] as number[];
    const tp = row[c] as number;
    correct += tp;
    const support = row.reduce((a, b) => a + b, 0);
    let predictedCount = 0;
    for (let t = 0; t < k; t++) predictedCount += (confusion[t] as number[])[c] as number;
    const precision = ratio(tp, predictedCount);
    const recall = ratio(tp, support);
    const f1 = f1Of(precision, recall);
    perClass.push({ name: classNames[c] as string, precision, recall, f1, support });
    if (support > 0 || predictedCount > 0) {
      f1Sum += f1;
      present++;
    }
  }
  return { accuracy: correct / truth.length, macroF1: ratio(f1Sum, present), perClass, confusion };
}

/** Per-class table as text (for CLIs): class, precision, recall, F1, support. */
export function formatClassTable(metrics: MulticlassMetrics): string {
  const name = Math.max(5, ...metrics.perClass.map((c) => c.name.length));
  const head = `${'class'.padEnd(name)}  precision  recall     f1  support`;
  const lines = metrics.perClass.map(
    (c) =>
      `${c.name.padEnd(name)}  ${c.precision.toFixed(4).padStart(9)}  ${c.recall.toFixed(4).padStart(6)}  ` +
      `${c.f1.toFixed(4).padStart(5)}  ${String(c.support).padStart(7)}`,
  );
  return [head, ...lines].join('\n');
}
