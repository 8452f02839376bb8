import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { pickDesign, type SelectionFigures } from '../../../src/detectors/network/selection.js';

const row = (name: string, balancedAccuracy: number, novelAuc: number, falsePositiveRate: number) => ({
  name,
  balancedAccuracy,
  novelAuc,
  falsePositiveRate,
  accuracy: balancedAccuracy,
  auc: 0.99,
  recall: 0.9,
  novelRecall: 0.9,
});

describe('pickDesign', () => {
  it('takes the best held-out-attack AUC among designs within the budget and the balanced-accuracy tolerance', () => {
    const rows: (SelectionFigures & { name: string })[] = [
      row('best accuracy', 0.975, 0.991, 0.045),
      row('close, better ranking', 0.972, 0.993, 0.04),
      row('too far behind', 0.96, 0.999, 0.03),
      row('over the alert budget', 0.99, 0.999, 0.08),
    ];
    assert.equal(pickDesign(rows).name, 'close, better ranking');
    // With no tolerance the rule is the old one: the best balanced accuracy.
    assert.equal(pickDesign(rows, 0.05, 0).name, 'best accuracy');
    // A looser budget admits the 8%-FPR design, which then wins on both counts.
    assert.equal(pickDesign(rows, 0.1).name, 'over the alert budget');
  });

  it('breaks AUC ties by balanced accuracy and refuses when nothing fits the budget', () => {
    const rows = [row('a', 0.97, 0.99, 0.04), row('b', 0.973, 0.99, 0.04)];
    assert.equal(pickDesign(rows).name, 'b');
    assert.throws(() => pickDesign(rows, 0.01), AegisInputError);
  });
});
