/** Assertions shared by the model and data tests. */
import assert from 'node:assert/strict';
import { AegisInputError } from '../../src/core/errors.js';

/** The promise rejects with an AegisInputError whose message matches `pattern`. */
export async function rejectsWithInputError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof AegisInputError, `expected AegisInputError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Fraction of `labels` equal to `y`. */
export function accuracyOf(labels: ArrayLike<number>, y: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < y.length; i++) if (labels[i] === y[i]) correct++;
  return correct / y.length;
}
