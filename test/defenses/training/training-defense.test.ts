import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../../../src/core/errors.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { cloneNetwork } from '../../../src/defenses/training/clone-network.js';
import { fbfDefense, fgsmRsDefense } from '../../../src/defenses/training/fbf.js';
import { pgdAtDefense } from '../../../src/defenses/training/pgd-at.js';
import { tradesDefense } from '../../../src/defenses/training/trades.js';
import { buildSmallCnn } from '../../../src/models/builders.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import { TfjsModel } from '../../../src/models/tfjs-model.js';
import { mlp, train } from './fixture.js';

before(async () => {
  await initRuntime();
});

const all = [pgdAtDefense, fbfDefense, fgsmRsDefense, tradesDefense];

describe('adversarial-training defenses', () => {
  it('are training defenses implementing ATLAS AML.M0003 under their CLI names', () => {
    assert.deepEqual(
      all.map((d) => d.name),
      ['pgd-at', 'fbf', 'fgsm-rs', 'trades'],
    );
    for (const d of all) {
      assert.equal(d.kind, 'training');
      assert.deepEqual(d.mitigations, ['AML.M0003']);
      assert.match(d.citation, /20(18|19|20)/);
    }
  });

  it('reject bad parameters, a missing training set and non-tfjs models with AegisInputError', async () => {
    const model = mlp();
    const ctx = { train, seed: 1 };
    const bad: Array<[typeof pgdAtDefense, Record<string, number | string | boolean>, RegExp]> = [
      [pgdAtDefense, { eps: -0.1 }, /'eps' must be positive, got -0.1/],
      [pgdAtDefense, { eps: 0 }, /'eps' must be positive/],
      [pgdAtDefense, { steps: 0 }, /'steps' must be at least 1, got 0/],
      [pgdAtDefense, { steps: 2.5 }, /'steps' must be a whole number/],
      [tradesDefense, { beta: -1 }, /'beta' must be at least 0/],
      [pgdAtDefense, { beta: 6 }, /unknown parameter 'beta'/],
      [fbfDefense, { epochs: 'many' }, /'epochs' must be a number, got 'many'/],
      [fbfDefense, { eps: 2 }, /eps 2 is larger than the input range \[0, 1\]/],
      [tradesDefense, { fineTune: 'maybe' }, /'fineTune' must be true or false/],
      [pgdAtDefense, { checkpointDir: 3 }, /'checkpointDir' must be a directory path/],
    ];
    for (const [defense, params, message] of bad) {
      await assert.rejects(defense.apply(model, { ...ctx, params }), (e: Error) => {
        assert.ok(e instanceof AegisInputError, `${defense.name} ${JSON.stringify(params)}: ${e.message}`);
        assert.match(e.message, message);
        return true;
      });
    }
    await assert.rejects(pgdAtDefense.apply(model, { seed: 1 }), /needs training data/);
    await assert.rejects(
      pgdAtDefense.apply(new QueryCountingModel(model), ctx),
      /adversarial training needs a tfjs model/,
    );
    // Strings from the CLI are numbers too.
    await assert.rejects(pgdAtDefense.apply(model, { ...ctx, params: { steps: '0' } }), /at least 1/);
    model.dispose();
  });

  it('training leaves no tensors behind but the new model', async () => {
    const base = mlp(2);
    const small = { ...train, x: train.x.slice(0, 200 * 784), y: train.y.slice(0, 200), shape: [200, 28, 28, 1] };
    const start = tf.memory().numTensors;
    const model = (await tradesDefense.apply(base, {
      train: small,
      seed: 1,
      params: { epochs: 2, batchSize: 50, steps: 2 },
    })) as TfjsModel;
    assert.equal(tf.memory().numTensors - start, model.network.getWeights().length);
    model.dispose();
    assert.equal(tf.memory().numTensors, start);
    base.dispose();
  });

  it('cloneNetwork: same architecture, fresh seeded weights (or a copy), reproducible', async () => {
    const original = buildSmallCnn({ seed: 1, filters: [4, 8], dense: 16 });
    const a = await cloneNetwork(original, { seed: 7 });
    const b = await cloneNetwork(original, { seed: 7 });
    const c = await cloneNetwork(original, { seed: 8, name: 'renamed' });
    const copy = await cloneNetwork(original, { seed: 7, copyWeights: true });
    const shapes = (n: LayersModel) => n.getWeights().map((w) => w.shape.join('x'));
    const values = (n: LayersModel) => n.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(shapes(a), shapes(original));
    assert.deepEqual(
      a.layers.map((l) => l.getClassName()),
      original.layers.map((l) => l.getClassName()),
    );
    assert.deepEqual(values(a), values(b), 'same seed → same weights');
    assert.notDeepEqual(values(a)[0], values(original)[0], 'fresh kernels');
    assert.notDeepEqual(values(a)[0], values(c)[0], 'another seed → other weights');
    assert.deepEqual(values(copy), values(original));
    assert.equal(c.name, 'renamed');
    assert.equal(new TfjsModel(a).info.numClasses, 10);
    for (const n of [original, a, b, c, copy]) n.dispose();
  });
});
