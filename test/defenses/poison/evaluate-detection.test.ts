import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { evaluateDetection } from '../../../src/defenses/poison/evaluate-detection.js';

describe('evaluateDetection', () => {
  it('counts hits exactly on a hand example', () => {
    // 10 rows, poison {1, 4, 7}; flagged {1, 2, 4, 9}: 2 hits of 4 flagged, 2 of 3 poisons found.
    const m = evaluateDetection([1, 2, 4, 9], [1, 4, 7], 10);
    assert.deepEqual(m, { precision: 0.5, recall: 2 / 3, flaggedCount: 4, flaggedFraction: 0.4 });
  });

  it('is perfect when the flags are the poison, in any order', () => {
    assert.deepEqual(evaluateDetection(Int32Array.from([7, 1, 4]), Int32Array.from([1, 4, 7]), 8), {
      precision: 1,
      recall: 1,
      flaggedCount: 3,
      flaggedFraction: 3 / 8,
    });
  });

  it('follows the conventions for empty sets and counts a duplicate flag once', () => {
    assert.deepEqual(evaluateDetection([], [3], 5), { precision: 1, recall: 0, flaggedCount: 0, flaggedFraction: 0 });
    assert.deepEqual(evaluateDetection([2, 2], [], 4), {
      precision: 0,
      recall: 1,
      flaggedCount: 1,
      flaggedFraction: 0.25,
    });
  });

  it('rejects indices outside the rows and a bad row count', () => {
    assert.throws(
      () => evaluateDetection([10], [1], 10),
      (e: unknown) => e instanceof AegisInputError && /flagged index 10/.test(e.message),
    );
    assert.throws(
      () => evaluateDetection([1], [-1], 10),
      (e: unknown) => e instanceof AegisInputError && /poison index -1/.test(e.message),
    );
    assert.throws(() => evaluateDetection([], [], 0), AegisInputError);
  });
});
