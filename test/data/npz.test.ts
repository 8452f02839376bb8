import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { unzipSync, zipSync } from 'fflate';
import { AegisInputError } from '../../src/core/errors.js';
import type { NdArray } from '../../src/data/npy.js';
import { readNpz, readNpzFile, writeNpz, writeNpzFile } from '../../src/data/npz.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'aegis-npz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function expectInputError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AegisInputError, `expected AegisInputError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

const arrays: Record<string, NdArray> = {
  images: { dtype: 'float32', shape: [4, 2, 3], data: Float32Array.from({ length: 24 }, (_, i) => i / 8) },
  labels: { dtype: 'int64', shape: [4], data: BigInt64Array.of(0n, 3n, 1n, 2n) },
  mask: { dtype: 'bool', shape: [4], data: Uint8Array.of(1, 0, 0, 1) },
  pixels: { dtype: 'uint8', shape: [2, 2], data: Uint8Array.of(0, 128, 255, 7) },
};

/** Local file header method field of the first entry (0 stored, 8 deflated). */
const firstMethod = (zip: Uint8Array) => zip[8] | (zip[9] << 8);

describe('writeNpz/readNpz', () => {
  it('round-trips several arrays by name', () => {
    const back = readNpz(writeNpz(arrays));
    assert.deepEqual(Object.keys(back).sort(), Object.keys(arrays).sort());
    for (const [name, arr] of Object.entries(arrays)) {
      assert.equal(back[name].dtype, arr.dtype);
      assert.deepEqual(back[name].shape, arr.shape);
      assert.deepEqual(Array.from(back[name].data as ArrayLike<unknown>), Array.from(arr.data as ArrayLike<unknown>));
    }
  });

  it('deflates by default and stores with level 0, each entry named NAME.npy', () => {
    const zeros = { z: { dtype: 'float32', shape: [1000], data: new Float32Array(1000) } } as Record<string, NdArray>;
    const deflated = writeNpz(zeros);
    const stored = writeNpz(zeros, { level: 0 });
    assert.equal(firstMethod(deflated), 8);
    assert.equal(firstMethod(stored), 0);
    assert.ok(deflated.length < 500 && stored.length > 4000, `${deflated.length} vs ${stored.length}`);
    assert.deepEqual(Object.keys(unzipSync(deflated)), ['z.npy']);
  });

  it('gives the same bytes for the same arrays', () => {
    assert.deepEqual(writeNpz(arrays), writeNpz(arrays));
  });

  it('reads a stored archive NumPy wrote (np.savez), optionally only some arrays', () => {
    const bytes = readFileSync(join(FIXTURES, 'numpy_dtypes.npz'));
    const some = readNpz(bytes, 'numpy_dtypes.npz', { only: ['f4', 'i8', 'be_f4'] });
    assert.deepEqual(Object.keys(some).sort(), ['be_f4', 'f4', 'i8']);
    assert.deepEqual(Array.from(some.be_f4.data as Float32Array), Array.from(some.f4.data as Float32Array));
    expectInputError(() => readNpz(bytes, 'numpy_dtypes.npz', { only: ['nope'] }), /no array named 'nope'/);
    // The archive also holds a Fortran-order entry: reading everything names it.
    expectInputError(
      () => readNpz(bytes, 'numpy_dtypes.npz'),
      /numpy_dtypes\.npz: entry 'fortran\.npy': Fortran-order/,
    );
  });

  it('reads the Fashion-MNIST fixture', () => {
    const f = readNpzFile(join(FIXTURES, 'fmnist_test200.npz'));
    assert.deepEqual(f.x.shape, [200, 1, 28, 28]);
    assert.equal(f.x.dtype, 'float32');
    assert.deepEqual(f.y.shape, [200]);
    assert.equal(f.y.dtype, 'int64');
    assert.deepEqual(f.logits.shape, [200, 10]);
    assert.deepEqual(Array.from((f.y.data as BigInt64Array).slice(0, 5)), [9n, 2n, 1n, 1n, 6n]);
  });

  it('writes and reads files', () => {
    const path = join(dir, 'a.npz');
    writeNpzFile(path, arrays);
    assert.deepEqual(Array.from(readNpzFile(path).labels.data as BigInt64Array), [0n, 3n, 1n, 2n]);
  });
});

describe('readNpz on broken input', () => {
  const good = writeNpz(arrays);

  it('names a missing file', () => {
    expectInputError(() => readNpzFile(join(dir, 'missing.npz')), /cannot read '.*missing\.npz'.*ENOENT/);
  });

  it('rejects bytes that are not a zip', () => {
    expectInputError(() => readNpz(new TextEncoder().encode('x,y\n1,2\n'), 'data.npz'), /data\.npz: not a \.npz file/);
  });

  it('rejects truncated archives', () => {
    for (const cut of [30, Math.floor(good.length / 2), good.length - 5]) {
      expectInputError(() => readNpz(good.subarray(0, cut), 'cut.npz'), /cut\.npz: corrupt or truncated \.npz/);
    }
  });

  it('rejects corrupt compressed data', () => {
    const big = writeNpz({ r: { dtype: 'float64', shape: [500], data: Float64Array.from({ length: 500 }, Math.sin) } });
    const bad = big.slice();
    for (let i = 60; i < 200; i++) bad[i] ^= 0x5a;
    expectInputError(() => readNpz(bad, 'bad.npz'), /bad\.npz: corrupt or truncated/);
  });

  it('names the entry holding a corrupt .npy', () => {
    const zip = zipSync({ 'x.npy': new TextEncoder().encode('not numpy at all') });
    expectInputError(() => readNpz(zip, 'odd.npz'), /odd\.npz: entry 'x\.npy': not a \.npy file/);
  });

  it('rejects an archive without .npy entries', () => {
    const zip = zipSync({ 'readme.txt': new TextEncoder().encode('hi') });
    expectInputError(
      () => readNpz(zip, 'docs.npz'),
      /docs\.npz: the archive holds no \.npy arrays \(entries: readme\.txt\)/,
    );
  });
});
