import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initRuntime } from '../../../src/core/runtime.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { LabelOnlyModel } from '../../../src/defenses/output/label-only.js';
import { ReverseSigmoidModel } from '../../../src/defenses/output/reverse-sigmoid.js';
import { expectedCalibrationError, utilityMetrics } from '../../../src/defenses/output/utility.js';
import { FixedScoresModel } from './fixed-scores.js';

/** Dataset of row indices for FixedScoresModel, with the given true labels. */
function indexData(labels: number[]): Dataset {
  return {
    name: 'rows',
    x: Float32Array.from(labels, (_, i) => i),
    y: Int32Array.from(labels),
    shape: [labels.length, 1],
    classNames: ['a', 'b'],
  };
}

describe('utility metrics', () => {
  before(async () => {
    await initRuntime();
  });

  it('ECE is 0 for a perfectly calibrated toy and the confidence gap for an overconfident one', () => {
    // 10 predictions at confidence 0.8, 8 right: calibrated.
    const conf = new Array(10).fill(0.8);
    assert.ok(expectedCalibrationError(conf, [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]) < 1e-12);
    // Two bins, each calibrated: still 0.
    assert.ok(Math.abs(expectedCalibrationError([0.5, 0.5, 1, 1], [1, 0, 1, 1])) < 1e-12);
    // Overconfident: 0.95 claimed, half right → |0.5 − 0.95| = 0.45.
    assert.ok(Math.abs(expectedCalibrationError([0.95, 0.95, 0.95, 0.95], [1, 0, 1, 0]) - 0.45) < 1e-12);
    // Mixed bins weighted by size: bin (0.6, 0.667] has 0.65 with 0/1 right; bin (0.933, 1] has 3 at 1.0, all right.
    assert.ok(Math.abs(expectedCalibrationError([0.65, 1, 1, 1], [0, 1, 1, 1]) - 0.25 * 0.65) < 1e-12);
  });

  it('ECE puts a confidence of exactly 1/15 in the first bin and rejects NaN', () => {
    // 1/15 and 0.05 share the first bin (0, 1/15]: mean confidence 0.0583, accuracy 0.5.
    const e = expectedCalibrationError([1 / 15, 0.05], [1, 0]);
    assert.ok(Math.abs(e - Math.abs(0.5 - (1 / 15 + 0.05) / 2)) < 1e-12);
    assert.throws(() => expectedCalibrationError([Number.NaN], [1]), /confidence 0 is NaN/);
    assert.throws(() => expectedCalibrationError([0.5], [1, 0]), /1 confidences but 2/);
  });

  it('measures accuracy, ECE and agreement of a model and of its defended versions', async () => {
    const rows = [
      [0.9, 0.1],
      [0.8, 0.2],
      [0.3, 0.7],
      [0.6, 0.4],
    ];
    const data = indexData([0, 1, 1, 0]);
    const inner = new FixedScoresModel(rows);
    const plain = await utilityMetrics(inner, data, inner);
    assert.equal(plain.accuracy, 0.75);
    assert.equal(plain.agreement, 1);
    assert.equal(plain.scoresReturned, 1);
    // Bins: 0.9 right, 0.8 wrong, 0.7 right, 0.6 right → ¼(0.1 + 0.8 + 0.3 + 0.4) = 0.4.
    assert.ok(Math.abs(plain.ece - 0.4) < 1e-6);
    // Label-only: confidence 1 for every answer, so ECE = error rate.
    const labels = await utilityMetrics(new LabelOnlyModel(inner), data, inner);
    assert.deepEqual([labels.accuracy, labels.ece, labels.agreement, labels.scoresReturned], [0.75, 0.25, 1, 0]);
    // Reverse sigmoid with γ = 1, β = 1 flattens every row to (½, ½): labels all become class 0.
    const flat = await utilityMetrics(new ReverseSigmoidModel(inner, 1, 1), data, inner);
    assert.equal(flat.agreement, 0.75);
    assert.equal(flat.accuracy, 0.5);
    assert.ok(Math.abs(flat.meanConfidence - 0.5) < 1e-6);
  });
});
