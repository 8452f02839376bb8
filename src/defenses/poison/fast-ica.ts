// Hyvärinen 1999, "Fast and Robust Fixed-Point Algorithms for Independent Component Analysis", IEEE TNN 10(3).
/**
 * FastICA, symmetric (parallel) version with the logcosh contrast g(u) = tanh(u), as in
 * scikit-learn's FastICA defaults: centre, whiten by PCA to `components` dimensions, then iterate
 * W ← symdecorr(E[g(W z) zᵀ] − diag(E[g'(W z)]) W) from a seeded random start until
 * max |1 − |⟨w_new, w_old⟩|| < tol. Returns the estimated sources (unit variance) per row.
 */
import type { Rng } from '../../core/rng.js';
import { centredRows, covariance, symmetricEigen, topEigen } from './linalg.js';

export interface FastIcaOptions {
  components: number;
  maxIterations?: number;
  tolerance?: number;
}

export interface FastIcaResult {
  /** [m, components] estimated sources. */
  sources: Float64Array;
  /** Components actually kept (fewer than asked when the data span fewer dimensions). */
  components: number;
  iterations: number;
  converged: boolean;
}

/** (W Wᵀ)^(-1/2) W for a [k, k] matrix W: rows made orthonormal without favouring any. */
function symmetricDecorrelation(w: Float64Array, k: number): Float64Array {
  const wwt = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += (w[a * k + j] as number) * (w[b * k + j] as number);
      wwt[a * k + b] = s;
    }
  }
  const { values, vectors } = symmetricEigen(wwt, k);
  // E diag(1/sqrt(d)) Eᵀ W, eigenvectors stored as rows of `vectors`.
  const inv = new Float64Array(k * k);
  for (let e = 0; e < k; e++) {
    const scale = 1 / Math.sqrt(Math.max(values[e] as number, 1e-300));
    for (let a = 0; a < k; a++) {
      const va = (vectors[e * k + a] as number) * scale;
      for (let b = 0; b < k; b++) inv[a * k + b] += va * (vectors[e * k + b] as number);
    }
  }
  const out = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += (inv[a * k + j] as number) * (w[j * k + b] as number);
      out[a * k + b] = s;
    }
  }
  return out;
}

/**
 * Centred rows projected on their top principal components [m, kept], dropping directions with
 * (numerically) no variance; divided by each component's standard deviation when `whitened`.
 */
export function principalComponents(
  features: Float32Array,
  dim: number,
  rows: Int32Array,
  components: number,
  rng: Rng,
  whitened = true,
): { white: Float64Array; kept: number } {
  const m = rows.length;
  const centred = centredRows(features, dim, rows);
  const eig = topEigen(covariance(centred, m, dim), dim, components, rng);
  const top = eig.values[0] ?? 0;
  let kept = 0;
  while (kept < eig.values.length && (eig.values[kept] as number) > 1e-9 * Math.max(top, 1e-300)) kept++;
  const white = new Float64Array(m * kept);
  for (let c = 0; c < kept; c++) {
    const scale = whitened ? 1 / Math.sqrt(eig.values[c] as number) : 1;
    for (let r = 0; r < m; r++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += (centred[r * dim + j] as number) * (eig.vectors[c * dim + j] as number);
      white[r * kept + c] = dot * scale;
    }
  }
  return { white, kept };
}

/** FastICA of the rows `rows` of a [n, dim] matrix. */
export function fastIca(
  features: Float32Array,
  dim: number,
  rows: Int32Array,
  options: FastIcaOptions,
  rng: Rng,
): FastIcaResult {
  const maxIterations = options.maxIterations ?? 200;
  const tol = options.tolerance ?? 1e-4;
  const m = rows.length;
  const { white, kept: k } = principalComponents(
    features,
    dim,
    rows,
    Math.min(options.components, dim, Math.max(1, m - 1)),
    rng,
  );
  if (k === 0) return { sources: new Float64Array(0), components: 0, iterations: 0, converged: true };
  let w: Float64Array = new Float64Array(k * k);
  for (let i = 0; i < w.length; i++) w[i] = rng.normal();
  w = symmetricDecorrelation(w, k);
  const proj = new Float64Array(k);
  let iterations = 0;
  let converged = false;
  for (; iterations < maxIterations && !converged; iterations++) {
    const gz = new Float64Array(k * k); // E[g(w_a · z) z_b]
    const gPrime = new Float64Array(k); // E[g'(w_a · z)]
    for (let r = 0; r < m; r++) {
      for (let a = 0; a < k; a++) {
        let s = 0;
        for (let b = 0; b < k; b++) s += (w[a * k + b] as number) * (white[r * k + b] as number);
        proj[a] = s;
      }
      for (let a = 0; a < k; a++) {
        const t = Math.tanh(proj[a] as number);
        gPrime[a] += 1 - t * t;
        for (let b = 0; b < k; b++) gz[a * k + b] += t * (white[r * k + b] as number);
      }
    }
    const next = new Float64Array(k * k);
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++)
        next[a * k + b] = (gz[a * k + b] as number) / m - ((gPrime[a] as number) / m) * (w[a * k + b] as number);
    }
    const decorrelated = symmetricDecorrelation(next, k);
    let lim = 0;
    for (let a = 0; a < k; a++) {
      let dot = 0;
      for (let b = 0; b < k; b++) dot += (decorrelated[a * k + b] as number) * (w[a * k + b] as number);
      lim = Math.max(lim, Math.abs(Math.abs(dot) - 1));
    }
    w = decorrelated;
    converged = lim < tol;
  }
  const sources = new Float64Array(m * k);
  for (let r = 0; r < m; r++) {
    for (let a = 0; a < k; a++) {
      let s = 0;
      for (let b = 0; b < k; b++) s += (w[a * k + b] as number) * (white[r * k + b] as number);
      sources[r * k + a] = s;
    }
  }
  return { sources, components: k, iterations, converged };
}
