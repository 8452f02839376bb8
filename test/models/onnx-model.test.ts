import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { initRuntime, tf } from '../../src/core/runtime.js';
import { readNpzFile } from '../../src/data/npz.js';
import { loadNpzDataset } from '../../src/data/npz-dataset.js';
import { encodeOnnxModel, floatTensor, int64Tensor } from '../../src/models/onnx-build.js';
import { loadOnnxModel, type OnnxModel } from '../../src/models/onnx-model.js';
import { accuracyOf, maxAbsDiff, rejectsWithInputError } from '../helpers/assertions.js';
import { sharedPath } from '../helpers/shared-dir.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const CNN = join(FIXTURES, 'fmnist_cnn.onnx');
const FULL = sharedPath('baseline', 'fmnist_test1000.npz');
const dir = mkdtempSync(join(tmpdir(), 'aegis-onnx-'));

let cnn: OnnxModel;
before(async () => {
  await initRuntime();
  cnn = await loadOnnxModel(CNN);
});
after(async () => {
  await cnn.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('loadOnnxModel on the Fashion-MNIST CNN', () => {
  it('describes the model', () => {
    assert.equal(cnn.info.access, 'scores');
    assert.deepEqual(cnn.info.inputShape, [28, 28, 1]);
    assert.equal(cnn.info.numClasses, 10);
    assert.equal(cnn.input.layout, 'nchw');
    assert.equal(cnn.input.name, 'input');
    assert.equal(cnn.outputName, 'logits');
    assert.equal(cnn.outputsProbabilities, false);
    assert.equal(cnn.info.sha256, createHash('sha256').update(readFileSync(CNN)).digest('hex'));
    assert.ok(cnn.info.sha256?.startsWith('bdceaa39b718e661'));
  });

  it("matches PyTorch's logits on the 200 fixture images and scores 0.875 there", async () => {
    const ds = await loadNpzDataset(join(FIXTURES, 'fmnist_test200.npz'));
    const torch = readNpzFile(join(FIXTURES, 'fmnist_test200.npz'), { only: ['logits'] }).logits.data as Float32Array;
    const x = tf.tensor(ds.x, ds.shape);
    const logits = await cnn.predictOutputs(x);
    assert.ok(maxAbsDiff(logits, torch) < 1e-4, `max diff ${maxAbsDiff(logits, torch)}`);
    assert.equal(accuracyOf(await cnn.predictLabels(x), ds.y), 0.875);
    const scores = await cnn.predictScores(x);
    const expected = tf.softmax(tf.tensor2d(torch, [200, 10]));
    assert.ok(maxAbsDiff(await scores.data(), await expected.data()) < 1e-5);
    assert.deepEqual(scores.shape, [200, 10]);
    tf.dispose([x, scores, expected]);
  });

  it('reaches the reference clean accuracy 0.879 on the 1000 baseline images', async (t) => {
    if (!existsSync(FULL)) return t.skip(`${FULL} is absent`);
    const ds = await loadNpzDataset(FULL);
    const x = tf.tensor(ds.x, ds.shape);
    assert.equal(accuracyOf(await cnn.predictLabels(x), ds.y), 0.879);
    x.dispose();
  });

  it('rejects inputs of the wrong shape, naming the expected one', async () => {
    const nchw = tf.zeros([2, 1, 28, 28]);
    await rejectsWithInputError(
      cnn.predictScores(nchw),
      /expects inputs \[batch, 28, 28, 1\] \(NHWC\), got \[2, 1, 28, 28\]/,
    );
    await rejectsWithInputError(cnn.predictLabels(tf.zeros([784])), /got \[784\]/);
    nchw.dispose();
  });

  it('predictRows gives the same outputs from flat NHWC rows, and rejects a wrong count of values', async () => {
    const ds = await loadNpzDataset(join(FIXTURES, 'fmnist_test200.npz'));
    const rows = ds.x.subarray(0, 20 * 784);
    const x = tf.tensor(rows, [20, 28, 28, 1]);
    assert.ok(maxAbsDiff(await cnn.predictRows(rows, 20), await cnn.predictOutputs(x)) < 1e-6);
    await rejectsWithInputError(cnn.predictRows(rows, 19), /expects 19 × 784 values .* got 15680/);
    await rejectsWithInputError(cnn.predictRows(new Float32Array(0), 0), /expects 0 × 784/);
    x.dispose();
  });

  it('casts integer inputs to float32', async () => {
    const ints = tf.fill([2, 28, 28, 1], 1, 'int32');
    const floats = tf.ones([2, 28, 28, 1]);
    assert.deepEqual(await cnn.predictLabels(ints), await cnn.predictLabels(floats));
    tf.dispose([ints, floats]);
  });
});

describe('loadOnnxModel on other graphs', () => {
  it('does not apply softmax twice to a graph ending in Softmax', async () => {
    const m = await loadOnnxModel(join(FIXTURES, 'tiny_ops.onnx'));
    assert.equal(m.outputsProbabilities, true);
    assert.deepEqual(m.info.inputShape, [8, 8, 3]);
    const x = tf.tensor(new Rng(3).uniformArray(4 * 192, 0, 1), [4, 8, 8, 3]);
    const raw = await m.predictOutputs(x);
    const scores = await m.predictScores(x);
    assert.ok(maxAbsDiff(await scores.data(), raw) < 1e-7);
    const sums = await tf.sum(scores, 1).data();
    for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-5);
    tf.dispose([x, scores]);
    await m.dispose();
  });

  it('feeds an NHWC model without transposing', async () => {
    const m = await loadOnnxModel(join(FIXTURES, 'tiny_nhwc.onnx'));
    assert.equal(m.input.layout, 'nhwc');
    assert.deepEqual(m.info.inputShape, [6, 6, 3]);
    assert.equal(m.info.numClasses, 3);
    const x = tf.tensor(new Rng(4).uniformArray(2 * 108, 0, 1), [2, 6, 6, 3]);
    const out = await m.predictOutputs(x);
    assert.equal(out.length, 6);
    // A forced layout changes how one NHWC example maps onto the model's [6, 6, 3] input.
    const flipped = await loadOnnxModel(join(FIXTURES, 'tiny_nhwc.onnx'), { layout: 'nchw' });
    assert.deepEqual(flipped.info.inputShape, [6, 3, 6]);
    x.dispose();
    await m.dispose();
    await flipped.dispose();
  });

  it('runs a model with a fixed batch size in chunks', async () => {
    // input [1, 3, 2, 2] → Reshape [1, 12] → MatMul [12, 4]
    const rng = new Rng(5);
    const path = join(dir, 'fixed.onnx');
    const w = rng.uniformArray(48, -1, 1);
    writeFileSync(
      path,
      encodeOnnxModel({
        input: { name: 'x', dims: [1, 3, 2, 2] },
        outputs: [{ name: 'y', dims: [1, 4] }],
        initializers: [int64Tensor('s', [2], [1, 12]), floatTensor('w', [12, 4], w)],
        nodes: [
          { op: 'Reshape', inputs: ['x', 's'], outputs: ['f'] },
          { op: 'MatMul', inputs: ['f', 'w'], outputs: ['y'] },
        ],
      }),
    );
    const m = await loadOnnxModel(path);
    assert.equal(m.input.fixedBatch, 1);
    const xs = rng.uniformArray(5 * 12, 0, 1);
    const x = tf.tensor(xs, [5, 2, 2, 3]);
    const out = await m.predictOutputs(x);
    // Reference: transpose NHWC → NCHW then multiply.
    const ref = await tf.matMul(tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [5, 12]), tf.tensor2d(w, [12, 4])).data();
    assert.ok(maxAbsDiff(out, ref) < 1e-5);
    // The tfjs-free path transposes three channels itself and gives the same outputs.
    assert.ok(maxAbsDiff(await m.predictRows(xs, 5), ref) < 1e-5);
    x.dispose();
    await m.dispose();
  });
});

describe('loadOnnxModel on bad files', () => {
  it('names a missing file', async () => {
    await rejectsWithInputError(loadOnnxModel(join(dir, 'nope.onnx')), /cannot read ONNX model '.*nope\.onnx'.*ENOENT/);
  });

  it('rejects truncated and corrupt files', async () => {
    const bytes = readFileSync(CNN);
    const cut = join(dir, 'cut.onnx');
    for (const fraction of [0.01, 0.5, 0.999]) {
      writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * fraction)));
      await rejectsWithInputError(
        loadOnnxModel(cut),
        /cut\.onnx' is not a valid ONNX model: the protobuf is corrupt or truncated/,
      );
    }
    const garbage = join(dir, 'garbage.onnx');
    writeFileSync(garbage, 'this is a text file, not a model\n');
    await rejectsWithInputError(loadOnnxModel(garbage), /garbage\.onnx' is not a valid ONNX model/);
    const empty = join(dir, 'empty.onnx');
    writeFileSync(empty, '');
    await rejectsWithInputError(loadOnnxModel(empty), /empty\.onnx' is not a valid ONNX model/);
  });

  it('rejects class names that do not match the outputs', async () => {
    await rejectsWithInputError(loadOnnxModel(CNN, { classNames: ['a', 'b'] }), /has 10 classes but 2 class names/);
  });
});
