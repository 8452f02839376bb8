import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDeepFool, deepFool } from '../../../src/attacks/evasion/deepfool.js';
import { pgd } from '../../../src/attacks/evasion/pgd.js';
import { AccessError, AegisInputError } from '../../../src/core/errors.js';
import { tf } from '../../../src/core/runtime.js';
import { makeThreatModel, type Norm } from '../../../src/core/threat-model.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import { assertNonIncreasing, assertWithinBudget, withoutSeconds } from '../../helpers/evasion-checks.js';
import { type ToyModel, trainToyModel } from '../../helpers/toy-models.js';

const GRIDS: Record<Norm, number[]> = {
  l2: [0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 5],
  linf: [0, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 1],
};

describe('DeepFool', () => {
  let toy: ToyModel;
  before(async () => {
    // Five classes, so the candidate search over several classes matters.
    toy = await trainToyModel({ seed: 14, dims: 20, classes: 5, n: 200 });
  });
  after(() => {
    toy.x.dispose();
    toy.model.dispose();
  });

  const threat = (norm: Norm, epsilons: number[]) => makeThreatModel({ access: 'gradients', norm, epsilons });

  for (const norm of ['l2', 'linf'] as const) {
    it(`fools almost every example, below the budget PGD needs for the same success (${norm})`, async () => {
      const grid = GRIDS[norm];
      const result = await deepFool.run(toy.model, toy, threat(norm, grid), { seed: 1, keepExamples: 500 });
      const unclipped = result.rows.at(-1)!;
      assert.ok(result.rows[0]!.accuracy >= 0.95, `clean accuracy ${result.rows[0]!.accuracy}`);
      assert.ok(unclipped.successRate >= 0.95, `DeepFool success ${unclipped.successRate}`);
      assertNonIncreasing(
        result.rows.map((r) => r.accuracy),
        `DeepFool-${norm} accuracy`,
      );
      assertWithinBudget(result.examples!, grid.at(-1) as number, norm);
      const p = await pgd.run(toy.model, toy, threat(norm, grid.slice(1, -1)), { seed: 1, steps: 20 });
      const needed = p.rows.find((r) => r.successRate >= unclipped.successRate);
      assert.ok(needed, 'PGD should reach DeepFool success somewhere on the grid');
      assert.ok(
        unclipped.meanPerturbation < needed.eps,
        `DeepFool mean ${norm} ${unclipped.meanPerturbation} should be below PGD's eps ${needed.eps}`,
      );
      // A few iterations suffice on a near-linear model: far fewer gradients than PGD.
      assert.ok((unclipped.gradients as number) < (p.rows[0]!.gradients as number));
    });
  }

  it('clips each row to its budget and gives identical rows for the same seed', async () => {
    const t = threat('l2', [0.25, 0.35]);
    const a = await deepFool.run(toy.model, toy, t, { seed: 2, keepExamples: 500 });
    const b = await deepFool.run(toy.model, toy, t, { seed: 2, keepExamples: 500 });
    assert.deepEqual(withoutSeconds(a.rows), withoutSeconds(b.rows));
    assertWithinBudget(a.examples!, 0.35, 'l2');
    for (const row of a.rows) assert.ok(row.meanPerturbation <= row.eps + 1e-5);
  });

  it('respects the iteration limit: one step with no overshoot fools fewer examples', async () => {
    const t = threat('l2', [5]);
    const once = await createDeepFool({ overshoot: 0 }).run(toy.model, toy, t, { seed: 1, steps: 1 });
    const full = await deepFool.run(toy.model, toy, t, { seed: 1 });
    assert.ok(once.rows[0]!.successRate < full.rows[0]!.successRate);
    assert.ok((once.rows[0]!.gradients as number) <= toy.y.length * 5);
  });

  it('needs gradients and valid settings', async () => {
    const scoresOnly = new QueryCountingModel(toy.model, 'scores');
    await assert.rejects(deepFool.run(scoresOnly, toy, threat('l2', [0.5]), { seed: 1 }), AccessError);
    assert.throws(() => createDeepFool({ candidates: 1 }), AegisInputError);
  });

  it('does not leak tensors', async () => {
    const before = tf.memory().numTensors;
    await deepFool.run(toy.model, toy, threat('linf', [0.1]), { seed: 1, batchSize: 64 });
    await deepFool.run(toy.model, toy, threat('l2', [0.4]), { seed: 1, batchSize: 64 });
    assert.equal(tf.memory().numTensors, before);
  });
});
