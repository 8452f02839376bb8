/**
 * Precision and recall of a poison detector's flagged rows against the true poison rows
 * (known in experiments, never shown to the detector).
 */
import { AegisInputError } from '../../core/errors.js';
import type { DetectionMetrics } from './poison-detector.js';

function asSet(indices: ArrayLike<number>, n: number, what: string): Set<number> {
  const set = new Set<number>();
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i] as number;
    if (!(Number.isInteger(v) && v >= 0 && v < n)) {
      throw new AegisInputError(`evaluateDetection: ${what} index ${v} (position ${i}) is outside [0, ${n - 1}]`);
    }
    set.add(v);
  }
  return set;
}

/** Metrics of `flagged` rows against `poisonIndices` among `n` rows (duplicates count once). */
export function evaluateDetection(
  flagged: ArrayLike<number>,
  poisonIndices: ArrayLike<number>,
  n: number,
): DetectionMetrics {
  if (!(Number.isInteger(n) && n > 0))
    throw new AegisInputError(`evaluateDetection: n must be a positive integer, got ${n}`);
  const flags = asSet(flagged, n, 'flagged');
  const poison = asSet(poisonIndices, n, 'poison');
  let hits = 0;
  for (const i of flags) if (poison.has(i)) hits++;
  return {
    precision: flags.size === 0 ? 1 : hits / flags.size,
    recall: poison.size === 0 ? 1 : hits / poison.size,
    flaggedCount: flags.size,
    flaggedFraction: flags.size / n,
  };
}
