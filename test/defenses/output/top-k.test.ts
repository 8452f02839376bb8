import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { AccessError, AegisInputError } from '../../../src/core/errors.js';
import { initRuntime } from '../../../src/core/runtime.js';
import { TopKModel, topKDefense, topKScores } from '../../../src/defenses/output/top-k.js';
import { isDifferentiable } from '../../../src/models/model.js';
import { FixedScoresModel, labelsOf, scoreRows } from './fixed-scores.js';

const f = Math.fround;
const ROWS = [
  [0.1, 0.5, 0.05, 0.3, 0.05],
  [0.2, 0.2, 0.2, 0.2, 0.2],
  [0.7, 0.0, 0.1, 0.1, 0.1],
];

describe('top-k output', () => {
  before(async () => {
    await initRuntime();
  });

  it('keeps the k largest scores as they are and zeroes the rest', async () => {
    const model = await topKDefense.apply(new FixedScoresModel(ROWS), { seed: 0, params: { k: 2 } });
    assert.deepEqual(await scoreRows(model, [0]), [[0, f(0.5), 0, f(0.3), 0]]);
    // Ties at the k-th place: the lower class index wins, so exactly k survive.
    assert.deepEqual(await scoreRows(model, [1, 2]), [
      [f(0.2), f(0.2), 0, 0, 0],
      [f(0.7), 0, f(0.1), 0, 0],
    ]);
  });

  it('top-1 without renormalising returns the top probability; with renormalising a one-hot vector', async () => {
    const inner = new FixedScoresModel(ROWS);
    assert.deepEqual(await scoreRows(new TopKModel(inner, 1), [0]), [[0, f(0.5), 0, 0, 0]]);
    assert.deepEqual(await scoreRows(new TopKModel(inner, 1, true), [0, 2]), [
      [0, 1, 0, 0, 0],
      [1, 0, 0, 0, 0],
    ]);
    const renormalised = topKScores(Float32Array.from(ROWS[0] as number[]), 5, 2, true);
    assert.deepEqual(Array.from(renormalised), [0, f(f(0.5) / (f(0.5) + f(0.3))), 0, f(f(0.3) / (f(0.5) + f(0.3))), 0]);
  });

  it('keeps the top-1 label and hides gradients', async () => {
    const model = await topKDefense.apply(new FixedScoresModel(ROWS, 'gradients'), { seed: 0 });
    assert.deepEqual(await labelsOf(model, [0, 1, 2]), [1, 0, 0]);
    assert.equal(model.info.access, 'scores');
    assert.equal(isDifferentiable(model), false);
    assert.match(model.info.name, /top-3/); // default k = 3
  });

  it('rejects bad parameters and label-only models with clear messages', async () => {
    const inner = new FixedScoresModel(ROWS);
    await assert.rejects(
      topKDefense.apply(inner, { seed: 0, params: { k: 0 } }),
      /top-k: parameter 'k' must be at least 1/,
    );
    await assert.rejects(topKDefense.apply(inner, { seed: 0, params: { k: 6 } }), /must be at most 5/);
    await assert.rejects(topKDefense.apply(inner, { seed: 0, params: { k: '2.5' } }), /whole number/);
    await assert.rejects(
      topKDefense.apply(inner, { seed: 0, params: { kk: 2 } }),
      /unknown parameter 'kk'; valid: k, renormalise/,
    );
    await assert.rejects(topKDefense.apply(inner, { seed: 0, params: { renormalise: 'yes' } }), AegisInputError);
    const model = await topKDefense.apply(inner, { seed: 0, params: { k: '2', renormalise: 'true' } });
    assert.deepEqual(await scoreRows(model, [2]), [[f(0.7 / 0.8), 0, f(0.1 / 0.8), 0, 0]]);
    await assert.rejects(topKDefense.apply(new FixedScoresModel(ROWS, 'labels'), { seed: 0 }), AccessError);
  });
});
