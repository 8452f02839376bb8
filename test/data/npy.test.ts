import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { unzipSync } from 'fflate';
import { AegisInputError } from '../../src/core/errors.js';
import { type NdArray, type NpyDType, readNpy, toFloat32, writeNpy } from '../../src/data/npy.js';

const FIXTURE = new URL('../fixtures/numpy_dtypes.npz', import.meta.url).pathname;
/** The raw .npy entries NumPy wrote (scripts/make-numpy-fixture.py). */
const numpyEntries = unzipSync(readFileSync(FIXTURE));
const entry = (name: string) => numpyEntries[`${name}.npy`];
/** base = np.arange(-3, 9).reshape(3, 4) */
const base = Array.from({ length: 12 }, (_, i) => i - 3);

const samples: Record<NpyDType, NdArray['data']> = {
  bool: Uint8Array.of(1, 0, 1, 1, 0, 0),
  int8: Int8Array.of(-128, -1, 0, 1, 2, 127),
  uint8: Uint8Array.of(0, 1, 2, 3, 254, 255),
  int16: Int16Array.of(-32768, -1, 0, 1, 300, 32767),
  uint16: Uint16Array.of(0, 1, 2, 3, 60000, 65535),
  int32: Int32Array.of(-2147483648, -1, 0, 1, 70000, 2147483647),
  uint32: Uint32Array.of(0, 1, 2, 3, 70000, 4294967295),
  int64: BigInt64Array.of(-(2n ** 63n), -1n, 0n, 1n, 2n ** 40n, 2n ** 63n - 1n),
  uint64: BigUint64Array.of(0n, 1n, 2n, 3n, 2n ** 40n, 2n ** 64n - 1n),
  float16: Uint16Array.of(0x3c00, 0xc000, 0, 0x7bff, 0x3555, 0x8001),
  float32: Float32Array.of(-1.5, 0, 1e-30, 3.25, Number.MAX_VALUE, Number.NaN),
  float64: Float64Array.of(-1.5, 0, 1e-300, Math.PI, Number.MAX_VALUE, Number.NEGATIVE_INFINITY),
};

function expectInputError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AegisInputError, `expected AegisInputError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('writeNpy/readNpy round trip', () => {
  for (const [dtype, data] of Object.entries(samples) as [NpyDType, NdArray['data']][]) {
    it(`keeps ${dtype} values, dtype and shape`, () => {
      const back = readNpy(writeNpy({ dtype, shape: [2, 3], data }));
      assert.equal(back.dtype, dtype);
      assert.deepEqual(back.shape, [2, 3]);
      assert.equal(back.data.constructor, data.constructor);
      assert.deepEqual(Array.from(back.data as ArrayLike<unknown>), Array.from(data as ArrayLike<unknown>));
    });
  }

  it('handles 0-d, 1-d and empty arrays', () => {
    for (const shape of [[], [4], [0, 3]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const back = readNpy(writeNpy({ dtype: 'float64', shape, data: new Float64Array(n).fill(7) }));
      assert.deepEqual(back.shape, shape);
      assert.equal(back.data.length, n);
    }
  });

  it('pads the header so the data starts on a 64-byte boundary, ending in a newline', () => {
    for (const shape of [[1], [3, 4], [1000, 1, 28, 28]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const bytes = writeNpy({ dtype: 'float32', shape, data: new Float32Array(n) });
      const headerLen = bytes[8] | (bytes[9] << 8);
      assert.equal((10 + headerLen) % 64, 0);
      assert.equal(bytes[10 + headerLen - 1], 0x0a);
      assert.equal(bytes.length, 10 + headerLen + 4 * n);
    }
  });

  it('writes byte-for-byte what NumPy writes', () => {
    const ours = writeNpy({ dtype: 'float32', shape: [3, 4], data: Float32Array.from(base, (v) => v / 4) });
    assert.deepEqual(ours, entry('f4'));
    const vector = writeNpy({ dtype: 'int32', shape: [5], data: Int32Array.of(0, 1, 2, 3, 4) });
    assert.deepEqual(vector, entry('vector'));
    const flags = writeNpy({ dtype: 'bool', shape: [3, 4], data: Uint8Array.from(base, (v) => (v % 2 === 0 ? 1 : 0)) });
    assert.deepEqual(flags, entry('b1'));
  });

  it('reads a view into a larger, unaligned buffer without sharing memory', () => {
    const bytes = writeNpy({ dtype: 'float64', shape: [2], data: Float64Array.of(1.5, -2) });
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 3);
    const arr = readNpy(padded.subarray(3));
    assert.deepEqual(Array.from(arr.data as Float64Array), [1.5, -2]);
    padded.fill(0);
    assert.deepEqual(Array.from(arr.data as Float64Array), [1.5, -2]);
  });
});

describe('readNpy on files NumPy wrote', () => {
  const cases: [string, NpyDType, (v: number) => number | bigint | boolean][] = [
    ['f4', 'float32', (v) => v / 4],
    ['f8', 'float64', (v) => v / 3],
    ['i1', 'int8', (v) => v],
    ['i2', 'int16', (v) => v * 1000],
    ['i4', 'int32', (v) => v * 100000],
    ['i8', 'int64', (v) => BigInt(v) * 10n ** 12n],
    ['u1', 'uint8', (v) => v + 3],
    ['u2', 'uint16', (v) => (v + 3) * 1000],
    ['u4', 'uint32', (v) => (v + 3) * 100000],
    ['u8', 'uint64', (v) => BigInt(v + 3) * 10n ** 12n],
    ['b1', 'bool', (v) => (v % 2 === 0 ? 1 : 0)],
    ['be_f4', 'float32', (v) => v / 4],
    ['be_i8', 'int64', (v) => BigInt(v) * 10n ** 12n],
    ['v2', 'float32', (v) => v / 4],
    ['v3', 'float32', (v) => v / 4],
  ];
  for (const [name, dtype, value] of cases) {
    it(`reads ${name} as ${dtype} [3, 4]`, () => {
      const arr = readNpy(entry(name), name);
      assert.equal(arr.dtype, dtype);
      assert.deepEqual(arr.shape, [3, 4]);
      const expected = base.map(value);
      const got = Array.from(arr.data as ArrayLike<number | bigint>);
      if (dtype === 'float64') {
        for (let i = 0; i < got.length; i++) assert.ok(Math.abs(Number(got[i]) - Number(expected[i])) < 1e-15);
      } else {
        assert.deepEqual(got, expected);
      }
    });
  }

  it('decodes float16 to float32', () => {
    const arr = readNpy(entry('f2'));
    assert.equal(arr.dtype, 'float16');
    assert.deepEqual(
      Array.from(toFloat32(arr)),
      base.map((v) => v / 2),
    );
  });

  it('reads 0-d and empty arrays', () => {
    const scalar = readNpy(entry('scalar'));
    assert.deepEqual(scalar.shape, []);
    assert.deepEqual(Array.from(scalar.data as Float64Array), [2.5]);
    const empty = readNpy(entry('empty'));
    assert.deepEqual(empty.shape, [0, 3]);
    assert.equal(empty.data.length, 0);
  });

  it('rejects Fortran-order arrays with a clear message', () => {
    expectInputError(() => readNpy(entry('fortran'), 'fortran.npy'), /fortran\.npy: Fortran-order .*not supported/);
  });
});

describe('readNpy on broken input', () => {
  const good = writeNpy({ dtype: 'float32', shape: [10, 10], data: new Float32Array(100) });

  it('rejects a bad magic string', () => {
    const bad = good.slice();
    bad[1] = 0x41;
    expectInputError(() => readNpy(bad, 'a.npy'), /a\.npy: not a \.npy file/);
    expectInputError(() => readNpy(new TextEncoder().encode('hello world, not numpy'), 'b.npy'), /not a \.npy/);
  });

  it('rejects a header length beyond the end of the file', () => {
    expectInputError(() => readNpy(good.subarray(0, 40), 'cut.npy'), /cut\.npy: truncated \.npy file/);
  });

  it('rejects data shorter than the shape needs', () => {
    expectInputError(
      () => readNpy(good.subarray(0, good.length - 4), 'short.npy'),
      /short\.npy: truncated \.npy data: shape \(10, 10\) of float32 needs 400 bytes but only 396/,
    );
  });

  it('rejects unsupported versions and dtypes', () => {
    const v9 = good.slice();
    v9[6] = 9;
    expectInputError(() => readNpy(v9), /unsupported \.npy format version 9/);
    for (const descr of ['<c8', '|O', '<U3', '|S4']) {
      const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (2,), }`.padEnd(117, ' ');
      const bytes = new Uint8Array(128 + 64);
      bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]);
      bytes.set(new TextEncoder().encode(`${header}\n`), 10);
      expectInputError(() => readNpy(bytes, 'odd.npy'), new RegExp(`unsupported dtype '${descr.replace('|', '\\|')}'`));
    }
  });

  it('rejects a malformed header', () => {
    const bytes = new Uint8Array(64);
    bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 54, 0]);
    bytes.set(new TextEncoder().encode(`{'descr': '<f4', 'shape': oops }`), 10);
    expectInputError(() => readNpy(bytes), /header is malformed/);
  });
});

describe('writeNpy checks its input', () => {
  it('rejects data whose length does not match the shape', () => {
    expectInputError(
      () => writeNpy({ dtype: 'float32', shape: [2, 3], data: new Float32Array(5) }),
      /shape \[2,3\] has 6 elements but data has 5/,
    );
  });
  it('rejects data of the wrong typed-array class', () => {
    expectInputError(
      () => writeNpy({ dtype: 'int64', shape: [2], data: new Int32Array(2) }),
      /int64 needs a BigInt64Array but data is Int32Array/,
    );
  });
});
