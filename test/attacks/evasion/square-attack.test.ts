import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  geometryOf,
  squareAttack,
  squareFraction,
  squareLinf,
  windowSize,
} from '../../../src/attacks/evasion/square-attack.js';
import { AccessError, AegisInputError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { makeThreatModel } from '../../../src/core/threat-model.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import { type ToyModel, trainToyModel } from '../../helpers/toy-models.js';
import { type ToyImageData, toyImageModel, withThrowingLogits } from '../../helpers/toy-models-blackbox.js';

const withoutSeconds = (rows: Array<{ seconds: number }>) => rows.map(({ seconds: _, ...rest }) => rest);

describe('Square Attack (L-inf, scores)', () => {
  let img: ToyImageData;
  let toy: ToyModel;
  let flat: { x: tf.Tensor; y: Int32Array };

  before(async () => {
    await initRuntime();
    img = await toyImageModel({ seed: 1, n: 60 });
    toy = await trainToyModel({ seed: 1 });
    flat = { x: tf.slice(toy.x, 0, 120), y: toy.y.slice(0, 120) };
  });

  after(() => {
    img.model.dispose();
    img.x.dispose();
    toy.model.dispose();
    toy.x.dispose();
    flat.x.dispose();
  });

  it('follows the paper schedule for p, rescaled to the query budget', () => {
    assert.equal(squareFraction(0.05, 0, 10000), 0.05);
    assert.equal(squareFraction(0.05, 10, 10000), 0.05);
    assert.equal(squareFraction(0.05, 11, 10000), 0.025);
    assert.equal(squareFraction(0.05, 201, 10000), 0.05 / 8);
    assert.equal(squareFraction(0.05, 9999, 10000), 0.05 / 512);
    // 1000 queries: the first halving comes after iteration 1 (10/10000 of the run).
    assert.equal(squareFraction(0.05, 1, 1000), 0.05);
    assert.equal(squareFraction(0.05, 2, 1000), 0.025);
    assert.equal(squareFraction(0.05, 999, 1000), 0.05 / 512);
  });

  it('sizes squares as round(sqrt(p·h·w)) within [1, side − 1], and windows on flat vectors', () => {
    assert.deepEqual(windowSize(0.05, geometryOf([28, 28, 1])), [6, 6]);
    assert.deepEqual(windowSize(0.05, geometryOf([8, 8, 1])), [2, 2]);
    assert.deepEqual(windowSize(1, geometryOf([8, 8, 3])), [7, 7]);
    assert.deepEqual(windowSize(0.0001, geometryOf([8, 8, 1])), [1, 1]);
    assert.deepEqual(windowSize(0.5, geometryOf([20])), [1, 10]);
    assert.deepEqual(windowSize(0.01, geometryOf([20])), [1, 1]);
    assert.throws(() => geometryOf([2, 2, 2, 2]), AegisInputError);
  });

  it('lowers accuracy on 8x8 images a lot at eps 0.03 and to ~0 at eps 0.1, within budget', async () => {
    const threat = makeThreatModel({ access: 'scores', epsilons: [0.01, 0.03, 0.1], queryBudget: 300 });
    const result = await squareAttack.run(img.model, img, threat, { seed: 1 });
    const [small, moderate, large] = result.rows;
    assert.ok(small && moderate && large);
    // Clean accuracy is 1 by construction; the smallest linear L-inf perturbation that flips
    // an example exceeds 0.01 for all but a few, so eps 0.01 barely works.
    assert.ok(small.accuracy >= 0.9, `eps 0.01 accuracy ${small.accuracy}`);
    assert.ok(moderate.accuracy <= 0.75, `eps 0.03 accuracy ${moderate.accuracy}`);
    assert.ok(large.accuracy <= 0.1, `eps 0.1 accuracy ${large.accuracy}`);
    assert.ok(moderate.accuracy - large.accuracy >= 0.3);
    for (const row of result.rows) {
      assert.ok(row.queries > 0 && row.queries <= 300 * 60, `queries ${row.queries}`);
      if (row.successRate > 0) assert.ok(Math.abs(row.meanPerturbation - row.eps) < 1e-5);
    }
    // Nothing flips at 0.01 for most examples, so almost all of them use the whole budget;
    // at 0.1 every example stops once fooled.
    assert.ok(small.queries >= 0.9 * 300 * 60);
    assert.ok(large.queries < 0.5 * 300 * 60);
    assert.equal(result.attack, 'square');
    assert.equal(result.atlas, 'AML.T0043.001');
    assert.equal(result.examples?.eps, 0.1);
    assert.equal(result.examples?.clean.length, 8);
    assert.deepEqual(result.examples?.shape, [8, 8, 1]);
  });

  it('keeps every adversarial within eps in L-inf and inside [0, 1], and never beats the linear optimum', async () => {
    const eps = 0.05;
    const x = Float32Array.from(img.x.dataSync());
    const view = new QueryCountingModel(img.model, 'scores');
    const adv = await squareLinf({
      model: view,
      x,
      y: img.y,
      shape: [8, 8, 1],
      eps,
      nIters: 200,
      pInit: 0.05,
      range: [0, 1],
      rng: new Rng(3),
      batchSize: 256,
    });
    let maxDelta = 0;
    for (let f = 0; f < x.length; f++) {
      const v = adv[f] as number;
      assert.ok(v >= 0 && v <= 1, `value ${v} at ${f} outside [0, 1]`);
      maxDelta = Math.max(maxDelta, Math.abs(v - (x[f] as number)));
    }
    assert.ok(maxDelta <= eps + 1e-6, `max |delta| ${maxDelta}`);
    assert.ok(maxDelta >= eps - 1e-6, 'vertices of the ball are used');
    assert.ok(view.queries <= 200 * 60);
    const advTensor = tf.tensor(adv, img.x.shape);
    const labels = await img.model.predictLabels(advTensor);
    advTensor.dispose();
    let flipped = 0;
    for (let i = 0; i < img.y.length; i++) {
      if (labels[i] === img.y[i]) continue;
      flipped++;
      const bound = img.model.minimalPerturbation(x.subarray(i * 64, (i + 1) * 64), img.y[i] as number, 'linf');
      assert.ok(bound <= eps + 1e-6, `example ${i} flipped at eps ${eps} but needs ${bound}`);
    }
    assert.ok(flipped >= 20, `flipped ${flipped} of 60`);
  });

  it('attacks flat feature vectors (windows of features)', async () => {
    const threat = makeThreatModel({ access: 'scores', epsilons: [0.1, 0.2], queryBudget: 300 });
    const result = await squareAttack.run(toy.model, flat, threat, { seed: 2 });
    const clean = await toy.model.predictLabels(flat.x);
    const cleanAccuracy = clean.filter((c, i) => c === flat.y[i]).length / flat.y.length;
    const [moderate, large] = result.rows;
    assert.ok(moderate && large);
    assert.ok(cleanAccuracy >= 0.95);
    assert.ok(moderate.accuracy <= cleanAccuracy - 0.2, `eps 0.1 accuracy ${moderate.accuracy}`);
    assert.ok(large.accuracy <= 0.1, `eps 0.2 accuracy ${large.accuracy}`);
    assert.ok(large.queries <= 300 * 120);
  });

  it('takes the smaller of options.steps and threat.queryBudget as the per-example budget', async () => {
    const threat = makeThreatModel({ access: 'scores', epsilons: [0.005], queryBudget: 300 });
    const result = await squareAttack.run(img.model, img, threat, { seed: 1, steps: 40 });
    // eps 0.005 flips nothing here, so every example spends exactly its 40 queries.
    assert.equal(result.rows[0]?.queries, 40 * 60);
    const unlimited = makeThreatModel({ access: 'scores', epsilons: [0.005] });
    const byDefault = await squareAttack.run(img.model, img, unlimited, { seed: 1 });
    assert.equal(byDefault.rows[0]?.queries, 1000 * 60);
  });

  it('throws AccessError on a labels-only model or threat model', async () => {
    const threat = makeThreatModel({ access: 'scores', epsilons: [0.05] });
    await assert.rejects(
      squareAttack.run(new QueryCountingModel(img.model, 'labels'), img, threat, { seed: 1 }),
      AccessError,
    );
    const labelsThreat = makeThreatModel({ access: 'labels', epsilons: [0.05] });
    await assert.rejects(squareAttack.run(img.model, img, labelsThreat, { seed: 1 }), AccessError);
  });

  it('rejects L2 and targeted threat models with AegisInputError', async () => {
    const l2 = makeThreatModel({ access: 'scores', norm: 'l2', epsilons: [0.5] });
    await assert.rejects(squareAttack.run(img.model, img, l2, { seed: 1 }), AegisInputError);
    const targeted = makeThreatModel({ access: 'scores', epsilons: [0.05], targeted: true });
    await assert.rejects(squareAttack.run(img.model, img, targeted, { seed: 1 }), AegisInputError);
  });

  it('never calls logits, is reproducible per seed and leaks no tensors', async () => {
    const threat = makeThreatModel({ access: 'scores', epsilons: [0, 0.03, 0.06], queryBudget: 100 });
    const before = tf.memory().numTensors;
    const progress: Array<[number, number]> = [];
    const a = await squareAttack.run(withThrowingLogits(img.model), img, threat, {
      seed: 7,
      onProgress: (done, total) => progress.push([done, total]),
    });
    assert.equal(tf.memory().numTensors, before);
    const b = await squareAttack.run(img.model, img, threat, { seed: 7 });
    const c = await squareAttack.run(img.model, img, threat, { seed: 8 });
    assert.deepEqual(withoutSeconds(a.rows), withoutSeconds(b.rows));
    assert.deepEqual(a.examples, b.examples);
    assert.notDeepEqual(withoutSeconds(a.rows), withoutSeconds(c.rows));
    // eps 0 is the clean input, with no queries.
    assert.equal(a.rows[0]?.accuracy, 1);
    assert.equal(a.rows[0]?.queries, 0);
    assert.deepEqual(progress.at(-1), [300, 300]);
    for (let i = 1; i < progress.length; i++) assert.ok((progress[i]?.[0] ?? 0) >= (progress[i - 1]?.[0] ?? 0));
  });
});
