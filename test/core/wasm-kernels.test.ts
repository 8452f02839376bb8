import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { type BackendName, initRuntime, tf } from '../../src/core/runtime.js';

let backend: BackendName;

/** Distinct data buffers (tf.memory().numBytes counts shared data once per tensor). */
function memoryBuffers(): number {
  return tf.memory().numDataBuffers;
}

function skipUnlessWasm(t: { skip(message: string): void }): boolean {
  if (backend === 'wasm') return false;
  t.skip(`the runtime started on ${backend}, not wasm`);
  return true;
}

describe('wasm Identity and Cast replacements', () => {
  before(async () => {
    backend = await initRuntime();
  });

  it('clone shares the data, survives disposing the original, and allocates no new buffer', (t) => {
    if (skipUnlessWasm(t)) return;
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const buffers = memoryBuffers();
    const b = tf.clone(a);
    assert.equal(b.dataId, a.dataId);
    assert.equal(memoryBuffers(), buffers);
    a.dispose();
    assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3, 4, 5, 6]);
    b.dispose();
  });

  it('a saved activation in a gradient is not copied, and gradients stay right', (t) => {
    if (skipUnlessWasm(t)) return;
    const x = tf.tensor1d([-2, -0.5, 0.5, 3]);
    const g = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), tf.relu(v))))(x));
    assert.deepEqual(Array.from(g.dataSync()), [0, 0, 1, 6]);
    tf.dispose([x, g]);
  });

  it('Cast to the same dtype shares; Cast to another dtype still converts', (t) => {
    if (skipUnlessWasm(t)) return;
    const f = tf.tensor1d([1.7, -2.2, 0]);
    const same = tf.cast(f, 'float32');
    assert.equal(same.dataId, f.dataId);
    const ints = tf.cast(f, 'int32');
    assert.notEqual(ints.dataId, f.dataId);
    assert.deepEqual(Array.from(ints.dataSync()), [1, -2, 0]);
    const bools = tf.cast(tf.tensor1d([1.7, -2.2, 0, 256, Number.NaN, -0]), 'bool');
    assert.deepEqual(Array.from(bools.dataSync()), [1, 1, 0, 1, 1, 0]); // x ≠ 0, as on cpu
    const intBools = tf.cast(tf.tensor1d([0, -1, 512], 'int32'), 'bool');
    assert.deepEqual(Array.from(intBools.dataSync()), [0, 1, 1]);
    f.dispose();
    assert.deepEqual(Array.from(same.dataSync()), [1.7000000476837158, -2.200000047683716, 0]);
    tf.dispose([same, ints, bools, intBools]);
  });

  it('string tensors still clone', () => {
    const s = tf.tensor1d(['a', 'bc']);
    const c = tf.clone(s);
    s.dispose();
    assert.deepEqual(c.dataSync(), ['a', 'bc']);
    c.dispose();
  });

  it('keeps tf.memory() flat over many clones and casts', () => {
    const x = tf.randomNormal([64, 64], 0, 1, 'float32', 3);
    const before = tf.memory();
    for (let i = 0; i < 50; i++) tf.tidy(() => void tf.cast(tf.clone(tf.clone(x)), 'float32').dataSync());
    assert.equal(tf.memory().numTensors, before.numTensors);
    assert.equal(memoryBuffers(), before.numDataBuffers);
    x.dispose();
  });
});
