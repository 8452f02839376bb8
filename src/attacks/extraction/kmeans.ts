// Lloyd 1982, "Least squares quantization in PCM"; seeding: Arthur & Vassilvitskii 2007, "k-means++".
/**
 * Seeded k-means (k-means++ start, Lloyd iterations) on row-major float vectors, and a cheap
 * image descriptor for it (block-averaged pixels). KnockoffNets' adaptive strategy uses the
 * clusters of the attacker's unlabeled transfer set as its actions.
 */
import { AegisInputError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { type Dataset, featureShape, featureSize, size } from '../../data/dataset.js';

export interface KMeansResult {
  /** Cluster of each point. */
  assignments: Int32Array;
  /** k×d centroids. */
  centroids: Float64Array;
  k: number;
}

function squaredDistance(x: Float32Array, i: number, c: Float64Array, j: number, d: number): number {
  let s = 0;
  for (let f = 0; f < d; f++) {
    const diff = (x[i * d + f] as number) - (c[j * d + f] as number);
    s += diff * diff;
  }
  return s;
}

export function kMeans(x: Float32Array, n: number, d: number, k: number, rng: Rng, iterations = 25): KMeansResult {
  if (!Number.isInteger(k) || k < 1) throw new AegisInputError(`k-means: k must be a positive integer, got ${k}`);
  if (n < k) throw new AegisInputError(`k-means: ${n} points cannot form ${k} clusters`);
  const centroids = new Float64Array(k * d);
  const nearest = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  // k-means++: each next centre drawn with probability ∝ squared distance to the nearest chosen one.
  let chosen = rng.int(n);
  for (let j = 0; j < k; j++) {
    for (let f = 0; f < d; f++) centroids[j * d + f] = x[chosen * d + f] as number;
    let total = 0;
    for (let i = 0; i < n; i++) {
      nearest[i] = Math.min(nearest[i] as number, squaredDistance(x, i, centroids, j, d));
      total += nearest[i] as number;
    }
    let target = rng.next() * total;
    chosen = n - 1;
    for (let i = 0; i < n; i++) {
      target -= nearest[i] as number;
      if (target <= 0) {
        chosen = i;
        break;
      }
    }
  }
  const assignments = new Int32Array(n).fill(-1);
  for (let it = 0; it < iterations; it++) {
    let changed = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestDistance = Number.POSITIVE_INFINITY;
      for (let j = 0; j < k; j++) {
        const dist = squaredDistance(x, i, centroids, j, d);
        if (dist < bestDistance) {
          bestDistance = dist;
          best = j;
        }
      }
      if (assignments[i] !== best) changed++;
      assignments[i] = best;
    }
    if (changed === 0) break;
    const counts = new Float64Array(k);
    centroids.fill(0);
    for (let i = 0; i < n; i++) {
      const j = assignments[i] as number;
      counts[j] = (counts[j] as number) + 1;
      for (let f = 0; f < d; f++) centroids[j * d + f] = (centroids[j * d + f] as number) + (x[i * d + f] as number);
    }
    for (let j = 0; j < k; j++) {
      const c = counts[j] as number;
      if (c === 0) {
        // An empty cluster restarts at a random point.
        const i = rng.int(n);
        for (let f = 0; f < d; f++) centroids[j * d + f] = x[i * d + f] as number;
      } else {
        for (let f = 0; f < d; f++) centroids[j * d + f] = (centroids[j * d + f] as number) / c;
      }
    }
  }
  return { assignments, centroids, k };
}

/**
 * Descriptors for clustering: images (NHWC) are block-averaged until at most `maxFeatures`
 * values remain (28×28 → 14×14); other data is used as is.
 */
export function clusteringFeatures(data: Dataset, maxFeatures = 196): { x: Float32Array; d: number } {
  const shape = featureShape(data);
  const per = featureSize(data);
  if (shape.length !== 3 || per <= maxFeatures) return { x: data.x, d: per };
  const [h, w, c] = shape as [number, number, number];
  let block = 1;
  while (Math.ceil(h / block) * Math.ceil(w / block) * c > maxFeatures) block++;
  const ph = Math.ceil(h / block);
  const pw = Math.ceil(w / block);
  const d = ph * pw * c;
  const n = size(data);
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < h; r++) {
      for (let s = 0; s < w; s++) {
        for (let ch = 0; ch < c; ch++) {
          const o = i * d + (Math.floor(r / block) * pw + Math.floor(s / block)) * c + ch;
          x[o] = (x[o] as number) + (data.x[i * per + (r * w + s) * c + ch] as number);
        }
      }
    }
  }
  // Averages (edge blocks may be smaller; a constant scale per cell does not matter much for k-means).
  const scale = 1 / (block * block);
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) * scale;
  return { x, d };
}
