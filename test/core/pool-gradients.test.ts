import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { firstMaxPositions, maxPoolBackward, maxPoolGradConfig, poolGeometry } from '../../src/core/pool-gradients.js';
import { Rng } from '../../src/core/rng.js';
import { type BackendName, initRuntime, tf } from '../../src/core/runtime.js';

type Shape4D = [number, number, number, number];
type Pad = 'valid' | 'same' | number;

interface Case {
  shape: Shape4D;
  filter: number | [number, number];
  stride: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

let backend: BackendName;

function label(c: Case): string {
  return `x [${c.shape}] filter ${c.filter} stride ${c.stride} pad ${c.pad}${c.dimRoundingMode ? ` ${c.dimRoundingMode}` : ''}`;
}

function outShape(c: Case): Shape4D {
  return tf.backend_util.computePool2DInfo(c.shape, c.filter, c.stride, 1, c.pad, c.dimRoundingMode)
    .outShape as Shape4D;
}

/** Gradient of sum(pool(x) · r) with respect to x (so dy = r), on the current backend. */
function poolGrad(kind: 'max' | 'avg', c: Case, x: Float32Array, r: Float32Array): Float32Array {
  return tf.tidy(() => {
    const pool = (t: tf.Tensor4D) =>
      kind === 'max'
        ? tf.maxPool(t, c.filter, c.stride, c.pad, c.dimRoundingMode)
        : tf.avgPool(t, c.filter, c.stride, c.pad, c.dimRoundingMode);
    const rT = tf.tensor4d(r, outShape(c));
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pool(t as tf.Tensor4D), rT)))(tf.tensor4d(x, c.shape));
    return g.dataSync() as Float32Array;
  });
}

/** The same gradients on wasm (the runtime's backend) and on the cpu backend (the reference). */
async function wasmAndCpu(
  kind: 'max' | 'avg',
  items: { c: Case; x: Float32Array; r: Float32Array }[],
): Promise<[Float32Array[], Float32Array[]]> {
  const ours = items.map((d) => poolGrad(kind, d.c, d.x, d.r));
  await tf.setBackend('cpu');
  try {
    return [ours, items.map((d) => poolGrad(kind, d.c, d.x, d.r))];
  } finally {
    await tf.setBackend(backend);
  }
}

/** Positions where a and b differ (NaN equals NaN; +0 equals −0), and the largest difference. */
function differences(a: Float32Array, b: Float32Array): { count: number; max: number } {
  assert.equal(a.length, b.length, 'gradient sizes differ');
  let count = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]))) continue;
    count++;
    max = Math.max(max, Math.abs(a[i] - b[i]));
  }
  return { count, max };
}

function randomItems(rng: Rng, cases: Case[], transform: (v: number) => number = (v) => v) {
  return cases.map((c) => ({
    c,
    x: rng.normalArray(c.shape.reduce((a, b) => a * b, 1)).map(transform),
    r: rng.normalArray(outShape(c).reduce((a, b) => a * b, 1)),
  }));
}

/** Every combination the task lists: window kinds, paddings, odd sizes, batch 1 and 3, channels 1 and 16. */
function gridCases(): Case[] {
  const cases: Case[] = [];
  const windows: [number, number][] = [
    [2, 2],
    [3, 2],
    [3, 3],
  ];
  for (const n of [1, 3])
    for (const ch of [1, 16])
      for (const [filter, stride] of windows)
        for (const pad of ['valid', 'same'] as const)
          for (const [h, w] of [
            [8, 8],
            [9, 7],
          ])
            cases.push({ shape: [n, h, w, ch], filter, stride, pad });
  return cases;
}

function skipUnlessWasm(t: { skip(message: string): void }): boolean {
  if (backend === 'wasm') return false;
  t.skip(`the runtime started on ${backend}, so there is no wasm kernel to compare with cpu`);
  return true;
}

describe('MaxPool gradient (exact wasm MaxPoolGrad kernel)', () => {
  before(async () => {
    backend = await initRuntime();
  });

  it('is registered as the MaxPool gradient', () => {
    assert.equal(tf.getGradient('MaxPool'), maxPoolGradConfig);
    assert.equal(typeof tf.getKernel('MaxPoolGrad', 'wasm')?.kernelFunc, 'function');
  });

  it('equals the cpu backend exactly on random data over windows, paddings, sizes, batch and channels', async (t) => {
    if (skipUnlessWasm(t)) return;
    const cases = gridCases();
    cases.push(
      { shape: [3, 26, 26, 16], filter: 2, stride: 2, pad: 'valid' }, // the reference CNN's layers
      { shape: [3, 11, 11, 32], filter: 2, stride: 2, pad: 'valid' },
      { shape: [2, 9, 10, 3], filter: [3, 2], stride: [2, 1], pad: 'same' },
      { shape: [2, 10, 9, 3], filter: [2, 3], stride: [2, 3], pad: 'valid' },
      { shape: [2, 8, 8, 4], filter: 3, stride: 1, pad: 1 },
      { shape: [2, 7, 7, 4], filter: 2, stride: 2, pad: 1 },
      { shape: [2, 9, 9, 4], filter: 3, stride: 2, pad: 0, dimRoundingMode: 'ceil' },
      { shape: [2, 10, 10, 4], filter: 3, stride: 3, pad: 1, dimRoundingMode: 'round' },
    );
    const items = randomItems(new Rng(11), cases);
    const [ours, cpu] = await wasmAndCpu('max', items);
    items.forEach((d, i) => {
      const diff = differences(ours[i], cpu[i]);
      assert.equal(diff.count, 0, `${diff.count} positions differ (max ${diff.max}) for ${label(d.c)}`);
    });
  });

  it('routes each window to its first maximum on ReLU outputs and constant windows (ties), as cpu does', async (t) => {
    if (skipUnlessWasm(t)) return;
    const rng = new Rng(12);
    const relu = randomItems(rng, gridCases(), (v) => Math.max(v, 0));
    const coarse = randomItems(rng, gridCases(), (v) => Math.round(v)); // few distinct values: many ties
    const constant = randomItems(rng, gridCases(), () => 0.5);
    const items = [...relu, ...coarse, ...constant];
    const [ours, cpu] = await wasmAndCpu('max', items);
    items.forEach((d, i) => {
      const diff = differences(ours[i], cpu[i]);
      assert.equal(diff.count, 0, `${diff.count} positions differ (max ${diff.max}) for ${label(d.c)}`);
    });
    // A constant window gives its whole gradient to one input (its first), not to all four.
    const first = constant.findIndex((d) => d.c.filter === 2 && d.c.pad === 'valid' && d.c.shape[1] === 8);
    const nonZero = ours[first].reduce((k, v) => k + (v !== 0 ? 1 : 0), 0);
    assert.equal(
      nonZero,
      outShape(constant[first].c).reduce((a, b) => a * b, 1),
    );
  });

  it('matches cpu on windows with NaN, −∞ and −0 (the fallback to the exact search)', async (t) => {
    if (skipUnlessWasm(t)) return;
    const rng = new Rng(13);
    const specials = [Number.NaN, Number.NEGATIVE_INFINITY, -0, 0];
    const items = randomItems(rng, gridCases(), (v) => (rng.next() < 0.3 ? specials[rng.int(4)] : v));
    for (const d of items) {
      for (let i = 0; i < d.r.length; i += 7) d.r[i] = -0; // −0 gradients become +0 on cpu
    }
    const [ours, cpu] = await wasmAndCpu('max', items);
    items.forEach((d, i) => {
      const diff = differences(ours[i], cpu[i]);
      assert.equal(diff.count, 0, `${diff.count} positions differ for ${label(d.c)}`);
      for (let k = 0; k < ours[i].length; k++) {
        if (Object.is(cpu[i][k], 0)) assert.ok(Object.is(ours[i][k], 0), `−0 at ${k} for ${label(d.c)}`);
      }
    });
  });

  it('the typed-array backward gives the same result with or without the pooled output as a hint', () => {
    const rng = new Rng(14);
    for (const c of [
      { shape: [2, 9, 7, 5], filter: 2, stride: 2, pad: 'same' },
      { shape: [1, 8, 8, 3], filter: 3, stride: 3, pad: 'valid' },
    ] as Case[]) {
      const g = poolGeometry(c.shape, { filterSize: c.filter, strides: c.stride, pad: c.pad });
      const x = rng.normalArray(c.shape.reduce((a, b) => a * b, 1)).map((v) => Math.max(v, 0));
      const argmax = firstMaxPositions(x, g);
      const y = Float32Array.from(argmax, (at) => x[at]);
      const dy = rng.normalArray(argmax.length);
      const withHint = new Float32Array(x.length).fill(7); // garbage: the kernel must overwrite everything
      const without = new Float32Array(x.length).fill(7);
      maxPoolBackward(x, y, dy, withHint, g);
      maxPoolBackward(x, undefined, dy, without, g);
      assert.deepEqual(withHint, without, label(c));
      // A wrong hint (y of other data) is detected and does not change the result.
      const wrong = new Float32Array(x.length);
      maxPoolBackward(x, dy, dy, wrong, g);
      assert.deepEqual(wrong, without, `${label(c)} with a wrong hint`);
      for (let i = 0; i < argmax.length; i++) assert.equal(without[argmax[i]], dy[i]);
    }
  });

  it('keeps tf.memory().numTensors flat over 30 gradient steps', () => {
    const rng = new Rng(15);
    const x = tf.tensor4d(rng.normalArray(2 * 12 * 12 * 4), [2, 12, 12, 4]);
    const f = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid'), 3, 2, 'same')));
    tf.tidy(() => void f(x));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 30; i++) tf.tidy(() => void f(x).dataSync());
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});

describe('AvgPool gradient on wasm', () => {
  before(async () => {
    backend = await initRuntime();
  });

  it("matches the cpu backend within 1e-6 (wasm's stock AvgPoolGrad is kept)", async (t) => {
    if (skipUnlessWasm(t)) return;
    const items = randomItems(new Rng(16), gridCases());
    const [ours, cpu] = await wasmAndCpu('avg', items);
    items.forEach((d, i) => {
      const diff = differences(ours[i], cpu[i]);
      assert.ok(diff.max <= 1e-6, `max difference ${diff.max} for ${label(d.c)}`);
    });
  });
});
