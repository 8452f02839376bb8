import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import {
  applyThreshold,
  binaryMetrics,
  confusionMatrix,
  multiclassMetrics,
  rocAuc,
  thresholdAtFpr,
} from '../../src/detectors/metrics.js';

describe('binary metrics', () => {
  it('counts the confusion cells and derives precision, recall, F1, FPR', () => {
    // truth:     1 1 1 1 0 0 0 0 0 0
    // predicted: 1 1 1 0 1 0 0 0 0 0  → TP 3, FN 1, FP 1, TN 5
    const m = binaryMetrics([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]);
    assert.deepEqual([m.tp, m.fn, m.fp, m.tn], [3, 1, 1, 5]);
    assert.equal(m.precision, 0.75);
    assert.equal(m.recall, 0.75);
    assert.equal(m.f1, 0.75);
    assert.equal(m.falsePositiveRate, 1 / 6);
    assert.equal(m.accuracy, 0.8);
  });

  it('gives 0 (not NaN) when nothing is flagged', () => {
    const m = binaryMetrics([true, false], [false, false]);
    assert.equal(m.precision, 0);
    assert.equal(m.f1, 0);
    assert.equal(m.recall, 0);
  });

  it('rejects mismatched lengths with a clear message', () => {
    assert.throws(() => binaryMetrics([1, 0], [1]), /2 true labels but 1/);
  });
});

describe('ROC AUC', () => {
  it('is 1 for a perfect ranking, 0.5 for ties, and counts inversions', () => {
    assert.equal(rocAuc([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0]), 1);
    assert.equal(rocAuc([0.5, 0.5, 0.5, 0.5], [1, 1, 0, 0]), 0.5);
    // positives 0.9, 0.3; negatives 0.5, 0.1 → pairs won: (0.9>0.5, 0.9>0.1, 0.3>0.1) = 3 of 4.
    assert.equal(rocAuc([0.9, 0.3, 0.5, 0.1], [1, 1, 0, 0]), 0.75);
  });

  it('refuses one-class data', () => {
    assert.throws(() => rocAuc([0.1, 0.2], [0, 0]), AegisInputError);
  });
});

describe('thresholdAtFpr', () => {
  it('flags at most the target share of benign scores, ties included', () => {
    const benign = Array.from({ length: 100 }, (_, i) => i / 100);
    const t = thresholdAtFpr(benign, 0.05);
    const flagged = applyThreshold(benign, t).reduce((a, b) => a + b, 0);
    assert.equal(flagged, 5);
    const tied = [...new Array(50).fill(1), ...new Array(50).fill(0)];
    const t2 = thresholdAtFpr(tied, 0.1);
    assert.ok(applyThreshold(tied, t2).reduce((a, b) => a + b, 0) <= 10);
  });

  it('0 gives the largest benign score; 1 flags everything', () => {
    assert.equal(thresholdAtFpr([0.2, 0.7, 0.4], 0), 0.7);
    assert.equal(thresholdAtFpr([0.2, 0.7], 1), Number.NEGATIVE_INFINITY);
    assert.throws(() => thresholdAtFpr([0.2], 1.5), /in \[0, 1\]/);
  });
});

describe('multi-class metrics', () => {
  it('per-class P/R/F1, macro-F1 and the confusion matrix', () => {
    const truth = [0, 0, 0, 1, 1, 2];
    const pred = [0, 0, 1, 1, 1, 0];
    const m = multiclassMetrics(truth, pred, ['a', 'b', 'c']);
    assert.deepEqual(m.confusion, [
      [2, 1, 0],
      [0, 2, 0],
      [1, 0, 0],
    ]);
    assert.equal(m.accuracy, 4 / 6);
    const [a, b, c] = m.perClass;
    assert.equal(a?.precision, 2 / 3);
    assert.equal(a?.recall, 2 / 3);
    assert.equal(b?.precision, 2 / 3);
    assert.equal(b?.recall, 1);
    assert.equal(c?.f1, 0);
    assert.equal(c?.support, 1);
    assert.ok(Math.abs(m.macroF1 - (2 / 3 + 0.8 + 0) / 3) < 1e-12);
  });

  it('leaves classes absent from truth and predictions out of macro-F1', () => {
    const m = multiclassMetrics([0, 1], [0, 1], ['a', 'b', 'unused']);
    assert.equal(m.macroF1, 1);
  });

  it('rejects labels outside the classes', () => {
    assert.throws(() => confusionMatrix([0, 3], [0, 0], 2), /outside \[0, 2\)/);
  });
});
