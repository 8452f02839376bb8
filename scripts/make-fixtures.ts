/**
 * Writes the test fixtures in test/fixtures/:
 * - fmnist_cnn.onnx: the team's Fashion-MNIST CNN (copied from /work/shared/baseline);
 * - fmnist_test200.npz: the first 200 test images `x` (NCHW float32), labels `y` (int64)
 *   and PyTorch's `logits`, cut from /work/shared/baseline/fmnist_test1000.npz;
 * - tiny_ops.onnx: a small random-weight graph exercising the ops the CNN does not
 *   (BatchNormalization, AveragePool with padding, asymmetric/ceil MaxPool, grouped and
 *   SAME_UPPER Conv, Transpose, MatMul+Add, Concat, Shape/Gather dynamic reshape,
 *   Squeeze/Unsqueeze, Gemm alpha/beta, a final Softmax);
 * - tiny_nhwc.onnx: a Keras-style graph with an NHWC input and a Transpose to NCHW.
 * Usage: npx tsx scripts/make-fixtures.ts   (deterministic: same bytes every run)
 */
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { Rng } from '../src/core/rng.js';
import { type NdArray, product } from '../src/data/npy.js';
import { readNpzFile, writeNpzFile } from '../src/data/npz.js';
import { type BuildModel, encodeOnnxModel, floatTensor, int64Tensor } from '../src/models/onnx-build.js';

const BASELINE = '/work/shared/baseline';
const OUT = new URL('../test/fixtures/', import.meta.url).pathname;

/** The first n rows of an array. */
function head(arr: NdArray, n: number): NdArray {
  const per = product(arr.shape.slice(1));
  return { dtype: arr.dtype, shape: [n, ...arr.shape.slice(1)], data: arr.data.slice(0, n * per) } as NdArray;
}

function baselineFixtures(): void {
  copyFileSync(`${BASELINE}/fmnist_cnn.onnx`, `${OUT}fmnist_cnn.onnx`);
  chmodSync(`${OUT}fmnist_cnn.onnx`, 0o644); // the shared copy is read-only
  const full = readNpzFile(`${BASELINE}/fmnist_test1000.npz`);
  writeNpzFile(`${OUT}fmnist_test200.npz`, {
    x: head(full.x, 200),
    y: head(full.y, 200),
    logits: head(full.logits, 200),
  });
}

function tinyOps(rng: Rng): BuildModel {
  const w = (name: string, dims: number[], scale = 0.5) =>
    floatTensor(
      name,
      dims,
      Array.from({ length: product(dims) }, () => rng.uniform(-scale, scale)),
    );
  const pos = (name: string, dims: number[]) =>
    floatTensor(
      name,
      dims,
      Array.from({ length: product(dims) }, () => rng.uniform(0.5, 1.5)),
    );
  return {
    input: { name: 'x', dims: ['N', 3, 8, 8] },
    outputs: [{ name: 'probs', dims: ['N', 5] }],
    opset: 13,
    initializers: [
      w('Wa', [4, 3, 3, 3]),
      w('Ba', [4]),
      pos('bn_scale', [4]),
      w('bn_bias', [4]),
      w('bn_mean', [4], 0.2),
      pos('bn_var', [4]),
      w('Cm', [8, 1, 1]),
      w('Cs', [], 1),
      w('Wm', [128, 8], 0.2),
      w('bm', [8]),
      w('Wb', [6, 1, 3, 3]),
      w('Bb', [6]),
      w('Csub', [6, 1, 1]),
      int64Tensor('axes23', [2], [2, 3]),
      int64Tensor('axes1', [1], [1]),
      int64Tensor('axes0', [1], [0]),
      w('Wc', [2, 3, 1, 1]),
      int64Tensor('idx0', [], [0]),
      int64Tensor('minus1', [1], [-1]),
      w('Wg', [4, 32], 0.3),
      w('bg', [4]),
      pos('bn2_scale', [4]),
      w('bn2_bias', [4]),
      w('bn2_mean', [4], 0.2),
      pos('bn2_var', [4]),
      w('Wj', [18, 5], 0.8),
      w('bj', [5]),
    ],
    nodes: [
      // Branch A: conv, batch norm, pooling with padding, channel-wise constants, NHWC transpose, MatMul.
      { op: 'Conv', inputs: ['x', 'Wa', 'Ba'], outputs: ['a1'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      {
        op: 'BatchNormalization',
        inputs: ['a1', 'bn_scale', 'bn_bias', 'bn_mean', 'bn_var'],
        outputs: ['a2'],
        attrs: { epsilon: { float: 1e-3 } },
      },
      { op: 'LeakyRelu', inputs: ['a2'], outputs: ['a3'], attrs: { alpha: { float: 0.1 } } },
      { op: 'AveragePool', inputs: ['a3'], outputs: ['a4'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      {
        op: 'AveragePool',
        inputs: ['a4'],
        outputs: ['a5'],
        attrs: { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] },
      },
      {
        op: 'MaxPool',
        inputs: ['a5'],
        outputs: ['a6'],
        attrs: { kernel_shape: [2, 2], strides: [1, 1], pads: [1, 1, 0, 0] },
      },
      { op: 'Concat', inputs: ['a6', 'a5'], outputs: ['a6c'], attrs: { axis: 1 } },
      { op: 'Mul', inputs: ['a6c', 'Cm'], outputs: ['a7'] },
      { op: 'Add', inputs: ['a7', 'Cs'], outputs: ['a8'] },
      { op: 'Transpose', inputs: ['a8'], outputs: ['a9'], attrs: { perm: [0, 2, 3, 1] } },
      { op: 'Constant', inputs: [], outputs: ['flat_shape'], attrs: { value_ints: { ints: [0, -1] } } },
      { op: 'Reshape', inputs: ['a9', 'flat_shape'], outputs: ['a10'] },
      { op: 'MatMul', inputs: ['a10', 'Wm'], outputs: ['a11'] },
      { op: 'Add', inputs: ['a11', 'bm'], outputs: ['a12'] },
      { op: 'Tanh', inputs: ['a12'], outputs: ['a13'] },
      // Branch B: grouped strided SAME_UPPER conv, global pooling, squeeze/unsqueeze, flatten.
      {
        op: 'Conv',
        inputs: ['x', 'Wb', 'Bb'],
        outputs: ['b1'],
        attrs: { kernel_shape: [3, 3], group: 3, strides: [2, 2], auto_pad: 'SAME_UPPER' },
      },
      { op: 'Sigmoid', inputs: ['b1'], outputs: ['b2'] },
      { op: 'Sub', inputs: ['b2', 'Csub'], outputs: ['b3'] },
      { op: 'Constant', inputs: [], outputs: ['half'], attrs: { value_float: { float: 0.5 } } },
      { op: 'Div', inputs: ['b3', 'half'], outputs: ['b4'] },
      { op: 'GlobalAveragePool', inputs: ['b4'], outputs: ['b5'] },
      { op: 'Squeeze', inputs: ['b5', 'axes23'], outputs: ['b6'] },
      { op: 'Unsqueeze', inputs: ['b6', 'axes1'], outputs: ['b7'] },
      { op: 'Flatten', inputs: ['b7'], outputs: ['b8'], attrs: { axis: 1 } },
      { op: 'Dropout', inputs: ['b8'], outputs: ['b9'] },
      { op: 'Identity', inputs: ['b9'], outputs: ['b10'] },
      // Branch C: ceil-mode max pool and a reshape whose shape is computed from Shape/Gather/Concat.
      { op: 'Relu', inputs: ['x'], outputs: ['c1'] },
      { op: 'Conv', inputs: ['c1', 'Wc'], outputs: ['c2'], attrs: { kernel_shape: [1, 1] } },
      {
        op: 'MaxPool',
        inputs: ['c2'],
        outputs: ['c3'],
        attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 },
      },
      { op: 'Shape', inputs: ['c3'], outputs: ['c4'] },
      { op: 'Gather', inputs: ['c4', 'idx0'], outputs: ['c5'], attrs: { axis: 0 } },
      { op: 'Unsqueeze', inputs: ['c5', 'axes0'], outputs: ['c6'] },
      { op: 'Concat', inputs: ['c6', 'minus1'], outputs: ['c7'], attrs: { axis: 0 } },
      { op: 'Reshape', inputs: ['c3', 'c7'], outputs: ['c8'] },
      {
        op: 'Gemm',
        inputs: ['c8', 'Wg', 'bg'],
        outputs: ['c9'],
        attrs: { transB: 1, alpha: { float: 0.5 }, beta: { float: 2 } },
      },
      {
        op: 'BatchNormalization',
        inputs: ['c9', 'bn2_scale', 'bn2_bias', 'bn2_mean', 'bn2_var'],
        outputs: ['c10'],
      },
      // Join and classify; the graph ends in Softmax.
      { op: 'Concat', inputs: ['a13', 'b10', 'c10'], outputs: ['j1'], attrs: { axis: 1 } },
      { op: 'Gemm', inputs: ['j1', 'Wj', 'bj'], outputs: ['j2'] },
      { op: 'Softmax', inputs: ['j2'], outputs: ['probs'], attrs: { axis: -1 } },
    ],
  };
}

function tinyNhwc(rng: Rng): BuildModel {
  const w = (name: string, dims: number[]) =>
    floatTensor(
      name,
      dims,
      Array.from({ length: product(dims) }, () => rng.uniform(-0.5, 0.5)),
    );
  return {
    input: { name: 'image', dims: ['batch', 6, 6, 3] },
    outputs: [{ name: 'logits', dims: ['batch', 3] }],
    opset: 13,
    initializers: [w('W', [2, 3, 3, 3]), w('B', [2]), w('D', [3, 32]), w('E', [3])],
    nodes: [
      { op: 'Transpose', inputs: ['image'], outputs: ['nchw'], attrs: { perm: [0, 3, 1, 2] } },
      { op: 'Conv', inputs: ['nchw', 'W', 'B'], outputs: ['c'], attrs: { kernel_shape: [3, 3] } },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'Flatten', inputs: ['r'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'D', 'E'], outputs: ['logits'], attrs: { transB: 1 } },
    ],
  };
}

mkdirSync(OUT, { recursive: true });
baselineFixtures();
const rng = new Rng(20240611);
writeFileSync(`${OUT}tiny_ops.onnx`, encodeOnnxModel(tinyOps(rng)));
writeFileSync(`${OUT}tiny_nhwc.onnx`, encodeOnnxModel(tinyNhwc(rng)));
console.log(`wrote fixtures to ${OUT}`);
