import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { thresholdAtFpr } from '../../../src/detectors/metrics.js';
import { fitGpd, tailThreshold } from '../../../src/detectors/phishing/tail-threshold.js';

/** Standard logistic sample (the logit of a uniform). */
const logistic = (r: Rng) => {
  const u = r.next();
  return Math.log(u / (1 - u));
};

describe('generalized Pareto fit', () => {
  it('recovers the shape and scale of heavy, exponential and bounded tails', () => {
    const r = new Rng(7);
    const cases = [
      { shape: 0.3, scale: 2, draw: () => (2 / 0.3) * ((1 - r.next()) ** -0.3 - 1) },
      { shape: 0, scale: 1.5, draw: () => -1.5 * Math.log(1 - r.next()) },
      { shape: -0.25, scale: 0.75, draw: () => 3 * (1 - (1 - r.next()) ** 0.25) },
    ];
    for (const c of cases) {
      const fit = fitGpd(Array.from({ length: 2000 }, c.draw));
      assert.ok(Math.abs(fit.shape - c.shape) < 0.08, `shape ${fit.shape} for true ${c.shape}`);
      assert.ok(Math.abs(fit.scale / c.scale - 1) < 0.1, `scale ${fit.scale} for true ${c.scale}`);
    }
  });

  it('refuses non-positive exceedances', () => {
    assert.throws(
      () => fitGpd([1, 2, 0]),
      (e: Error) => e instanceof AegisInputError && /> 0/.test(e.message),
    );
  });
});

describe('tail-fit threshold', () => {
  it('lands near the true 0.1% quantile of a known distribution, closer than the order statistic', () => {
    // Logistic scores: P(s > t) = 1 / (1 + e^t), so the 0.1% quantile is ln 999 ≈ 6.91.
    const truth = Math.log(999);
    let tailSq = 0;
    let empiricalSq = 0;
    let tailMean = 0;
    const runs = 30;
    for (let s = 0; s < runs; s++) {
      const r = new Rng(s);
      const scores = Array.from({ length: 3000 }, () => logistic(r));
      const fit = tailThreshold(scores, 0.001);
      assert.equal(fit.samples, 3000);
      assert.equal(fit.exceedances, 60);
      tailMean += fit.threshold / runs;
      tailSq += (fit.threshold - truth) ** 2 / runs;
      empiricalSq += (thresholdAtFpr(scores, 0.001) - truth) ** 2 / runs;
    }
    assert.ok(Math.abs(tailMean - truth) < 0.3, `mean estimate ${tailMean} vs ${truth}`);
    assert.ok(Math.sqrt(tailSq) < 0.5, `RMSE ${Math.sqrt(tailSq)}`);
    assert.ok(tailSq < empiricalSq, `tail fit MSE ${tailSq} should beat the order statistic's ${empiricalSq}`);
  });

  it('refuses too few samples, a target outside the tail and NaN scores with a clear message', () => {
    const r = new Rng(1);
    const few = Array.from({ length: 500 }, () => logistic(r));
    assert.throws(
      () => tailThreshold(few, 0.001),
      (e: Error) => e instanceof AegisInputError && /500 benign scores are too few.*at least 1000/.test(e.message),
    );
    const many = Array.from({ length: 2000 }, () => logistic(r));
    assert.throws(
      () => tailThreshold(many, 0.05),
      (e: Error) => e instanceof AegisInputError && /target/.test(e.message),
    );
    assert.throws(
      () => tailThreshold([...many, Number.NaN], 0.001),
      (e: Error) => e instanceof AegisInputError && /NaN/.test(e.message),
    );
  });
});
