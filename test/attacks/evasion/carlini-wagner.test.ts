import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { carliniWagner, createCarliniWagner, updateConstants } from '../../../src/attacks/evasion/carlini-wagner.js';
import { pgd } from '../../../src/attacks/evasion/pgd.js';
import { AccessError, AegisInputError } from '../../../src/core/errors.js';
import { tf } from '../../../src/core/runtime.js';
import { makeThreatModel } from '../../../src/core/threat-model.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import { assertNonIncreasing, assertWithinBudget, withoutSeconds } from '../../helpers/evasion-checks.js';
import { type ToyModel, trainToyModel } from '../../helpers/toy-models.js';

const GRID = [0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 5];

describe('Carlini-Wagner L2', () => {
  let toy: ToyModel;
  before(async () => {
    toy = await trainToyModel({ seed: 13, dims: 20, classes: 3, n: 120 });
  });
  after(() => {
    toy.x.dispose();
    toy.model.dispose();
  });

  const l2 = (epsilons: number[]) => makeThreatModel({ access: 'gradients', norm: 'l2', epsilons });

  it('fools almost every example with a smaller L2 than PGD needs for the same success', async () => {
    const cw = await carliniWagner.run(toy.model, toy, l2(GRID), { seed: 1, keepExamples: toy.y.length });
    const unclipped = cw.rows.at(-1)!;
    assert.ok(cw.rows[0]!.accuracy >= 0.95, `clean accuracy ${cw.rows[0]!.accuracy}`);
    assert.ok(unclipped.successRate >= 0.95, `C&W success ${unclipped.successRate}`);
    assert.equal(cw.examples?.eps, 5);
    assertWithinBudget(cw.examples!, 5, 'l2');

    const p = await pgd.run(toy.model, toy, l2(GRID.slice(1)), { seed: 1, steps: 20 });
    const needed = p.rows.find((r) => r.successRate >= unclipped.successRate);
    assert.ok(needed, 'PGD-L2 should reach C&W success somewhere on the grid');
    assert.ok(
      unclipped.meanPerturbation < needed.eps,
      `C&W mean L2 ${unclipped.meanPerturbation} should be below PGD's eps ${needed.eps}`,
    );
  });

  it('gives rows monotone in eps, clipped within each budget, with the whole run on each row', async () => {
    const result = await carliniWagner.run(toy.model, toy, l2([0.3, 0.45]), { seed: 1, steps: 30, keepExamples: 200 });
    assertNonIncreasing(
      result.rows.map((r) => r.accuracy),
      'C&W accuracy',
    );
    assertWithinBudget(result.examples!, 0.45, 'l2');
    const [a, b] = result.rows;
    assert.equal(a!.gradients, b!.gradients);
    assert.equal(a!.seconds, b!.seconds);
    assert.ok((a!.gradients as number) <= toy.y.length * 30 * 5);
    for (const row of result.rows) assert.ok(row.meanPerturbation <= row.eps + 1e-5);
  });

  it('gives identical rows for the same seed', async () => {
    const t = l2([0.3, 0.6]);
    const a = await carliniWagner.run(toy.model, toy, t, { seed: 4, steps: 20 });
    const b = await carliniWagner.run(toy.model, toy, t, { seed: 4, steps: 20 });
    assert.deepEqual(withoutSeconds(a.rows), withoutSeconds(b.rows));
  });

  it('binary search: shrinks c after success, grows it x10 until bounded after failure', () => {
    const c = Float64Array.from([1, 1, 0.1]);
    const lower = new Float64Array(3);
    const upper = Float64Array.from([1e10, 1e10, 2]);
    updateConstants(Uint8Array.from([1, 0, 0]), c, lower, upper);
    assert.deepEqual([...c], [0.5, 10, 1.05]);
    assert.deepEqual([...upper], [1, 1e10, 2]);
    assert.deepEqual([...lower], [0, 1, 0.1]);
  });

  it('refuses L-inf (this is the L2 attack) and scores-only models', async () => {
    const linf = makeThreatModel({ access: 'gradients', norm: 'linf', epsilons: [0.1] });
    await assert.rejects(carliniWagner.run(toy.model, toy, linf, { seed: 1 }), (error: unknown) => {
      assert.ok(error instanceof AegisInputError && !(error instanceof AccessError));
      assert.match(error.message, /l2/);
      return true;
    });
    const scoresOnly = new QueryCountingModel(toy.model, 'scores');
    await assert.rejects(carliniWagner.run(scoresOnly, toy, l2([0.5]), { seed: 1 }), AccessError);
    assert.throws(() => createCarliniWagner({ initialConst: 0 }), AegisInputError);
  });

  it('does not leak tensors', async () => {
    const before = tf.memory().numTensors;
    await carliniWagner.run(toy.model, toy, l2([0.5]), { seed: 1, steps: 10, batchSize: 50 });
    assert.equal(tf.memory().numTensors, before);
  });
});
