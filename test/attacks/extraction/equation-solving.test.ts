import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { equationSolving, solveLogOdds } from '../../../src/attacks/extraction/equation-solving.js';
import { FidelityEvaluator } from '../../../src/attacks/extraction/fidelity.js';
import { leastSquares } from '../../../src/attacks/extraction/least-squares.js';
import { linearParametersOf, maxParameterError } from '../../../src/attacks/extraction/linear-parameters.js';
import { AccessError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { buildLogisticRegression } from '../../../src/models/builders.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import { TfjsModel } from '../../../src/models/tfjs-model.js';
import { LinearSoftmaxModel } from '../../helpers/toy-models-blackbox.js';

function randomVictim(seed: number, d: number, k: number): LinearSoftmaxModel {
  const rng = new Rng(seed);
  const w = rng.normalArray(d * k);
  const b = rng.normalArray(k);
  return new LinearSoftmaxModel(w, b, [d], k);
}

async function heldOut(victim: LinearSoftmaxModel, n: number, seed: number): Promise<Dataset> {
  const d = victim.info.inputShape[0] as number;
  const rng = new Rng(seed);
  const x = rng.uniformArray(n * d, 0, 1);
  const t = tf.tensor2d(x, [n, d]);
  const y = await victim.predictLabels(t);
  t.dispose();
  return { name: 'held-out', x, shape: [n, d], y, classNames: Array.from({ length: victim.info.numClasses }, String) };
}

function reference(v: LinearSoftmaxModel) {
  return { weights: Float64Array.from(v.weights), bias: Float64Array.from(v.bias) };
}

before(async () => {
  await initRuntime();
});

describe('least squares', () => {
  test('solves a square, an over-determined and an under-determined system', () => {
    // 3×2 over-determined with an exact solution x = [1, 2].
    const a = Float64Array.from([1, 0, 0, 1, 1, 1]);
    const x = leastSquares(a, 3, 2, Float64Array.from([1, 2, 3]), 1);
    assert.ok(Math.abs((x[0] as number) - 1) < 1e-12 && Math.abs((x[1] as number) - 2) < 1e-12);
    // Minimum norm of x1 + x2 = 2 is [1, 1].
    const m = leastSquares(Float64Array.from([1, 1]), 1, 2, Float64Array.from([2]), 1);
    assert.ok(Math.abs((m[0] as number) - 1) < 1e-12 && Math.abs((m[1] as number) - 1) < 1e-12);
  });

  test('rejects a rank-deficient system', () => {
    assert.throws(
      () => leastSquares(Float64Array.from([1, 2, 2, 4, 3, 6]), 3, 2, new Float64Array(3), 1),
      /rank deficient/,
    );
  });
});

describe('equation-solving (Tramèr et al. 2016)', () => {
  for (const [d, k] of [
    [20, 2],
    [30, 5],
  ] as const) {
    test(`recovers a random softmax regression (d=${d}, k=${k}) with d+1 queries`, async () => {
      const victim = randomVictim(d + k, d, k);
      const evaluator = await FidelityEvaluator.create(victim, await heldOut(victim, 300, 1));
      const { result, surrogate } = await equationSolving(victim, evaluator, {
        seed: 3,
        budgets: [d + 1],
        reference: reference(victim),
      });
      const row = result.rows[0];
      assert.ok(row);
      assert.equal(row.queries, d + 1);
      assert.ok((row.maxParamError as number) < 1e-4, `max parameter error ${row.maxParamError}`);
      assert.equal(row.determined, 1);
      assert.ok(row.fidelity > 0.99, `fidelity ${row.fidelity}`);
      assert.equal(result.atlas, 'AML.T0024.002');
      surrogate.dispose();
      victim.dispose();
    });
  }

  test('with fewer than d+1 queries it reports an undetermined, inexact model instead of failing', async () => {
    const d = 30;
    const victim = randomVictim(7, d, 4);
    const evaluator = await FidelityEvaluator.create(victim, await heldOut(victim, 300, 2));
    const { result, surrogate } = await equationSolving(victim, evaluator, {
      seed: 1,
      budgets: [10, d + 1],
      reference: reference(victim),
    });
    const [few, enough] = result.rows;
    assert.ok(few && enough);
    assert.equal(few.determined, 0);
    assert.ok((few.maxParamError as number) > 1e-2, `too few queries cannot be exact: ${few.maxParamError}`);
    assert.ok((enough.maxParamError as number) < 1e-4);
    assert.equal(enough.queries, d + 1, 'queries are cumulative, within the largest budget');
    surrogate.dispose();
    victim.dispose();
  });

  test('recovers a tfjs logistic-regression model on images and finds its parameters itself', async () => {
    const network = buildLogisticRegression({ inputShape: [6, 6, 1], numClasses: 3, seed: 4 });
    const victim = new TfjsModel(network);
    const rng = new Rng(5);
    const x = rng.uniformArray(200 * 36, 0, 1);
    const t = tf.tensor4d(x, [200, 6, 6, 1]);
    const y = await victim.predictLabels(t);
    t.dispose();
    const evaluator = await FidelityEvaluator.create(victim, {
      name: 'h',
      x,
      shape: [200, 6, 6, 1],
      y,
      classNames: ['a', 'b', 'c'],
    });
    const truth = linearParametersOf(victim);
    assert.ok(truth);
    const { result, surrogate } = await equationSolving(victim, evaluator, { seed: 2, reference: truth });
    assert.equal(result.rows[0]?.queries, 37);
    assert.ok((result.rows[0]?.maxParamError as number) < 1e-4);
    const recovered = linearParametersOf(surrogate);
    assert.ok(recovered && maxParameterError(recovered, truth) < 1e-4);
    surrogate.dispose();
    victim.dispose();
  });

  test('needs scores: a labels-only victim is refused', async () => {
    const victim = randomVictim(1, 5, 3);
    const evaluator = await FidelityEvaluator.create(victim, await heldOut(victim, 20, 1));
    await assert.rejects(
      equationSolving(new QueryCountingModel(victim, 'labels'), evaluator, { seed: 0 }),
      (e: unknown) => e instanceof AccessError && /equation-solving.*needs 'scores'/.test(e.message),
    );
    victim.dispose();
  });

  test('solveLogOdds drops queries whose probabilities underflowed', () => {
    // log-odds of class 1 vs 0: w = 2, b = −1 on d = 1.
    const x = Float32Array.from([0, 1, 2]);
    const p = new Float32Array(6);
    [0, 1, 2].forEach((q) => {
      const z = 2 * (x[q] as number) - 1;
      p[q * 2] = 1 / (1 + Math.exp(z));
      p[q * 2 + 1] = 1 / (1 + Math.exp(-z));
    });
    p[4] = 0; // query 2 underflowed
    const solved = solveLogOdds(x, p, 3, 1, 2);
    assert.ok(Math.abs((solved.weights[1] as number) - 2) < 1e-5 && Math.abs((solved.bias[1] as number) + 1) < 1e-5);
  });
});
