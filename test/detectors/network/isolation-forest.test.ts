import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { rocAuc } from '../../../src/detectors/metrics.js';
import { averagePathLength, IsolationForest } from '../../../src/detectors/network/isolation-forest.js';

/** n inliers ~ N(0, 1)^d, then `outliers` rows shifted by 6 along feature `shifted`. */
function data(n: number, outliers: number, d: number, shifted: number, seed: number) {
  const rng = new Rng(seed);
  const rows = n + outliers;
  const x = rng.normalArray(rows * d);
  for (let i = n; i < rows; i++) x[i * d + shifted] = (x[i * d + shifted] as number) + 6;
  return { x, rows, dimension: d };
}

describe('isolation forest', () => {
  it('c(n) matches Liu et al.: c(2) = 1, c(256) ≈ 10.24', () => {
    assert.equal(averagePathLength(1), 0);
    assert.equal(averagePathLength(2), 1);
    assert.ok(Math.abs(averagePathLength(256) - 10.244) < 1e-3);
  });

  it('scores planted outliers above inliers and credits the feature that isolates them', () => {
    const train = data(1000, 0, 3, 0, 1);
    const forest = IsolationForest.fit(train, { seed: 3, trees: 100 });
    const test = data(300, 30, 3, 2, 2);
    const scores = forest.score(test);
    const truth = Array.from({ length: test.rows }, (_, i) => (i >= 300 ? 1 : 0));
    assert.ok(rocAuc(scores, truth) > 0.95, `AUC ${rocAuc(scores, truth)}`);
    const inlierMean = scores.slice(0, 300).reduce((a, b) => a + b, 0) / 300;
    const outlierMean = scores.slice(300).reduce((a, b) => a + b, 0) / 30;
    assert.ok(inlierMean < 0.5 && outlierMean > 0.58, `inliers ${inlierMean}, outliers ${outlierMean}`);
    const attribution = forest.attribution(test, 310);
    const top = attribution.indexOf(Math.max(...attribution));
    assert.equal(top, 2, `attribution ${Array.from(attribution)}`);
    assert.ok(Math.abs(attribution.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  });

  it('is reproducible from its seed and from its JSON', () => {
    const train = data(500, 0, 4, 0, 4);
    const a = IsolationForest.fit(train, { seed: 9, trees: 20 });
    const b = IsolationForest.fit(train, { seed: 9, trees: 20 });
    const c = IsolationForest.fit(train, { seed: 10, trees: 20 });
    const probe = data(20, 5, 4, 1, 5);
    assert.deepEqual(a.score(probe), b.score(probe));
    assert.notDeepEqual(a.score(probe), c.score(probe));
    const copy = IsolationForest.fromJson(JSON.parse(JSON.stringify(a.toJson())));
    assert.deepEqual(copy.score(probe), a.score(probe));
  });

  it('refuses rows of another width and bad options', () => {
    const forest = IsolationForest.fit(data(50, 0, 3, 0, 6), { seed: 1, trees: 5 });
    assert.throws(() => forest.score(data(5, 0, 4, 0, 7)), /rows have 4 features, the forest was grown on 3/);
    assert.throws(() => IsolationForest.fit(data(50, 0, 3, 0, 6), { seed: 1, trees: 0 }), /trees must be >= 1/);
    assert.throws(() => IsolationForest.fromJson({ format: 'aegis-isolation-forest', version: 1 }), /dimension/);
  });
});
