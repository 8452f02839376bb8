import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fgsm } from '../../../src/attacks/evasion/fgsm.js';
import { AccessError } from '../../../src/core/errors.js';
import { tf } from '../../../src/core/runtime.js';
import { makeThreatModel, type Norm } from '../../../src/core/threat-model.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import { assertNonIncreasing, assertWithinBudget } from '../../helpers/evasion-checks.js';
import { type ToyModel, trainToyModel } from '../../helpers/toy-models.js';

const LINF = [0, 0.05, 0.1, 0.15, 0.2];
const L2 = [0, 0.2, 0.4, 0.6, 0.8];

describe('FGSM', () => {
  let toy: ToyModel;
  before(async () => {
    toy = await trainToyModel({ seed: 11, dims: 20, classes: 3, n: 240 });
  });
  after(() => {
    toy.x.dispose();
    toy.model.dispose();
  });

  const threat = (norm: Norm, epsilons: number[]) => makeThreatModel({ access: 'gradients', norm, epsilons });

  it('lowers accuracy as eps grows, from clean accuracy at eps 0 (L-inf)', async () => {
    const n = toy.y.length;
    const result = await fgsm.run(toy.model, toy, threat('linf', LINF), { seed: 1 });
    assert.equal(result.attack, 'fgsm');
    assert.equal(result.atlas, 'AML.T0043.000');
    assert.deepEqual(
      result.rows.map((r) => r.eps),
      LINF,
    );
    const accuracy = result.rows.map((r) => r.accuracy);
    assert.ok((accuracy[0] as number) >= 0.95, `clean accuracy ${accuracy[0]}`);
    assertNonIncreasing(accuracy, 'FGSM accuracy');
    assert.ok((accuracy.at(-1) as number) < 0.3, `accuracy at eps 0.2 is still ${accuracy.at(-1)}`);
    for (const row of result.rows) {
      assert.equal(row.queries, 0);
      assert.equal(row.gradients, n, 'one gradient per example');
      if (row.successRate > 0) assert.ok(Math.abs(row.meanPerturbation - row.eps) < 1e-4, 'L-inf step is exactly eps');
    }
    assert.equal(result.examples?.eps, 0.2);
    assert.equal(result.examples?.clean.length, 8);
  });

  for (const [norm, grid] of [
    ['linf', LINF],
    ['l2', L2],
  ] as const) {
    it(`keeps every adversarial within eps (${norm}) and inside [0, 1]`, async () => {
      for (const eps of grid.slice(1)) {
        const result = await fgsm.run(toy.model, toy, threat(norm, [eps]), { seed: 1, keepExamples: toy.y.length });
        assert.equal(result.examples?.adversarial.length, toy.y.length);
        assertWithinBudget(result.examples!, eps, norm);
      }
    });
  }

  it('L2 variant lowers accuracy monotonically', async () => {
    const result = await fgsm.run(toy.model, toy, threat('l2', L2), { seed: 1 });
    const accuracy = result.rows.map((r) => r.accuracy);
    assertNonIncreasing(accuracy, 'FGSM-L2 accuracy');
    assert.ok((accuracy.at(-1) as number) < 0.3, `accuracy at L2 eps 0.8 is still ${accuracy.at(-1)}`);
  });

  it('needs gradients: a scores-only model gives AccessError', async () => {
    const scoresOnly = new QueryCountingModel(toy.model, 'scores');
    await assert.rejects(fgsm.run(scoresOnly, toy, threat('linf', [0.1]), { seed: 1 }), AccessError);
  });

  it('does not leak tensors', async () => {
    await fgsm.run(toy.model, toy, threat('linf', LINF), { seed: 1, batchSize: 50 });
    const before = tf.memory().numTensors;
    await fgsm.run(toy.model, toy, threat('l2', L2), { seed: 1, batchSize: 50 });
    assert.equal(tf.memory().numTensors, before);
  });
});
