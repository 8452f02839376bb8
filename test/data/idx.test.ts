import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { AegisInputError } from '../../src/core/errors.js';
import { encodeIdx, type IdxArray, isGzip, parseIdx, readIdx, writeIdx } from '../../src/data/idx.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-idx-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function inputError(pattern: RegExp) {
  return (error: unknown) => error instanceof AegisInputError && pattern.test(error.message);
}

const arrays: IdxArray[] = [
  { dtype: 'uint8', shape: [3, 2, 2], data: Uint8Array.from([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]) },
  { dtype: 'int8', shape: [4], data: Int8Array.from([-128, -1, 0, 127]) },
  { dtype: 'int16', shape: [2, 2], data: Int16Array.from([-32768, -2, 300, 32767]) },
  { dtype: 'int32', shape: [5], data: Int32Array.from([-2147483648, -7, 0, 65536, 2147483647]) },
  { dtype: 'float32', shape: [2, 3], data: Float32Array.from([0, -1.5, 3.25, 1e-7, 0.1, 1e30]) },
  { dtype: 'float64', shape: [3], data: Float64Array.from([Math.PI, -0.1, 1e-300]) },
];

describe('IDX', () => {
  for (const array of arrays) {
    for (const gzip of [false, true]) {
      it(`round-trips ${array.dtype} ${gzip ? 'gzipped' : 'raw'} through a file`, () => {
        const path = join(dir, `${array.dtype}${gzip ? '.idx.gz' : '.idx'}`);
        writeIdx(path, array);
        assert.equal(isGzip(readFileSync(path)), gzip);
        const back = readIdx(path);
        assert.equal(back.dtype, array.dtype);
        assert.deepEqual(back.shape, array.shape);
        assert.deepEqual(Array.from(back.data), Array.from(array.data));
        assert.equal(back.data.constructor, array.data.constructor);
      });
    }
  }

  it('writes the MNIST header byte for byte', () => {
    const bytes = encodeIdx({ dtype: 'uint8', shape: [2, 28, 28], data: new Uint8Array(2 * 784) });
    assert.deepEqual(Array.from(bytes.subarray(0, 16)), [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28]);
    assert.equal(bytes.length, 16 + 2 * 784);
  });

  it('reads big-endian values', () => {
    // int32 [2] = [1, -2] written by hand.
    const bytes = Uint8Array.from([0, 0, 0x0c, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe]);
    assert.deepEqual(Array.from(parseIdx(bytes).data), [1, -2]);
  });

  it('detects gzip by magic bytes, not by the file name', () => {
    const path = join(dir, 'no-extension');
    writeFileSync(path, gzipSync(encodeIdx(arrays[0]!)));
    assert.deepEqual(Array.from(readIdx(path).data), Array.from(arrays[0]!.data));
  });

  it('rejects a truncated data section with the file name and byte counts', () => {
    const path = join(dir, 'truncated.idx');
    const full = encodeIdx({ dtype: 'uint8', shape: [10, 28, 28], data: new Uint8Array(7840) });
    writeFileSync(path, full.subarray(0, 1000));
    assert.throws(() => readIdx(path), inputError(/truncated\.idx: truncated IDX data .*7840 bytes, only 984 present/));
  });

  it('rejects a truncated header', () => {
    const header = encodeIdx({ dtype: 'uint8', shape: [1, 1, 1], data: new Uint8Array(1) }).subarray(0, 9);
    assert.throws(() => parseIdx(header, 'h.idx'), inputError(/h\.idx: truncated IDX header/));
    assert.throws(() => parseIdx(new Uint8Array([0, 0]), 'tiny'), inputError(/tiny: truncated IDX file/));
  });

  it('rejects trailing bytes after the data', () => {
    const bytes = encodeIdx({ dtype: 'uint8', shape: [2], data: new Uint8Array(2) });
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    assert.throws(() => parseIdx(longer, 'x'), inputError(/3 unexpected bytes after the IDX data/));
  });

  it('rejects wrong magic and unknown dtype', () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]);
    assert.throws(() => parseIdx(png, 'pic.png'), inputError(/pic\.png: not an IDX file \(magic bytes 89 50/));
    const badType = Uint8Array.from([0, 0, 0x0a, 1, 0, 0, 0, 0]);
    assert.throws(() => parseIdx(badType, 'b'), inputError(/unknown IDX data type 0x0a/));
  });

  it('rejects corrupt and truncated gzip', () => {
    const gz = gzipSync(encodeIdx({ dtype: 'uint8', shape: [100], data: new Uint8Array(100).fill(7) }));
    const path = join(dir, 'cut.gz');
    writeFileSync(path, gz.subarray(0, gz.length - 10));
    assert.throws(() => readIdx(path), inputError(/cut\.gz: corrupt or truncated gzip data/));
    const corrupt = Uint8Array.from(gz);
    corrupt.fill(0xaa, 10, 20);
    assert.throws(() => parseIdx(corrupt, 'bad.gz'), inputError(/bad\.gz: corrupt or truncated gzip data/));
  });

  it('names a missing file', () => {
    assert.throws(() => readIdx(join(dir, 'absent.idx')), inputError(/absent\.idx: cannot read IDX file \(ENOENT\)/));
  });

  it('refuses to encode data that does not fill the shape', () => {
    assert.throws(
      () => encodeIdx({ dtype: 'uint8', shape: [2, 2], data: new Uint8Array(3) }),
      inputError(/needs 4 values, got 3/),
    );
  });
});
