import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { initRuntime, tf } from '../../src/core/runtime.js';
import { buildMlp, buildSmallCnn } from '../../src/models/builders.js';
import { loadTfjsModel, saveTfjsModel, TfjsModel } from '../../src/models/tfjs-model.js';

const root = mkdtempSync(join(tmpdir(), 'aegis-tfjs-model-'));
let counter = 0;
const freshDir = () => join(root, `m${counter++}`);

function randomInput(seed: number, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(new Rng(seed).uniformArray(n, 0, 1), shape);
}

async function values(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

before(async () => {
  await initRuntime();
});

after(() => rmSync(root, { recursive: true, force: true }));

describe('TfjsModel', () => {
  it('derives its info from the network and reports white-box access', () => {
    const model = new TfjsModel(buildMlp({ inputShape: [6], numClasses: 3, seed: 1 }), { name: 'mlp' });
    assert.equal(model.info.access, 'gradients');
    assert.deepEqual(model.info.inputShape, [6]);
    assert.equal(model.info.numClasses, 3);
    assert.deepEqual(model.info.inputRange, [0, 1]);
    model.dispose();
  });

  it('predictScores is softmax(logits) and predictLabels its argmax, in batches beyond 256 rows', async () => {
    const model = new TfjsModel(buildMlp({ inputShape: [6], numClasses: 4, seed: 2 }));
    const x = randomInput(3, [600, 6]);
    const tensorsBefore = tf.memory().numTensors;
    const logits = model.logits(x);
    const expected = await values(tf.softmax(logits));
    const expectedLabels = await values(tf.tidy(() => tf.cast(tf.argMax(logits, 1), 'float32')));
    logits.dispose();
    const scores = await model.predictScores(x);
    assert.deepEqual(scores.shape, [600, 4]);
    const got = await values(scores);
    for (let i = 0; i < got.length; i++) assert.ok(Math.abs((got[i] ?? 0) - (expected[i] ?? 0)) < 1e-6);
    const labels = await model.predictLabels(x);
    assert.equal(labels.length, 600);
    assert.deepEqual(Array.from(labels), Array.from(expectedLabels));
    assert.equal(tf.memory().numTensors, tensorsBefore, 'prediction leaks no tensors');
    x.dispose();
    model.dispose();
  });

  it('rejects inputs of the wrong shape with AegisInputError', async () => {
    const model = new TfjsModel(buildMlp({ inputShape: [6], numClasses: 3, seed: 1 }));
    const x = tf.zeros([2, 5]);
    assert.throws(() => model.logits(x), AegisInputError);
    await assert.rejects(model.predictLabels(x), /expects inputs of shape \[batch, 6\], got \[2,5\]/);
    x.dispose();
    model.dispose();
  });

  it('treats a softmax output as probabilities: logits are log-probabilities', async () => {
    const net = tfl.sequential({
      layers: [tfl.layers.dense({ units: 3, inputShape: [4], activation: 'softmax', kernelInitializer: 'ones' })],
    });
    const model = new TfjsModel(net);
    const x = randomInput(5, [5, 4]);
    const probs = await values(net.predict(x) as tf.Tensor);
    const scores = await values(await model.predictScores(x));
    const logits = await values(model.logits(x));
    for (let i = 0; i < probs.length; i++) {
      assert.ok(Math.abs((scores[i] ?? 0) - (probs[i] ?? 0)) < 1e-6);
      assert.ok(Math.abs((logits[i] ?? 0) - Math.log(probs[i] ?? 0)) < 1e-5);
    }
    x.dispose();
    model.dispose();
  });
});

describe('saveTfjsModel / loadTfjsModel', () => {
  it('round-trips a CNN: identical logits, metadata and a SHA-256 of weights.bin + model.json', async () => {
    const dir = freshDir();
    const classNames = Array.from({ length: 10 }, (_, i) => `class-${i}`);
    const original = new TfjsModel(buildSmallCnn({ seed: 7 }), { name: 'cnn', classNames });
    const saved = await saveTfjsModel(original, dir, {
      training: { epochs: 2, seed: 7 },
      tabular: { columns: ['a'] },
    });
    const loaded = await loadTfjsModel(dir);
    const x = randomInput(11, [20, 28, 28, 1]);
    const a = await values(original.logits(x));
    const b = await values(loaded.logits(x));
    assert.deepEqual(b, a, 'logits identical after the round trip');

    const manual = createHash('sha256')
      .update(readFileSync(join(dir, 'weights.bin')))
      .update(readFileSync(join(dir, 'model.json')))
      .digest('hex');
    assert.equal(saved.sha256, manual);
    assert.equal(loaded.info.sha256, manual);
    assert.equal(loaded.info.name, 'cnn');
    assert.deepEqual(loaded.info.classNames, classNames);
    assert.deepEqual(loaded.info.inputShape, [28, 28, 1]);
    assert.equal(loaded.info.source, dir);
    assert.deepEqual(loaded.meta.training, { epochs: 2, seed: 7 });
    assert.deepEqual(loaded.meta.tabular, { columns: ['a'] });

    // Standard tfjs layout, so tfjs itself can read it.
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    assert.equal(json.modelTopology.class_name, 'Sequential');
    assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
    assert.equal(json.weightsManifest[0].weights.length, 8, '4 kernels + 4 biases');
    x.dispose();
    original.dispose();
    loaded.dispose();
  });

  it('saves a bare LayersModel and loads a directory without aegis.json with defaults', async () => {
    const dir = freshDir();
    const net = buildMlp({ inputShape: [5], numClasses: 3, seed: 3 });
    await saveTfjsModel(net, dir, { inputRange: [-1, 1] });
    const withMeta = await loadTfjsModel(dir);
    assert.deepEqual(withMeta.info.inputRange, [-1, 1]);
    withMeta.dispose();
    rmSync(join(dir, 'aegis.json'));
    const bare = await loadTfjsModel(dir);
    assert.deepEqual(bare.info.inputRange, [0, 1]);
    assert.equal(bare.info.numClasses, 3);
    bare.dispose();
    net.dispose();
  });

  it('refuses metadata that contradicts the network', async () => {
    const net = buildMlp({ inputShape: [5], numClasses: 3, seed: 3 });
    await assert.rejects(saveTfjsModel(net, freshDir(), { numClasses: 4 }), AegisInputError);
    await assert.rejects(saveTfjsModel(net, freshDir(), { classNames: ['a', 'b'] }), AegisInputError);
    const dir = freshDir();
    await saveTfjsModel(net, dir);
    const meta = JSON.parse(readFileSync(join(dir, 'aegis.json'), 'utf8'));
    writeFileSync(join(dir, 'aegis.json'), JSON.stringify({ ...meta, inputShape: [7] }));
    await assert.rejects(loadTfjsModel(dir), /says input \[7\].*network has input \[5\]/);
    writeFileSync(join(dir, 'aegis.json'), '{"inputShape": ');
    await assert.rejects(loadTfjsModel(dir), /aegis\.json' is not valid JSON/);
    net.dispose();
  });

  it('raises AegisInputError for a missing directory, corrupt model.json, truncated or escaping weights', async () => {
    await assert.rejects(loadTfjsModel(join(root, 'nope')), (e: unknown) => {
      assert.ok(e instanceof AegisInputError);
      assert.match(e.message, /does not exist/);
      return true;
    });

    const net = buildMlp({ inputShape: [5], numClasses: 3, seed: 4 });
    const corrupt = freshDir();
    await saveTfjsModel(net, corrupt);
    const text = readFileSync(join(corrupt, 'model.json'), 'utf8');
    writeFileSync(join(corrupt, 'model.json'), text.slice(0, text.length / 2));
    await assert.rejects(loadTfjsModel(corrupt), (e: unknown) => {
      assert.ok(e instanceof AegisInputError);
      assert.match(e.message, /model\.json' is not valid JSON/);
      return true;
    });

    writeFileSync(join(corrupt, 'model.json'), JSON.stringify({ modelTopology: { class_name: 'Nonsense' } }));
    await assert.rejects(loadTfjsModel(corrupt), /no weightsManifest/);

    const truncated = freshDir();
    await saveTfjsModel(net, truncated);
    truncateSync(join(truncated, 'weights.bin'), 100);
    await assert.rejects(loadTfjsModel(truncated), /weight files hold 100 bytes but the manifest describes \d+/);

    const escaping = freshDir();
    await saveTfjsModel(net, escaping);
    const json = JSON.parse(readFileSync(join(escaping, 'model.json'), 'utf8'));
    json.weightsManifest[0].paths = ['../m0/weights.bin'];
    writeFileSync(join(escaping, 'model.json'), JSON.stringify(json));
    await assert.rejects(loadTfjsModel(escaping), /points outside the directory/);

    const badTopology = freshDir();
    await saveTfjsModel(net, badTopology);
    const j2 = JSON.parse(readFileSync(join(badTopology, 'model.json'), 'utf8'));
    j2.modelTopology.config.layers[1].class_name = 'NoSuchLayer';
    writeFileSync(join(badTopology, 'model.json'), JSON.stringify(j2));
    await assert.rejects(loadTfjsModel(badTopology), (e: unknown) => {
      assert.ok(e instanceof AegisInputError);
      assert.match(e.message, /cannot load the tfjs model/);
      return true;
    });
    net.dispose();
  });
});
