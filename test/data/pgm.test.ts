import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import { encodePgm, parsePgm, pgmToUnit, readPgm } from '../../src/data/pgm.js';

const enc = (s: string) => new TextEncoder().encode(s);

function bytes(...parts: (string | number[])[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === 'string' ? enc(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

describe('PGM parser', () => {
  test('binary P5, 8-bit, with comments in the header', () => {
    const img = parsePgm(bytes('P5\n# made by hand\n3 # width\n2\n# maxval next\n255\n', [0, 10, 20, 30, 40, 255]));
    assert.deepEqual([img.width, img.height, img.maxval], [3, 2, 255]);
    assert.deepEqual(Array.from(img.data), [0, 10, 20, 30, 40, 255]);
    assert.deepEqual(
      Array.from(pgmToUnit(img)).map((v) => Math.round(v * 255)),
      [0, 10, 20, 30, 40, 255],
    );
  });

  test('a raster byte that looks like whitespace or # is data, not header', () => {
    const img = parsePgm(bytes('P5 2 1 255\n', [0x0a, 0x23]));
    assert.deepEqual(Array.from(img.data), [10, 35]);
  });

  test('binary P5, 16-bit big-endian (maxval ≥ 256)', () => {
    const img = parsePgm(bytes('P5\n2 1\n65535\n', [0x01, 0x02, 0xff, 0xff]));
    assert.equal(img.maxval, 65535);
    assert.deepEqual(Array.from(img.data), [0x0102, 65535]);
    assert.equal(pgmToUnit(img)[1], 1);
  });

  test('ASCII P2 with comments between samples and a small maxval', () => {
    const img = parsePgm(enc('P2\n# ascii\n2 2\n15\n0 15\n# row two\n7 3\n'));
    assert.deepEqual([img.width, img.height, img.maxval], [2, 2, 15]);
    assert.deepEqual(Array.from(img.data), [0, 15, 7, 3]);
    assert.ok(Math.abs((pgmToUnit(img)[2] as number) - 7 / 15) < 1e-7);
  });

  test('ASCII P2 16-bit', () => {
    const img = parsePgm(enc('P2 2 1 1000 999 1000'));
    assert.deepEqual(Array.from(img.data), [999, 1000]);
  });

  test('encodePgm round-trips P5 8/16-bit and P2', () => {
    const a = { width: 3, height: 2, maxval: 255, data: Uint16Array.from([1, 2, 3, 250, 251, 255]) };
    const b = { width: 2, height: 2, maxval: 4095, data: Uint16Array.from([0, 4095, 300, 17]) };
    for (const img of [a, b]) {
      for (const ascii of [false, true]) {
        const back = parsePgm(encodePgm(img, { ascii, comment: 'x' }));
        assert.deepEqual({ ...back, data: Array.from(back.data) }, { ...img, data: Array.from(img.data) });
      }
    }
  });

  test('truncated files are rejected with a message naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aegis-pgm-'));
    const path = join(dir, 'cut.pgm');
    writeFileSync(path, bytes('P5\n92 112\n255\n', new Array(500).fill(7)));
    assert.throws(
      () => readPgm(path),
      (e: unknown) => {
        assert.ok(e instanceof AegisInputError);
        assert.match(
          e.message,
          /cut\.pgm: truncated PGM file: 92×112 samples need 10304 bytes after the header, found 500/,
        );
        return true;
      },
    );
    assert.throws(() => parsePgm(enc('P5\n92'), 'head.pgm'), /head\.pgm: truncated PGM file: the height is missing/);
    assert.throws(
      () => parsePgm(enc('P2 2 2 9 1 2 3'), 'a.pgm'),
      /a\.pgm: truncated PGM file: 2×2 needs 4 samples, found 3/,
    );
    assert.throws(
      () => parsePgm(bytes('P5\n2 2\n65535\n', [0, 1, 0, 2, 0, 3, 0]), 'w.pgm'),
      /w\.pgm: truncated.*need 8 bytes.*found 7/,
    );
  });

  test('corrupt files are rejected: bad magic, junk in the header, sample above maxval, bad maxval', () => {
    assert.throws(() => parsePgm(enc('P6\n1 1\n255\n\0\0\0'), 'c.pgm'), /c\.pgm: not a PGM file \(magic 'P6'/);
    assert.throws(
      () => parsePgm(enc('P5\n9x 2\n255\n'), 'j.pgm'),
      /j\.pgm: corrupt PGM file: the width is followed by/,
    );
    assert.throws(() => parsePgm(enc('P5\nab 2\n255\n'), 'k.pgm'), /k\.pgm: corrupt PGM file: expected the width/);
    assert.throws(
      () => parsePgm(enc('P2 2 1 10 3 11'), 'm.pgm'),
      /m\.pgm: corrupt PGM file: sample 11 at row 0, column 1 exceeds maxval 10/,
    );
    assert.throws(() => parsePgm(enc('P2 1 1 70000 0'), 'v.pgm'), /v\.pgm: PGM maxval 70000 is outside/);
    assert.throws(() => parsePgm(enc('P2 0 1 255'), 'z.pgm'), /z\.pgm: PGM size 0×1 is empty/);
    assert.throws(() => readPgm('/nonexistent/x.pgm'), /\/nonexistent\/x\.pgm: cannot read PGM file/);
  });
});
