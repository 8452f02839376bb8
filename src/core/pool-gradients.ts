/**
 * An exact and fast MaxPool gradient for the wasm backend. Max pooling's gradient routes each
 * window's upstream gradient to the window's maximum (Ranzato et al. 2007, "Unsupervised learning
 * of invariant feature hierarchies with applications to object recognition").
 *
 * tfjs-backend-wasm 4.22's MaxPoolGrad kernel is wrong for about 1.5% of positions (2×2/2 'valid'
 * pooling on random input: it starts its running max at FLT_MIN, the smallest positive float, so an
 * all-negative window loses its gradient, and it keeps the last of tied maxima) and it was the
 * slowest step of a CNN's input gradient (22.6 of 48 ms for the reference CNN at batch 100; 5.4 ms
 * here). This file replaces it with a plain-JS kernel over the wasm heap that matches the cpu
 * backend bit for bit: the
 * gradient of a window goes to ONE input, its first maximum in row-major window order (ties are
 * common after ReLU, where an all-zero window is all ties), and overlapping windows add their
 * contributions in the cpu backend's order. The stock MaxPool gradient also drops the op's
 * dimRoundingMode; the gradient registered here passes it on. AvgPoolGrad on wasm agrees with the
 * cpu backend within float rounding and is kept.
 */
import * as tf from '@tensorflow/tfjs-core';

type Shape4D = [number, number, number, number];

/** The window geometry of one NHWC 2-D pooling (dilation 1), as computePool2DInfo reports it. */
export interface PoolGeometry {
  batch: number;
  inH: number;
  inW: number;
  channels: number;
  outH: number;
  outW: number;
  strideH: number;
  strideW: number;
  filterH: number;
  filterW: number;
  padTop: number;
  padLeft: number;
}

/** The MaxPool/MaxPoolGrad attributes (tf.MaxPoolGradAttrs plus what the forward op carries). */
interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function poolGeometry(xShape: Shape4D, attrs: PoolAttrs): PoolGeometry {
  const info = tf.backend_util.computePool2DInfo(
    xShape,
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    channels: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    filterH: info.effectiveFilterHeight,
    filterW: info.effectiveFilterWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

type NumericArray = Float32Array | Int32Array | Uint8Array;

/** Bit pattern of −0 as an int32: the cpu backend writes 0 + dy, which turns −0 into +0. */
const MINUS_ZERO_BITS = -2147483648;

/**
 * Flat NHWC index of the first maximum (strict >, row-major window order, padding skipped) of
 * every window, or −1 where no input beats −∞ (all −∞ or NaN) — the cpu backend's maxPoolPositions.
 */
export function firstMaxPositions(x: NumericArray, g: PoolGeometry): Int32Array {
  const { batch, inH, inW, channels: c, outH, outW } = g;
  const argmax = new Int32Array(batch * outH * outW * c);
  const rowSpans = spans(outH, g.strideH, g.padTop, g.filterH, inH);
  const colSpans = spans(outW, g.strideW, g.padLeft, g.filterW, inW);
  const rowStep = inW * c;
  let y = 0;
  for (let b = 0; b < batch; b++) {
    for (let yR = 0; yR < outH; yR++) {
      const rMin = rowSpans[2 * yR];
      const rows = rowSpans[2 * yR + 1] - rMin;
      for (let yC = 0; yC < outW; yC++, y += c) {
        const cMin = colSpans[2 * yC];
        const cols = colSpans[2 * yC + 1] - cMin;
        const first = ((b * inH + rMin) * inW + cMin) * c;
        for (let d = 0; d < c; d++) argmax[y + d] = windowFirstMax(x, first + d, rows, cols, c, rowStep);
      }
    }
  }
  return argmax;
}

/** Index of the first strict maximum of one window and channel (−1 if none beats −∞). */
function windowFirstMax(
  x: NumericArray,
  first: number,
  rows: number,
  cols: number,
  c: number,
  rowStep: number,
): number {
  let best = Number.NEGATIVE_INFINITY;
  let at = -1;
  for (let r = 0, rowStart = first; r < rows; r++, rowStart += rowStep) {
    for (let k = 0, i = rowStart; k < cols; k++, i += c) {
      if (x[i] > best) {
        best = x[i];
        at = i;
      }
    }
  }
  return at;
}

/**
 * dx of max pooling: each window's dy added at its first maximum, dx zero elsewhere (`y` is the
 * pooled output, used only as a hint). Windows that do not overlap are scattered; overlapping ones
 * (or any, without y) are gathered per input position in a double accumulator, windows in
 * row-major order, which is exactly the cpu backend's arithmetic.
 */
export function maxPoolBackward(
  x: NumericArray,
  y: NumericArray | undefined,
  dy: Float32Array,
  dx: Float32Array,
  g: PoolGeometry,
): void {
  if (y && g.filterH <= g.strideH && g.filterW <= g.strideW) scatterNonOverlapping(x, y, dy, dx, g);
  else gatherOverlapping(firstMaxPositions(x, g), dy, dx, g);
}

/**
 * Non-overlapping windows, without data-dependent branches (random comparisons mispredict and
 * cost 3× the arithmetic): the first input equal to the window's pooled value y takes dy, via int
 * masks on the float bits. A window whose y is not its true maximum (NaN, all −∞, a foreign y)
 * fails the check and is redone with the exact search.
 */
function scatterNonOverlapping(x: NumericArray, y: NumericArray, dy: Float32Array, dx: Float32Array, g: PoolGeometry) {
  const { batch, inH, inW, channels: c, outH, outW } = g;
  const dxBits = new Int32Array(dx.buffer, dx.byteOffset, dx.length);
  const dyBits = new Int32Array(dy.buffer, dy.byteOffset, dy.length);
  const rowSpans = spans(outH, g.strideH, g.padTop, g.filterH, inH);
  const colSpans = spans(outW, g.strideW, g.padLeft, g.filterW, inW);
  // Every window writes all of its inputs; zero the rest first unless the windows tile x.
  if (covered(rowSpans) < inH || covered(colSpans) < inW) dx.fill(0);
  const rowStep = inW * c;
  let yi = 0;
  for (let b = 0; b < batch; b++) {
    for (let yR = 0; yR < outH; yR++) {
      const rMin = rowSpans[2 * yR];
      const rows = rowSpans[2 * yR + 1] - rMin;
      for (let yC = 0; yC < outW; yC++, yi += c) {
        const cMin = colSpans[2 * yC];
        const cols = colSpans[2 * yC + 1] - cMin;
        const first = ((b * inH + rMin) * inW + cMin) * c;
        if (rows === 2 && cols === 2) {
          // The common 2×2 window, unrolled and inlined (a call per window costs ~10%).
          for (let d = 0; d < c; d++) {
            const m = y[yi + d];
            const i0 = first + d;
            const i1 = i0 + c;
            const i2 = i0 + rowStep;
            const i3 = i2 + c;
            const x0 = x[i0];
            const x1 = x[i1];
            const x2 = x[i2];
            const x3 = x[i3];
            const e0 = bit(x0 === m);
            const e1 = bit(x1 === m);
            const e2 = bit(x2 === m);
            const e3 = bit(x3 === m);
            const ok = bit(x0 <= m) & bit(x1 <= m) & bit(x2 <= m) & bit(x3 <= m) & (e0 | e1 | e2 | e3);
            const grad = gradBits(dyBits, yi + d);
            dxBits[i0] = grad & -e0;
            dxBits[i1] = grad & -(e1 & ~e0);
            dxBits[i2] = grad & -(e2 & ~(e0 | e1));
            dxBits[i3] = grad & -(e3 & ~(e0 | e1 | e2));
            if (ok === 0 || m === Number.NEGATIVE_INFINITY) exactWindow(x, dy, dx, i0, 2, 2, c, rowStep, yi + d);
          }
        } else scatterWindow(x, y, dy, dx, dyBits, dxBits, first, rows, cols, yi, c, rowStep);
      }
    }
  }
}

/** [min, max) input rows (or columns) of every window along one axis, flattened. */
function spans(count: number, stride: number, pad: number, filter: number, size: number): Int32Array {
  const out = new Int32Array(2 * count);
  for (let o = 0; o < count; o++) {
    const start = o * stride - pad;
    out[2 * o] = Math.max(start, 0);
    out[2 * o + 1] = Math.max(Math.min(start + filter, size), out[2 * o]);
  }
  return out;
}

/** 1 or 0 without a branch (V8 materialises a comparison with setcc). */
function bit(b: boolean): number {
  return (b as unknown as number) | 0;
}

/** How many input rows (or columns) the (non-overlapping) windows cover. */
function covered(spanList: Int32Array): number {
  let n = 0;
  for (let i = 0; i < spanList.length; i += 2) n += spanList[i + 1] - spanList[i];
  return n;
}

/** dy's bits with −0 made +0 (the cpu backend writes 0 + dy). */
function gradBits(dyBits: Int32Array, i: number): number {
  const bits = dyBits[i];
  return bits & -bit(bits !== MINUS_ZERO_BITS);
}

/** Any other window shape (or a window clipped by the padding): all channels of one window. */
function scatterWindow(
  x: NumericArray,
  y: NumericArray,
  dy: Float32Array,
  dx: Float32Array,
  dyBits: Int32Array,
  dxBits: Int32Array,
  first: number,
  rows: number,
  cols: number,
  yi: number,
  c: number,
  rowStep: number,
): void {
  for (let d = 0; d < c; d++) {
    const m = y[yi + d];
    const grad = gradBits(dyBits, yi + d);
    let ok = 1;
    let found = 0;
    for (let r = 0, rowStart = first + d; r < rows; r++, rowStart += rowStep) {
      for (let k = 0, i = rowStart; k < cols; k++, i += c) {
        const eq = bit(x[i] === m);
        ok &= bit(x[i] <= m);
        dxBits[i] = grad & -(eq & ~found);
        found |= eq;
      }
    }
    if ((ok & found) === 0 || m === Number.NEGATIVE_INFINITY)
      exactWindow(x, dy, dx, first + d, rows, cols, c, rowStep, yi + d);
  }
}

/** One window and channel the exact way: zeros, then 0 + dy at the first strict maximum. */
function exactWindow(
  x: NumericArray,
  dy: Float32Array,
  dx: Float32Array,
  first: number,
  rows: number,
  cols: number,
  c: number,
  rowStep: number,
  yi: number,
): void {
  for (let r = 0, rowStart = first; r < rows; r++, rowStart += rowStep) {
    for (let k = 0, i = rowStart; k < cols; k++, i += c) dx[i] = 0;
  }
  const at = windowFirstMax(x, first, rows, cols, c, rowStep);
  if (at >= 0) dx[at] = 0 + dy[yi];
}

function gatherOverlapping(argmax: Int32Array, dy: Float32Array, dx: Float32Array, g: PoolGeometry): void {
  const { batch, inH, inW, channels: c, outH, outW } = g;
  const acc = new Float64Array(c);
  for (let b = 0; b < batch; b++) {
    for (let xR = 0; xR < inH; xR++) {
      // Windows yR with yR·s − top ≤ xR < yR·s − top + f.
      const yRMin = Math.max(Math.ceil((xR + g.padTop - g.filterH + 1) / g.strideH), 0);
      const yRMax = Math.min(Math.floor((xR + g.padTop) / g.strideH), outH - 1);
      for (let xC = 0; xC < inW; xC++) {
        const yCMin = Math.max(Math.ceil((xC + g.padLeft - g.filterW + 1) / g.strideW), 0);
        const yCMax = Math.min(Math.floor((xC + g.padLeft) / g.strideW), outW - 1);
        const base = ((b * inH + xR) * inW + xC) * c;
        acc.fill(0);
        for (let yR = yRMin; yR <= yRMax; yR++) {
          for (let yC = yCMin; yC <= yCMax; yC++) {
            const y = ((b * outH + yR) * outW + yC) * c;
            for (let d = 0; d < c; d++) if (argmax[y + d] === base + d) acc[d] += dy[y + d];
          }
        }
        for (let d = 0; d < c; d++) dx[base + d] = acc[d];
      }
    }
  }
}

/** The parts of the wasm backend the kernel uses: tensors live in the wasm heap. */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): NumericArray;
}

/** MaxPoolGrad for the wasm backend: the JS loops above, reading and writing the wasm heap in place. */
function wasmMaxPoolGrad({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { dy, input, output } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo; output?: tf.TensorInfo };
  const g = poolGeometry(input.shape as Shape4D, attrs as unknown as PoolAttrs);
  const expected = [g.batch, g.outH, g.outW, g.channels];
  if (dy.shape.join() !== expected.join()) {
    throw new Error(`MaxPoolGrad: dy has shape [${dy.shape}], the pooling gives [${expected}]`);
  }
  const heap = backend as unknown as WasmHeapBackend;
  // makeOutput may grow the wasm memory, which detaches older views: take the views after it.
  const out = heap.makeOutput(input.shape, 'float32');
  maxPoolBackward(
    heap.typedArrayFromHeap(input),
    output?.shape.join() === dy.shape.join() ? heap.typedArrayFromHeap(output) : undefined,
    heap.typedArrayFromHeap(dy) as Float32Array,
    heap.typedArrayFromHeap(out) as Float32Array,
    g,
  );
  return out;
}

/** The MaxPool gradient: the MaxPoolGrad kernel with all of the forward op's attributes. */
export const maxPoolGradConfig: tf.GradConfig = {
  kernelName: tf.MaxPool,
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, y] = saved as [tf.Tensor4D, tf.Tensor4D];
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as PoolAttrs;
    const kernelAttrs = { filterSize, strides, pad, dimRoundingMode } as unknown as tf.NamedAttrMap;
    const inputs = { dy: dy as tf.Tensor4D, input: x, output: y };
    return { x: () => tf.engine().runKernel(tf.MaxPoolGrad, inputs, kernelAttrs) as tf.Tensor4D };
  },
};

const wasmMaxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: wasmMaxPoolGrad,
};

/**
 * Registers the MaxPool gradient and replaces the wasm MaxPoolGrad kernel (call after the stock
 * gradients and kernels are registered; initRuntime does). Idempotent.
 */
export function registerPoolGradients(): void {
  if (tf.getGradient(tf.MaxPool) !== maxPoolGradConfig) {
    const env = tf.env();
    const prod = env.getBool('PROD');
    env.set('PROD', true); // silences tfjs's "Overriding the gradient" notice
    try {
      tf.registerGradient(maxPoolGradConfig);
    } finally {
      env.set('PROD', prod);
    }
  }
  if (tf.getKernel(tf.MaxPoolGrad, 'wasm')?.kernelFunc !== wasmMaxPoolGrad) {
    if (tf.getKernel(tf.MaxPoolGrad, 'wasm')) tf.unregisterKernel(tf.MaxPoolGrad, 'wasm');
    tf.registerKernel(wasmMaxPoolGradConfig);
  }
}
