/**
 * Evaluation of a NIDS on a labelled test table: the combined detector's binary figures (accuracy,
 * precision, recall, F1, false-positive rate, ROC AUC of the combined score), the multi-class
 * figures of its class decision (accuracy, per-class P/R/F1, macro-F1; rows whose label the layout
 * cannot place are left out of those and counted), each component's ROC AUC and its figures at its
 * own threshold, and throughput (flows/s through encoding and every component, one batch).
 */
import {
  type BinaryMetrics,
  binaryMetrics,
  type MulticlassMetrics,
  multiclassMetrics,
  rocAuc,
  rocOf,
} from '../metrics.js';
import type { NidsDetector, NidsScores } from './nids-detector.js';
import { type FlowTable, isAttack } from './read-flows.js';

export interface ComponentFigures {
  auc: number;
  /** At the component's own threshold, alone. */
  recall: number;
  falsePositiveRate: number;
}

export interface NidsEvaluation {
  source: string;
  flows: number;
  attacks: number;
  /** Combined detector, normal vs attack. */
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  falsePositiveRate: number;
  /** ROC AUC of the combined score. */
  auc: number;
  /** Macro-F1 of the class decision (5-class on NSL-KDD in multi-class mode; normal/attack in binary mode). */
  macroF1: number;
  /** Accuracy of the class decision. */
  multiclassAccuracy: number;
  binary: BinaryMetrics;
  multiclass: MulticlassMetrics;
  /** Rows left out of the multi-class figures (label unknown to the layout's class map). */
  unclassified: number;
  components: Partial<Record<'supervised' | 'autoencoder' | 'iforest' | 'knn', ComponentFigures>>;
  /** The classifier alone at argmax (no novelty, no calibrated threshold), normal vs attack. */
  classifierArgmax: BinaryMetrics;
  flowsPerSecond: number;
  seconds: number;
  unknownCategories: Record<string, number>;
  filledValues: Record<string, number>;
  /** ROC curve of the combined score (thinned to ≤ 200 points) for reports. */
  roc: { fpr: number; tpr: number }[];
}

function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const step = (points.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => points[Math.round(i * step)] as T);
}

function componentFigures(scores: ArrayLike<number>, threshold: number, truth: Uint8Array): ComponentFigures {
  const flagged = Uint8Array.from(scores as ArrayLike<number>, (s) => (s > threshold ? 1 : 0));
  const m = binaryMetrics(truth, flagged);
  return { auc: rocAuc(scores, truth), recall: m.recall, falsePositiveRate: m.falsePositiveRate };
}

/** Scores the table and computes every figure. */
export function evaluateNids(detector: NidsDetector, table: FlowTable, scores?: NidsScores): NidsEvaluation {
  const s = scores ?? detector.scoreTable(table);
  const truth = isAttack(table);
  const binary = binaryMetrics(truth, s.attack);
  const classNames = detector.classNames;
  const binaryMode = detector.meta.mode === 'binary';
  const keep: number[] = [];
  const yTrue: number[] = [];
  for (let i = 0; i < table.size; i++) {
    const c = table.classes[i];
    const k = binaryMode ? (c === table.layout.normalClass ? 0 : 1) : c === undefined ? -1 : classNames.indexOf(c);
    if (k >= 0) {
      keep.push(i);
      yTrue.push(k);
    }
  }
  const multiclass = multiclassMetrics(
    yTrue,
    keep.map((i) => s.predicted[i] as number),
    classNames,
  );
  const k = classNames.length;
  const argmaxAttack = Uint8Array.from({ length: table.size }, (_, i) => {
    let best = 0;
    for (let c = 1; c < k; c++) if ((s.probs[i * k + c] as number) > (s.probs[i * k + best] as number)) best = c;
    return best === 0 ? 0 : 1;
  });
  const t = detector.thresholds;
  const components: NidsEvaluation['components'] = { supervised: componentFigures(s.pAttack, t.supervised, truth) };
  if (s.autoencoder && t.autoencoder !== undefined)
    components.autoencoder = componentFigures(s.autoencoder, t.autoencoder, truth);
  if (s.iforest && t.iforest !== undefined) components.iforest = componentFigures(s.iforest, t.iforest, truth);
  if (s.knn && t.knn !== undefined) components.knn = componentFigures(s.knn, t.knn, truth);
  const attacks = truth.reduce((a, b) => a + b, 0);
  return {
    source: table.source,
    flows: table.size,
    attacks,
    accuracy: binary.accuracy,
    precision: binary.precision,
    recall: binary.recall,
    f1: binary.f1,
    falsePositiveRate: binary.falsePositiveRate,
    auc: rocAuc(s.combined, truth),
    macroF1: multiclass.macroF1,
    multiclassAccuracy: multiclass.accuracy,
    binary,
    multiclass,
    unclassified: table.size - keep.length,
    components,
    classifierArgmax: binaryMetrics(truth, argmaxAttack),
    flowsPerSecond: table.size / s.seconds,
    seconds: s.seconds,
    unknownCategories: s.encoded.unknownCategories,
    filledValues: s.encoded.filled,
    roc: thin(rocOf(s.combined, truth), 200),
  };
}
