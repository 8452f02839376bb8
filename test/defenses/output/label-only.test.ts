import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { AccessError } from '../../../src/core/errors.js';
import { initRuntime } from '../../../src/core/runtime.js';
import { LabelOnlyModel, labelOnlyDefense } from '../../../src/defenses/output/label-only.js';
import { requireAccess } from '../../../src/models/model.js';
import { FixedScoresModel, labelsOf, scoreRows } from './fixed-scores.js';

describe('label-only output', () => {
  before(async () => {
    await initRuntime();
  });

  it('answers labels but refuses scores with an AccessError, without querying the model', async () => {
    const inner = new FixedScoresModel(
      [
        [0.1, 0.9],
        [0.8, 0.2],
      ],
      'gradients',
    );
    const model = await labelOnlyDefense.apply(inner, { seed: 0 });
    assert.equal(model.info.access, 'labels');
    assert.deepEqual(await labelsOf(model, [0, 1]), [1, 0]);
    await assert.rejects(scoreRows(model, [0]), (e: unknown) => {
      assert.ok(e instanceof AccessError);
      assert.match(e.message, /needs 'scores' access, but model 'fixed\+label-only' only grants 'labels'/);
      return true;
    });
    assert.equal(inner.scoreCalls, 0);
    assert.throws(() => requireAccess(model, 'scores', 'the loss threshold attack'), AccessError);
  });

  it('wraps a model that already grants labels only, and takes no parameters', async () => {
    const inner = new FixedScoresModel([[0.3, 0.7]], 'labels');
    assert.deepEqual(await labelsOf(new LabelOnlyModel(inner), [0]), [1]);
    await assert.rejects(
      labelOnlyDefense.apply(inner, { seed: 0, params: { k: 1 } }),
      /label-only: unknown parameter 'k'; it takes none/,
    );
  });
});
