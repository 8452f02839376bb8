import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../../../src/core/errors.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { slice } from '../../../src/data/dataset.js';
import { loadFashionMnist } from '../../../src/data/fashion-mnist.js';
import { finalDenseLayer, penultimateActivations } from '../../../src/defenses/poison/activations.js';
import { buildMlp, buildSmallCnn } from '../../../src/models/builders.js';
import type { Model } from '../../../src/models/model.js';
import { TfjsModel } from '../../../src/models/tfjs-model.js';
import { maxAbsDiff } from '../../helpers/assertions.js';

describe('penultimate-layer activations', () => {
  before(async () => {
    await initRuntime();
  });

  it('are the input of the logits layer, batched, with no tensor left behind', async () => {
    const data = slice(loadFashionMnist({ split: 'train', source: 'bundled', limit: 300 }), 0, 300);
    const net = buildMlp({ inputShape: [28, 28, 1], numClasses: 10, hidden: [32, 16], seed: 1 });
    const model = new TfjsModel(net);
    try {
      const before = tf.memory().numTensors;
      const whole = await penultimateActivations(model, data);
      const batched = await penultimateActivations(model, data, 7);
      assert.equal(tf.memory().numTensors, before);
      assert.equal(whole.dim, 16);
      assert.equal(whole.features.length, 300 * 16);
      assert.ok(maxAbsDiff(whole.features, batched.features) < 1e-5);
      // By hand: flatten → dense(32) relu → dense(16) relu, i.e. every layer before 'logits'.
      const manual = tf.tidy(() => {
        let h: tf.Tensor = tf.tensor(data.x, data.shape);
        for (const layer of net.layers.slice(0, -1)) {
          if (layer.getClassName() !== 'InputLayer') h = layer.apply(h) as tf.Tensor;
        }
        return h;
      });
      assert.ok(maxAbsDiff(whole.features, manual.dataSync()) < 1e-5);
      manual.dispose();
      // ReLU outputs: non-negative, and not all zero.
      assert.ok(whole.features.every((v) => v >= 0) && whole.features.some((v) => v > 0));
    } finally {
      model.dispose();
    }
  });

  it('read the dense layer of the small CNN (64 units) and fall back to the last Dense layer', async () => {
    const data = loadFashionMnist({ split: 'train', source: 'bundled', limit: 20 });
    const cnn = buildSmallCnn({ seed: 2 });
    const acts = await penultimateActivations(cnn, data);
    assert.equal(acts.dim, 64);
    cnn.dispose();
    const keras = tfl.sequential({
      layers: [
        tfl.layers.dense({ inputShape: [4], units: 5, activation: 'relu', name: 'hidden' }),
        tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }),
      ],
    });
    assert.equal(finalDenseLayer(keras).name, 'out');
    keras.dispose();
  });

  it('refuse a shape mismatch and a model without a tfjs network', async () => {
    const data = loadFashionMnist({ split: 'train', source: 'bundled', limit: 5 });
    const net = buildMlp({ inputShape: [10], numClasses: 3 });
    await assert.rejects(penultimateActivations(net, data), (e: unknown) => {
      assert.ok(e instanceof AegisInputError);
      assert.match(e.message, /examples of shape \[28,28,1\] but model .* expects \[10\]/);
      return true;
    });
    net.dispose();
    const remote: Model = {
      info: { name: 'remote', access: 'scores', inputShape: [28, 28, 1], numClasses: 10, inputRange: [0, 1] },
      predictLabels: async () => new Int32Array(0),
      predictScores: async () => tf.zeros([0, 10]) as tf.Tensor2D,
      dispose: () => undefined,
    };
    await assert.rejects(penultimateActivations(remote, data), /not a tfjs network/);
  });
});
