import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { conv2dFilterGrad, conv2dGradConfig, conv2dInputGrad } from '../../src/core/conv-gradients.js';
import { Rng } from '../../src/core/rng.js';
import { type BackendName, initRuntime, tf } from '../../src/core/runtime.js';

type Shape4D = [number, number, number, number];
type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  xShape: Shape4D;
  filterShape: Shape4D;
  strides: number | [number, number];
  pad: Pad;
  dilations?: number | [number, number];
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

interface Grads {
  dx: Float32Array;
  dW: Float32Array;
}

let backend: BackendName;

function randn(rng: Rng, shape: number[]): Float32Array {
  return rng.normalArray(shape.reduce((a, b) => a * b, 1));
}

function outShape(c: Case): Shape4D {
  const format = tf.backend_util.convertConv2DDataFormat(c.dataFormat ?? 'NHWC');
  return tf.backend_util.computeConv2DInfo(
    c.xShape,
    c.filterShape,
    c.strides,
    c.dilations ?? 1,
    c.pad,
    c.dimRoundingMode,
    false,
    format,
  ).outShape as Shape4D;
}

/** Largest |a−b| relative to the largest |b| (b is the reference). */
function relError(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, 'gradient sizes differ');
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** Ours: gradients of sum(conv2d(x, W) · r) through the registered Conv2D gradient (dy = r). */
function oursViaGrads(c: Case, x: Float32Array, w: Float32Array, r: Float32Array): Grads {
  return tf.tidy(() => {
    const rT = tf.tensor4d(r, outShape(c));
    const loss = (xt: tf.Tensor, wt: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.conv2d(
            xt as tf.Tensor4D,
            wt as tf.Tensor4D,
            c.strides,
            c.pad,
            c.dataFormat ?? 'NHWC',
            c.dilations ?? 1,
            c.dimRoundingMode,
          ),
          rT,
        ),
      );
    const [dx, dW] = tf.grads(loss)([tf.tensor4d(x, c.xShape), tf.tensor4d(w, c.filterShape)]);
    return { dx: dx.dataSync() as Float32Array, dW: dW.dataSync() as Float32Array };
  });
}

/** Reference: tfjs's stock cpu kernels, the ones its stock Conv2D gradient calls. */
function stockCpu(c: Case, x: Float32Array, w: Float32Array, dy: Float32Array): Grads {
  assert.equal(tf.getBackend(), 'cpu');
  return tf.tidy(() => {
    // The grid cases carry no dimRoundingMode; runKernel's attr map has no room for undefined.
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat ?? 'NHWC', dilations: 1 };
    const dyT = tf.tensor4d(dy, outShape(c));
    const filter = tf.tensor4d(w, c.filterShape);
    const dx = tf.engine().runKernel('Conv2DBackpropInput', { dy: dyT, filter }, { ...attrs, inputShape: c.xShape });
    const dW = tf
      .engine()
      .runKernel(
        'Conv2DBackpropFilter',
        { x: tf.tensor4d(x, c.xShape), dy: dyT },
        { ...attrs, filterShape: c.filterShape },
      );
    return { dx: (dx as tf.Tensor).dataSync() as Float32Array, dW: (dW as tf.Tensor).dataSync() as Float32Array };
  });
}

/** Reference straight from the definition y[n,p,q,o] = Σ x[n, p·sh+i·dh−top, q·sw+j·dw−left, c]·W[i,j,c,o]. */
function naive(c: Case, x: Float32Array, w: Float32Array, dy: Float32Array): Grads {
  const nchw = c.dataFormat === 'NCHW';
  const format = nchw ? 'channelsFirst' : 'channelsLast';
  const info = tf.backend_util.computeConv2DInfo(
    c.xShape,
    c.filterShape,
    c.strides,
    c.dilations ?? 1,
    c.pad,
    c.dimRoundingMode,
    false,
    format,
  );
  const { batchSize: n, inHeight: h, inWidth: wd, inChannels: ci, outHeight: ho, outWidth: wo, outChannels: co } = info;
  const [kh, kw] = [info.filterHeight, info.filterWidth];
  const xi = (b: number, r: number, q: number, ch: number) =>
    nchw ? ((b * ci + ch) * h + r) * wd + q : ((b * h + r) * wd + q) * ci + ch;
  const yi = (b: number, p: number, q: number, o: number) =>
    nchw ? ((b * co + o) * ho + p) * wo + q : ((b * ho + p) * wo + q) * co + o;
  const dx = new Float32Array(x.length);
  const dW = new Float32Array(w.length);
  for (let b = 0; b < n; b++)
    for (let p = 0; p < ho; p++)
      for (let q = 0; q < wo; q++)
        for (let o = 0; o < co; o++) {
          const g = dy[yi(b, p, q, o)];
          for (let i = 0; i < kh; i++) {
            const r = p * info.strideHeight + i * info.dilationHeight - info.padInfo.top;
            if (r < 0 || r >= h) continue;
            for (let j = 0; j < kw; j++) {
              const s = q * info.strideWidth + j * info.dilationWidth - info.padInfo.left;
              if (s < 0 || s >= wd) continue;
              for (let ch = 0; ch < ci; ch++) {
                const wIdx = ((i * kw + j) * ci + ch) * co + o;
                dx[xi(b, r, s, ch)] += g * w[wIdx];
                dW[wIdx] += g * x[xi(b, r, s, ch)];
              }
            }
          }
        }
  return { dx, dW };
}

function label(c: Case): string {
  return `x${JSON.stringify(c.xShape)} W${JSON.stringify(c.filterShape)} s=${c.strides} pad=${JSON.stringify(c.pad)}${
    c.dilations ? ` d=${c.dilations}` : ''
  }${c.dataFormat ? ` ${c.dataFormat}` : ''}${c.dimRoundingMode ? ` ${c.dimRoundingMode}` : ''}`;
}

const TOLERANCE = 1e-4;

describe('Conv2D gradient as forward convolutions', () => {
  before(async () => {
    backend = await initRuntime();
  });

  it("replaces the stock Conv2D gradient and provides wasm's missing Conv2DBackpropFilter kernel", () => {
    assert.equal(tf.getGradient('Conv2D'), conv2dGradConfig);
    assert.equal(typeof tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc, 'function');
  });

  it('matches the stock cpu kernels over batch/channels/kernels/strides/padding/sizes', async () => {
    const rng = new Rng(20240611);
    const cases: Case[] = [];
    for (const n of [1, 3])
      for (const ci of [1, 3, 16])
        for (const co of [2, 8])
          for (const k of [1, 3, 5])
            for (const strides of [1, 2])
              for (const pad of ['same', 'valid'] as const)
                for (const [h, w] of [
                  [7, 8],
                  [8, 5],
                ])
                  cases.push({ xShape: [n, h, w, ci], filterShape: [k, k, ci, co], strides, pad });
    cases.push(
      { xShape: [2, 9, 6, 3], filterShape: [3, 2, 3, 4], strides: [2, 1], pad: 'same' },
      { xShape: [2, 9, 6, 3], filterShape: [2, 3, 3, 4], strides: [1, 3], pad: 'valid' },
      { xShape: [1, 6, 6, 2], filterShape: [4, 4, 2, 3], strides: 2, pad: 'same' },
    );
    const data = cases.map((c) => ({
      c,
      x: randn(rng, c.xShape),
      w: randn(rng, c.filterShape),
      dy: randn(rng, outShape(c)),
    }));
    // Ours on the runtime's backend (wasm), then the stock kernels on cpu.
    const ours = data.map((d) => oursViaGrads(d.c, d.x, d.w, d.dy));
    await tf.setBackend('cpu');
    try {
      data.forEach((d, i) => {
        const ref = stockCpu(d.c, d.x, d.w, d.dy);
        assert.ok(relError(ours[i].dx, ref.dx) < TOLERANCE, `dx differs for ${label(d.c)} on ${backend}`);
        assert.ok(relError(ours[i].dW, ref.dW) < TOLERANCE, `dW differs for ${label(d.c)} on ${backend}`);
      });
    } finally {
      await tf.setBackend(backend);
    }
  });

  it('handles explicit and numeric pads, ceil rounding and dilations (checked against the definition)', () => {
    const rng = new Rng(7);
    const cases: Case[] = [
      { xShape: [2, 7, 8, 3], filterShape: [3, 3, 3, 4], strides: 1, pad: 1 },
      { xShape: [2, 7, 8, 3], filterShape: [3, 3, 3, 4], strides: 2, pad: 1 },
      { xShape: [2, 8, 8, 3], filterShape: [3, 3, 3, 4], strides: 2, pad: 0, dimRoundingMode: 'ceil' },
      {
        xShape: [2, 7, 8, 3],
        filterShape: [3, 3, 3, 4],
        strides: 2,
        pad: [
          [0, 0],
          [2, 0],
          [0, 1],
          [0, 0],
        ],
      },
      { xShape: [2, 9, 8, 3], filterShape: [3, 3, 3, 4], strides: 1, pad: 'same', dilations: 2 },
      { xShape: [2, 9, 10, 3], filterShape: [3, 2, 3, 4], strides: 1, pad: 'valid', dilations: [2, 3] },
      // One input channel: the input gradient is a depthwise convolution summed over channels.
      { xShape: [2, 9, 8, 1], filterShape: [3, 3, 1, 4], strides: 1, pad: 'same', dilations: 2 },
      { xShape: [2, 9, 10, 1], filterShape: [3, 2, 1, 4], strides: 2, pad: 1 },
    ];
    for (const c of cases) {
      const x = randn(rng, c.xShape);
      const w = randn(rng, c.filterShape);
      const dy = randn(rng, outShape(c));
      const ours = tf.tidy(() => {
        const dyT = tf.tensor4d(dy, outShape(c));
        const attrs = { strides: c.strides, pad: c.pad, dilations: c.dilations, dimRoundingMode: c.dimRoundingMode };
        const dx = conv2dInputGrad(c.xShape, dyT, tf.tensor4d(w, c.filterShape), attrs);
        const dW = conv2dFilterGrad(tf.tensor4d(x, c.xShape), dyT, c.filterShape, attrs);
        return { dx: dx.dataSync() as Float32Array, dW: dW.dataSync() as Float32Array };
      });
      const ref = naive(c, x, w, dy);
      assert.ok(relError(ours.dx, ref.dx) < TOLERANCE, `dx differs for ${label(c)}`);
      assert.ok(relError(ours.dW, ref.dW) < TOLERANCE, `dW differs for ${label(c)}`);
    }
  });

  it('handles NCHW data (on cpu, where the forward NCHW conv exists)', async () => {
    const rng = new Rng(11);
    await tf.setBackend('cpu');
    try {
      for (const c of [
        { xShape: [2, 3, 7, 6], filterShape: [3, 3, 3, 4], strides: 2, pad: 'same', dataFormat: 'NCHW' },
        { xShape: [1, 2, 8, 9], filterShape: [3, 3, 2, 5], strides: 1, pad: 'valid', dataFormat: 'NCHW' },
      ] as Case[]) {
        const x = randn(rng, c.xShape);
        const w = randn(rng, c.filterShape);
        const dy = randn(rng, outShape(c));
        const ours = oursViaGrads(c, x, w, dy);
        const ref = naive(c, x, w, dy);
        assert.ok(relError(ours.dx, ref.dx) < TOLERANCE, `dx differs for ${label(c)}`);
        assert.ok(relError(ours.dW, ref.dW) < TOLERANCE, `dW differs for ${label(c)}`);
      }
    } finally {
      await tf.setBackend(backend);
    }
  });

  it('the wasm Conv2DBackpropFilter kernel matches the cpu one and frees its temporaries', async (t) => {
    if (backend !== 'wasm') return t.skip('the wasm backend did not start');
    const rng = new Rng(5);
    const cases: Case[] = [
      { xShape: [3, 13, 13, 16], filterShape: [3, 3, 16, 8], strides: 1, pad: 'valid' },
      { xShape: [2, 8, 7, 3], filterShape: [5, 5, 3, 2], strides: 2, pad: 'same' },
      { xShape: [2, 7, 8, 3], filterShape: [3, 3, 3, 4], strides: 2, pad: 1 },
      { xShape: [2, 8, 8, 3], filterShape: [3, 3, 3, 4], strides: 2, pad: 0, dimRoundingMode: 'ceil' },
    ];
    const data = cases.map((c) => ({
      c,
      x: randn(rng, c.xShape),
      w: randn(rng, c.filterShape),
      dy: randn(rng, outShape(c)),
    }));
    const wasmBackend = tf.backend() as unknown as { numDataIds(): number };
    const idsBefore = wasmBackend.numDataIds();
    const ours = data.map(({ c, x, dy }) =>
      tf.tidy(() => {
        const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filterShape };
        const withRounding = c.dimRoundingMode ? { ...attrs, dimRoundingMode: c.dimRoundingMode } : attrs;
        const inputs = { x: tf.tensor4d(x, c.xShape), dy: tf.tensor4d(dy, outShape(c)) };
        return (tf.engine().runKernel('Conv2DBackpropFilter', inputs, withRounding) as tf.Tensor).dataSync();
      }),
    );
    assert.equal(wasmBackend.numDataIds(), idsBefore, 'the kernel left buffers behind in the wasm backend');
    await tf.setBackend('cpu');
    try {
      data.forEach(({ c, x, w, dy }, i) => {
        const ref = c.dimRoundingMode ? naive(c, x, w, dy) : stockCpu(c, x, w, dy);
        assert.ok(relError(ours[i] as Float32Array, ref.dW) < TOLERANCE, `dW differs for ${label(c)}`);
      });
    } finally {
      await tf.setBackend(backend);
    }
  });

  it('trains a tfjs-layers Conv2D with a linear activation (the fused conv2d gradient path)', async () => {
    const rng = new Rng(9);
    const x = randn(rng, [2, 8, 8, 2]);
    const kernel = randn(rng, [3, 3, 2, 4]);
    const weightGrads = async (name: BackendName) => {
      await tf.setBackend(name);
      const layer = tfl.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'linear', inputShape: [8, 8, 2] });
      return tf.tidy(() => {
        const input = tf.tensor4d(x, [2, 8, 8, 2]);
        layer.apply(input);
        layer.setWeights([tf.tensor4d(kernel, [3, 3, 2, 4]), tf.zeros([4])]);
        const { value, grads } = tf.variableGrads(
          () => tf.sum(tf.square(layer.apply(input) as tf.Tensor)) as tf.Scalar,
        );
        value.dispose();
        const result = Object.values(grads).map((g) => g.dataSync() as Float32Array);
        layer.dispose();
        return result;
      });
    };
    try {
      const ours = await weightGrads(backend);
      const ref = await weightGrads('cpu');
      assert.equal(ours.length, 2, 'expected kernel and bias gradients');
      for (const [i, g] of ours.entries()) assert.ok(relError(g, ref[i]) < TOLERANCE, `weight gradient ${i} differs`);
    } finally {
      await tf.setBackend(backend);
    }
  });

  it('keeps tf.memory().numTensors flat over 50 gradient steps', () => {
    const rng = new Rng(3);
    const target = tf.tensor4d(randn(rng, [4, 4, 4, 8]), [4, 4, 4, 8]);
    let x = tf.tensor4d(randn(rng, [4, 8, 8, 3]), [4, 8, 8, 3]);
    let w = tf.tensor4d(randn(rng, [3, 3, 3, 8]), [3, 3, 3, 8]);
    const loss = (xt: tf.Tensor, wt: tf.Tensor) =>
      tf.mean(tf.square(tf.sub(tf.relu(tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, 2, 'same')), target)));
    const counts: number[] = [];
    const losses: number[] = [];
    for (let step = 0; step < 50; step++) {
      const [nx, nw, l] = tf.tidy(() => {
        const { value, grads } = tf.valueAndGrads(loss)([x, w]);
        return [
          tf.sub(x, tf.mul(grads[0], 0.05)) as tf.Tensor4D,
          tf.sub(w, tf.mul(grads[1], 0.05)) as tf.Tensor4D,
          value,
        ] as const;
      });
      tf.dispose([x, w]);
      x = nx;
      w = nw;
      losses.push(l.dataSync()[0]);
      l.dispose();
      counts.push(tf.memory().numTensors);
    }
    assert.deepEqual(new Set(counts.slice(1)).size, 1, `numTensors drifted: ${counts.join(',')}`);
    assert.ok(losses[49] < losses[0], `gradient descent did not lower the loss (${losses[0]} → ${losses[49]})`);
    tf.dispose([x, w, target]);
  });
});
