import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initRuntime } from '../../../src/core/runtime.js';
import { RoundedModel, roundingDefense, roundScores } from '../../../src/defenses/output/rounding.js';
import { FixedScoresModel, labelsOf, scoreRows } from './fixed-scores.js';

const f = Math.fround;

describe('rounded output', () => {
  before(async () => {
    await initRuntime();
  });

  it('rounds every score to 2 decimals by default, small ones to exactly 0', async () => {
    const inner = new FixedScoresModel([[0.123456, 0.871234, 0.004, 0.00131]]);
    const model = await roundingDefense.apply(inner, { seed: 0 });
    assert.deepEqual(await scoreRows(model, [0]), [[f(0.12), f(0.87), 0, 0]]);
    assert.equal(model.info.access, 'scores');
  });

  it('keeps the number of decimals asked for', async () => {
    const inner = new FixedScoresModel([[0.123456, 0.871234, 0.004, 0.00131]]);
    assert.deepEqual(await scoreRows(new RoundedModel(inner, 3), [0]), [[f(0.123), f(0.871), f(0.004), f(0.001)]]);
    assert.deepEqual(Array.from(roundScores(Float32Array.from([0.5049, 0.4951]), 1)), [f(0.5), f(0.5)]);
  });

  it('labels are the argmax of the rounded scores: a near-tie becomes a tie, won by the lower index', async () => {
    const inner = new FixedScoresModel([[0.494, 0.506]]);
    assert.deepEqual(await labelsOf(inner, [0]), [1]);
    assert.deepEqual(await labelsOf(new RoundedModel(inner, 2), [0]), [1]);
    assert.deepEqual(await labelsOf(new RoundedModel(inner, 1), [0]), [0]);
  });

  it('rejects decimals outside 1–8', async () => {
    const inner = new FixedScoresModel([[0.5, 0.5]]);
    await assert.rejects(
      roundingDefense.apply(inner, { seed: 0, params: { decimals: 0 } }),
      /'decimals' must be at least 1/,
    );
    await assert.rejects(roundingDefense.apply(inner, { seed: 0, params: { decimals: 'two' } }), /must be a number/);
  });
});
