import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import {
  chooseThreshold,
  nestedThresholdCheck,
  parseThresholdRule,
} from '../../../src/detectors/phishing/operating-threshold.js';

describe('operating threshold rules', () => {
  it('nested check: each fold is judged by the threshold chosen without it (worked example)', () => {
    // Legitimate 0, 2 in fold 0 and 1, 3 in fold 1; phishing 2.5 in fold 0, 0.5 in fold 1. targetFpr 0
    // means "above the largest legitimate score": fold 0 gets 3 (nothing flagged), fold 1 gets 2 (flags the 3).
    const check = nestedThresholdCheck(
      [0, 1, 2, 3, 2.5, 0.5],
      [0, 0, 0, 0, 1, 1],
      [0, 1, 0, 1, 0, 1],
      0,
      'order-statistic',
    );
    assert.deepEqual(check.thresholds, [3, 2]);
    assert.equal(check.falsePositives, 1);
    assert.equal(check.legitimate, 4);
    assert.equal(check.falsePositiveRate, 0.25);
    assert.equal(check.recall, 0);
  });

  it('both rules keep the held-out false-positive rate near the target on well-separated scores', () => {
    const r = new Rng(5);
    const scores: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < 5000; i++) {
      scores.push(r.normal());
      labels.push(0);
    }
    for (let i = 0; i < 500; i++) {
      scores.push(6 + r.normal());
      labels.push(1);
    }
    const fold = scores.map((_, i) => i % 5);
    for (const rule of ['order-statistic', 'tail-fit'] as const) {
      const c = nestedThresholdCheck(scores, labels, fold, 0.001, rule);
      assert.equal(c.legitimate, 5000);
      assert.ok(c.falsePositives <= 15, `${rule}: ${c.falsePositives} of 5000 flagged`);
      assert.ok(c.recall > 0.95, `${rule}: recall ${c.recall}`);
      // Standard normal: the 0.1% quantile is 3.09.
      for (const t of c.thresholds) assert.ok(Math.abs(t - 3.09) < 0.6, `${rule}: threshold ${t}`);
    }
  });

  it('rejects unknown rules and mismatched inputs', () => {
    assert.equal(parseThresholdRule('tail-fit'), 'tail-fit');
    assert.throws(
      () => parseThresholdRule('median'),
      (e: Error) => e instanceof AegisInputError && /order-statistic, tail-fit/.test(e.message),
    );
    assert.throws(() => nestedThresholdCheck([1, 2], [0], [0, 1], 0.1, 'order-statistic'), /2 scores, 1 labels/);
    assert.equal(chooseThreshold([1, 2, 3], 0, 'order-statistic'), 3);
  });
});
