import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FidelityEvaluator } from '../../../src/attacks/extraction/fidelity.js';
import { GradientBandit } from '../../../src/attacks/extraction/gradient-bandit.js';
import { kMeans } from '../../../src/attacks/extraction/kmeans.js';
import { knockoffNets, knockoffRewards } from '../../../src/attacks/extraction/knockoff.js';
import { Rng } from '../../../src/core/rng.js';
import { tf } from '../../../src/core/runtime.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import type { TfjsModel } from '../../../src/models/tfjs-model.js';
import { teacherData, teacherVictim } from './synthetic-victim.js';

let victim: TfjsModel;
let transfer: Dataset;
let evaluator: FidelityEvaluator;

before(async () => {
  victim = await teacherVictim(3, 6, 4, 12);
  transfer = await teacherData(victim, 1200, 11, 'attacker-uniform');
  evaluator = await FidelityEvaluator.create(victim, await teacherData(victim, 1000, 12, 'held-out'));
});

after(() => victim.dispose());

describe('KnockoffNets (Orekondy et al. 2019)', () => {
  test('random queries: high fidelity with a few hundred queries, rising with the budget, within budget', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const { result, surrogate } = await knockoffNets(victim, transfer, evaluator, {
      budgets: [50, 800],
      strategy: 'random',
      seed: 1,
      surrogate: 'mlp',
      epochs: 60,
      batchSize: 32,
      learningRate: 3e-3,
    });
    const [small, large] = result.rows;
    assert.ok(small && large);
    assert.deepEqual([small.queries, large.queries], [50, 800]);
    assert.ok(large.fidelity > 0.88, `fidelity at 800 queries: ${large.fidelity}`);
    assert.ok(large.fidelity > small.fidelity + 0.05, `fidelity rises: ${small.fidelity} → ${large.fidelity}`);
    assert.equal(result.atlas, 'AML.T0024.002');
    assert.equal(result.threatModel.access, 'scores');
    assert.equal(result.charts?.[0]?.series[0]?.points.length, 2);
    surrogate.dispose();
    assert.equal(tf.memory().numTensors, tensorsBefore, 'no leaked tensors');
  });

  test('labels-only victim: trains on hard labels and says so', async () => {
    const labelsOnly = new QueryCountingModel(victim, 'labels');
    const { result, surrogate } = await knockoffNets(labelsOnly, transfer, evaluator, {
      budgets: [600],
      strategy: 'random',
      seed: 2,
      surrogate: 'mlp',
      epochs: 60,
      batchSize: 32,
      learningRate: 3e-3,
    });
    assert.equal(result.threatModel.access, 'labels');
    assert.match(result.title, /hard labels/);
    assert.equal(labelsOnly.queries, 600);
    assert.ok((result.rows[0]?.fidelity as number) > 0.75, `hard-label fidelity ${result.rows[0]?.fidelity}`);
    surrogate.dispose();
  });

  test('adaptive queries: same budget accounting, and a usable surrogate', async () => {
    const counted = new QueryCountingModel(victim);
    const { result, surrogate } = await knockoffNets(counted, transfer, evaluator, {
      budgets: [300, 600],
      strategy: 'adaptive',
      seed: 3,
      surrogate: 'mlp',
      epochs: 60,
      batchSize: 32,
      learningRate: 3e-3,
      clusters: 6,
    });
    assert.equal(counted.queries, 600, 'exactly the largest budget is spent');
    assert.deepEqual(
      result.rows.map((r) => r.queries),
      [300, 600],
    );
    assert.ok((result.rows[1]?.fidelity as number) > 0.8, `adaptive fidelity ${result.rows[1]?.fidelity}`);
    surrogate.dispose();
  });

  test('a budget larger than the transfer set or of 0 queries is refused', async () => {
    await assert.rejects(
      knockoffNets(victim, transfer, evaluator, { budgets: [5000], strategy: 'random', seed: 0 }),
      /5000 queries exceeds the 1200 examples/,
    );
    await assert.rejects(
      knockoffNets(victim, transfer, evaluator, { budgets: [0], strategy: 'random', seed: 0 }),
      /query budget 0 must be a positive/,
    );
    await assert.rejects(
      knockoffNets(victim, undefined, evaluator, { budgets: [10], strategy: 'random', seed: 0 }),
      /needs a transfer set/,
    );
  });
});

describe('adaptive strategy pieces', () => {
  test('rewards: certainty is the top-two margin, diversity the excess over recent answers, loss the cross-entropy', () => {
    const r = knockoffRewards([0.7, 0.2, 0.1], [0.5, 0.25, 0.25], [0.1, 0.8, 0.1]);
    assert.ok(Math.abs(r.certainty - 0.5) < 1e-12);
    assert.ok(Math.abs(r.diversity - 0.6) < 1e-12);
    const ce = -(0.7 * Math.log(0.5) + 0.2 * Math.log(0.25) + 0.1 * Math.log(0.25));
    assert.ok(Math.abs(r.loss - ce) < 1e-12);
  });

  test('the gradient bandit learns to prefer the action with the higher reward', () => {
    const rng = new Rng(4);
    const bandit = new GradientBandit(3, 0.1, rng);
    for (let t = 0; t < 2000; t++) {
      const a = bandit.sample();
      bandit.update(a, (a === 2 ? 1 : 0) + 0.3 * rng.normal());
    }
    assert.ok((bandit.policy()[2] as number) > 0.8, `policy ${Array.from(bandit.policy())}`);
    bandit.disable(2);
    assert.equal(bandit.policy()[2], 0);
    assert.notEqual(bandit.sample(), 2);
  });

  test('k-means separates well-separated groups', () => {
    const rng = new Rng(5);
    const x = new Float32Array(60 * 2);
    for (let i = 0; i < 60; i++) {
      x[2 * i] = (i % 3) * 10 + 0.1 * rng.normal();
      x[2 * i + 1] = 0.1 * rng.normal();
    }
    const { assignments } = kMeans(x, 60, 2, 3, new Rng(6));
    for (let i = 3; i < 60; i++) assert.equal(assignments[i], assignments[i % 3], `point ${i}`);
    assert.equal(new Set(assignments).size, 3);
  });
});
