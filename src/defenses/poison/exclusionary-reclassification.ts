// Chen et al. 2018, "Detecting Backdoor Attacks on Deep Neural Networks by Activation Clustering", arXiv:1811.03728, "Exclusionary Reclassification".
/**
 * Activation clustering's third cluster-analysis method. For a cluster of class L: train a fresh
 * model — the caller's recipe, the same seed — on the training set without that cluster, and
 * classify the cluster's rows with it. Legitimate rows come back as L. Poison rows were labelled L
 * only by the adversary; without them the model has no reason to call them L and returns their
 * source class. With l = rows classified as L and p = rows classified as C, the most frequent class
 * other than L, the cluster is legitimate when l/p > T and poisoned when l/p < T (the paper's test;
 * ties and p = 0 count as legitimate, as in IBM ART).
 *
 * Both clusters of a class are tested, one retraining each: the test does not assume poison is
 * the smaller cluster, so a class that is mostly poison (all-to-one BadNets at 10%: 51% of the
 * target class) is judged like any other.
 */
import type { VictimTrainer } from '../../attacks/poisoning/poisoning-attack.js';
import { AegisInputError } from '../../core/errors.js';
import { type Dataset, size, take } from '../../data/dataset.js';
import { predictDataset } from '../../models/evaluate.js';
import {
  type ActivationClusteringOptions,
  type ClassClustering,
  clusterClasses,
  resolveClusteringOptions,
} from './activation-clustering.js';
import { flaggedRows } from './detection-input.js';
import type { PoisonDetectionInput, PoisonDetectionResult } from './poison-detector.js';

/** One cluster's reclassification. */
export interface ClusterReclassification {
  label: number;
  cluster: 'smaller' | 'larger';
  rows: number;
  /** l: rows the model trained without the cluster classifies as the cluster's label. */
  ownCount: number;
  /** C: the class other than the label that most of the rows are classified as (−1 when none). */
  otherClass: number;
  /** p: rows classified as C. */
  otherCount: number;
  /** l / p; Infinity when p = 0. */
  ratio: number;
  /** l/p < T: the cluster is poison, and C its suspected source class. */
  poisoned: boolean;
}

/** The paper's verdict from the reclassified labels of a cluster of class `label`. */
export function judgeReclassification(
  predicted: ArrayLike<number>,
  label: number,
  numClasses: number,
  threshold: number,
): Omit<ClusterReclassification, 'cluster'> {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i] as number;
    if (p >= 0 && p < numClasses) counts[p]++;
  }
  const ownCount = counts[label] as number;
  let otherClass = -1;
  let otherCount = 0;
  counts.forEach((c, k) => {
    if (k !== label && c > otherCount) {
      otherClass = k;
      otherCount = c;
    }
  });
  const ratio = otherCount === 0 ? Number.POSITIVE_INFINITY : ownCount / otherCount;
  return { label, rows: predicted.length, ownCount, otherClass, otherCount, ratio, poisoned: ratio < threshold };
}

/** Trains `trainModel` on `train` without `rows` (seed `seed`) and judges how it classifies them. */
export async function reclassifyCluster(
  train: Dataset,
  rows: Int32Array,
  label: number,
  trainModel: VictimTrainer,
  seed: number,
  threshold: number,
): Promise<Omit<ClusterReclassification, 'cluster'>> {
  const n = size(train);
  const excluded = new Uint8Array(n);
  for (const r of rows) excluded[r] = 1;
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (!excluded[i]) keep.push(i);
  if (keep.length === 0 || rows.length === 0) {
    throw new AegisInputError('exclusionary reclassification: the cluster and the rest must both be non-empty');
  }
  const model = await trainModel(take(train, keep), seed);
  try {
    const predicted = await predictDataset(model, take(train, rows));
    return judgeReclassification(predicted, label, train.classNames.length, threshold);
  } finally {
    await model.dispose();
  }
}

export interface ReclassificationContext {
  /** The rows the features were computed from, in the same order. */
  train: Dataset;
  /** The training recipe of the reclassification models (e.g. the victim's, possibly with fewer epochs). */
  trainModel: VictimTrainer;
  onProgress?: (message: string) => void;
}

export interface ReclassificationDetection {
  result: PoisonDetectionResult;
  classes: ClassClustering[];
  reclassifications: ClusterReclassification[];
}

/**
 * Activation clustering with exclusionary reclassification as the criterion: cluster every class
 * (clusterClasses), retrain without each cluster of the examined classes (`reclassify`: all, or
 * those whose split is separated) and flag the clusters whose l/p falls below T. Scores: p/(l + p)
 * for the rows of an examined cluster (the share of its reclassified rows that went to C rather
 * than back to the label), 0 elsewhere.
 */
export async function clusterWithReclassification(
  input: PoisonDetectionInput,
  context: ReclassificationContext,
  options: ActivationClusteringOptions = {},
): Promise<ReclassificationDetection> {
  const o = resolveClusteringOptions(options);
  const n = input.labels.length;
  if (size(context.train) !== n) {
    throw new AegisInputError(
      `exclusionary reclassification: ${size(context.train)} training rows for ${n} rows of representations`,
    );
  }
  const classes = clusterClasses(input, options);
  const examined = classes.filter(
    (c) => c.smallerCluster.length > 0 && (o.reclassify === 'all' || c.silhouette > o.silhouetteThreshold),
  );
  const scores = new Float32Array(n);
  const flag = new Uint8Array(n);
  const reclassifications: ClusterReclassification[] = [];
  const total = 2 * examined.length;
  for (const c of examined) {
    for (const [cluster, rows] of [
      ['smaller', c.smallerCluster],
      ['larger', c.largerCluster],
    ] as const) {
      context.onProgress?.(
        `exclusionary reclassification ${reclassifications.length + 1}/${total}: class ${c.label}, ${cluster} cluster (${rows.length} rows)`,
      );
      const verdict = await reclassifyCluster(
        context.train,
        rows,
        c.label,
        context.trainModel,
        input.seed,
        o.reclassificationThreshold,
      );
      reclassifications.push({ ...verdict, cluster });
      context.onProgress?.(
        `  class ${c.label} ${cluster} cluster: l = ${verdict.ownCount}, p = ${verdict.otherCount} (C = ${verdict.otherClass}), l/p = ${verdict.ratio.toFixed(3)} → ${verdict.poisoned ? 'poisoned' : 'legitimate'}`,
      );
      const suspicion = verdict.otherCount / Math.max(1, verdict.ownCount + verdict.otherCount);
      for (const r of rows) {
        scores[r] = suspicion;
        if (verdict.poisoned) flag[r] = 1;
      }
      if (verdict.poisoned) c.poisoned = true;
    }
  }
  return {
    result: { method: 'activation-clustering', scores, flagged: flaggedRows(flag) },
    classes,
    reclassifications,
  };
}
