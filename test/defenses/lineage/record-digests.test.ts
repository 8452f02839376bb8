import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { AegisInputError } from '../../../src/core/errors.js';
import { encodeIdx } from '../../../src/data/idx.js';
import { writeNpyFile } from '../../../src/data/npy.js';
import { writeNpzFile } from '../../../src/data/npz.js';
import { digestFileRecords } from '../../../src/defenses/lineage/digest-records.js';
import { detectFormat } from '../../../src/defenses/lineage/formats.js';
import { LineRecordSplitter, type LineSplitOptions } from '../../../src/defenses/lineage/line-records.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-lineage-rec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sha = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
const CSV: LineSplitOptions = { csv: true, header: true };

/** Splits `text` fed in pieces of `piece` bytes (0: one chunk). */
function split(
  text: string | Uint8Array,
  options: LineSplitOptions,
  piece = 0,
): { records: string[]; header?: string } {
  const bytes = typeof text === 'string' ? Buffer.from(text) : Buffer.from(text);
  const records: string[] = [];
  const splitter = new LineRecordSplitter(options, (d) => records.push(d.toString('hex')));
  const step = piece || bytes.length || 1;
  for (let i = 0; i < bytes.length; i += step) splitter.push(bytes.subarray(i, i + step));
  splitter.end();
  return { records, ...(splitter.header ? { header: splitter.header.toString('hex') } : {}) };
}

test('CSV: one record per row, header apart, quoted newlines and doubled quotes inside one record', () => {
  const text = 'id,text\n1,"two\nlines"\n2,"say ""hi"", ok"\n3,plain\n';
  const { records, header } = split(text, CSV);
  assert.equal(header, sha('id,text'));
  assert.deepEqual(records, [sha('1,"two\nlines"'), sha('2,"say ""hi"", ok"'), sha('3,plain')]);
});

test('CSV: CRLF, LF and lone CR give the same records; blank lines and a missing final newline are fine', () => {
  const lf = split('a,b\n1,2\n\n3,"x\r\ny"\n4,5', CSV).records;
  const crlf = split('a,b\r\n1,2\r\n\r\n3,"x\r\ny"\r\n4,5\r\n', CSV).records;
  const cr = split('a,b\r1,2\r3,"x\r\ny"\r4,5\r', CSV).records;
  assert.deepEqual(lf, [sha('1,2'), sha('3,"x\r\ny"'), sha('4,5')]);
  assert.deepEqual(crlf, lf);
  assert.deepEqual(cr, lf);
});

test('a quote inside an unquoted field is a literal (as csv.ts reads it), not the start of a quoted field', () => {
  assert.deepEqual(split('h\nab"c\nd\n', CSV).records, [sha('ab"c'), sha('d')]);
});

test('records do not depend on how the stream is chunked (CRLF and quotes split across chunks)', () => {
  const text = '\ufeffa,b\r\n1,"q\r\n""x"""\r\n2,3\r\n"",4\r\n';
  const whole = split(text, CSV);
  for (const piece of [1, 2, 3, 5, 7]) assert.deepEqual(split(text, CSV, piece), whole, `chunks of ${piece}`);
  assert.equal(whole.header, sha('a,b'), 'the BOM is not part of the header');
  assert.equal(whole.records.length, 3);
});

test('plain lines (JSONL, SMS-style text): every non-empty line is a record, no header, no quoting', () => {
  const text = 'ham\tOk lar... "Joking\nspam\tFree entry\r\n\n{"a": 1}';
  const { records, header } = split(text, { csv: false, header: false }, 4);
  assert.equal(header, undefined);
  assert.deepEqual(records, [sha('ham\tOk lar... "Joking'), sha('spam\tFree entry'), sha('{"a": 1}')]);
});

test('format detection by name, and by content for bare names', () => {
  const bare = join(dir, 'SMSSpamCollection');
  writeFileSync(bare, 'ham\thello\nspam\twin\n');
  const idx = join(dir, 'blob');
  writeFileSync(idx, encodeIdx({ dtype: 'uint8', shape: [2, 2], data: Uint8Array.from([1, 2, 3, 4]) }));
  assert.equal(detectFormat(bare), 'lines');
  assert.equal(detectFormat(idx), 'idx');
  assert.equal(detectFormat('x/train-images-idx3-ubyte.gz'), 'idx');
  assert.equal(detectFormat('x/a.TSV'), 'tsv');
  assert.equal(detectFormat('x/faces/s1/1.pgm'), 'image');
  assert.equal(detectFormat('x/README.md'), 'file');
});

test('IDX: one record per item, the same for the gzipped and the raw file; the file digests differ', async () => {
  copyFileSync('data/fashion-mnist/t10k-images-idx3-ubyte.gz', join(dir, 'img.idx3-ubyte.gz'));
  const raw = join(dir, 'img-idx3-ubyte');
  const rawBytes = gunzipSync(readFileSync('data/fashion-mnist/t10k-images-idx3-ubyte.gz'));
  writeFileSync(raw, rawBytes);
  const a: string[] = [];
  const b: string[] = [];
  const zipped = await digestFileRecords(join(dir, 'img.idx3-ubyte.gz'), 'idx', {
    onRecord: (d) => a.push(d.toString('hex')),
  });
  const plain = await digestFileRecords(raw, 'idx', { onRecord: (d) => b.push(d.toString('hex')) });
  assert.equal(zipped.records, 1000);
  assert.deepEqual(zipped.shape, [1000, 28, 28]);
  assert.deepEqual(a, b);
  assert.equal(zipped.recordsRoot, plain.recordsRoot);
  assert.notEqual(zipped.sha256, plain.sha256);
  assert.equal(plain.sha256, sha(rawBytes));
  assert.equal(a[5], sha(rawBytes.subarray(16 + 5 * 784, 16 + 6 * 784)), 'record 5 is image 5 (header is 16 bytes)');
});

test('IDX: a truncated file is an input error naming it', async () => {
  const path = join(dir, 'short-idx1-ubyte');
  writeFileSync(path, encodeIdx({ dtype: 'uint8', shape: [10], data: new Uint8Array(10) }).subarray(0, 15));
  await assert.rejects(digestFileRecords(path, 'idx'), (e: unknown) => {
    assert.ok(e instanceof AegisInputError);
    assert.match(e.message, /short-idx1-ubyte: truncated data/);
    return true;
  });
});

test('NPY: one record per row of the first axis; NPZ: per array (sorted by name), per row', async () => {
  const npy = join(dir, 'x.npy');
  const data = Float32Array.from({ length: 12 }, (_, i) => i);
  writeNpyFile(npy, { dtype: 'float32', shape: [4, 3], data });
  const rows: string[] = [];
  const facts = await digestFileRecords(npy, 'npy', { onRecord: (d) => rows.push(d.toString('hex')) });
  assert.equal(facts.records, 4);
  const rowBytes = (i: number) => new Uint8Array(data.buffer, i * 12, 12);
  assert.deepEqual(
    rows,
    [0, 1, 2, 3].map((i) => sha(rowBytes(i))),
  );

  const npz = join(dir, 'd.npz');
  writeNpzFile(npz, {
    y: { dtype: 'int32', shape: [2], data: Int32Array.from([7, 8]) },
    x: { dtype: 'float32', shape: [4, 3], data },
  });
  const all: string[] = [];
  const z = await digestFileRecords(npz, 'npz', { onRecord: (d) => all.push(d.toString('hex')) });
  assert.deepEqual(
    z.arrays?.map((a) => [a.name, a.records]),
    [
      ['x', 4],
      ['y', 2],
    ],
  );
  assert.deepEqual(all.slice(0, 4), rows, 'x first (sorted by name), whatever the zip order');
  assert.equal(all[5], sha(new Uint8Array(Int32Array.from([8]).buffer)));
});

test('NPY with an object dtype keeps its file digest and says why it has no records', async () => {
  const path = join(dir, 'obj.npy');
  const header = "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }";
  const padded = `${header.padEnd(118, ' ')}\n`;
  const bytes = Buffer.concat([
    Buffer.from([0x93]),
    Buffer.from('NUMPY'),
    Buffer.from([1, 0, padded.length, 0]),
    Buffer.from(padded, 'latin1'),
    Buffer.from('pickle bytes'),
  ]);
  writeFileSync(path, bytes);
  const facts = await digestFileRecords(path, 'npy');
  assert.equal(facts.records, undefined);
  assert.match(facts.note ?? '', /\|O has no fixed-size rows/);
  assert.equal(facts.sha256, sha(bytes));
});
