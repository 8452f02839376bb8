import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { NdArray } from '../../src/data/npy.js';
import { writeNpzFile } from '../../src/data/npz.js';
import { loadNpzDataset } from '../../src/data/npz-dataset.js';
import { rejectsWithInputError } from '../helpers/assertions.js';

const FIXTURE = new URL('../fixtures/fmnist_test200.npz', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'aegis-npzds-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function npz(arrays: Record<string, NdArray>): string {
  const path = join(dir, `d${counter++}.npz`);
  writeNpzFile(path, arrays);
  return path;
}

const f32 = (shape: number[], f: (i: number) => number = (i) => i / 100): NdArray => ({
  dtype: 'float32',
  shape,
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)),
});
const i64 = (values: bigint[]): NdArray => ({
  dtype: 'int64',
  shape: [values.length],
  data: BigInt64Array.from(values),
});

describe('loadNpzDataset', () => {
  it('loads the Fashion-MNIST fixture as NHWC float32 with int32 labels', async () => {
    const ds = await loadNpzDataset(FIXTURE, { classNames: 'fashion-mnist' });
    assert.deepEqual(ds.shape, [200, 28, 28, 1]);
    assert.equal(ds.y.constructor, Int32Array);
    assert.deepEqual(Array.from(ds.y.slice(0, 5)), [9, 2, 1, 1, 6]);
    assert.equal(ds.classNames[9], 'Ankle boot');
    assert.equal(ds.name, 'fmnist_test200');
    assert.equal(ds.source, FIXTURE);
    const max = ds.x.reduce((a, b) => Math.max(a, b), 0);
    assert.ok(max <= 1 && max > 0.9);
  });

  it('names classes "0".."k-1" by default, or as given', async () => {
    assert.deepEqual((await loadNpzDataset(FIXTURE)).classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const names = 'abcdefghij'.split('');
    assert.deepEqual((await loadNpzDataset(FIXTURE, { classNames: names })).classNames, names);
    await rejectsWithInputError(
      loadNpzDataset(FIXTURE, { classNames: ['a', 'b'] }),
      /label \d+ of example \d+ is outside \[0, 1\]/,
    );
  });

  it('transposes NCHW images to NHWC', async () => {
    // x[n, c, h, w] = 1000n + 100c + 10h + w, so every value says where it came from.
    const shape = [2, 3, 4, 5];
    const data = new Float32Array(120);
    for (let n = 0; n < 2; n++)
      for (let c = 0; c < 3; c++)
        for (let h = 0; h < 4; h++)
          for (let w = 0; w < 5; w++) data[((n * 3 + c) * 4 + h) * 5 + w] = 1000 * n + 100 * c + 10 * h + w;
    const ds = await loadNpzDataset(npz({ x: { dtype: 'float32', shape, data }, y: i64([0n, 1n]) }));
    assert.deepEqual(ds.shape, [2, 4, 5, 3]);
    const at = (n: number, h: number, w: number, c: number) => ds.x[((n * 4 + h) * 5 + w) * 3 + c];
    assert.equal(at(1, 2, 3, 1), 1000 + 100 + 20 + 3);
    assert.equal(at(0, 3, 4, 2), 200 + 30 + 4);
  });

  it('keeps NHWC images and gives [n,h,w] images a channel axis', async () => {
    const nhwc = await loadNpzDataset(npz({ x: f32([2, 4, 5, 3]), y: i64([1n, 0n]) }));
    assert.deepEqual(nhwc.shape, [2, 4, 5, 3]);
    assert.equal(nhwc.x[7], Math.fround(0.07));
    const gray = await loadNpzDataset(npz({ x: f32([2, 4, 5]), y: i64([1n, 0n]) }));
    assert.deepEqual(gray.shape, [2, 4, 5, 1]);
    const forced = await loadNpzDataset(npz({ x: f32([2, 5, 4, 3]), y: i64([1n, 0n]) }), { layout: 'nchw' });
    assert.deepEqual(forced.shape, [2, 4, 3, 5]);
  });

  it('finds x_test/y_test and images/labels, and scales uint8 to [0, 1]', async () => {
    const a = await loadNpzDataset(npz({ x_test: f32([3, 2]), y_test: i64([0n, 1n, 2n]) }));
    assert.deepEqual(a.shape, [3, 2]);
    const pixels: NdArray = { dtype: 'uint8', shape: [2, 2, 2], data: Uint8Array.of(0, 51, 102, 255, 0, 0, 0, 0) };
    const labels: NdArray = { dtype: 'uint8', shape: [2], data: Uint8Array.of(1, 0) };
    const b = await loadNpzDataset(npz({ images: pixels, labels }));
    assert.deepEqual(Array.from(b.x.slice(0, 4)), [0, 0.2, 0.4, 1].map(Math.fround));
    assert.deepEqual(Array.from(b.y), [1, 0]);
  });

  it('accepts one-hot labels and integral float labels', async () => {
    const onehot: NdArray = { dtype: 'float32', shape: [3, 3], data: Float32Array.of(0, 0, 1, 1, 0, 0, 0, 1, 0) };
    assert.deepEqual(Array.from((await loadNpzDataset(npz({ x: f32([3, 2]), y: onehot }))).y), [2, 0, 1]);
    const floats: NdArray = { dtype: 'float64', shape: [3, 1], data: Float64Array.of(2, 0, 1) };
    assert.deepEqual(Array.from((await loadNpzDataset(npz({ x: f32([3, 2]), y: floats }))).y), [2, 0, 1]);
  });

  it('uses the arrays the caller names', async () => {
    const path = npz({ feats: f32([2, 3]), target: i64([0n, 1n]), x: f32([5, 3]), y: i64([0n, 0n, 0n, 0n, 1n]) });
    const ds = await loadNpzDataset(path, { x: 'feats', y: 'target' });
    assert.deepEqual(ds.shape, [2, 3]);
    await rejectsWithInputError(
      loadNpzDataset(path, { x: 'nope', y: 'target' }),
      /no array named 'nope' \(arrays: .*feats/,
    );
  });

  it('rejects bad label arrays and mismatched counts', async () => {
    await rejectsWithInputError(
      loadNpzDataset(npz({ x: f32([2, 3]), y: i64([0n, 2n ** 40n]) })),
      /'y': label 1099511627776 at index 1 is not a valid class index/,
    );
    await rejectsWithInputError(
      loadNpzDataset(npz({ x: f32([3, 3]), y: i64([0n, 1n]) })),
      /'x' has 3 examples but 'y' has 2 labels/,
    );
    await rejectsWithInputError(
      loadNpzDataset(npz({ x: f32([2, 3]), y: i64([0n, -1n]) })),
      /label -1 of example 1 is outside/,
    );
    const halves: NdArray = { dtype: 'float32', shape: [2], data: Float32Array.of(0, 0.5) };
    await rejectsWithInputError(loadNpzDataset(npz({ x: f32([2, 3]), y: halves })), /label 0\.5 at index 1/);
  });

  it('rejects missing, ambiguous or non-finite inputs', async () => {
    await rejectsWithInputError(
      loadNpzDataset(npz({ a: f32([2, 3]), b: i64([0n, 1n]) })),
      /found no input\/label pair .*arrays: a, b/,
    );
    await rejectsWithInputError(
      loadNpzDataset(npz({ x_train: f32([2, 3]), y_train: i64([0n, 1n]), x_test: f32([2, 3]), y_test: i64([0n, 1n]) })),
      /several input\/label pairs \(x_test\/y_test, x_train\/y_train\)/,
    );
    await rejectsWithInputError(
      loadNpzDataset(npz({ x: f32([2, 3], (i) => (i === 4 ? Number.NaN : 0)), y: i64([0n, 1n]) })),
      /value NaN at example 1/,
    );
    await rejectsWithInputError(loadNpzDataset(join(dir, 'missing.npz')), /cannot read/);
  });
});
