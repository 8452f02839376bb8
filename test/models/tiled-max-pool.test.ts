import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { initRuntime, tf } from '../../src/core/runtime.js';
import { tiledMaxPool } from '../../src/models/tiled-max-pool.js';

before(async () => {
  await initRuntime();
});

/** Reference max pool (kernel = stride = 2) and its gradient for weights w, by plain loops. */
function reference(x: Float32Array, [n, h, w, c]: number[], dy: Float32Array): { y: number[]; dx: Float32Array } {
  const oh = Math.floor(h / 2);
  const ow = Math.floor(w / 2);
  const y: number[] = [];
  const dx = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ch = 0; ch < c; ch++) {
          let best = -1;
          for (let di = 0; di < 2; di++)
            for (let dj = 0; dj < 2; dj++) {
              const at = ((b * h + 2 * i + di) * w + 2 * j + dj) * c + ch;
              if (best < 0 || x[at] > x[best]) best = at;
            }
          const o = ((b * oh + i) * ow + j) * c + ch;
          y[o] = x[best];
          dx[best] += dy[o];
        }
  return { y, dx };
}

describe('tiledMaxPool', () => {
  for (const shape of [
    [3, 8, 8, 4],
    [2, 11, 9, 5],
  ] as [number, number, number, number][]) {
    it(`pools and differentiates like the definition on [${shape}], negative windows included`, () => {
      const rng = new Rng(shape[1]);
      const values = rng.normalArray(shape.reduce((a, b) => a * b, 1));
      const outShape = [shape[0], Math.floor(shape[1] / 2), Math.floor(shape[2] / 2), shape[3]];
      const dyValues = rng.normalArray(outShape.reduce((a, b) => a * b, 1));
      const ref = reference(values, shape, dyValues);
      const x = tf.tensor4d(values, shape);
      const dy = tf.tensor(dyValues, outShape);
      const y = tiledMaxPool(x, [2, 2]);
      assert.deepEqual(y.shape, outShape);
      assert.deepEqual(Array.from(y.dataSync()), ref.y);
      const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tiledMaxPool(t as tf.Tensor4D, [2, 2]), dy)))(x);
      assert.deepEqual(dx.shape, shape);
      const got = dx.dataSync();
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref.dx[i]));
      assert.ok(worst < 1e-6, `max gradient error ${worst}`);
      tf.dispose([x, dy, y, dx]);
    });
  }

  it('shares the gradient equally among tied maxima', () => {
    // One 2x2 window, all equal: each input gets a quarter of dy.
    const x = tf.tensor4d([1, 1, 1, 1], [1, 2, 2, 1]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tiledMaxPool(t as tf.Tensor4D, [2, 2]), 8)))(x);
    assert.deepEqual(Array.from(g.dataSync()), [2, 2, 2, 2]);
    tf.dispose([x, g]);
  });
});
