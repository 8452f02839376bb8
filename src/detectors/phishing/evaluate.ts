/**
 * Figures of a phishing detector on labelled test events: precision, recall, F1 and the
 * false-positive rate on the legitimate ones at the detector's operating threshold (chosen on
 * training data), ROC AUC of the score, recall at fixed false-positive rates read off the test
 * ROC (for comparison with published figures only — never used to pick the threshold), and
 * throughput (events/s through featurization and scoring).
 */
import { binaryMetrics, type RocPoint, rocAuc, rocOf } from '../metrics.js';
import type { FeatureRow, PhishEvent } from './features.js';
import { figuresByLanguage, type LanguageFigures } from './language.js';
import type { PhishingDetector } from './phishing-detector.js';

export interface PhishEvaluation {
  size: number;
  phishing: number;
  legitimate: number;
  precision: number;
  recall: number;
  f1: number;
  falsePositiveRate: number;
  accuracy: number;
  auc: number;
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /** Recall at the best test-ROC point with FPR ≤ 0.1% / 1% (reference only; not the operating point). */
  recallAtFpr001: number;
  recallAtFpr01: number;
  /** Operating threshold as a probability. */
  threshold: number;
  /** Events per second through featurization and scoring (parsing excluded unless `extraSeconds` adds it). */
  eventsPerSecond: number;
  seconds: number;
  roc: { fpr: number; tpr: number }[];
}

function thin(points: RocPoint[], max: number): { fpr: number; tpr: number }[] {
  const pick =
    points.length <= max
      ? points
      : Array.from({ length: max }, (_, i) => points[Math.round((i * (points.length - 1)) / (max - 1))] as RocPoint);
  return pick.map((p) => ({ fpr: p.fpr, tpr: p.tpr }));
}

function recallAt(points: RocPoint[], fpr: number): number {
  let best = 0;
  for (const p of points) if (p.fpr <= fpr + 1e-12) best = Math.max(best, p.tpr);
  return best;
}

/** Figures from logits already computed (threshold on the logit). */
export function evaluateLogits(
  logits: ArrayLike<number>,
  truth: ArrayLike<number>,
  threshold: number,
  seconds: number,
): PhishEvaluation {
  const flagged = Uint8Array.from(logits as ArrayLike<number>, (z) => (z > threshold ? 1 : 0));
  const m = binaryMetrics(truth, flagged);
  const roc = rocOf(logits, truth);
  const phishing = m.tp + m.fn;
  return {
    size: truth.length,
    phishing,
    legitimate: truth.length - phishing,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    falsePositiveRate: m.falsePositiveRate,
    accuracy: m.accuracy,
    auc: rocAuc(logits, truth),
    tp: m.tp,
    fp: m.fp,
    tn: m.tn,
    fn: m.fn,
    recallAtFpr001: recallAt(roc, 0.001),
    recallAtFpr01: recallAt(roc, 0.01),
    threshold: 1 / (1 + Math.exp(-threshold)),
    eventsPerSecond: seconds > 0 ? truth.length / seconds : Number.POSITIVE_INFINITY,
    seconds,
    roc: thin(roc, 200),
  };
}

/**
 * Featurizes and scores the events, timing both, and computes every figure; in mail and SMS modes
 * also the figures per guessed language (./language.ts).
 */
export function evaluateDetector(
  detector: PhishingDetector,
  events: readonly PhishEvent[],
  truth: ArrayLike<number>,
  extraSeconds = 0,
): PhishEvaluation & { logits: Float64Array; byLanguage?: Record<string, LanguageFigures> } {
  const started = performance.now();
  const rows: FeatureRow[] = events.map((e) => detector.featurize(e));
  const logits = detector.logits(rows);
  const seconds = (performance.now() - started) / 1000 + extraSeconds;
  const evaluation = evaluateLogits(logits, truth, detector.threshold, seconds);
  if (detector.mode === 'url') return { ...evaluation, logits };
  const flagged = Uint8Array.from(logits, (z) => (z > detector.threshold ? 1 : 0));
  return {
    ...evaluation,
    logits,
    byLanguage: figuresByLanguage(
      rows.map((r) => r.text),
      truth,
      flagged,
    ),
  };
}
