import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../../src/core/errors.js';
import { initRuntime, tf } from '../../src/core/runtime.js';
import { buildLogisticRegression, buildMlp, buildSmallCnn } from '../../src/models/builders.js';
import { endsInSoftmax } from '../../src/models/tfjs-model.js';

async function weights(net: tfl.LayersModel): Promise<number[][]> {
  return Promise.all(net.getWeights().map(async (w) => Array.from(await w.data())));
}

before(async () => {
  await initRuntime();
});

describe('model builders', () => {
  it('logistic regression is one dense layer on flattened input', () => {
    const tabular = buildLogisticRegression({ inputShape: [12], numClasses: 4 });
    assert.equal(tabular.countParams(), 12 * 4 + 4);
    const image = buildLogisticRegression({ inputShape: [28, 28, 1], numClasses: 10 });
    assert.equal(image.countParams(), 784 * 10 + 10);
    assert.deepEqual(image.outputs[0]?.shape, [null, 10]);
    tabular.dispose();
    image.dispose();
  });

  it('mlp has ReLU hidden layers of the requested sizes, optional dropout, and a logits output', async () => {
    const net = buildMlp({ inputShape: [20], numClasses: 3, hidden: [16, 8], dropout: 0.25, seed: 1 });
    assert.deepEqual(
      net.layers.map((l) => l.getClassName()),
      ['InputLayer', 'Dense', 'Dropout', 'Dense', 'Dropout', 'Dense'],
    );
    assert.equal(net.countParams(), 20 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3);
    assert.equal(endsInSoftmax(net), false);
    const defaults = buildMlp({ inputShape: [20], numClasses: 3 });
    assert.deepEqual(
      defaults.layers.filter((l) => l.getClassName() === 'Dense').map((l) => l.getConfig().units),
      [128, 64, 3],
    );
    // Logits: rows do not sum to one and can be negative.
    const x = tf.randomUniform([8, 20], 0, 1, 'float32', 5);
    const out = net.predict(x) as tf.Tensor;
    const values = Array.from(await out.data());
    assert.ok(values.some((v) => v < 0));
    tf.dispose([x, out]);
    net.dispose();
    defaults.dispose();
  });

  it('the small CNN matches the reference architecture (56 714 parameters, 800 flattened features)', () => {
    const net = buildSmallCnn({ numClasses: 10 });
    assert.deepEqual(
      net.layers.map((l) => l.getClassName()),
      ['InputLayer', 'Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense'],
    );
    assert.deepEqual(net.layers[5]?.outputShape, [null, 800]);
    // PyTorch reference: 160 + 4640 + 51 264 + 650.
    assert.equal(net.countParams(), 56714);
    assert.deepEqual(net.inputs[0]?.shape, [null, 28, 28, 1]);
    net.dispose();
  });

  it('same seed gives the same initial weights; another seed different ones', async () => {
    for (const build of [
      (seed: number) => buildMlp({ inputShape: [10], numClasses: 3, seed }),
      (seed: number) => buildSmallCnn({ seed }),
    ]) {
      const a = build(42);
      const b = build(42);
      const c = build(43);
      const wa = await weights(a);
      assert.deepEqual(await weights(b), wa);
      assert.notDeepEqual((await weights(c))[0], wa[0]);
      // Kernels are random, biases zero.
      assert.ok(wa[0]?.some((v) => v !== 0));
      assert.ok(wa[1]?.every((v) => v === 0));
      for (const m of [a, b, c]) m.dispose();
    }
  });

  it('rejects bad options with AegisInputError', () => {
    assert.throws(() => buildMlp({ inputShape: [0], numClasses: 3 }), AegisInputError);
    assert.throws(() => buildMlp({ inputShape: [4], numClasses: 1 }), /numClasses must be an integer >= 2/);
    assert.throws(() => buildMlp({ inputShape: [4], numClasses: 3, dropout: 1 }), /dropout 1 must be in \[0, 1\)/);
    assert.throws(() => buildMlp({ inputShape: [4], numClasses: 3, hidden: [8, -1] }), AegisInputError);
    assert.throws(() => buildSmallCnn({ inputShape: [784] }), /must be \[height, width, channels\]/);
  });
});
