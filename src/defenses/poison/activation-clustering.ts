// Chen et al. 2018, "Detecting Backdoor Attacks on Deep Neural Networks by Activation Clustering", arXiv:1811.03728.
/**
 * Per class: reduce the last hidden layer's activations to 10 dimensions, split them with 2-means
 * (seeded k-means++), and judge the smaller cluster poisoned by the paper's criteria: its relative
 * size is below a threshold (default 0.35: poison is a minority of its class) and/or the 2-cluster
 * split fits well (mean silhouette above a threshold: a clean class has no natural 2-way split, a
 * poisoned one has). Flagged = the smaller cluster of every class judged poisoned.
 *
 * Reduction: 'pca' (default; the top 10 principal components, unwhitened, as IBM ART's
 * ActivationDefence) or 'ica' (the paper's FastICA, seeded). ICA's sources are a rotation of the
 * whitened principal components, so 2-means sees the same distances as on whitened PCA: every
 * component gets unit variance and the poison direction counts no more than any other. Measured on
 * BadNets/Fashion-MNIST (docs/poison-detection.md), unwhitened PCA isolated the poisons of more
 * classes and more of them; its silhouettes run higher for every class, hence its own default
 * threshold (0.35 against ICA's 0.15).
 * Scores: rows of a class's smaller cluster get max(0, silhouette) × (1 − relative size), others
 * 0 — a class-level suspicion, so a defender can rank classes and rows on one scale.
 *
 * The paper's third criterion, exclusionary reclassification ('reclassification'), retrains the
 * model without each cluster; it needs a training recipe, so it runs asynchronously in
 * exclusionary-reclassification.ts (detectPoison calls it) and this synchronous detector refuses it.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { checkDetectionInput, flaggedRows } from './detection-input.js';
import { fastIca, principalComponents } from './fast-ica.js';
import { kMeans, meanSilhouette } from './kmeans.js';
import { rowsByClass } from './linalg.js';
import type { PoisonDetectionInput, PoisonDetectionResult, PoisonDetector } from './poison-detector.js';

export const ACTIVATION_CLUSTERING_CITATION =
  'Chen et al. 2018, Detecting Backdoor Attacks on Deep Neural Networks by Activation Clustering (arXiv:1811.03728)';

/** Silhouette thresholds by reduction: whitening (ICA) lowers every class's silhouette. */
export const DEFAULT_SILHOUETTE_THRESHOLD: Readonly<Record<'ica' | 'pca', number>> = { pca: 0.35, ica: 0.15 };

export const CLUSTER_CRITERIA = ['size', 'silhouette', 'both', 'either', 'reclassification'] as const;
export type ClusterCriterion = (typeof CLUSTER_CRITERIA)[number];

/** Which classes exclusionary reclassification examines (each costs two retrainings). */
export const RECLASSIFY_SCOPES = ['all', 'separated'] as const;
export type ReclassifyScope = (typeof RECLASSIFY_SCOPES)[number];

export interface ActivationClusteringOptions {
  /** Dimensions after reduction. Default 10 (the paper's). */
  components?: number;
  /** 'pca' (default; unwhitened principal components) or 'ica' (the paper's FastICA). */
  reduction?: 'ica' | 'pca';
  /** Smaller cluster / class size below this → poisoned by the size criterion. Default 0.35. */
  sizeThreshold?: number;
  /** Mean silhouette above this → poisoned by the silhouette criterion. Default 0.35 with PCA, 0.15 with ICA. */
  silhouetteThreshold?: number;
  /**
   * How the two criteria combine. Default 'both'. 'reclassification': the paper's exclusionary
   * reclassification decides instead (needs a training recipe: detectPoison, not detect()).
   */
  criterion?: ClusterCriterion;
  /** Reclassification: a cluster is legitimate when l/p > T (the paper's ratio test). Default 1. */
  reclassificationThreshold?: number;
  /**
   * Reclassification: 'all' classes (default; 2 retrainings each) or only those whose split is
   * 'separated' (silhouette above the silhouette threshold).
   */
  reclassify?: ReclassifyScope;
}

/** What the clustering found in one class. */
export interface ClassClustering {
  label: number;
  rows: number;
  /** Rows of the smaller cluster / rows of the class. */
  relativeSize: number;
  silhouette: number;
  poisoned: boolean;
  /** Indices (into the whole set) of the smaller cluster. */
  smallerCluster: Int32Array;
  /** Indices of the other cluster (the whole class when it was not split). */
  largerCluster: Int32Array;
}

export interface ResolvedClusteringOptions {
  components: number;
  reduction: 'ica' | 'pca';
  sizeThreshold: number;
  silhouetteThreshold: number;
  criterion: ClusterCriterion;
  reclassificationThreshold: number;
  reclassify: ReclassifyScope;
}
type Resolved = ResolvedClusteringOptions;

/** Options with their defaults, checked (AegisInputError on a bad value). */
export function resolveClusteringOptions(o: ActivationClusteringOptions): Resolved {
  const reduction = o.reduction ?? 'pca';
  const r: Resolved = {
    components: o.components ?? 10,
    reduction,
    sizeThreshold: o.sizeThreshold ?? 0.35,
    silhouetteThreshold: o.silhouetteThreshold ?? DEFAULT_SILHOUETTE_THRESHOLD[reduction] ?? 0.35,
    criterion: o.criterion ?? 'both',
    reclassificationThreshold: o.reclassificationThreshold ?? 1,
    reclassify: o.reclassify ?? 'all',
  };
  const who = 'activation clustering';
  if (!Number.isInteger(r.components) || r.components < 1) {
    throw new AegisInputError(`${who}: components must be a positive integer, got ${r.components}`);
  }
  if (r.reduction !== 'ica' && r.reduction !== 'pca') {
    throw new AegisInputError(`${who}: reduction must be 'ica' or 'pca', got '${r.reduction}'`);
  }
  if (!(r.sizeThreshold > 0 && r.sizeThreshold <= 0.5)) {
    throw new AegisInputError(`${who}: size threshold must be in (0, 0.5], got ${r.sizeThreshold}`);
  }
  if (!(r.silhouetteThreshold >= -1 && r.silhouetteThreshold <= 1)) {
    throw new AegisInputError(`${who}: silhouette threshold must be in [-1, 1], got ${r.silhouetteThreshold}`);
  }
  if (!(CLUSTER_CRITERIA as readonly string[]).includes(r.criterion)) {
    throw new AegisInputError(`${who}: criterion must be one of ${CLUSTER_CRITERIA.join(', ')}, got '${r.criterion}'`);
  }
  if (!(Number.isFinite(r.reclassificationThreshold) && r.reclassificationThreshold > 0)) {
    throw new AegisInputError(
      `${who}: reclassification threshold T must be a positive number, got ${r.reclassificationThreshold}`,
    );
  }
  if (!(RECLASSIFY_SCOPES as readonly string[]).includes(r.reclassify)) {
    throw new AegisInputError(
      `${who}: reclassify must be one of ${RECLASSIFY_SCOPES.join(', ')}, got '${r.reclassify}'`,
    );
  }
  return r;
}

function judge(relativeSize: number, silhouette: number, o: Resolved): boolean {
  const small = relativeSize < o.sizeThreshold;
  const separated = silhouette > o.silhouetteThreshold;
  if (o.criterion === 'size') return small;
  if (o.criterion === 'silhouette') return separated;
  if (o.criterion === 'both') return small && separated;
  if (o.criterion === 'either') return small || separated;
  return false; // 'reclassification' is judged after retraining (exclusionary-reclassification.ts)
}

/** Reduce, 2-means and judge every class (classes with fewer than 4 rows are left alone). */
export function clusterClasses(
  input: PoisonDetectionInput,
  options: ActivationClusteringOptions = {},
): ClassClustering[] {
  checkDetectionInput(input, 'activation clustering');
  const o = resolveClusteringOptions(options);
  const rng = new Rng(input.seed);
  const out: ClassClustering[] = [];
  rowsByClass(input.labels, input.numClasses).forEach((rows, label) => {
    const m = rows.length;
    const empty = {
      label,
      rows: m,
      relativeSize: 0,
      silhouette: 0,
      poisoned: false,
      smallerCluster: new Int32Array(0),
      largerCluster: rows,
    };
    if (m < 4) {
      out.push(empty);
      return;
    }
    const reduced =
      o.reduction === 'ica'
        ? (() => {
            const ica = fastIca(input.features, input.dim, rows, { components: o.components }, rng);
            return { points: ica.sources, dim: ica.components };
          })()
        : (() => {
            const w = principalComponents(input.features, input.dim, rows, o.components, rng, false);
            return { points: w.white, dim: w.kept };
          })();
    if (reduced.dim === 0) {
      out.push(empty); // every row identical: nothing to split
      return;
    }
    const km = kMeans(reduced.points, m, reduced.dim, 2, rng, 10);
    const smaller = (km.sizes[0] as number) <= (km.sizes[1] as number) ? 0 : 1;
    const relativeSize = (km.sizes[smaller] as number) / m;
    const silhouette = meanSilhouette(reduced.points, m, reduced.dim, km.assignment, 2, rng);
    const smallerCluster = rows.filter((_, r) => km.assignment[r] === smaller);
    const largerCluster = rows.filter((_, r) => km.assignment[r] !== smaller);
    out.push({
      label,
      rows: m,
      relativeSize,
      silhouette,
      poisoned: judge(relativeSize, silhouette, o),
      smallerCluster,
      largerCluster,
    });
  });
  return out;
}

export function activationClustering(options: ActivationClusteringOptions = {}): PoisonDetector {
  const resolved = resolveClusteringOptions(options); // bad options fail when the detector is made, not on first use
  return {
    name: 'activation-clustering',
    citation: ACTIVATION_CLUSTERING_CITATION,
    detect(input: PoisonDetectionInput): PoisonDetectionResult {
      if (resolved.criterion === 'reclassification') {
        throw new AegisInputError(
          "activation clustering: criterion 'reclassification' retrains the model and needs the training data and recipe; run it through detectPoison (or clusterWithReclassification)",
        );
      }
      const classes = clusterClasses(input, options);
      const n = input.labels.length;
      const scores = new Float32Array(n);
      const flag = new Uint8Array(n);
      for (const c of classes) {
        const suspicion = Math.max(0, c.silhouette) * (1 - c.relativeSize);
        for (const row of c.smallerCluster) {
          scores[row] = suspicion;
          if (c.poisoned) flag[row] = 1;
        }
      }
      return { method: 'activation-clustering', scores, flagged: flaggedRows(flag) };
    },
  };
}
