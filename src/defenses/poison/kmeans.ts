// k-means++ seeding: Arthur & Vassilvitskii 2007; Lloyd 1982 iterations; silhouette: Rousseeuw 1987.
/**
 * k-means on a small [m, dim] Float64Array (the ICA-reduced activations of one class), several
 * seeded k-means++ restarts keeping the lowest inertia, and the mean silhouette coefficient.
 */
import type { Rng } from '../../core/rng.js';

export interface KMeansResult {
  /** Cluster of each row, in [0, k). */
  assignment: Int32Array;
  /** [k, dim] centroids. */
  centroids: Float64Array;
  /** Sum of squared distances to the assigned centroid. */
  inertia: number;
  sizes: Int32Array;
}

function squaredDistance(a: Float64Array, ai: number, b: Float64Array, bi: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) {
    const d = (a[ai + j] as number) - (b[bi + j] as number);
    s += d * d;
  }
  return s;
}

/** k-means++: the first centre uniformly, each next one with probability ∝ squared distance to the nearest. */
function seedCentroids(points: Float64Array, m: number, dim: number, k: number, rng: Rng): Float64Array {
  const centroids = new Float64Array(k * dim);
  const first = rng.int(m);
  centroids.set(points.subarray(first * dim, (first + 1) * dim), 0);
  const nearest = new Float64Array(m).fill(Number.POSITIVE_INFINITY);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < m; i++) {
      const d = squaredDistance(points, i * dim, centroids, (c - 1) * dim, dim);
      if (d < (nearest[i] as number)) nearest[i] = d;
      total += nearest[i] as number;
    }
    let pick = rng.int(m);
    if (total > 0) {
      let target = rng.next() * total;
      for (let i = 0; i < m; i++) {
        target -= nearest[i] as number;
        if (target <= 0) {
          pick = i;
          break;
        }
      }
    }
    centroids.set(points.subarray(pick * dim, (pick + 1) * dim), c * dim);
  }
  return centroids;
}

function lloyd(points: Float64Array, m: number, dim: number, k: number, start: Float64Array): KMeansResult {
  const centroids = Float64Array.from(start);
  const assignment = new Int32Array(m).fill(-1);
  let inertia = 0;
  for (let iter = 0; iter < 300; iter++) {
    let changed = 0;
    inertia = 0;
    for (let i = 0; i < m; i++) {
      let best = 0;
      let bestD = Number.POSITIVE_INFINITY;
      for (let c = 0; c < k; c++) {
        const d = squaredDistance(points, i * dim, centroids, c * dim, dim);
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      }
      if (assignment[i] !== best) changed++;
      assignment[i] = best;
      inertia += bestD;
    }
    if (changed === 0) break;
    const sums = new Float64Array(k * dim);
    const counts = new Int32Array(k);
    for (let i = 0; i < m; i++) {
      const c = assignment[i] as number;
      counts[c]++;
      for (let j = 0; j < dim; j++) sums[c * dim + j] += points[i * dim + j] as number;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) continue; // an emptied cluster keeps its centre
      for (let j = 0; j < dim; j++) centroids[c * dim + j] = (sums[c * dim + j] as number) / (counts[c] as number);
    }
  }
  const sizes = new Int32Array(k);
  for (const c of assignment) sizes[c]++;
  return { assignment, centroids, inertia, sizes };
}

/** Best of `restarts` seeded k-means++ runs (lowest inertia). */
export function kMeans(points: Float64Array, m: number, dim: number, k: number, rng: Rng, restarts = 4): KMeansResult {
  let best: KMeansResult | undefined;
  for (let r = 0; r < restarts; r++) {
    const result = lloyd(points, m, dim, k, seedCentroids(points, m, dim, k, rng));
    if (!best || result.inertia < best.inertia) best = result;
  }
  return best as KMeansResult;
}

/**
 * Mean silhouette coefficient (b − a) / max(a, b) over rows (Euclidean), computed on at most
 * `sampleSize` seeded rows against all rows, like scikit-learn's silhouette_score(sample_size).
 * Rows of a singleton cluster count 0. Returns 0 when there are fewer than two clusters.
 */
export function meanSilhouette(
  points: Float64Array,
  m: number,
  dim: number,
  assignment: Int32Array,
  k: number,
  rng: Rng,
  sampleSize = 4000,
): number {
  const sizes = new Int32Array(k);
  for (const c of assignment) sizes[c]++;
  if (Array.from(sizes).filter((s) => s > 0).length < 2) return 0;
  const sample =
    m > sampleSize ? rng.permutation(m).subarray(0, sampleSize) : Int32Array.from({ length: m }, (_, i) => i);
  let total = 0;
  const sums = new Float64Array(k);
  for (const i of sample) {
    sums.fill(0);
    for (let j = 0; j < m; j++)
      sums[assignment[j] as number] += Math.sqrt(squaredDistance(points, i * dim, points, j * dim, dim));
    const own = assignment[i] as number;
    if ((sizes[own] as number) <= 1) continue;
    const a = (sums[own] as number) / ((sizes[own] as number) - 1);
    let b = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++)
      if (c !== own && (sizes[c] as number) > 0) b = Math.min(b, (sums[c] as number) / (sizes[c] as number));
    const s = Math.max(a, b);
    total += s > 0 ? (b - a) / s : 0;
  }
  return total / sample.length;
}
