import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fgsm } from '../../../src/attacks/evasion/fgsm.js';
import { pgd } from '../../../src/attacks/evasion/pgd.js';
import { AccessError, AegisInputError } from '../../../src/core/errors.js';
import { tf } from '../../../src/core/runtime.js';
import { makeThreatModel, type Norm } from '../../../src/core/threat-model.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import { assertNonIncreasing, assertWithinBudget, withoutSeconds } from '../../helpers/evasion-checks.js';
import { type ToyModel, trainToyModel } from '../../helpers/toy-models.js';

const GRIDS: Record<Norm, number[]> = { linf: [0, 0.05, 0.1, 0.15, 0.2], l2: [0, 0.2, 0.4, 0.6, 0.8] };
const STEPS = 20;

describe('PGD', () => {
  let toy: ToyModel;
  before(async () => {
    toy = await trainToyModel({ seed: 12, dims: 20, classes: 3, n: 240 });
  });
  after(() => {
    toy.x.dispose();
    toy.model.dispose();
  });

  const threat = (norm: Norm, epsilons: number[]) => makeThreatModel({ access: 'gradients', norm, epsilons });

  for (const norm of ['linf', 'l2'] as const) {
    it(`lowers accuracy monotonically with eps and at least as much as FGSM (${norm})`, async () => {
      const grid = GRIDS[norm];
      const result = await pgd.run(toy.model, toy, threat(norm, grid), { seed: 3, steps: STEPS });
      const single = await fgsm.run(toy.model, toy, threat(norm, grid), { seed: 3 });
      const accuracy = result.rows.map((r) => r.accuracy);
      assert.ok((accuracy[0] as number) >= 0.95, `clean accuracy ${accuracy[0]}`);
      assertNonIncreasing(accuracy, `PGD-${norm} accuracy`);
      assert.ok((accuracy.at(-1) as number) <= 0.1, `accuracy at the largest eps is still ${accuracy.at(-1)}`);
      result.rows.forEach((row, i) => {
        const f = single.rows[i]?.accuracy as number;
        assert.ok(row.accuracy <= f, `eps ${row.eps}: PGD accuracy ${row.accuracy} > FGSM ${f}`);
        assert.equal(row.gradients, toy.y.length * STEPS);
        assert.equal(row.queries, 0);
      });
    });

    it(`keeps every adversarial within eps (${norm}) and inside [0, 1]`, async () => {
      for (const eps of GRIDS[norm].slice(1)) {
        const result = await pgd.run(toy.model, toy, threat(norm, [eps]), {
          seed: 3,
          steps: 10,
          keepExamples: toy.y.length,
        });
        assertWithinBudget(result.examples!, eps, norm);
      }
    });
  }

  it('gives identical rows for the same seed', async () => {
    const t = threat('linf', [0.1, 0.15]);
    const a = await pgd.run(toy.model, toy, t, { seed: 9, steps: 5, batchSize: 64 });
    const b = await pgd.run(toy.model, toy, t, { seed: 9, steps: 5, batchSize: 64 });
    assert.deepEqual(withoutSeconds(a.rows), withoutSeconds(b.rows));
    assert.deepEqual(a.examples, b.examples);
  });

  it('restarts keep earlier successes (never worse than one start with the same seed)', async () => {
    const t = threat('linf', [0.1]);
    const options = { seed: 5, steps: 3, batchSize: 1000 };
    const one = await pgd.run(toy.model, toy, t, options);
    const three = await pgd.run(toy.model, toy, t, { ...options, restarts: 3 });
    assert.ok(three.rows[0]!.accuracy <= one.rows[0]!.accuracy);
    const g = three.rows[0]!.gradients as number;
    assert.ok(g >= toy.y.length * 3 && g <= toy.y.length * 9, `gradients ${g}`);
  });

  it('honours stepSize as an absolute step (0 leaves only the random start)', async () => {
    const t = threat('linf', [0.15]);
    const still = await pgd.run(toy.model, toy, t, { seed: 5, steps: 5, stepSize: 0 });
    const moving = await pgd.run(toy.model, toy, t, { seed: 5, steps: 5 });
    assert.ok(still.rows[0]!.accuracy > moving.rows[0]!.accuracy + 0.3, 'random noise alone should rarely fool');
    await assert.rejects(pgd.run(toy.model, toy, t, { seed: 5, stepSize: -1 }), AegisInputError);
    await assert.rejects(pgd.run(toy.model, toy, t, { seed: 5, steps: 0 }), AegisInputError);
  });

  it('reports progress up to the total', async () => {
    const calls: Array<[number, number]> = [];
    await pgd.run(toy.model, toy, threat('l2', [0.2, 0.4]), {
      seed: 1,
      steps: 2,
      batchSize: 100,
      onProgress: (done, total) => calls.push([done, total]),
    });
    assert.deepEqual(calls.at(-1), [2 * toy.y.length, 2 * toy.y.length]);
    assert.equal(calls.length, 6, 'one call per batch per eps');
  });

  it('rejects bad inputs: labels out of range, mismatched labels, scores-only model', async () => {
    const t = threat('linf', [0.1]);
    const badLabels = Int32Array.from(toy.y, (v, i) => (i === 7 ? 3 : v));
    await assert.rejects(pgd.run(toy.model, { x: toy.x, y: badLabels }, t, { seed: 1 }), /label 3 of example 7/);
    await assert.rejects(pgd.run(toy.model, { x: toy.x, y: toy.y.subarray(1) }, t, { seed: 1 }), AegisInputError);
    const scoresOnly = new QueryCountingModel(toy.model, 'scores');
    await assert.rejects(pgd.run(scoresOnly, toy, t, { seed: 1 }), AccessError);
  });

  it('does not leak tensors (with restarts and several batches)', async () => {
    const before = tf.memory().numTensors;
    await pgd.run(toy.model, toy, threat('linf', [0.05, 0.2]), { seed: 1, steps: 3, restarts: 2, batchSize: 70 });
    await pgd.run(toy.model, toy, threat('l2', [0.4]), { seed: 1, steps: 3, batchSize: 70 });
    assert.equal(tf.memory().numTensors, before);
  });
});
