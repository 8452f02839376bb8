/**
 * The small dense linear algebra the poison detectors need, on row-major Float64Arrays:
 * rows of one class, centring, covariance, a symmetric eigensolver (cyclic Jacobi, Golub & Van
 * Loan §8.5) for small matrices and subspace iteration with a Rayleigh-Ritz step (Golub & Van
 * Loan §8.2.4) for the top eigenvectors of larger ones.
 */
import type { Rng } from '../../core/rng.js';

/** Row indices per class label. */
export function rowsByClass(labels: Int32Array, numClasses: number): Int32Array[] {
  const counts = new Int32Array(numClasses);
  for (const y of labels) counts[y]++;
  const out = Array.from({ length: numClasses }, (_, c) => new Int32Array(counts[c] ?? 0));
  const fill = new Int32Array(numClasses);
  labels.forEach((y, i) => {
    (out[y] as Int32Array)[fill[y]++] = i;
  });
  return out;
}

/** The rows `rows` of a [n, dim] matrix, centred on their mean, as a [rows.length, dim] Float64Array. */
export function centredRows(features: Float32Array, dim: number, rows: Int32Array): Float64Array {
  const m = rows.length;
  const out = new Float64Array(m * dim);
  const mean = new Float64Array(dim);
  for (let r = 0; r < m; r++) {
    const base = (rows[r] as number) * dim;
    for (let j = 0; j < dim; j++) {
      const v = features[base + j] as number;
      out[r * dim + j] = v;
      mean[j] += v;
    }
  }
  for (let j = 0; j < dim; j++) mean[j] /= Math.max(1, m);
  for (let r = 0; r < m; r++) for (let j = 0; j < dim; j++) out[r * dim + j] -= mean[j] as number;
  return out;
}

/** Mᵀ M / m for a [m, dim] matrix (the covariance when M is centred). */
export function covariance(centred: Float64Array, m: number, dim: number): Float64Array {
  const cov = new Float64Array(dim * dim);
  for (let r = 0; r < m; r++) {
    const base = r * dim;
    for (let i = 0; i < dim; i++) {
      const vi = centred[base + i] as number;
      if (vi === 0) continue; // ReLU activations are often exactly zero
      const row = i * dim;
      for (let j = i; j < dim; j++) cov[row + j] += vi * (centred[base + j] as number);
    }
  }
  const scale = 1 / Math.max(1, m);
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const v = (cov[i * dim + j] as number) * scale;
      cov[i * dim + j] = v;
      cov[j * dim + i] = v;
    }
  }
  return cov;
}

export interface Eigen {
  /** Eigenvalues, descending. */
  values: Float64Array;
  /** Eigenvectors as rows: vectors[k * dim ... (k + 1) * dim) belongs to values[k]. */
  vectors: Float64Array;
}

/** All eigenpairs of a symmetric [dim, dim] matrix by cyclic Jacobi rotations (for small dim). */
export function symmetricEigen(matrix: Float64Array, dim: number): Eigen {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) v[i * dim + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < dim; i++) {
      diag += (a[i * dim + i] as number) ** 2;
      for (let j = i + 1; j < dim; j++) off += (a[i * dim + j] as number) ** 2;
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < dim; p++) {
      for (let q = p + 1; q < dim; q++) {
        const apq = a[p * dim + q] as number;
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * dim + p] as number;
        const aqq = a[q * dim + q] as number;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < dim; k++) {
          const akp = a[k * dim + p] as number;
          const akq = a[k * dim + q] as number;
          a[k * dim + p] = c * akp - s * akq;
          a[k * dim + q] = s * akp + c * akq;
        }
        for (let k = 0; k < dim; k++) {
          const apk = a[p * dim + k] as number;
          const aqk = a[q * dim + k] as number;
          a[p * dim + k] = c * apk - s * aqk;
          a[q * dim + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < dim; k++) {
          const vkp = v[k * dim + p] as number;
          const vkq = v[k * dim + q] as number;
          v[k * dim + p] = c * vkp - s * vkq;
          v[k * dim + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: dim }, (_, i) => i).sort(
    (x, y) => (a[y * dim + y] as number) - (a[x * dim + x] as number),
  );
  const values = new Float64Array(dim);
  const vectors = new Float64Array(dim * dim);
  order.forEach((col, k) => {
    values[k] = a[col * dim + col] as number;
    for (let i = 0; i < dim; i++) vectors[k * dim + i] = v[i * dim + col] as number;
  });
  return { values, vectors };
}

/** Orthonormalises the `count` rows of `block` (each of length dim) in place; modified Gram-Schmidt. */
function orthonormalRows(block: Float64Array, count: number, dim: number): void {
  for (let k = 0; k < count; k++) {
    const base = k * dim;
    // A row the matrix annihilated is replaced by unit vectors until one survives projection.
    for (let fallback = 0; fallback <= dim; fallback++) {
      for (let pass = 0; pass < 2; pass++) {
        for (let prev = 0; prev < k; prev++) {
          let dot = 0;
          for (let i = 0; i < dim; i++) dot += (block[base + i] as number) * (block[prev * dim + i] as number);
          for (let i = 0; i < dim; i++) block[base + i] -= dot * (block[prev * dim + i] as number);
        }
      }
      let norm = 0;
      for (let i = 0; i < dim; i++) norm += (block[base + i] as number) ** 2;
      norm = Math.sqrt(norm);
      if (norm > 1e-150) {
        for (let i = 0; i < dim; i++) block[base + i] /= norm;
        break;
      }
      block.fill(0, base, base + dim);
      block[base + (fallback % dim)] = 1;
    }
  }
}

/** Rows of `block` [count, dim] times the symmetric matrix [dim, dim]. */
function multiplyRows(block: Float64Array, count: number, matrix: Float64Array, dim: number): Float64Array {
  const out = new Float64Array(count * dim);
  for (let k = 0; k < count; k++) {
    for (let i = 0; i < dim; i++) {
      const b = block[k * dim + i] as number;
      if (b === 0) continue;
      const row = i * dim;
      for (let j = 0; j < dim; j++) out[k * dim + j] += b * (matrix[row + j] as number);
    }
  }
  return out;
}

/** Matrices up to this size are diagonalised whole; larger ones by subspace iteration. */
const JACOBI_MAX_DIM = 96;

/**
 * The top `count` eigenpairs of a symmetric positive semi-definite [dim, dim] matrix, descending.
 * The random start block is seeded by `rng`, so the result is reproducible (up to sign).
 * `maxIterations` caps the subspace iterations (a few already give a good approximate subspace, as
 * in randomized PCA, Halko, Martinsson & Tropp 2011); small matrices are always solved exactly.
 */
export function topEigen(
  matrix: Float64Array,
  dim: number,
  count: number,
  rng: Rng,
  maxIterations = 1000,
  /** Rows of a [count, dim] block times the matrix (default: in JS; callers may use the tensor backend). */
  multiply: (block: Float64Array, count: number) => Float64Array = (block, rows) =>
    multiplyRows(block, rows, matrix, dim),
): Eigen {
  const k = Math.min(count, dim);
  if (dim <= JACOBI_MAX_DIM && matrix.length === dim * dim) {
    const all = symmetricEigen(matrix, dim);
    return { values: all.values.slice(0, k), vectors: all.vectors.slice(0, k * dim) };
  }
  const p = Math.min(dim, k + 8); // oversampling speeds convergence of the wanted k
  let block: Float64Array = new Float64Array(p * dim);
  for (let i = 0; i < block.length; i++) block[i] = rng.normal();
  orthonormalRows(block, p, dim);
  let previous: Float64Array = new Float64Array(p);
  for (let iter = 0; iter < maxIterations; iter++) {
    block = multiply(block, p);
    const norms = new Float64Array(p);
    for (let r = 0; r < p; r++) {
      let s = 0;
      for (let i = 0; i < dim; i++) s += (block[r * dim + i] as number) ** 2;
      norms[r] = Math.sqrt(s);
    }
    orthonormalRows(block, p, dim);
    let change = 0;
    for (let r = 0; r < k; r++) change = Math.max(change, Math.abs((norms[r] as number) - (previous[r] as number)));
    previous = norms;
    if (iter > 5 && change <= 1e-12 * Math.max(norms[0] as number, 1e-300)) break;
  }
  // Rayleigh-Ritz: diagonalise the matrix restricted to the block, rotate the block to its eigenvectors.
  const projected = multiply(block, p);
  const h = new Float64Array(p * p);
  for (let a = 0; a < p; a++) {
    for (let b = 0; b < p; b++) {
      let s = 0;
      for (let i = 0; i < dim; i++) s += (block[a * dim + i] as number) * (projected[b * dim + i] as number);
      h[a * p + b] = s;
    }
  }
  const small = symmetricEigen(h, p);
  const values = small.values.slice(0, k);
  const vectors = new Float64Array(k * dim);
  for (let r = 0; r < k; r++) {
    for (let a = 0; a < p; a++) {
      const w = small.vectors[r * p + a] as number;
      for (let i = 0; i < dim; i++) vectors[r * dim + i] += w * (block[a * dim + i] as number);
    }
  }
  return { values, vectors };
}
