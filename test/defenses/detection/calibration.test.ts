import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { checkFpr, flaggedRate, flagScores, thresholdAtFpr } from '../../../src/defenses/detection/calibration.js';
import { detectionMetrics } from '../../../src/defenses/detection/evaluate-detection.js';

describe('thresholdAtFpr', () => {
  it('flags exactly floor(fpr·n) of distinct calibration scores', () => {
    const rng = new Rng(1);
    for (const [n, fpr] of [
      [500, 0.05],
      [1000, 0.01],
      [37, 0.1],
      [10, 0.5],
    ] as const) {
      const scores = rng.normalArray(n);
      const t = thresholdAtFpr(scores, fpr);
      const flagged = flagScores(scores, t).reduce((a, b) => a + b, 0);
      assert.equal(flagged, Math.floor(fpr * n), `n=${n} fpr=${fpr}`);
    }
  });

  it('never exceeds the target on ties (all-equal scores flag nothing)', () => {
    assert.equal(
      flaggedRate(new Float32Array(100).fill(0.3), thresholdAtFpr(new Float32Array(100).fill(0.3), 0.05)),
      0,
    );
  });

  it('gives the target FPR on fresh clean scores, within sampling error (measured)', () => {
    const rng = new Rng(2);
    const fpr = 0.05;
    const calibration = rng.normalArray(2000);
    const fresh = rng.normalArray(20000);
    const t = thresholdAtFpr(calibration, fpr);
    // The quantile of 2000 draws has sd ≈ sqrt(p(1-p)/n) = 0.0049 in FPR; the fresh rate adds 0.0015.
    const rate = flaggedRate(fresh, t);
    assert.ok(Math.abs(rate - fpr) < 3 * 0.0052, `fresh FPR ${rate} vs target ${fpr}`);
  });

  it('rejects fpr outside (0, 0.5], empty and NaN scores', () => {
    for (const bad of [0, -0.1, 0.51, 1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => thresholdAtFpr(new Float32Array([1, 2, 3]), bad), AegisInputError, `fpr ${bad}`);
      assert.throws(() => checkFpr(bad, 'x'), /fpr' must be in \(0, 0.5\]/);
    }
    assert.throws(() => thresholdAtFpr(new Float32Array(0), 0.05), /no clean scores/);
    assert.throws(() => thresholdAtFpr(new Float32Array([1, Number.NaN]), 0.05), /score of example 1 is NaN/);
  });
});

describe('detectionMetrics', () => {
  it('counts only adversarial examples that fool the model, from correctly classified inputs', () => {
    const labels = new Int32Array([0, 1, 2, 0, 1, 2]);
    // Example 5 is misclassified clean: never counted. Example 3's attack failed: not counted.
    const cleanPredictions = new Int32Array([0, 1, 2, 0, 1, 0]);
    const adversarialPredictions = new Int32Array([1, 2, 0, 0, 2, 1]);
    const cleanScores = new Float32Array([0.1, 0.2, 0.9, 0.3, 0.1, 0.2]);
    const adversarialScores = new Float32Array([0.8, 0.3, 0.95, 0.99, 0.7, 0.99]);
    const m = detectionMetrics({
      labels,
      cleanPredictions,
      adversarialPredictions,
      cleanScores,
      adversarialScores,
      threshold: 0.5,
    });
    assert.equal(m.cleanCorrect, 5);
    assert.equal(m.successful, 4); // examples 0, 1, 2, 4
    assert.equal(m.detectionRate, 3 / 4); // 0.8, 0.95, 0.7 flagged; 0.3 not
    assert.equal(m.falsePositiveRate, 1 / 6); // clean 0.9
    assert.equal(m.undetectedSuccessRate, 1 / 5);
    assert.equal(m.attackSuccessRate, 4 / 5);
    // AUC: P(adv score > clean score) over 4×6 pairs; 0.3 beats 4 of 6 cleans (ties count half: 0.3 vs 0.3).
    const adv = Float32Array.from([0.8, 0.3, 0.95, 0.7]);
    let wins = 0;
    for (const a of adv) for (const c of cleanScores) wins += a > c ? 1 : a === c ? 0.5 : 0;
    assert.ok(Math.abs((m.auc ?? 0) - wins / 24) < 1e-6, `auc ${m.auc} vs ${wins / 24}`);
  });

  it('reports null rates when no attack succeeded', () => {
    const y = new Int32Array([0, 1]);
    const m = detectionMetrics({
      labels: y,
      cleanPredictions: y,
      adversarialPredictions: y,
      cleanScores: new Float32Array([0, 0]),
      adversarialScores: new Float32Array([1, 1]),
      threshold: 0.5,
    });
    assert.equal(m.detectionRate, null);
    assert.equal(m.auc, null);
    assert.equal(m.undetectedSuccessRate, 0);
  });
});
