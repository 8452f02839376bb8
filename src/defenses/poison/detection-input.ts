/**
 * Checks a PoisonDetectionInput once for every detector: shapes agree, values are finite,
 * labels and probabilities are in range, the poison budget is in (0, 0.5]. Problems the user can
 * fix are AegisInputErrors that name the detector and the first offending row.
 */
import { AegisInputError } from '../../core/errors.js';
import type { PoisonDetectionInput } from './poison-detector.js';

/** The budget used when the caller gives none (also the CLI's --expected-fraction default). */
export const DEFAULT_EXPECTED_POISON_FRACTION = 0.1;

/** Number of rows (labels.length) after checking everything; throws AegisInputError on the first problem. */
export function checkDetectionInput(input: PoisonDetectionInput, who: string): number {
  const { features, dim, labels, numClasses } = input;
  const n = labels.length;
  if (!Number.isInteger(dim) || dim <= 0)
    throw new AegisInputError(`${who}: dim must be a positive integer, got ${dim}`);
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new AegisInputError(`${who}: numClasses must be an integer >= 2, got ${numClasses}`);
  }
  if (n === 0) throw new AegisInputError(`${who}: no rows to examine`);
  if (features.length !== n * dim) {
    throw new AegisInputError(
      `${who}: features hold ${features.length} values, but ${n} rows of dim ${dim} need ${n * dim}`,
    );
  }
  for (let i = 0; i < features.length; i++) {
    if (!Number.isFinite(features[i])) {
      throw new AegisInputError(`${who}: feature ${features[i]} of row ${Math.floor(i / dim)} is not finite`);
    }
  }
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    if (!(y >= 0 && y < numClasses)) {
      throw new AegisInputError(`${who}: label ${y} of row ${i} is outside [0, ${numClasses - 1}]`);
    }
  }
  if (input.probabilities !== undefined) {
    const p = input.probabilities;
    if (p.length !== n * numClasses) {
      throw new AegisInputError(
        `${who}: probabilities hold ${p.length} values, but ${n} rows of ${numClasses} classes need ${n * numClasses}`,
      );
    }
    for (let i = 0; i < p.length; i++) {
      const v = p[i] as number;
      if (!(v >= 0 && v <= 1)) {
        throw new AegisInputError(`${who}: probability ${v} of row ${Math.floor(i / numClasses)} is not in [0, 1]`);
      }
    }
  }
  expectedFraction(input, who);
  if (!Number.isInteger(input.seed)) throw new AegisInputError(`${who}: seed must be an integer, got ${input.seed}`);
  return n;
}

/** The budgeted poison share, checked to lie in (0, 0.5]. */
export function expectedFraction(input: Pick<PoisonDetectionInput, 'expectedPoisonFraction'>, who: string): number {
  const eps = input.expectedPoisonFraction ?? DEFAULT_EXPECTED_POISON_FRACTION;
  if (!(eps > 0 && eps <= 0.5)) {
    throw new AegisInputError(`${who}: expected poison fraction must be in (0, 0.5], got ${eps}`);
  }
  return eps;
}

/** Indices where `flag` is true, ascending. */
export function flaggedRows(flag: Uint8Array): Int32Array {
  let count = 0;
  for (const f of flag) count += f;
  const out = new Int32Array(count);
  let k = 0;
  flag.forEach((f, i) => {
    if (f) out[k++] = i;
  });
  return out;
}
