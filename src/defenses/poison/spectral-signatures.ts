// Tran, Li & Madry 2018, "Spectral Signatures in Backdoor Attacks", arXiv:1811.00636 (Algorithm 1).
/**
 * Per class: centre the representations, take the top right singular vector v of the centred
 * matrix (= the top eigenvector of the class covariance), score each row by its squared
 * projection ((R(x) − mean) · v)², and remove the rows with the highest scores — the paper's
 * 1.5 ε of each class, with ε the budgeted poisoned share of the class (as in IBM ART's
 * SpectralSignatureDefense; the multiplier is an option).
 * Scores are divided by the class's top eigenvalue (their class mean), so rows of different
 * classes rank on one scale.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { checkDetectionInput, expectedFraction, flaggedRows } from './detection-input.js';
import { centredRows, covariance, rowsByClass, topEigen } from './linalg.js';
import type { PoisonDetectionInput, PoisonDetectionResult, PoisonDetector } from './poison-detector.js';

export interface SpectralSignaturesOptions {
  /** Rows removed per class = ceil(multiplier × ε × class size). Default 1.5 (the paper's). */
  removalMultiplier?: number;
}

export const SPECTRAL_SIGNATURES_CITATION =
  'Tran, Li & Madry 2018, Spectral Signatures in Backdoor Attacks (arXiv:1811.00636)';

/** Squared projections of one class's centred rows on their top singular direction, over the top eigenvalue. */
export function spectralScores(
  features: Float32Array,
  dim: number,
  rows: Int32Array,
  rng: Rng,
): { scores: Float64Array; topEigenvalue: number } {
  const m = rows.length;
  const centred = centredRows(features, dim, rows);
  const eig = topEigen(covariance(centred, m, dim), dim, 1, rng);
  const top = eig.values[0] ?? 0;
  const scores = new Float64Array(m);
  if (!(top > 1e-12)) return { scores, topEigenvalue: 0 }; // all rows identical: nothing stands out
  for (let r = 0; r < m; r++) {
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += (centred[r * dim + j] as number) * (eig.vectors[j] as number);
    scores[r] = (dot * dot) / top;
  }
  return { scores, topEigenvalue: top };
}

export function spectralSignatures(options: SpectralSignaturesOptions = {}): PoisonDetector {
  const multiplier = options.removalMultiplier ?? 1.5;
  if (!(multiplier > 0 && Number.isFinite(multiplier))) {
    throw new AegisInputError(`spectral signatures: removal multiplier must be a positive number, got ${multiplier}`);
  }
  return {
    name: 'spectral-signatures',
    citation: SPECTRAL_SIGNATURES_CITATION,
    detect(input: PoisonDetectionInput): PoisonDetectionResult {
      const n = checkDetectionInput(input, 'spectral signatures');
      const eps = expectedFraction(input, 'spectral signatures');
      const rng = new Rng(input.seed);
      const scores = new Float32Array(n);
      const flag = new Uint8Array(n);
      for (const rows of rowsByClass(input.labels, input.numClasses)) {
        if (rows.length < 2) continue;
        const { scores: classScores } = spectralScores(input.features, input.dim, rows, rng);
        rows.forEach((row, r) => {
          scores[row] = classScores[r] as number;
        });
        const remove = Math.min(rows.length, Math.ceil(multiplier * eps * rows.length - 1e-9));
        const order = Array.from(rows.keys()).sort((a, b) => (classScores[b] as number) - (classScores[a] as number));
        for (let k = 0; k < remove; k++) flag[rows[order[k] as number] as number] = 1;
      }
      return { method: 'spectral-signatures', scores, flagged: flaggedRows(flag) };
    },
  };
}
