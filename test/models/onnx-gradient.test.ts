import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fgsm } from '../../src/attacks/evasion/fgsm.js';
import { crossEntropy } from '../../src/attacks/evasion/loss-gradient.js';
import { pgd } from '../../src/attacks/evasion/pgd.js';
import { AegisInputError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { initRuntime, tf } from '../../src/core/runtime.js';
import { makeThreatModel } from '../../src/core/threat-model.js';
import type { Dataset } from '../../src/data/dataset.js';
import { loadNpzDataset } from '../../src/data/npz-dataset.js';
import {
  type BuildModel,
  type BuildNode,
  encodeOnnxModel,
  floatTensor,
  int64Tensor,
} from '../../src/models/onnx-build.js';
import { planGradient } from '../../src/models/onnx-gradient-graph.js';
import { decodeOnnx, decodeTensor, readOnnxFile, resolveInput } from '../../src/models/onnx-graph.js';
import { type ImportedOnnxModel, importOnnxModel } from '../../src/models/onnx-import.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const CNN = join(FIXTURES, 'fmnist_cnn.onnx');
const dir = mkdtempSync(join(tmpdir(), 'aegis-onnx-gradient-'));

function oneHot(labels: ArrayLike<number>, k: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Int32Array.from(labels), 'int32'), k), 'float32') as tf.Tensor2D);
}

function randomInputs(seed: number, n: number, shape: number[], low = 0, high = 1): tf.Tensor {
  return tf.tensor(new Rng(seed).uniformArray(n * shape.reduce((a, b) => a * b, 1), low, high), [n, ...shape]);
}

/** Asserts |actual − expected| ≤ rel · max|expected| everywhere (NaN fails). */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rel = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  assert.ok(scale > 0, `${what}: the expected values are all zero`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  assert.ok(worst <= rel * scale, `${what}: max difference ${worst} > ${rel} × ${scale}`);
}

/** The model's fast-path gradient and logits as arrays. */
async function ortRoute(model: ImportedOnnxModel, x: tf.Tensor, labels: tf.Tensor) {
  assert.ok(model.crossEntropyGradient, `no ONNX Runtime route: ${model.gradientRoute.reason}`);
  const { grad, logits } = await model.crossEntropyGradient(x, labels);
  assert.deepEqual(grad.shape, x.shape);
  const out = { grad: await grad.data(), logits: await logits.data() };
  tf.dispose([grad, logits]);
  return out;
}

/** tf.grad of the summed cross-entropy through `logits`, computed on the cpu backend (stock gradient kernels). */
async function tfjsGradient(logits: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, labels: tf.Tensor) {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return tf.tidy(() => ({
      grad: tf
        .grad((v: tf.Tensor) => crossEntropy(logits(v), labels))(x)
        .dataSync(),
      logits: logits(x).dataSync(),
    }));
  } finally {
    await tf.setBackend(previous);
  }
}

/**
 * 2×2/2 max pooling (NHWC) whose gradient goes to the first maximum of each window in row-major
 * order, written as plain loops: PyTorch's rule, independent of both gradient routes.
 */
function firstMaxPool(x: tf.Tensor4D): tf.Tensor4D {
  const pool = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor4D;
    (args[1] as tf.GradSaveFunc)([input]);
    return {
      value: tf.maxPool(input, 2, 2, 'valid'),
      gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => {
        const [n, h, w, c] = saved.shape;
        const [ho, wo] = [Math.floor(h / 2), Math.floor(w / 2)];
        const xs = saved.dataSync();
        const gs = dy.dataSync();
        const out = new Float32Array(saved.size);
        const at = (b: number, r: number, q: number, ch: number) => ((b * h + r) * w + q) * c + ch;
        for (let b = 0; b < n; b++)
          for (let i = 0; i < ho; i++)
            for (let j = 0; j < wo; j++)
              for (let ch = 0; ch < c; ch++) {
                let best = at(b, 2 * i, 2 * j, ch);
                for (const [di, dj] of [
                  [0, 1],
                  [1, 0],
                  [1, 1],
                ]) {
                  const k = at(b, 2 * i + di, 2 * j + dj, ch);
                  if (xs[k] > xs[best]) best = k;
                }
                out[best] += gs[((b * ho + i) * wo + j) * c + ch];
              }
        return tf.tensor(out, saved.shape);
      },
    };
  });
  return pool(x) as tf.Tensor4D;
}

/** The reference CNN written directly in tfjs from its ONNX weights, with `firstMaxPool`. */
function referenceCnn(): (x: tf.Tensor) => tf.Tensor2D {
  const weights = new Map<string, tf.Tensor>();
  for (const t of readOnnxFile(CNN).graph.initializer ?? []) {
    const c = decodeTensor(t, 'weight');
    weights.set(t.name ?? '', tf.tensor(c.values as Float32Array, c.dims));
  }
  const p = (name: string) => weights.get(name) as tf.Tensor;
  const conv = (x: tf.Tensor4D, w: string, b: string) =>
    tf.relu(tf.add(tf.conv2d(x, tf.transpose(p(w), [2, 3, 1, 0]) as tf.Tensor4D, 1, 'valid'), p(b))) as tf.Tensor4D;
  return (x) => {
    const h = firstMaxPool(conv(firstMaxPool(conv(x as tf.Tensor4D, '0.weight', '0.bias')), '3.weight', '3.bias'));
    const flat = tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [x.shape[0], -1]); // PyTorch flattens C, H, W
    const hidden = tf.relu(tf.add(tf.matMul(flat, p('7.weight'), false, true), p('7.bias')));
    return tf.add(tf.matMul(hidden, p('9.weight'), false, true), p('9.bias')) as tf.Tensor2D;
  };
}

function writeModel(name: string, model: BuildModel): string {
  const path = join(dir, name);
  writeFileSync(path, encodeOnnxModel(model));
  return path;
}

/** Imports `path`, checks the ONNX Runtime route is on, and compares it with tfjs on seeded inputs. */
async function compareRoutes(path: string, n: number, seed: number, low = 0, high = 1): Promise<void> {
  const model = await importOnnxModel(path, { inputRange: [low, high] });
  try {
    assert.equal(model.gradientRoute.engine, 'onnxruntime', model.gradientRoute.reason);
    const x = randomInputs(seed, n, model.info.inputShape, low, high);
    const labels = oneHot(
      Array.from({ length: n }, (_, i) => (i * 7) % model.info.numClasses),
      model.info.numClasses,
    );
    const fast = await ortRoute(model, x, labels);
    const ref = await tfjsGradient((v) => model.logits(v), x, labels);
    assertClose(fast.logits, ref.logits, `${path}: logits`);
    assertClose(fast.grad, ref.grad, `${path}: gradient`);
    tf.dispose([x, labels]);
  } finally {
    model.dispose();
  }
}

let cnn: ImportedOnnxModel;
let data: Dataset;
before(async () => {
  await initRuntime();
  cnn = await importOnnxModel(CNN);
  data = await loadNpzDataset(join(FIXTURES, 'fmnist_test200.npz'));
});
after(() => {
  cnn.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('ONNX Runtime gradients of the Fashion-MNIST CNN', () => {
  it('are attached by importOnnxModel by default, and not when switched off', async () => {
    assert.deepEqual(cnn.gradientRoute, { engine: 'onnxruntime' });
    assert.equal(typeof cnn.crossEntropyGradient, 'function');
    const plain = await importOnnxModel(CNN, { ortGradients: false });
    assert.equal(plain.crossEntropyGradient, undefined);
    assert.equal(plain.gradientRoute.engine, 'tfjs');
    plain.dispose();
  });

  it("give the tfjs logits and PyTorch's max-pool gradient on the 200 fixture images", async () => {
    const x = tf.tensor(data.x, data.shape);
    const labels = oneHot(data.y, 10);
    const fast = await ortRoute(cnn, x, labels);
    const logits = cnn.logits(x);
    assertClose(fast.logits, await logits.data(), 'logits');
    const reference = referenceCnn();
    const expected = tf.tidy(() => tf.grad((v: tf.Tensor) => crossEntropy(reference(v), labels))(x));
    assertClose(fast.grad, await expected.data(), 'gradient');
    tf.dispose([x, labels, logits, expected]);
  });

  it('keep the tensor count flat and reject inputs of the wrong shape', async () => {
    const x = randomInputs(3, 10, [28, 28, 1]);
    const labels = oneHot([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 10);
    const gradient = cnn.crossEntropyGradient!;
    const start = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const out = await gradient(x, labels);
      tf.dispose([out.grad, out.logits]);
    }
    assert.equal(tf.memory().numTensors, start);
    const nchw = randomInputs(3, 10, [1, 28, 28]);
    await assert.rejects(gradient(nchw, labels), AegisInputError);
    const fewLabels = oneHot([0, 1], 10);
    await assert.rejects(gradient(x, fewLabels), /one-hot labels have shape \[2,10\], expected \[10, 10\]/);
    tf.dispose([x, labels, nchw, fewLabels]);
  });

  it('make FGSM and PGD reach the same accuracy as the tfjs route, with the same seed', async () => {
    const plain = await importOnnxModel(CNN, { ortGradients: false });
    const batch = { x: tf.tensor(data.x, data.shape), y: data.y };
    const threat = makeThreatModel({ access: 'gradients', norm: 'linf', epsilons: [0.1] });
    const options = { seed: 0, steps: 40, stepSize: 0.01, batchSize: 100, keepExamples: 0 };
    const [fastPgd, tfjsPgd] = [
      await pgd.run(cnn, batch, threat, options),
      await pgd.run(plain, batch, threat, options),
    ];
    const [fastFgsm, tfjsFgsm] = [
      await fgsm.run(cnn, batch, threat, options),
      await fgsm.run(plain, batch, threat, options),
    ];
    const one = 1 / data.y.length + 1e-9;
    assert.ok(Math.abs(fastPgd.rows[0].accuracy - tfjsPgd.rows[0].accuracy) <= one, 'PGD accuracy differs');
    assert.ok(Math.abs(fastFgsm.rows[0].accuracy - tfjsFgsm.rows[0].accuracy) <= one, 'FGSM accuracy differs');
    // And the attack works: clean accuracy on these images is 0.875.
    assert.ok(fastPgd.rows[0].accuracy < 0.1, `PGD accuracy ${fastPgd.rows[0].accuracy}`);
    assert.ok(fastPgd.rows[0].accuracy <= fastFgsm.rows[0].accuracy);
    batch.x.dispose();
    plain.dispose();
  });
});

describe('ONNX Runtime gradients of other graphs', () => {
  it('equal the tfjs gradient on the op-coverage fixture (tiny_ops.onnx) and an NHWC-input graph', async () => {
    // BatchNormalization, AveragePool, padded and ceil-mode MaxPool, grouped/strided SAME conv,
    // Concat, Transpose, MatMul, Shape-computed Reshape, Squeeze/Unsqueeze, Gemm alpha/beta, final Softmax.
    await compareRoutes(join(FIXTURES, 'tiny_ops.onnx'), 16, 5);
    await compareRoutes(join(FIXTURES, 'tiny_nhwc.onnx'), 8, 6);
  });

  it('equal the tfjs gradient through the remaining backward rules', async () => {
    const rng = new Rng(21);
    const w = (name: string, dims: number[], scale = 0.6) =>
      floatTensor(
        name,
        dims,
        rng.uniformArray(
          dims.reduce((a, b) => a * b, 1),
          -scale,
          scale,
        ),
      );
    const unary = ['Elu', 'Selu', 'Softplus', 'HardSigmoid', 'Abs', 'Erf', 'Sigmoid', 'Tanh', 'Neg'];
    const path = writeModel('rules.onnx', {
      input: { name: 'x', dims: ['N', 6] },
      outputs: [{ name: 'out', dims: ['N', 3] }],
      opset: 13,
      initializers: [
        w('W1', [6, 8]),
        w('Wc', [10, 5]),
        w('Wa', [5, 6]),
        w('Wout', [3, 102]),
        floatTensor('lo', [], [-0.5]),
        floatTensor('hi', [], [0.6]),
        floatTensor('two', [], [2]),
        floatTensor('one', [], [1]),
        floatTensor('third', [], [0.3]),
        int64Tensor('s3', [3], [0, 12, 10]),
        int64Tensor('s4', [4], [0, 1, 12, 12]),
      ],
      nodes: [
        { op: 'Transpose', inputs: ['x'], outputs: ['xt'], attrs: { perm: [1, 0] } },
        { op: 'Gemm', inputs: ['xt', 'W1'], outputs: ['a'], attrs: { transA: 1, alpha: { float: 1.5 } } },
        ...unary.map(
          (op): BuildNode => ({
            op,
            inputs: ['a'],
            outputs: [`u${op}`],
            // Non-default Elu alpha / Selu alpha, gamma: the tfjs import cannot differentiate / ignores them.
            attrs: op === 'HardSigmoid' ? { alpha: { float: 0.3 }, beta: { float: 0.4 } } : {},
          }),
        ),
        { op: 'Clip', inputs: ['a', 'lo', 'hi'], outputs: ['clip'] },
        { op: 'Pow', inputs: ['a', 'two'], outputs: ['sq'] },
        { op: 'Add', inputs: ['uSoftplus', 'one'], outputs: ['pos'] },
        { op: 'Log', inputs: ['pos'], outputs: ['log'] },
        { op: 'Sqrt', inputs: ['pos'], outputs: ['sqrt'] },
        { op: 'Reciprocal', inputs: ['pos'], outputs: ['rec'] },
        { op: 'Mul', inputs: ['a', 'third'], outputs: ['a3'] },
        { op: 'Exp', inputs: ['a3'], outputs: ['exp'] },
        { op: 'Div', inputs: ['uElu', 'pos'], outputs: ['div'] },
        { op: 'Mul', inputs: ['uSelu', 'uErf'], outputs: ['mul'] },
        { op: 'Sub', inputs: ['exp', 'log'], outputs: ['sub'] },
        {
          op: 'Concat',
          inputs: [...unary.map((op) => `u${op}`), 'clip', 'sq', 'sqrt', 'rec', 'div', 'mul'],
          outputs: ['cat'],
          attrs: { axis: 1 },
        },
        // [N, 120] → [N, 12, 10]: batched MatMul of two computed operands, Softmax in the middle.
        { op: 'Reshape', inputs: ['cat', 's3'], outputs: ['t'] },
        { op: 'Transpose', inputs: ['t'], outputs: ['tt'], attrs: { perm: [0, 2, 1] } },
        { op: 'MatMul', inputs: ['t', 'tt'], outputs: ['gram'] },
        { op: 'Softmax', inputs: ['gram'], outputs: ['att'], attrs: { axis: -1 } },
        { op: 'LogSoftmax', inputs: ['att'], outputs: ['latt'], attrs: { axis: -1 } },
        { op: 'Reshape', inputs: ['latt', 's4'], outputs: ['img'] },
        { op: 'GlobalMaxPool', inputs: ['img'], outputs: ['gmax'] },
        { op: 'ReduceMean', inputs: ['img'], outputs: ['rows'], attrs: { axes: [3], keepdims: 0 } },
        { op: 'Flatten', inputs: ['rows'], outputs: ['rowsFlat'] },
        { op: 'Flatten', inputs: ['gmax'], outputs: ['gmaxFlat'] },
        // A computed operand times a constant matrix on either side.
        { op: 'MatMul', inputs: ['t', 'Wc'], outputs: ['proj'] },
        { op: 'Flatten', inputs: ['proj'], outputs: ['projFlat'] },
        { op: 'MatMul', inputs: ['Wa', 'xt'], outputs: ['left'] },
        { op: 'Transpose', inputs: ['left'], outputs: ['leftT'] },
        {
          op: 'Concat',
          inputs: ['rowsFlat', 'gmaxFlat', 'projFlat', 'leftT', 'a', 'pos', 'sub'],
          outputs: ['features'],
          attrs: { axis: 1 },
        },
        { op: 'Gemm', inputs: ['features', 'Wout'], outputs: ['z'], attrs: { transB: 1 } },
        { op: 'LogSoftmax', inputs: ['z'], outputs: ['out'], attrs: { axis: 1 } },
      ],
    });
    await compareRoutes(path, 12, 7, -1, 1);
  });

  it('modernise graphs of older opsets (attribute axes, Clip bounds, Dropout ratio, pre-13 Softmax)', async () => {
    const rng = new Rng(33);
    const path = writeModel('opset10.onnx', {
      input: { name: 'x', dims: ['N', 1, 5, 5] },
      outputs: [{ name: 'y', dims: ['N', 3] }],
      opset: 10,
      initializers: [
        floatTensor('W', [2, 1, 3, 3], rng.uniformArray(18, -1, 1)),
        floatTensor('B', [2], [0.1, -0.1]),
        floatTensor('G1', [8, 4], rng.uniformArray(32, -1, 1)),
        floatTensor('G2', [3, 4], rng.uniformArray(12, -1, 1)),
      ],
      nodes: [
        // Conv with padding 1 → Relu → 2×2 pool of a 5×5 map (the folded conv/pool backward with a cut row).
        { op: 'Conv', inputs: ['x', 'W', 'B'], outputs: ['c'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
        { op: 'Relu', inputs: ['c'], outputs: ['r'] },
        { op: 'MaxPool', inputs: ['r'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { op: 'Unsqueeze', inputs: ['p'], outputs: ['p5'], attrs: { axes: [1] } },
        { op: 'Squeeze', inputs: ['p5'], outputs: ['p4'], attrs: { axes: [1] } },
        { op: 'Flatten', inputs: ['p4'], outputs: ['f'] },
        { op: 'Clip', inputs: ['f'], outputs: ['fc'], attrs: { min: { float: -0.2 }, max: { float: 0.5 } } },
        { op: 'Dropout', inputs: ['fc'], outputs: ['fd'], attrs: { ratio: { float: 0.3 } } },
        { op: 'Gemm', inputs: ['fd', 'G1'], outputs: ['h'] },
        { op: 'Softmax', inputs: ['h'], outputs: ['hs'] },
        { op: 'Gemm', inputs: ['hs', 'G2'], outputs: ['y'], attrs: { transB: 1 } },
      ],
    });
    await compareRoutes(path, 10, 8);
  });

  it('run graphs with a fixed batch size in chunks (padding the last one)', async () => {
    const path = writeModel('fixed.onnx', {
      input: { name: 'x', dims: [4, 3, 2, 2] },
      outputs: [{ name: 'y', dims: [4, 4] }],
      initializers: [int64Tensor('s', [2], [4, 12]), floatTensor('w', [12, 4], new Rng(9).uniformArray(48, -1, 1))],
      nodes: [
        { op: 'Reshape', inputs: ['x', 's'], outputs: ['f'] },
        { op: 'MatMul', inputs: ['f', 'w'], outputs: ['y'] },
      ],
    });
    await compareRoutes(path, 10, 9);
  });

  it('fall back to tfjs gradients when an op has no backward rule', async () => {
    const gatherModel: BuildModel = {
      input: { name: 'x', dims: ['N', 4] },
      outputs: [{ name: 'y', dims: ['N', 2] }],
      initializers: [int64Tensor('cols', [3], [0, 2, 3]), floatTensor('w', [3, 2], [1, -1, 0.5, 2, -0.3, 0.7])],
      nodes: [
        { op: 'Gather', inputs: ['x', 'cols'], outputs: ['g'], attrs: { axis: 1 } },
        { op: 'MatMul', inputs: ['g', 'w'], outputs: ['y'] },
      ],
    };
    const model = await importOnnxModel(writeModel('gather.onnx', gatherModel));
    assert.equal(model.crossEntropyGradient, undefined);
    assert.equal(model.gradientRoute.engine, 'tfjs');
    assert.match(model.gradientRoute.reason ?? '', /no backward rule for Gather/);
    model.dispose();

    // planGradient names every op without a rule, on the path from the input only.
    const proto = decodeOnnx(
      encodeOnnxModel({
        ...gatherModel,
        initializers: [...gatherModel.initializers, int64Tensor('reps', [2], [1, 2])],
        nodes: [
          { op: 'Tile', inputs: ['x', 'reps'], outputs: ['t'] },
          { op: 'Gather', inputs: ['t', 'cols'], outputs: ['g'], attrs: { axis: 1 } },
          { op: 'MatMul', inputs: ['g', 'w'], outputs: ['y'] },
        ],
      }),
      'tile.onnx',
    );
    const graph = proto.graph ?? {};
    const input = resolveInput('x', [undefined, 4], { inputShape: [4] });
    assert.throws(
      () => planGradient(graph, { opset: 13, irVersion: 7, opsetImports: proto.opsetImport ?? [] }, input),
      (e: unknown) =>
        e instanceof AegisInputError && /no backward rule for Gather, Tile \(supported: .*Conv/.test(e.message),
    );
  });
});
