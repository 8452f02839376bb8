import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { initRuntime, tf } from '../../src/core/runtime.js';
import type { Dataset } from '../../src/data/dataset.js';
import { readNpzFile } from '../../src/data/npz.js';
import { loadNpzDataset } from '../../src/data/npz-dataset.js';
import { isDifferentiable } from '../../src/models/model.js';
import { encodeOnnxModel, floatTensor, int64Tensor } from '../../src/models/onnx-build.js';
import { type ImportedOnnxModel, importOnnxModel } from '../../src/models/onnx-import.js';
import { loadOnnxModel, type OnnxModel } from '../../src/models/onnx-model.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const CNN = join(FIXTURES, 'fmnist_cnn.onnx');
const FIXTURE_NPZ = join(FIXTURES, 'fmnist_test200.npz');
const FULL = '/work/shared/baseline/fmnist_test1000.npz';
const dir = mkdtempSync(join(tmpdir(), 'aegis-onnx-import-'));

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof AegisInputError, `expected AegisInputError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function accuracy(labels: Int32Array, y: Int32Array): number {
  let correct = 0;
  for (let i = 0; i < y.length; i++) if (labels[i] === y[i]) correct++;
  return correct / y.length;
}

function randomImages(seed: number, n: number, shape: number[]): tf.Tensor {
  const size = n * shape.reduce((a, b) => a * b, 1);
  return tf.tensor(new Rng(seed).uniformArray(size, 0, 1), [n, ...shape]);
}

let imported: ImportedOnnxModel;
let runtime: OnnxModel;
let data: Dataset;
before(async () => {
  await initRuntime();
  imported = await importOnnxModel(CNN);
  runtime = await loadOnnxModel(CNN);
  data = await loadNpzDataset(FIXTURE_NPZ);
});
after(async () => {
  imported.dispose();
  await runtime.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('importOnnxModel on the Fashion-MNIST CNN', () => {
  it('is a differentiable model with the CNN shapes', () => {
    assert.ok(isDifferentiable(imported));
    assert.equal(imported.info.access, 'gradients');
    assert.deepEqual(imported.info.inputShape, [28, 28, 1]);
    assert.equal(imported.info.numClasses, 10);
    assert.equal(imported.endsInSoftmax, false);
    assert.equal(imported.info.sha256, runtime.info.sha256);
  });

  it("equals ONNX Runtime's and PyTorch's logits within 1e-4 on the 200 fixture images", async () => {
    const x = tf.tensor(data.x, data.shape);
    const logits = imported.logits(x);
    const ours = await logits.data();
    const ort = await runtime.predictOutputs(x);
    const torch = readNpzFile(FIXTURE_NPZ, { only: ['logits'] }).logits.data as Float32Array;
    assert.ok(maxAbsDiff(ours, ort) < 1e-4, `vs onnxruntime: ${maxAbsDiff(ours, ort)}`);
    assert.ok(maxAbsDiff(ours, torch) < 1e-4, `vs pytorch: ${maxAbsDiff(ours, torch)}`);
    tf.dispose([x, logits]);
  });

  it('scores 0.875 on the 200 fixture images, the same as ONNX Runtime', async () => {
    const x = tf.tensor(data.x, data.shape);
    const labels = await imported.predictLabels(x);
    assert.equal(accuracy(labels, data.y), 0.875);
    assert.deepEqual(labels, await runtime.predictLabels(x));
    const scores = await imported.predictScores(x);
    const ortScores = await runtime.predictScores(x);
    assert.ok(maxAbsDiff(await scores.data(), await ortScores.data()) < 1e-5);
    tf.dispose([x, scores, ortScores]);
  });

  it('reaches the reference clean accuracy 0.879 on the 1000 baseline images', async (t) => {
    if (!existsSync(FULL)) return t.skip(`${FULL} is absent`);
    const full = await loadNpzDataset(FULL);
    const x = tf.tensor(full.x, full.shape);
    assert.equal(accuracy(await imported.predictLabels(x), full.y), 0.879);
    x.dispose();
  });

  it('gives a finite, non-zero input gradient of the loss', () => {
    const x = tf.tensor(data.x.subarray(0, 16 * 784), [16, 28, 28, 1]);
    const onehot = tf.oneHot(tf.tensor1d(data.y.subarray(0, 16), 'int32'), 10);
    const grad = tf.grad((xx: tf.Tensor) => tf.losses.softmaxCrossEntropy(onehot, imported.logits(xx)))(x);
    assert.deepEqual(grad.shape, [16, 28, 28, 1]);
    const values = grad.dataSync();
    assert.ok(values.every(Number.isFinite));
    assert.ok(
      values.some((v) => v !== 0),
      'gradient is all zero',
    );
    tf.dispose([x, onehot, grad]);
  });

  it('computes the same logits with fused inference kernels and with the differentiable ops', () => {
    const x = tf.tensor(data.x.subarray(0, 50 * 784), [50, 28, 28, 1]);
    const fused = imported.logits(x); // no gradient tape: fused kernels
    let taped: Float32Array | undefined;
    const g = tf.grad((xx: tf.Tensor) => {
      const l = imported.logits(xx);
      taped = l.dataSync() as Float32Array;
      return tf.sum(l);
    })(x);
    assert.ok(taped);
    assert.ok(maxAbsDiff(fused.dataSync(), taped) < 1e-5);
    tf.dispose([x, fused, g]);
  });

  it('keeps the tensor count flat across calls and frees everything on dispose', async () => {
    const x = randomImages(1, 20, [28, 28, 1]);
    const start = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      tf.dispose([imported.logits(x), await imported.predictScores(x)]);
      await imported.predictLabels(x);
      tf.grad((xx: tf.Tensor) => tf.sum(imported.logits(xx)))(x).dispose();
    }
    assert.equal(tf.memory().numTensors, start);
    const before = tf.memory().numTensors;
    const another = await importOnnxModel(CNN);
    assert.ok(tf.memory().numTensors > before);
    another.dispose();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });

  it('rejects inputs of the wrong shape', async () => {
    const nchw = tf.zeros([2, 1, 28, 28]);
    assert.throws(() => imported.logits(nchw), /expects inputs \[batch, 28, 28, 1\] \(NHWC\), got \[2, 1, 28, 28\]/);
    await rejects(imported.predictLabels(nchw), /expects inputs/);
    nchw.dispose();
  });

  it('casts integer inputs to float32', async () => {
    const ints = tf.fill([2, 28, 28, 1], 1, 'int32');
    const floats = tf.ones([2, 28, 28, 1]);
    assert.deepEqual(await imported.predictLabels(ints), await imported.predictLabels(floats));
    tf.dispose([ints, floats]);
  });
});

describe('importOnnxModel on other graphs', () => {
  it('evaluates the tiny op-coverage graph like ONNX Runtime, returning pre-softmax logits', async () => {
    const path = join(FIXTURES, 'tiny_ops.onnx');
    const ours = await importOnnxModel(path);
    const ort = await loadOnnxModel(path);
    assert.equal(ours.endsInSoftmax, true);
    assert.deepEqual(ours.info.inputShape, [8, 8, 3]);
    assert.equal(ours.info.numClasses, 5);
    const x = randomImages(2, 9, [8, 8, 3]);
    const probs = await ort.predictOutputs(x); // the graph's own Softmax output
    const logits = ours.logits(x);
    assert.ok(maxAbsDiff(await tf.softmax(logits).data(), probs) < 1e-5);
    // logits() skips the final Softmax: rows do not sum to 1.
    const sums = await tf.sum(logits, 1).data();
    assert.ok(sums.some((s) => Math.abs(s - 1) > 0.1));
    const grad = tf.grad((xx: tf.Tensor) =>
      tf.sum(tf.mul(tf.logSoftmax(ours.logits(xx)), tf.oneHot([0, 1, 2, 3, 4, 0, 1, 2, 3], 5))),
    )(x);
    const g = grad.dataSync();
    assert.ok(g.every(Number.isFinite) && g.some((v) => v !== 0));
    tf.dispose([x, logits, grad]);
    ours.dispose();
    await ort.dispose();
  });

  it('imports an NHWC-input graph (Keras-style Transpose) like ONNX Runtime', async () => {
    const path = join(FIXTURES, 'tiny_nhwc.onnx');
    const ours = await importOnnxModel(path);
    const ort = await loadOnnxModel(path);
    assert.equal(ours.input.layout, 'nhwc');
    const x = randomImages(3, 5, [6, 6, 3]);
    const logits = ours.logits(x);
    assert.ok(maxAbsDiff(await logits.data(), await ort.predictOutputs(x)) < 1e-5);
    tf.dispose([x, logits]);
    ours.dispose();
    await ort.dispose();
  });

  it('runs a graph with a fixed batch size in chunks, differentiably', async () => {
    const rng = new Rng(9);
    const w = rng.uniformArray(48, -1, 1);
    const path = join(dir, 'fixed.onnx');
    writeFileSync(
      path,
      encodeOnnxModel({
        input: { name: 'x', dims: [2, 3, 2, 2] },
        outputs: [{ name: 'y', dims: [2, 4] }],
        initializers: [int64Tensor('s', [2], [2, 12]), floatTensor('w', [12, 4], w)],
        nodes: [
          { op: 'Reshape', inputs: ['x', 's'], outputs: ['f'] },
          { op: 'MatMul', inputs: ['f', 'w'], outputs: ['y'] },
        ],
      }),
    );
    const ours = await importOnnxModel(path);
    const ort = await loadOnnxModel(path);
    const x = randomImages(4, 5, [2, 2, 3]);
    const logits = ours.logits(x);
    assert.deepEqual(logits.shape, [5, 4]);
    assert.ok(maxAbsDiff(await logits.data(), await ort.predictOutputs(x)) < 1e-5);
    const grad = tf.grad((xx: tf.Tensor) => tf.sum(ours.logits(xx)))(x);
    assert.deepEqual(grad.shape, [5, 2, 2, 3]);
    tf.dispose([x, logits, grad]);
    ours.dispose();
    await ort.dispose();
  });

  it('rejects a dynamic-batch graph whose Reshape fixes the batch size', async () => {
    const path = join(dir, 'batch1.onnx');
    writeFileSync(
      path,
      encodeOnnxModel({
        input: { name: 'x', dims: ['N', 1, 2, 2] },
        outputs: [{ name: 'y', dims: ['N', 2] }],
        initializers: [int64Tensor('s', [2], [1, 4]), floatTensor('w', [4, 2], [1, 2, 3, 4, 5, 6, 7, 8])],
        nodes: [
          { op: 'Reshape', inputs: ['x', 's'], outputs: ['f'] },
          { op: 'MatMul', inputs: ['f', 'w'], outputs: ['y'] },
        ],
      }),
    );
    await rejects(
      importOnnxModel(path),
      /batch1\.onnx' cannot be evaluated: .*\(Reshape\): cannot reshape \[2,1,2,2\] to \[1,4\] \(does the graph fix the batch size\?\)/,
    );
  });

  it('lists every unsupported op type', async () => {
    const path = join(dir, 'unsupported.onnx');
    writeFileSync(
      path,
      encodeOnnxModel({
        input: { name: 'x', dims: ['N', 4] },
        outputs: [{ name: 'y', dims: ['N', 4] }],
        initializers: [],
        nodes: [
          { op: 'Einsum', inputs: ['x'], outputs: ['a'], attrs: { equation: 'ij->ij' } },
          { op: 'Relu', inputs: ['a'], outputs: ['b'] },
          { op: 'FusedGemm', domain: 'com.microsoft', inputs: ['b'], outputs: ['c'] },
          { op: 'TopK', inputs: ['c'], outputs: ['y'] },
        ],
      }),
    );
    await rejects(
      importOnnxModel(path),
      /uses ONNX ops the tfjs importer does not support: Einsum, TopK, com\.microsoft\.FusedGemm \(supported: .*Conv/,
    );
  });

  it('rejects missing, truncated and corrupt files', async () => {
    await rejects(importOnnxModel(join(dir, 'nope.onnx')), /cannot read ONNX model .*ENOENT/);
    const bytes = readFileSync(CNN);
    const cut = join(dir, 'cut.onnx');
    for (const fraction of [0.01, 0.5, 0.999]) {
      writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * fraction)));
      await rejects(importOnnxModel(cut), /cut\.onnx' is not a valid ONNX model/);
    }
    const corrupt = Buffer.from(bytes);
    for (let i = 1000; i < 1100; i++) corrupt[i] ^= 0xff;
    writeFileSync(cut, corrupt);
    await rejects(importOnnxModel(cut), /is not a valid ONNX model: the protobuf is corrupt or truncated/);
  });
});
