/**
 * Conv2D gradient timings for the reference CNN's second conv layer (x [64,13,13,16],
 * W [3,3,16,32], 'valid', stride 1): stock wasm kernels vs Aegis's forward-convolution
 * gradients (wasm) vs the stock cpu kernels. Prints one JSON line (median ms per call).
 * Run: npx tsx bench/conv-gradients.ts [repeats]
 */
import { conv2dFilterGrad, conv2dInputGrad } from '../src/core/conv-gradients.js';
import { Rng } from '../src/core/rng.js';
import { initRuntime, tf } from '../src/core/runtime.js';

const X_SHAPE: [number, number, number, number] = [64, 13, 13, 16];
const W_SHAPE: [number, number, number, number] = [3, 3, 16, 32];
const DY_SHAPE: [number, number, number, number] = [64, 11, 11, 32];
const ATTRS = { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 } as const;

/** Wall time in ms of one call of fn, its result downloaded. */
function timed(fn: () => tf.Tensor): [number, tf.Tensor] {
  const t0 = performance.now();
  const out = fn();
  out.dataSync();
  return [Number((performance.now() - t0).toFixed(2)), out];
}

/** Median wall time in ms of fn (its result downloaded, then disposed), after warm-up calls. */
function medianMs(fn: () => tf.Tensor, repeats: number, warmup = 2): number {
  const once = () => {
    const t0 = performance.now();
    const out = fn();
    out.dataSync();
    const ms = performance.now() - t0;
    out.dispose();
    return ms;
  };
  for (let i = 0; i < warmup; i++) once();
  const times = Array.from({ length: repeats }, once).sort((a, b) => a - b);
  return Number(times[Math.floor(times.length / 2)].toFixed(2));
}

/** Largest |a−b| relative to the largest |b|. */
function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  const [u, v] = [a.dataSync(), b.dataSync()];
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < u.length; i++) {
    diff = Math.max(diff, Math.abs(u[i] - v[i]));
    scale = Math.max(scale, Math.abs(v[i]));
  }
  return Number((diff / scale).toExponential(2));
}

async function main(): Promise<void> {
  const repeats = Number(process.argv[2] ?? 15);
  const backend = await initRuntime();
  if (backend !== 'wasm') throw new Error('the wasm backend did not start; nothing to compare');
  const rng = new Rng(1);
  const x = tf.tensor4d(rng.normalArray(64 * 13 * 13 * 16), X_SHAPE);
  const w = tf.tensor4d(rng.normalArray(3 * 3 * 16 * 32), W_SHAPE);
  const dy = tf.tensor4d(rng.normalArray(64 * 11 * 11 * 32), DY_SHAPE);
  const run = (kernel: string, inputs: tf.NamedTensorMap, attrs: object) =>
    tf.engine().runKernel(kernel, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;

  const stockInput = () => run('Conv2DBackpropInput', { dy, filter: w }, { ...ATTRS, inputShape: X_SHAPE });
  const stockFilter = () => run('Conv2DBackpropFilter', { x, dy }, { ...ATTRS, filterShape: W_SHAPE });
  // The only stock filter-gradient route on wasm: the 3-D kernel with a depth of 1.
  const conv3dFilter = () =>
    tf.tidy(() =>
      tf.reshape(
        run(
          'Conv3DBackpropFilterV2',
          { x: tf.reshape(x, [64, 1, 13, 13, 16]), dy: tf.reshape(dy, [64, 1, 11, 11, 32]) },
          { strides: [1, 1, 1], pad: 'valid', filterShape: [1, ...W_SHAPE] },
        ),
        W_SHAPE,
      ),
    );
  const oursInput = () => conv2dInputGrad(X_SHAPE, dy, w, ATTRS);
  const oursFilter = () => conv2dFilterGrad(x, dy, W_SHAPE, ATTRS);

  const wasm = {
    stockInputGradMs: medianMs(stockInput, repeats),
    stockFilterGradMs: null, // tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel
    conv3dRouteFilterGradMs: medianMs(conv3dFilter, repeats),
    oursInputGradMs: medianMs(oursInput, repeats),
    oursFilterGradMs: medianMs(oursFilter, repeats),
    // Aegis's Conv2DBackpropFilter kernel for wasm (what tfjs's fused conv2d gradient calls).
    oursFilterKernelMs: medianMs(stockFilter, repeats),
  };
  const ours = { dx: oursInput(), dW: oursFilter() };

  await tf.setBackend('cpu');
  // The cpu filter gradient takes seconds here: time one call and keep it as the reference.
  const [cpuFilterMs, refDW] = timed(stockFilter);
  const cpu = { stockInputGradMs: medianMs(stockInput, 3, 1), stockFilterGradMs: cpuFilterMs };
  const ref = { dx: stockInput(), dW: refDW };
  const agreement = { dxMaxRelDiff: relDiff(ours.dx, ref.dx), dWMaxRelDiff: relDiff(ours.dW, ref.dW) };
  tf.dispose([x, w, dy, ours.dx, ours.dW, ref.dx, ref.dW]);

  const speedup = (a: number | null, b: number) => (a === null ? null : Number((a / b).toFixed(1)));
  console.log(
    JSON.stringify({
      layer: { x: X_SHAPE, filter: W_SHAPE, pad: 'valid', stride: 1 },
      repeats,
      wasm,
      cpu,
      speedup: {
        inputVsStockWasm: speedup(wasm.stockInputGradMs, wasm.oursInputGradMs),
        filterVsConv3dRoute: speedup(wasm.conv3dRouteFilterGradMs, wasm.oursFilterGradMs),
        inputVsCpu: speedup(cpu.stockInputGradMs, wasm.oursInputGradMs),
        filterVsCpu: speedup(cpu.stockFilterGradMs, wasm.oursFilterGradMs),
      },
      agreement,
    }),
  );
}

await main();
