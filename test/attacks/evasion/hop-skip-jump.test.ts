import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { perturbationNorms } from '../../../src/attacks/evasion/budget-rows.js';
import { type HsjOutcome, hopSkipJump, hopSkipJumpAttack } from '../../../src/attacks/evasion/hop-skip-jump.js';
import { AegisInputError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import type { Norm } from '../../../src/core/threat-model.js';
import { makeThreatModel } from '../../../src/core/threat-model.js';
import type { Model } from '../../../src/models/model.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import { type ToyModel, trainToyModel } from '../../helpers/toy-models.js';
import { type ToyImageData, toyImageModel, withThrowingLogits } from '../../helpers/toy-models-blackbox.js';

const withoutSeconds = (rows: Array<{ seconds: number }>) => rows.map(({ seconds: _, ...rest }) => rest);
const median = (values: ArrayLike<number>) => {
  const sorted = Array.from(values).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

/** Runs the low-level attack through a labels-only view. */
async function runHsj(
  model: Model,
  x: tf.Tensor,
  y: Int32Array,
  norm: Norm,
  options: { iterations?: number; queryBudget?: number; seed?: number } = {},
): Promise<HsjOutcome & { counted: number }> {
  const view = new QueryCountingModel(model, 'labels');
  const outcome = await hopSkipJump({
    model: view,
    x: Float32Array.from(x.dataSync()),
    y,
    shape: x.shape.slice(1),
    settings: {
      norm,
      iterations: options.iterations ?? 20,
      queryBudget: options.queryBudget ?? 2000,
      range: [0, 1],
      batchSize: 1024,
    },
    rng: new Rng(options.seed ?? 1),
  });
  return { ...outcome, counted: view.queries };
}

describe('HopSkipJumpAttack (labels only)', () => {
  let toy: ToyModel;
  let flat: { x: tf.Tensor; y: Int32Array };
  let img: ToyImageData;
  let imgSubset: { x: tf.Tensor; y: Int32Array };

  before(async () => {
    await initRuntime();
    toy = await trainToyModel({ seed: 1 });
    flat = { x: tf.slice(toy.x, 0, 40), y: toy.y.slice(0, 40) };
    img = await toyImageModel({ seed: 1, n: 30 });
    imgSubset = { x: tf.slice(img.x, 0, 20), y: img.y.slice(0, 20) };
  });

  after(() => {
    toy.model.dispose();
    toy.x.dispose();
    flat.x.dispose();
    img.model.dispose();
    img.x.dispose();
    imgSubset.x.dispose();
  });

  it('finds adversarials well inside the nearest other-class point and the noise start (L2)', async () => {
    const out = await runHsj(toy.model, flat.x, flat.y, 'l2');
    const n = flat.y.length;
    assert.equal(
      out.found.reduce((a, b) => a + b, 0),
      n,
    );
    // Distance from each attacked point to the nearest training point of another class.
    const all = toy.x.dataSync();
    const d = 20;
    const nearestOther = Array.from({ length: n }, (_, i) => {
      let best = Infinity;
      for (let j = 0; j < toy.y.length; j++) {
        if (toy.y[j] === toy.y[i]) continue;
        let s = 0;
        for (let f = 0; f < d; f++) s += ((all[i * d + f] as number) - (all[j * d + f] as number)) ** 2;
        best = Math.min(best, Math.sqrt(s));
      }
      return best;
    });
    const hsj = median(out.distances);
    assert.ok(hsj < 0.7 * median(nearestOther), `median L2 ${hsj} vs nearest other class ${median(nearestOther)}`);
    assert.ok(hsj < 0.6 * median(out.startDistances), `median L2 ${hsj} vs noise start ${median(out.startDistances)}`);
    // Every returned point is misclassified, inside [0, 1], and at the distance reported.
    const advTensor = tf.tensor(out.adversarial, flat.x.shape);
    const labels = await toy.model.predictLabels(advTensor);
    const norms = perturbationNorms(flat.x, advTensor, 'l2');
    advTensor.dispose();
    for (let i = 0; i < n; i++) {
      assert.notEqual(labels[i], flat.y[i], `example ${i} is not adversarial`);
      assert.ok(Math.abs((norms[i] as number) - (out.distances[i] as number)) < 1e-4);
    }
    for (const v of out.adversarial) assert.ok(v >= 0 && v <= 1);
    // Budget per example, and the counter agrees with the per-example tally.
    assert.ok(out.queries.every((q) => q <= 2000));
    assert.equal(
      out.queries.reduce((a, b) => a + b, 0),
      out.counted,
    );
  });

  it('gets close to the exact minimum perturbation of a linear model (L2 and L-inf)', async () => {
    const x = imgSubset.x.dataSync();
    for (const [norm, slack] of [
      ['l2', 1.25],
      ['linf', 1.5],
    ] as const) {
      const out = await runHsj(img.model, imgSubset.x, imgSubset.y, norm, { queryBudget: 3000 });
      const ratios = Array.from(out.distances, (dist, i) => {
        const bound = img.model.minimalPerturbation(x.slice(i * 64, (i + 1) * 64), imgSubset.y[i] as number, norm);
        return dist / bound;
      });
      // The bound ignores the [0, 1] box, so no true adversarial can be closer.
      assert.ok(Math.min(...ratios) >= 1 - 1e-3, `${norm}: ratio ${Math.min(...ratios)} below the exact minimum`);
      assert.ok(median(ratios) <= slack, `${norm}: median ratio to the minimum ${median(ratios)}`);
      assert.ok(median(out.distances) < 0.3 * median(out.startDistances));
    }
  });

  it('runs on a labels-only model; rows are clipped to each eps and monotone', async () => {
    const labelsOnly = new QueryCountingModel(toy.model, 'labels');
    const threat = makeThreatModel({
      access: 'labels',
      norm: 'l2',
      epsilons: [0.1, 0.3, 0.5, 1, 100],
      queryBudget: 1500,
    });
    const progress: number[] = [];
    const result = await hopSkipJumpAttack.run(labelsOnly, flat, threat, {
      seed: 3,
      steps: 15,
      onProgress: (done) => progress.push(done),
    });
    assert.equal(result.atlas, 'AML.T0043.001');
    assert.equal(result.rows.length, 5);
    const last = result.rows.at(-1);
    assert.ok(last && last.successRate >= 0.95, `success ${last?.successRate}`);
    assert.ok((result.rows[0]?.successRate ?? 1) <= 0.2);
    for (const [i, row] of result.rows.entries()) {
      assert.ok(row.meanPerturbation <= row.eps + 1e-5, `eps ${row.eps}: mean L2 ${row.meanPerturbation}`);
      assert.ok(row.queries > 0 && row.queries <= 1500 * 40);
      assert.equal(row.queries, last?.queries, 'one run serves every budget');
      const prev = result.rows[i - 1];
      if (prev) {
        assert.ok(row.accuracy <= prev.accuracy, 'accuracy does not rise with eps');
        assert.ok(row.successRate >= prev.successRate);
      }
    }
    assert.equal(progress.at(-1), 15);
    assert.equal(result.examples?.eps, 100);
  });

  it('uses one query for an example that is already misclassified', async () => {
    const y = flat.y.slice(0, 4);
    y[0] = ((y[0] as number) + 1) % 3;
    const x = tf.slice(flat.x, 0, 4);
    const out = await runHsj(toy.model, x, y, 'l2', { iterations: 3 });
    x.dispose();
    assert.equal(out.queries[0], 1);
    assert.equal(out.distances[0], 0);
    assert.equal(out.found[0], 1);
    assert.ok((out.queries[1] as number) > 100);
  });

  it('stays within a small query budget and still returns adversarials', async () => {
    const out = await runHsj(toy.model, flat.x, flat.y, 'l2', { queryBudget: 150, iterations: 40 });
    assert.ok(
      out.queries.every((q) => q <= 150),
      `max ${Math.max(...out.queries)}`,
    );
    assert.ok(out.found.reduce((a, b) => a + b, 0) >= 0.9 * flat.y.length);
    const advTensor = tf.tensor(out.adversarial, flat.x.shape);
    const labels = await toy.model.predictLabels(advTensor);
    advTensor.dispose();
    for (let i = 0; i < flat.y.length; i++) if (out.found[i]) assert.notEqual(labels[i], flat.y[i]);
  });

  it('runs L-inf through run() with perturbations inside each eps', async () => {
    const threat = makeThreatModel({ access: 'labels', norm: 'linf', epsilons: [0.05, 0.1, 0.3], queryBudget: 1000 });
    const result = await hopSkipJumpAttack.run(img.model, imgSubset, threat, { seed: 1, steps: 10 });
    for (const row of result.rows) assert.ok(row.meanPerturbation <= row.eps + 1e-6);
    assert.ok((result.rows[2]?.successRate ?? 0) >= 0.9);
    assert.ok((result.rows[0]?.successRate ?? 1) < (result.rows[2]?.successRate ?? 0));
  });

  it('never calls logits, is reproducible per seed and leaks no tensors', async () => {
    const threat = makeThreatModel({ access: 'labels', norm: 'l2', epsilons: [0.3, 1], queryBudget: 600 });
    const before = tf.memory().numTensors;
    const a = await hopSkipJumpAttack.run(withThrowingLogits(toy.model), flat, threat, { seed: 5, steps: 8 });
    assert.equal(tf.memory().numTensors, before);
    const b = await hopSkipJumpAttack.run(toy.model, flat, threat, { seed: 5, steps: 8 });
    const c = await hopSkipJumpAttack.run(toy.model, flat, threat, { seed: 6, steps: 8 });
    assert.deepEqual(withoutSeconds(a.rows), withoutSeconds(b.rows));
    assert.deepEqual(a.examples, b.examples);
    assert.notDeepEqual(withoutSeconds(a.rows), withoutSeconds(c.rows));
  });

  it('rejects bad inputs with AegisInputError', async () => {
    const threat = makeThreatModel({ access: 'labels', norm: 'l2', epsilons: [0.5] });
    await assert.rejects(
      hopSkipJumpAttack.run(toy.model, { x: flat.x, y: flat.y.slice(0, 3) }, threat, { seed: 1 }),
      AegisInputError,
    );
    await assert.rejects(hopSkipJumpAttack.run(toy.model, flat, threat, { seed: 1, steps: 0 }), AegisInputError);
    const none = makeThreatModel({ access: 'labels', norm: 'l2', epsilons: [] });
    await assert.rejects(hopSkipJumpAttack.run(toy.model, flat, none, { seed: 1 }), AegisInputError);
  });
});
