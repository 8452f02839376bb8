import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { readIdx, writeIdx } from '../../../src/data/idx.js';
import { writeNpyFile } from '../../../src/data/npy.js';
import { readManifest } from '../../../src/defenses/lineage/manifest.js';
import { recordDataset } from '../../../src/defenses/lineage/record.js';
import { verifyDataset } from '../../../src/defenses/lineage/verify.js';

const root = mkdtempSync(join(tmpdir(), 'aegis-lineage-verify-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function freshDir(): string {
  const dir = join(root, `case${n++}`);
  mkdirSync(join(dir, 'data'), { recursive: true });
  return dir;
}

const CSV_ROWS = Array.from({ length: 30 }, (_, i) => `${i},"text ${i}\nsecond line",${i % 3}`);
const csvText = (rows: string[]): string => `id,text,label\r\n${rows.join('\r\n')}\r\n`;

function changedFile(result: Awaited<ReturnType<typeof verifyDataset>>, path: string) {
  const change = result.files.changed.find((c) => c.path === path);
  assert.ok(change, `${path} should be reported changed`);
  return change;
}

test('record then verify an unchanged dataset: identical, Merkle root matches', async () => {
  const dir = freshDir();
  writeFileSync(join(dir, 'data', 'train.csv'), csvText(CSV_ROWS));
  writeFileSync(join(dir, 'data', 'notes.jsonl'), '{"a":1}\n{"a":2}\n');
  const { manifestPath, manifest } = await recordDataset(join(dir, 'data'), {
    out: join(dir, 'm.json'),
    source: 'unit test',
  });
  assert.equal(manifest.files.length, 2);
  assert.equal(manifest.files.find((f) => f.path === 'train.csv')?.records, 30);
  const result = await verifyDataset(manifestPath);
  assert.equal(result.identical, true);
  assert.equal(result.merkleRoot.match, true);
  assert.equal(result.files.unchanged, 2);
});

test('one changed CSV row is exactly one changed record; an inserted row is one addition', async () => {
  const dir = freshDir();
  const csv = join(dir, 'data', 'train.csv');
  writeFileSync(csv, csvText(CSV_ROWS));
  const { manifestPath } = await recordDataset(join(dir, 'data'), { out: join(dir, 'm.json') });

  writeFileSync(csv, csvText(CSV_ROWS.map((r, i) => (i === 17 ? '17,"poisoned\nrow",0' : r))));
  const edited = changedFile(await verifyDataset(manifestPath), 'train.csv');
  const diff = edited.records?.diff;
  assert.deepEqual([diff?.added.count, diff?.removed.count, diff?.changed.count], [0, 0, 1]);
  assert.equal(diff?.changed.items[0]?.index, 17);

  writeFileSync(csv, csvText([...CSV_ROWS.slice(0, 5), '99,"new",1', ...CSV_ROWS.slice(5)]));
  const inserted = await verifyDataset(manifestPath);
  const d2 = changedFile(inserted, 'train.csv').records?.diff;
  assert.deepEqual([d2?.added.count, d2?.removed.count, d2?.changed.count], [1, 0, 0]);
  assert.equal(d2?.added.items[0]?.index, 5);
  assert.equal(inserted.merkleRoot.match, false);
  assert.equal(inserted.identical, false);
});

test('line endings changed (CRLF → LF): the file changed, every record did not', async () => {
  const dir = freshDir();
  const csv = join(dir, 'data', 'train.csv');
  writeFileSync(csv, csvText(CSV_ROWS));
  const { manifestPath } = await recordDataset(join(dir, 'data'), { out: join(dir, 'm.json') });
  writeFileSync(csv, csvText(CSV_ROWS).replaceAll('\r\n', '\n'));
  const change = changedFile(await verifyDataset(manifestPath), 'train.csv');
  const diff = change.records?.diff;
  assert.deepEqual([diff?.added.count, diff?.removed.count, diff?.changed.count], [0, 0, 0]);
  assert.equal(change.headerChanged, undefined);
});

test('one changed image of the bundled IDX file is exactly that record (sidecar storage)', async () => {
  const dir = freshDir();
  const path = join(dir, 'data', 't10k-images-idx3-ubyte.gz');
  copyFileSync('data/fashion-mnist/t10k-images-idx3-ubyte.gz', path);
  copyFileSync('data/fashion-mnist/t10k-labels-idx1-ubyte.gz', join(dir, 'data', 't10k-labels-idx1-ubyte.gz'));
  const recorded = await recordDataset(join(dir, 'data'), { out: join(dir, 'm.json'), inlineRecords: 100 });
  assert.equal(recorded.manifest.recordDigests.storage, 'sidecar');
  assert.ok(recorded.sidecarPath);
  assert.equal(readFileSync(recorded.sidecarPath).length, 2000 * 32);

  const images = readIdx(path);
  for (let p = 0; p < 30; p++) images.data[123 * 784 + 300 + p] = 255; // a trigger patch on image 123
  writeIdx(path, images);
  const result = await verifyDataset(recorded.manifestPath);
  assert.equal(result.files.unchanged, 1, 'the labels are untouched');
  const diff = changedFile(result, 't10k-images-idx3-ubyte.gz').records?.diff;
  assert.equal(diff?.keying, 'index');
  assert.deepEqual([diff?.added.count, diff?.removed.count, diff?.changed.count], [0, 0, 1]);
  assert.equal(diff?.changed.items[0]?.key, '123');
});

test('one changed NPY row is that row; a deleted file is removed, a new one added', async () => {
  const dir = freshDir();
  const data = Float32Array.from({ length: 40 }, (_, i) => i / 40);
  writeNpyFile(join(dir, 'data', 'x.npy'), { dtype: 'float32', shape: [10, 4], data });
  writeFileSync(join(dir, 'data', 'labels.txt'), '0\n1\n0\n');
  const { manifestPath } = await recordDataset(join(dir, 'data'), { out: join(dir, 'm.json') });
  const changed = Float32Array.from(data);
  changed[6 * 4 + 2] = 0.5;
  writeNpyFile(join(dir, 'data', 'x.npy'), { dtype: 'float32', shape: [10, 4], data: changed });
  unlinkSync(join(dir, 'data', 'labels.txt'));
  writeFileSync(join(dir, 'data', 'extra.csv'), 'a\n1\n');
  const result = await verifyDataset(manifestPath);
  const diff = changedFile(result, 'x.npy').records?.diff;
  assert.deepEqual(
    diff?.changed.items.map((c) => c.index),
    [6],
  );
  assert.equal(diff?.changed.count, 1);
  assert.deepEqual(result.files.removed, ['labels.txt']);
  assert.deepEqual(
    result.files.added.map((a) => [a.path, a.records]),
    [['extra.csv', 1]],
  );
});

test('a single-file dataset; verify finds it beside the manifest or at a given path', async () => {
  const dir = freshDir();
  const csv = join(dir, 'data', 'one.csv');
  writeFileSync(csv, csvText(CSV_ROWS));
  const { manifestPath, manifest } = await recordDataset(csv);
  assert.equal(manifestPath, `${csv}.lineage.json`);
  assert.equal(manifest.name, 'one');
  assert.equal((await verifyDataset(manifestPath)).identical, true);
  const copy = join(dir, 'copy.csv');
  writeFileSync(copy, csvText(CSV_ROWS.slice(1)));
  const result = await verifyDataset(manifestPath, { dataset: copy });
  assert.equal(changedFile(result, 'one.csv').records?.diff?.removed.count, 1);
});

test('the source comes from a README beside the data when not given', async () => {
  const dir = freshDir();
  writeFileSync(join(dir, 'data', 'README.md'), '# Tiny set\n\nFrom <https://example.org/tiny.zip>, CC-BY.\n');
  writeFileSync(join(dir, 'data', 'a.txt'), 'x\n');
  const { manifest } = await recordDataset(join(dir, 'data'), {
    out: join(dir, 'm.json'),
    transforms: [{ name: 'dedupe', params: { key: 'id' } }],
  });
  assert.deepEqual(manifest.source, { uri: 'https://example.org/tiny.zip', description: 'Tiny set', from: 'readme' });
  assert.deepEqual(manifest.transforms, [{ name: 'dedupe', params: { key: 'id' } }]);
});

/** The manifest fields the tampering test edits, loosely typed (it writes invalid values on purpose). */
interface Editable {
  schema: string;
  merkleRoot?: string;
  createdAt: string;
  files: { path: string; bytes: number; sha256: string; digests: string[] }[];
}

async function rejectsManifest(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof AegisInputError, `expected AegisInputError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('tampered or malformed manifests are rejected with the field named', async () => {
  const dir = freshDir();
  writeFileSync(join(dir, 'data', 'train.csv'), csvText(CSV_ROWS));
  const { manifestPath } = await recordDataset(join(dir, 'data'), { out: join(dir, 'm.json') });
  const original = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const tamper = async (edit: (m: Editable) => void, pattern: RegExp): Promise<void> => {
    const m = structuredClone(original);
    edit(m);
    const path = join(dir, 'tampered.json');
    writeFileSync(path, JSON.stringify(m));
    await rejectsManifest(verifyDataset(path, { dataset: join(dir, 'data') }), pattern);
  };
  await tamper((m) => {
    m.files[0].digests[3] = m.files[0].digests[4];
  }, /field 'files\[0\]\.recordsRoot' does not match its record digests/);
  await tamper((m) => {
    m.files[0].sha256 = 'a'.repeat(64);
  }, /field 'merkleRoot' does not match its files/);
  await tamper((m) => {
    m.files[0].bytes = -1;
  }, /field 'files\[0\]\.bytes'/);
  await tamper((m) => {
    m.files[0].path = '../../etc/passwd';
  }, /field 'files\[0\]\.path'.*'\.\.'/);
  await tamper((m) => {
    m.schema = 'aegis.lineage/9';
  }, /field 'schema'.*reads 'aegis\.lineage\/1'/);
  await tamper((m) => {
    delete m.merkleRoot;
  }, /field 'merkleRoot'/);
  await tamper((m) => {
    m.createdAt = 'yesterday';
  }, /field 'createdAt'/);
  writeFileSync(join(dir, 'bad.json'), '{"schema": ');
  await rejectsManifest(verifyDataset(join(dir, 'bad.json')), /not a lineage manifest \(invalid JSON/);
  await rejectsManifest(verifyDataset(join(dir, 'none.json')), /cannot read the manifest .*ENOENT/);
  // The untouched manifest still reads.
  assert.equal(readManifest(manifestPath).manifest.files.length, 1);
});

test('a sidecar that no longer matches the manifest is rejected; a missing dataset is an input error', async () => {
  const dir = freshDir();
  writeFileSync(join(dir, 'data', 'a.txt'), Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n'));
  const { manifestPath, sidecarPath } = await recordDataset(join(dir, 'data'), {
    out: join(dir, 'm.json'),
    inlineRecords: 10,
  });
  assert.ok(sidecarPath);
  const bytes = readFileSync(sidecarPath);
  bytes[40] = (bytes[40] as number) ^ 1;
  writeFileSync(sidecarPath, bytes);
  await rejectsManifest(verifyDataset(manifestPath), /sidecar .* does not match the manifest/);
  await rejectsManifest(recordDataset(join(dir, 'nothing-here')), /dataset '.*nothing-here' does not exist/);
});

test('image folders: each image is a record keyed by its relative path; a manifest inside the folder is ignored', async () => {
  const dir = freshDir();
  const faces = join(dir, 'data');
  const pgm = (v: number) => Buffer.concat([Buffer.from('P5\n2 2\n255\n'), Buffer.from([v, v, v, v])]);
  for (const s of ['s1', 's2']) {
    mkdirSync(join(faces, s));
    for (const i of [1, 2]) writeFileSync(join(faces, s, `${i}.pgm`), pgm(i * 10));
  }
  const out = join(faces, 'faces.lineage.json');
  const { manifest } = await recordDataset(faces, { out });
  assert.deepEqual(
    manifest.files.map((f) => [f.path, f.format]),
    [
      ['s1/1.pgm', 'image'],
      ['s1/2.pgm', 'image'],
      ['s2/1.pgm', 'image'],
      ['s2/2.pgm', 'image'],
    ],
  );
  writeFileSync(join(faces, 's2', '1.pgm'), pgm(99));
  mkdirSync(join(faces, 's3'));
  writeFileSync(join(faces, 's3', '1.pgm'), pgm(5));
  unlinkSync(join(faces, 's1', '2.pgm'));
  const result = await verifyDataset(out);
  assert.deepEqual(
    result.files.changed.map((c) => c.path),
    ['s2/1.pgm'],
  );
  assert.deepEqual(
    result.files.added.map((a) => a.path),
    ['s3/1.pgm'],
  );
  assert.deepEqual(result.files.removed, ['s1/2.pgm']);
  assert.equal(result.files.unchanged, 2);
});
