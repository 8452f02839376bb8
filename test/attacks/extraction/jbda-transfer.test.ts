import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FidelityEvaluator } from '../../../src/attacks/extraction/fidelity.js';
import { jacobianAugmentation, jbdaStep } from '../../../src/attacks/extraction/jbda.js';
import { knockoffNets } from '../../../src/attacks/extraction/knockoff.js';
import { transferAttack } from '../../../src/attacks/extraction/transfer.js';
import { Rng } from '../../../src/core/rng.js';
import { tf } from '../../../src/core/runtime.js';
import { type Dataset, slice } from '../../../src/data/dataset.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import type { TfjsModel } from '../../../src/models/tfjs-model.js';
import { teacherData, teacherVictim } from './synthetic-victim.js';

let victim: TfjsModel;
let attackerData: Dataset;
let heldOut: Dataset;
let evaluator: FidelityEvaluator;

before(async () => {
  victim = await teacherVictim(3, 6, 4, 12);
  attackerData = await teacherData(victim, 1000, 21, 'attacker-uniform');
  heldOut = await teacherData(victim, 1000, 22, 'held-out');
  evaluator = await FidelityEvaluator.create(victim, heldOut);
});

after(() => victim.dispose());

const training = { surrogate: 'mlp' as const, epochs: 60, batchSize: 32, learningRate: 3e-3 };

describe('Jacobian-based dataset augmentation (Papernot et al. 2017)', () => {
  test('periodic step size flips sign every τ rounds', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((r) => jbdaStep(0.1, r, 2)),
      [0.1, 0.1, -0.1, -0.1, 0.1],
    );
    assert.equal(jbdaStep(0.1, 5), 0.1);
  });

  test('augmentation improves on the seed set, with labels only, within the budget', async () => {
    const counted = new QueryCountingModel(victim, 'labels');
    const { result, surrogate } = await jacobianAugmentation(counted, attackerData, evaluator, {
      budgets: [300],
      seed: 1,
      seedSize: 20,
      rounds: 5,
      lambda: 0.1,
      tau: 2,
      ...training,
    });
    const queries = result.rows.map((r) => r.queries);
    assert.deepEqual(
      queries,
      [20, 40, 80, 160, 300],
      'the set doubles each round; the last round is cut to the budget',
    );
    assert.equal(counted.queries, 300);
    const first = result.rows[0]?.fidelity as number;
    const last = result.rows[result.rows.length - 1]?.fidelity as number;
    assert.ok(last > first + 0.05, `fidelity ${first} (seed set) → ${last} (augmented)`);
    assert.equal(result.threatModel.access, 'labels');
    surrogate.dispose();
  });
});

describe('transfer attack from a stolen surrogate', () => {
  test('PGD on the surrogate fools the victim far more often than random noise of the same size', async () => {
    const { surrogate } = await knockoffNets(victim, attackerData, evaluator, {
      budgets: [800],
      strategy: 'random',
      seed: 2,
      ...training,
    });
    const data = slice(heldOut, 0, 300);
    const tensorsBefore = tf.memory().numTensors;
    const transfer = await transferAttack(surrogate, victim, data, { seed: 3, epsilons: [0.1], source: 'knockoff' });
    assert.equal(tf.memory().numTensors, tensorsBefore, 'no leaked tensors');
    const row = transfer.rows[0];
    assert.ok(row);
    assert.equal(transfer.atlas, 'AML.T0043.002');
    assert.equal(row.queries, 300, 'one victim query per adversarial example');
    // Chance baseline: random corners of the same L-inf ball.
    const rng = new Rng(4);
    const noisy = Float32Array.from(data.x, (v) => Math.min(1, Math.max(0, v + (rng.next() < 0.5 ? -0.1 : 0.1))));
    const t = tf.tensor2d(noisy, data.shape as [number, number]);
    const labels = await victim.predictLabels(t);
    t.dispose();
    let flipped = 0;
    labels.forEach((label, i) => {
      if (label !== data.y[i]) flipped++;
    });
    const chance = flipped / labels.length;
    assert.ok(row.successRate > chance + 0.15, `transfer success ${row.successRate} vs random noise ${chance}`);
    assert.ok(row.surrogateSuccessRate > 0.3, `PGD works white-box on the surrogate: ${row.surrogateSuccessRate}`);
    surrogate.dispose();
  });
});
