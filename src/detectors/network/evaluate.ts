/**
 * Evaluation of a NIDS on a labelled test table: the combined detector's binary figures (accuracy,
 * precision, recall, F1, false-positive rate, ROC AUC of the combined score), the multi-class
 * figures of its class decision (accuracy, per-class P/R/F1, macro-F1; rows whose label the layout
 * cannot place are left out of those and counted), each component's ROC AUC and its figures at its
 * own threshold, throughput (flows/s through encoding and every component, one batch), and the
 * flows flagged per raw label, with the recall on attack names absent from the training file.
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
  /** Per raw label (attack name or 'normal'), most flows first: how many flows the detector flagged. */
  byLabel: LabelFigures[];
  /**
   * Recall on attack flows whose label was (seen) or was not (unseen) in the training file — the
   * never-seen attacks the novelty detectors are for. null for models saved before the training
   * labels were recorded.
   */
  seenAttacks: AttackGroupFigures | null;
  unseenAttacks: AttackGroupFigures | null;
}

export interface LabelFigures {
  label: string;
  /** The layout calls this label an attack (not normal traffic). */
  attack: boolean;
  flows: number;
  /** Flows the combined detector calls attacks. */
  flagged: number;
  /** null when the model does not know its training labels. */
  seenInTraining: boolean | null;
}

export interface AttackGroupFigures {
  /** Distinct attack labels. */
  names: number;
  flows: number;
  recall: number;
}

/** Flows and flags per raw label; `trainingLabels` (label → training flows) marks the labels seen in training. */
export function labelFigures(
  table: FlowTable,
  truth: ArrayLike<number>,
  flagged: ArrayLike<number>,
  trainingLabels: Readonly<Record<string, number>> | undefined,
): LabelFigures[] {
  const byLabel = new Map<string, LabelFigures>();
  for (let i = 0; i < table.size; i++) {
    const label = table.labels[i] as string;
    let f = byLabel.get(label);
    if (!f) {
      const seen = trainingLabels
        ? Object.hasOwn(trainingLabels, label) && (trainingLabels[label] as number) > 0
        : null;
      f = { label, attack: truth[i] === 1, flows: 0, flagged: 0, seenInTraining: seen };
      byLabel.set(label, f);
    }
    f.flows++;
    if (flagged[i]) f.flagged++;
  }
  return [...byLabel.values()].sort((a, b) => b.flows - a.flows || a.label.localeCompare(b.label));
}

/** Recall over the attack labels seen (or not) in training; null without training labels or such flows. */
function attackGroup(labels: LabelFigures[], seen: boolean): AttackGroupFigures | null {
  const group = labels.filter((l) => l.attack && l.seenInTraining === seen);
  const flows = group.reduce((a, l) => a + l.flows, 0);
  if (flows === 0) return null;
  return { names: group.length, flows, recall: group.reduce((a, l) => a + l.flagged, 0) / flows };
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
  const trainingLabels = detector.meta.training.labels as Record<string, number> | undefined;
  const byLabel = labelFigures(table, truth, s.attack, trainingLabels);
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
    byLabel,
    seenAttacks: attackGroup(byLabel, true),
    unseenAttacks: attackGroup(byLabel, false),
  };
}
