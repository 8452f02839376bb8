import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { initRuntime, tf } from '../../src/core/runtime.js';
import type { Dataset } from '../../src/data/dataset.js';
import { readNpzFile } from '../../src/data/npz.js';
import { loadNpzDataset } from '../../src/data/npz-dataset.js';
import { isDifferentiable } from '../../src/models/model.js';
import { type BuildModel, encodeOnnxModel, floatTensor, int64Tensor } from '../../src/models/onnx-build.js';
import { type ImportedOnnxModel, importOnnxModel } from '../../src/models/onnx-import.js';
import { loadOnnxModel, type OnnxModel } from '../../src/models/onnx-model.js';
import { accuracyOf, maxAbsDiff, rejectsWithInputError } from '../helpers/assertions.js';
import { sharedPath } from '../helpers/shared-dir.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const CNN = join(FIXTURES, 'fmnist_cnn.onnx');
const FIXTURE_NPZ = join(FIXTURES, 'fmnist_test200.npz');
const FULL = sharedPath('baseline', 'fmnist_test1000.npz');
const dir = mkdtempSync(join(tmpdir(), 'aegis-onnx-import-'));

function randomImages(seed: number, n: number, shape: number[], low = 0, high = 1): tf.Tensor {
  const size = n * shape.reduce((a, b) => a * b, 1);
  return tf.tensor(new Rng(seed).uniformArray(size, low, high), [n, ...shape]);
}

/** Asserts |actual − expected| ≤ rel · max|expected| everywhere (NaN fails). */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rel = 1e-4): void {
  const scale = maxAbsDiff(expected, new Float32Array(expected.length));
  assert.ok(scale > 0, `${what}: the expected values are all zero`);
  const worst = maxAbsDiff(actual, expected);
  assert.ok(worst <= rel * scale, `${what}: max difference ${worst} > ${rel} × ${scale}`);
}

function oneHot(labels: ArrayLike<number>, k: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Int32Array.from(labels), 'int32'), k), 'float32') as tf.Tensor2D);
}

/** ∂(softmax cross-entropy summed over the batch)/∂x through the model's tfjs logits. */
function tfjsGradient(model: ImportedOnnxModel, x: tf.Tensor, labels: tf.Tensor): Float32Array {
  return tf.tidy(() => {
    const loss = (v: tf.Tensor) =>
      tf.losses.softmaxCrossEntropy(labels, model.logits(v), undefined, 0, tf.Reduction.SUM) as tf.Scalar;
    return tf.grad(loss)(x).dataSync() as Float32Array;
  });
}

/** The ONNX Runtime gradient route's input gradient (the reference: first maximum of each pooling window). */
async function ortGradient(model: ImportedOnnxModel, x: tf.Tensor, labels: tf.Tensor): Promise<Float32Array> {
  assert.ok(model.crossEntropyGradient, `no ONNX Runtime gradient: ${model.gradientRoute.reason}`);
  const { grad, logits } = await model.crossEntropyGradient(x, labels);
  const values = (await grad.data()) as Float32Array;
  tf.dispose([grad, logits]);
  return values;
}

function writeModel(name: string, model: BuildModel): string {
  const path = join(dir, name);
  writeFileSync(path, encodeOnnxModel(model));
  return path;
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
  await imported.dispose();
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

  it('predicts through an ONNX Runtime session by default, with the same labels and scores as tfjs', async () => {
    assert.deepEqual(imported.predictionRoute, { engine: 'onnxruntime' });
    const viaTfjs = await importOnnxModel(CNN, { ortPredictions: false, ortGradients: false });
    assert.deepEqual(viaTfjs.predictionRoute, {
      engine: 'tfjs',
      reason: 'ONNX Runtime predictions were not requested',
    });
    const x = tf.tensor(data.x, data.shape);
    assert.deepEqual(await imported.predictLabels(x), await viaTfjs.predictLabels(x));
    const [ours, theirs] = [await imported.predictScores(x), await viaTfjs.predictScores(x)];
    assert.deepEqual(ours.shape, [200, 10]);
    assert.ok(maxAbsDiff(await ours.data(), await theirs.data()) < 1e-5);
    tf.dispose([x, ours, theirs]);
    await viaTfjs.dispose();
  });

  it('scores 0.875 on the 200 fixture images, the same as ONNX Runtime', async () => {
    const x = tf.tensor(data.x, data.shape);
    const labels = await imported.predictLabels(x);
    assert.equal(accuracyOf(labels, data.y), 0.875);
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
    assert.equal(accuracyOf(await imported.predictLabels(x), full.y), 0.879);
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
    await another.dispose();
    await assert.rejects(another.predictLabels(x), /is disposed/);
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });

  it('rejects inputs of the wrong shape', async () => {
    const nchw = tf.zeros([2, 1, 28, 28]);
    assert.throws(() => imported.logits(nchw), /expects inputs \[batch, 28, 28, 1\] \(NHWC\), got \[2, 1, 28, 28\]/);
    await rejectsWithInputError(imported.predictLabels(nchw), /expects inputs/);
    nchw.dispose();
  });

  it('casts integer inputs to float32', async () => {
    const ints = tf.fill([2, 28, 28, 1], 1, 'int32');
    const floats = tf.ones([2, 28, 28, 1]);
    assert.deepEqual(await imported.predictLabels(ints), await imported.predictLabels(floats));
    tf.dispose([ints, floats]);
  });
});

describe('max pooling in the tfjs import', () => {
  it("gives PyTorch's gradient (first maximum per window) on the 200 fixture images", async () => {
    // Ties are common there (flat image regions, zeros after Relu): an equal split would differ
    // from PyTorch at about a quarter of the positions. The ONNX Runtime route is the reference
    // (test/models/onnx-gradient.test.ts checks it against a plain-loop first-max CNN).
    const x = tf.tensor(data.x, data.shape);
    const labels = oneHot(data.y, 10);
    assertClose(tfjsGradient(imported, x, labels), await ortGradient(imported, x, labels), 'gradient');
    tf.dispose([x, labels]);
  });

  it('pools Conv outputs before their bias and Relu under a gradient tape, with the same logits and gradient', async () => {
    const graphOrder = await importOnnxModel(CNN, {
      poolBeforeRelu: false,
      ortGradients: false,
      ortPredictions: false,
    });
    const x = tf.tensor(data.x.subarray(0, 100 * 784), [100, 28, 28, 1]);
    const labels = oneHot(data.y.subarray(0, 100), 10);
    // Logits under a gradient tape, and the output shapes of the Relu kernels that ran.
    const taped = async (model: ImportedOnnxModel) => {
      let logits: ArrayLike<number> = [];
      const profile = await tf.profile(() =>
        tf.tidy(() => {
          tf.grad((v: tf.Tensor) => {
            const l = model.logits(v);
            logits = l.dataSync();
            return tf.sum(l);
          })(x);
        }),
      );
      const reluShapes = profile.kernels.filter((k) => k.name === 'Relu').map((k) => k.outputShapes[0] as number[]);
      return { logits, reluShapes };
    };
    const [reordered, plain] = [await taped(imported), await taped(graphOrder)];
    // The Relus run on the pooled 13×13 and 5×5 maps instead of the 26×26 and 11×11 Conv outputs.
    assert.deepEqual(
      reordered.reluShapes.slice(0, 2).map((s) => s.slice(1, 3)),
      [
        [13, 13],
        [5, 5],
      ],
    );
    assert.deepEqual(
      plain.reluShapes.slice(0, 2).map((s) => s.slice(1, 3)),
      [
        [26, 26],
        [11, 11],
      ],
    );
    assert.deepEqual(reordered.logits, plain.logits); // max commutes exactly with + bias and Relu
    assertClose(tfjsGradient(imported, x, labels), tfjsGradient(graphOrder, x, labels), 'gradient', 1e-6);
    tf.dispose([x, labels]);
    await graphOrder.dispose();
  });

  it('sends the gradient of tied windows to their first maximum: padded, ceil-mode and overlapping windows', async () => {
    // Constant images: every window is a tie. Padding is −∞ (never the maximum), as ONNX says.
    const rng = new Rng(5);
    const path = writeModel('pools.onnx', {
      input: { name: 'x', dims: ['N', 2, 6, 6] },
      outputs: [{ name: 'y', dims: ['N', 3] }],
      initializers: [
        floatTensor('W', [90, 3], rng.uniformArray(270, -1, 1)),
        floatTensor('K', [4, 1, 3, 3], rng.uniformArray(36, -1, 1)),
        floatTensor('B', [4], [0.1, -0.2, 0, 0.3]),
      ],
      nodes: [
        { op: 'MaxPool', inputs: ['x'], outputs: ['a'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        {
          op: 'MaxPool',
          inputs: ['x'],
          outputs: ['b'],
          attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
        },
        {
          op: 'MaxPool',
          inputs: ['x'],
          outputs: ['c'],
          attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 },
        },
        // Grouped Conv → Relu → padded ceil-mode MaxPool: pooled before the bias and Relu.
        {
          op: 'Conv',
          inputs: ['x', 'K', 'B'],
          outputs: ['k'],
          attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], group: 2 },
        },
        { op: 'Relu', inputs: ['k'], outputs: ['r'] },
        {
          op: 'MaxPool',
          inputs: ['r'],
          outputs: ['d'],
          attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1], ceil_mode: 1 },
        },
        { op: 'Flatten', inputs: ['d'], outputs: ['fd'] },
        { op: 'Flatten', inputs: ['a'], outputs: ['fa'] },
        { op: 'Flatten', inputs: ['b'], outputs: ['fb'] },
        { op: 'Flatten', inputs: ['c'], outputs: ['fc'] },
        { op: 'Concat', inputs: ['fa', 'fb', 'fc', 'fd'], outputs: ['f'], attrs: { axis: 1 } },
        { op: 'MatMul', inputs: ['f', 'W'], outputs: ['y'] },
      ],
    });
    const model = await importOnnxModel(path, { inputRange: [-1, 1] });
    const ort = await loadOnnxModel(path);
    const level = [-0.5, 0, 0.5, -0.25, 0.75, 1, -1, 0.25];
    const values = new Float32Array(8 * 72);
    values.forEach((_, i) => {
      values[i] = level[Math.floor(i / 72)];
    });
    // Two more images with random values and ties only in places.
    const mixed = randomImages(6, 2, [6, 6, 2], -1, 1);
    const x = tf.concat([tf.tensor(values, [8, 6, 6, 2]), tf.round(tf.mul(mixed, 2))]);
    const labels = oneHot([0, 1, 2, 0, 1, 2, 0, 1, 2, 0], 3);
    const logits = model.logits(x);
    assert.ok(maxAbsDiff(await logits.data(), await ort.predictOutputs(x)) < 1e-5);
    const grad = tfjsGradient(model, x, labels);
    assertClose(grad, await ortGradient(model, x, labels), 'gradient');
    // The same without pooling first.
    const graphOrder = await importOnnxModel(path, {
      poolBeforeRelu: false,
      ortGradients: false,
      ortPredictions: false,
    });
    assertClose(tfjsGradient(graphOrder, x, labels), grad, 'gradient in graph order', 1e-6);
    await graphOrder.dispose();
    tf.dispose([mixed, x, labels, logits]);
    await model.dispose();
    await ort.dispose();
  });
});

describe('Elu and Selu in the tfjs import', () => {
  it('honour alpha and gamma like ONNX Runtime, with finite gradients even for large inputs', async () => {
    const path = writeModel('elu.onnx', {
      input: { name: 'x', dims: ['N', 6] },
      outputs: [{ name: 'y', dims: ['N', 4] }],
      initializers: [floatTensor('W', [36, 4], new Rng(7).uniformArray(144, -0.5, 0.5))],
      nodes: [
        { op: 'Elu', inputs: ['x'], outputs: ['e1'], attrs: { alpha: { float: 0.5 } } },
        { op: 'Elu', inputs: ['x'], outputs: ['e2'] },
        { op: 'Elu', inputs: ['x'], outputs: ['e3'], attrs: { alpha: { float: 2.5 } } },
        { op: 'Selu', inputs: ['x'], outputs: ['s1'], attrs: { alpha: { float: 1.2 }, gamma: { float: 0.9 } } },
        { op: 'Selu', inputs: ['x'], outputs: ['s2'] },
        { op: 'Selu', inputs: ['x'], outputs: ['s3'], attrs: { gamma: { float: 2 } } },
        { op: 'Concat', inputs: ['e1', 'e2', 'e3', 's1', 's2', 's3'], outputs: ['f'], attrs: { axis: 1 } },
        { op: 'MatMul', inputs: ['f', 'W'], outputs: ['y'] },
      ],
    });
    const model = await importOnnxModel(path, { inputRange: [-3, 3] });
    const ort = await loadOnnxModel(path);
    // The load-time check differentiated the graph in tfjs too (no "tfjs cannot differentiate" note).
    assert.deepEqual(model.gradientRoute, { engine: 'onnxruntime' });
    const x = randomImages(8, 12, [6], -3, 3);
    const labels = oneHot([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3], 4);
    const logits = model.logits(x);
    assertClose(await logits.data(), await ort.predictOutputs(x), 'logits', 1e-6);
    assertClose(tfjsGradient(model, x, labels), await ortGradient(model, x, labels), 'gradient');
    // Inputs where exp(x) overflows float32 (x > 88.7): the gradient must stay finite.
    const big = randomImages(9, 4, [6], -200, 200);
    const bigLogits = model.logits(big);
    assertClose(await bigLogits.data(), await ort.predictOutputs(big), 'logits of large inputs', 1e-6);
    const grad = tfjsGradient(model, big, oneHot([0, 1, 2, 3], 4));
    assert.ok(grad.every(Number.isFinite), 'non-finite gradient');
    tf.dispose([x, labels, logits, big, bigLogits]);
    await model.dispose();
    await ort.dispose();
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
    await ours.dispose();
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
    await ours.dispose();
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
    await ours.dispose();
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
    await rejectsWithInputError(
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
    await rejectsWithInputError(
      importOnnxModel(path),
      /uses ONNX ops the tfjs importer does not support: Einsum, TopK, com\.microsoft\.FusedGemm \(supported: .*Conv/,
    );
  });

  it('predicts with tfjs when ONNX Runtime cannot load the graph, and says why', async () => {
    // ONNX Runtime rejects attributes an op does not define; the importer ignores them.
    const path = writeModel('bogus-attr.onnx', {
      input: { name: 'x', dims: ['N', 4] },
      outputs: [{ name: 'y', dims: ['N', 2] }],
      initializers: [floatTensor('w', [4, 2], [1, -1, 0.5, 2, -0.3, 0.7, 0.1, 0.2])],
      nodes: [
        { op: 'Relu', inputs: ['x'], outputs: ['r'], attrs: { bogus: 3 } },
        { op: 'MatMul', inputs: ['r', 'w'], outputs: ['y'] },
      ],
    });
    const model = await importOnnxModel(path);
    assert.equal(model.predictionRoute.engine, 'tfjs');
    assert.match(model.predictionRoute.reason ?? '', /ONNX Runtime cannot load .*Unrecognized attribute: bogus/);
    const x = tf.tensor2d([
      [1, 2, 3, 4],
      [-1, -2, 3, -4],
    ]);
    // relu(x)·w = [1 + 1 − 0.9 + 0.4, −1 + 4 + 2.1 + 0.8] and [−0.9, 2.1].
    assert.deepEqual(await model.predictLabels(x), Int32Array.from([1, 1]));
    const scores = await model.predictScores(x);
    const expected = tf.softmax(tf.tensor2d([1.5, 5.9, -0.9, 2.1], [2, 2]));
    assert.ok(maxAbsDiff(await scores.data(), await expected.data()) < 1e-6);
    tf.dispose([x, scores, expected]);
    await model.dispose();
  });

  it('rejects missing, truncated and corrupt files', async () => {
    await rejectsWithInputError(importOnnxModel(join(dir, 'nope.onnx')), /cannot read ONNX model .*ENOENT/);
    const bytes = readFileSync(CNN);
    const cut = join(dir, 'cut.onnx');
    for (const fraction of [0.01, 0.5, 0.999]) {
      writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * fraction)));
      await rejectsWithInputError(importOnnxModel(cut), /cut\.onnx' is not a valid ONNX model/);
    }
    const corrupt = Buffer.from(bytes);
    for (let i = 1000; i < 1100; i++) corrupt[i] ^= 0xff;
    writeFileSync(cut, corrupt);
    await rejectsWithInputError(
      importOnnxModel(cut),
      /is not a valid ONNX model: the protobuf is corrupt or truncated/,
    );
  });
});
