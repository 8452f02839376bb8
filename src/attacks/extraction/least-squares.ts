// Golub & Van Loan 2013, "Matrix Computations" (4th ed.), §5.2 Householder QR and §5.3–5.7 least squares.
/**
 * Least squares in float64 by Householder QR: the over-determined case (m ≥ n, min ‖AX − B‖)
 * and the under-determined one (m < n, the minimum-norm solution of AX = B, via the QR of Aᵀ).
 * Matrices are row-major Float64Arrays. QR works on columns, so the matrix is copied
 * column-major first (each Householder step then reads contiguous memory).
 */
import { AegisInputError } from '../../core/errors.js';

/** Householder QR of an m×n matrix (m ≥ n), LINPACK/JAMA layout. */
interface Qr {
  m: number;
  n: number;
  /** Column j holds v_j (Householder vector) below and on the diagonal, R above it. */
  cols: Float64Array[];
  /** Diagonal of R. */
  rdiag: Float64Array;
}

/** Relative size below which a diagonal entry of R counts as zero (rank deficiency). */
const RANK_TOLERANCE = 1e-12;

function householder(cols: Float64Array[], m: number): Qr {
  const n = cols.length;
  const rdiag = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const ck = cols[k] as Float64Array;
    let nrm = 0;
    for (let i = k; i < m; i++) nrm = Math.hypot(nrm, ck[i] as number);
    if (nrm !== 0) {
      if ((ck[k] as number) < 0) nrm = -nrm;
      for (let i = k; i < m; i++) ck[i] = (ck[i] as number) / nrm;
      ck[k] = (ck[k] as number) + 1;
      for (let j = k + 1; j < n; j++) applyReflector(ck, cols[j] as Float64Array, k, m);
    }
    rdiag[k] = -nrm;
  }
  return { m, n, cols, rdiag };
}

/** x ← H_k x, with H_k the k-th reflector stored in v (v[k] ≠ 0 when the column was not zero). */
function applyReflector(v: Float64Array, x: Float64Array, k: number, m: number): void {
  const vk = v[k] as number;
  if (vk === 0) return;
  let s = 0;
  for (let i = k; i < m; i++) s += (v[i] as number) * (x[i] as number);
  s = -s / vk;
  for (let i = k; i < m; i++) x[i] = (x[i] as number) + s * (v[i] as number);
}

function checkRank(qr: Qr, what: string): void {
  let largest = 0;
  for (const d of qr.rdiag) largest = Math.max(largest, Math.abs(d));
  const bad = qr.rdiag.findIndex((d) => !(Math.abs(d) > RANK_TOLERANCE * largest));
  if (bad >= 0) {
    throw new AegisInputError(`${what}: the system is rank deficient (column ${bad} depends on the others)`);
  }
}

/** Column j of a row-major rows×cols matrix. */
function column(a: Float64Array, rows: number, cols: number, j: number): Float64Array {
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) out[i] = a[i * cols + j] as number;
  return out;
}

/**
 * Solves A X ≈ B for A (m×n, row-major) and B (m×r, row-major); returns X (n×r, row-major).
 * m ≥ n: least-squares solution (A must have full column rank).
 * m < n: minimum-norm solution (A must have full row rank).
 */
export function leastSquares(a: Float64Array, m: number, n: number, b: Float64Array, r: number): Float64Array {
  if (a.length !== m * n || b.length !== m * r) {
    throw new AegisInputError(`least squares: A must be ${m}×${n} and B ${m}×${r}`);
  }
  return m >= n ? overDetermined(a, m, n, b, r) : minimumNorm(a, m, n, b, r);
}

function overDetermined(a: Float64Array, m: number, n: number, b: Float64Array, r: number): Float64Array {
  const qr = householder(
    Array.from({ length: n }, (_, j) => column(a, m, n, j)),
    m,
  );
  checkRank(qr, 'least squares');
  const x = new Float64Array(n * r);
  for (let c = 0; c < r; c++) {
    const y = column(b, m, r, c);
    for (let k = 0; k < n; k++) applyReflector(qr.cols[k] as Float64Array, y, k, m); // y = Qᵀ b
    for (let k = n - 1; k >= 0; k--) {
      // Back substitution with R.
      let s = y[k] as number;
      for (let j = k + 1; j < n; j++) s -= ((qr.cols[j] as Float64Array)[k] as number) * (x[j * r + c] as number);
      x[k * r + c] = s / (qr.rdiag[k] as number);
    }
  }
  return x;
}

function minimumNorm(a: Float64Array, m: number, n: number, b: Float64Array, r: number): Float64Array {
  // Aᵀ = QR (n×m); A = Rᵀ Qᵀ, so x = Q [R⁻ᵀ b; 0]. Columns of Aᵀ are the rows of A.
  const qr = householder(
    Array.from({ length: m }, (_, i) => a.slice(i * n, (i + 1) * n)),
    n,
  );
  checkRank(qr, 'minimum-norm solve');
  const x = new Float64Array(n * r);
  for (let c = 0; c < r; c++) {
    const z = new Float64Array(n);
    for (let k = 0; k < m; k++) {
      // Forward substitution with Rᵀ.
      let s = b[k * r + c] as number;
      for (let i = 0; i < k; i++) s -= ((qr.cols[k] as Float64Array)[i] as number) * (z[i] as number);
      z[k] = s / (qr.rdiag[k] as number);
    }
    for (let k = m - 1; k >= 0; k--) applyReflector(qr.cols[k] as Float64Array, z, k, n);
    for (let i = 0; i < n; i++) x[i * r + c] = z[i] as number;
  }
  return x;
}
