import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { batchMatMulGradConfig } from '../../src/core/matmul-gradients.js';
import { Rng } from '../../src/core/rng.js';
import { initRuntime, tf } from '../../src/core/runtime.js';

interface Case {
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
}

/** Gradients of sum(matMul(a, b) · r) by tf.grads on the current backend. */
function grads(c: Case, a: Float32Array, b: Float32Array, r: Float32Array, rShape: number[]): Float32Array[] {
  return tf.tidy(() => {
    const rT = tf.tensor(r, rShape);
    const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, c.transposeA, c.transposeB), rT));
    const [da, db] = tf.grads(f)([tf.tensor(a, c.a), tf.tensor(b, c.b)]);
    return [da.dataSync() as Float32Array, db.dataSync() as Float32Array];
  });
}

/** d/da and d/db of Σ (op(a)·op(b))∘r from the definition, in double precision. */
function naive(c: Case, a: Float32Array, b: Float32Array, r: Float32Array): Float64Array[] {
  const batch = c.a.length === 3 ? c.a[0] : 1;
  const [ar, ac] = c.a.slice(-2);
  const [br, bc] = c.b.slice(-2);
  const [m, k] = c.transposeA ? [ac, ar] : [ar, ac];
  const n = c.transposeB ? br : bc;
  const A = (p: number, i: number, j: number) => p * ar * ac + (c.transposeA ? j * ac + i : i * ac + j); // op(a)[i][j]
  const B = (p: number, i: number, j: number) => p * br * bc + (c.transposeB ? j * bc + i : i * bc + j); // op(b)[i][j]
  const da = new Float64Array(a.length);
  const db = new Float64Array(b.length);
  for (let p = 0; p < batch; p++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        const g = r[p * m * n + i * n + j];
        for (let q = 0; q < k; q++) {
          da[A(p, i, q)] += g * b[B(p, q, j)];
          db[B(p, q, j)] += g * a[A(p, i, q)];
        }
      }
  return [da, db];
}

function maxRelError(ours: Float32Array, ref: Float64Array): number {
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i] - ref[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return diff / scale;
}

describe('MatMul gradient with explicit transposes', () => {
  before(async () => {
    await initRuntime();
  });

  it('is registered as the BatchMatMul gradient', () => {
    assert.equal(tf.getGradient('BatchMatMul'), batchMatMulGradConfig);
  });

  it('matches the definition for every transpose combination, 2-D and batched', () => {
    const rng = new Rng(31);
    const cases: Case[] = [];
    for (const transposeA of [false, true])
      for (const transposeB of [false, true]) {
        cases.push({ a: transposeA ? [7, 5] : [5, 7], b: transposeB ? [3, 7] : [7, 3], transposeA, transposeB });
        cases.push({
          a: transposeA ? [2, 4, 6] : [2, 6, 4],
          b: transposeB ? [2, 3, 4] : [2, 4, 3],
          transposeA,
          transposeB,
        });
      }
    cases.push({ a: [100, 64], b: [64, 800], transposeA: false, transposeB: false }); // a Dense layer's dy·Wᵀ shapes
    for (const c of cases) {
      const a = rng.normalArray(c.a.reduce((x, y) => x * y, 1));
      const b = rng.normalArray(c.b.reduce((x, y) => x * y, 1));
      const yShape = tf.tidy(() => tf.matMul(tf.zeros(c.a), tf.zeros(c.b), c.transposeA, c.transposeB).shape);
      const r = rng.normalArray(yShape.reduce((x, y) => x * y, 1));
      const [da, db] = grads(c, a, b, r, yShape);
      const [refA, refB] = naive(c, a, b, r);
      const what = `a [${c.a}] b [${c.b}] transposeA ${c.transposeA} transposeB ${c.transposeB}`;
      assert.ok(maxRelError(da, refA) < 1e-5, `da differs for ${what}`);
      assert.ok(maxRelError(db, refB) < 1e-5, `db differs for ${what}`);
    }
  });

  it('keeps tf.memory().numTensors flat over 30 gradient steps', () => {
    const rng = new Rng(32);
    const w = tf.tensor2d(rng.normalArray(20 * 8), [20, 8]);
    const x = tf.tensor2d(rng.normalArray(4 * 20), [4, 20]);
    const f = tf.grad((t: tf.Tensor) => tf.sum(tf.matMul(tf.relu(tf.matMul(t, w)), w, false, true)));
    tf.tidy(() => void f(x));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 30; i++) tf.tidy(() => void f(x).dataSync());
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([w, x]);
  });
});
