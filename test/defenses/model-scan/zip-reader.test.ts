import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import {
  bufferSource,
  DEFAULT_SCAN_LIMITS,
  type Finding,
  type ScanContext,
  type ScanLimits,
} from '../../../src/defenses/model-scan/finding.js';
import { type ByteBudget, unsafeEntryName, ZipArchive } from '../../../src/defenses/model-scan/zip-reader.js';
import { buildZip } from '../../helpers/zip-bytes.js';

const enc = new TextEncoder();

function open(bytes: Uint8Array, limits: Partial<ScanLimits> = {}, budget?: ByteBudget): ZipArchive {
  const context: ScanContext = { path: 'a.zip', depth: 0, limits: { ...DEFAULT_SCAN_LIMITS, ...limits } };
  return new ZipArchive(bufferSource(bytes), context, budget ?? { remaining: context.limits.maxTotalBytes });
}

function only(findings: Finding[], rule: string): Finding {
  const found = findings.filter((f) => f.rule === rule);
  assert.equal(found.length, 1, `expected one ${rule}, got ${JSON.stringify(findings)}`);
  return found[0];
}

function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

function inputError(pattern: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof AegisInputError && pattern.test(e.message);
}

describe('zip reader', () => {
  it('lists entries with names, sizes and offsets, and reads stored and deflated entries', () => {
    const bytes = buildZip([
      { name: 'a.txt', data: enc.encode('hello') },
      { name: 'dir/b.txt', data: enc.encode('world '.repeat(100)), method: 8 },
    ]);
    const zip = open(bytes);
    assert.deepEqual(
      zip.entries.map((e) => [e.name, e.method, e.size]),
      [
        ['a.txt', 0, 5],
        ['dir/b.txt', 8, 600],
      ],
    );
    assert.equal(zip.entries[0].localHeaderOffset, 0);
    assert.equal(text(bytes.subarray(zip.dataOffset(zip.entries[0]), zip.dataOffset(zip.entries[0]) + 5)), 'hello');
    const b = zip.entrySource(zip.entries[1]);
    assert.equal(text(b.read(0, b.size)), 'world '.repeat(100));
    const { reader, done } = zip.entryReader(zip.entries[1]);
    assert.equal(text(reader.read(600)), 'world '.repeat(100));
    assert.ok(reader.atEnd());
    done();
    assert.deepEqual(zip.findings, []);
  });

  it('reads ZIP64 end records and extra fields', () => {
    const zip = open(buildZip([{ name: 'x.bin', data: new Uint8Array(300) }], { zip64: true }));
    assert.deepEqual(
      zip.entries.map((e) => [e.name, e.size, e.compressedSize, e.localHeaderOffset]),
      [['x.bin', 300, 300, 0]],
    );
  });

  it('reads an archive behind a prepended stub', () => {
    const zip = open(buildZip([{ name: 'a.txt', data: enc.encode('hi') }], { prefix: new Uint8Array(100).fill(7) }));
    assert.equal(zip.entries[0].localHeaderOffset, 100);
    const s = zip.entrySource(zip.entries[0]);
    assert.equal(text(s.read(0, 2)), 'hi');
  });

  it('refuses an archive with more entries than the limit', () => {
    const zip = open(buildZip(['a', 'b', 'c', 'd'].map((n) => ({ name: n, data: enc.encode(n) }))), { maxEntries: 3 });
    assert.equal(zip.entries.length, 0);
    assert.match(
      only(zip.findings, 'zip/too-many-entries').message,
      /archive refused: 4 entries, more than the limit of 3/,
    );
  });

  it('refuses overlapping entries (many directory records sharing one local file)', () => {
    const kernel = new Uint8Array(1000);
    const bytes = buildZip([
      { name: 'kernel', data: kernel, method: 8 },
      ...Array.from({ length: 5 }, (_, i) => ({
        name: `copy${i}`,
        data: kernel,
        method: 8 as const,
        sharesHeaderOf: 0,
      })),
    ]);
    const zip = open(bytes);
    assert.equal(zip.entries.length, 0);
    const f = only(zip.findings, 'zip/overlapping-entries');
    assert.equal(f.severity, 'high');
    assert.match(f.message, /overlaps entry 'copy0' at byte 0/);
  });

  it('never inflates an entry whose declared ratio is above the limit (zip bomb)', () => {
    const zeros = new Uint8Array(8 * 1024 * 1024);
    const zip = open(buildZip([{ name: 'data.pkl', data: zeros, method: 8 }]));
    const entry = zip.entries[0];
    assert.equal(entry.size, zeros.length);
    assert.ok(entry.compressedSize < 16 * 1024);
    assert.equal(zip.readable(entry), false);
    const f = only(zip.findings, 'zip/compression-ratio');
    assert.equal(f.severity, 'high');
    assert.match(f.message, /ratio \d{3,}:1, limit 200:1\); not inflated/);
    assert.equal(f.location, 'data.pkl');
  });

  it('stops inflating at the declared size when an entry lies about it, and says so', () => {
    const zeros = new Uint8Array(4 * 1024 * 1024);
    const zip = open(buildZip([{ name: 'data.pkl', data: zeros, method: 8, declaredSize: 40_000 }]));
    const entry = zip.entries[0];
    assert.equal(zip.readable(entry), true); // the declared ratio looks harmless
    const source = zip.entrySource(entry);
    assert.equal(source.size, 40_000);
    const f = only(zip.findings, 'zip/size-mismatch');
    assert.equal(f.severity, 'high');
    assert.match(f.message, /inflates past its declared 40000 bytes/);
  });

  it('caps the bytes inflated across an archive', () => {
    const data = enc.encode('x'.repeat(2000));
    const budget = { remaining: 3000 };
    const zip = open(
      buildZip([
        { name: 'a.pkl', data, method: 8 },
        { name: 'b.pkl', data, method: 8 },
      ]),
      {},
      budget,
    );
    assert.ok(zip.readable(zip.entries[0]));
    zip.entrySource(zip.entries[0]);
    assert.equal(budget.remaining, 1000);
    assert.equal(zip.readable(zip.entries[1]), false);
    assert.equal(only(zip.findings, 'zip/total-size').severity, 'high');
  });

  it('does not read an entry declared above maxEntryBytes', () => {
    const zip = open(buildZip([{ name: 'data.pkl', data: new Uint8Array(5000) }]), { maxEntryBytes: 4096 });
    assert.equal(zip.readable(zip.entries[0]), false);
    assert.match(only(zip.findings, 'zip/entry-too-large').message, /declares 5000 bytes, above the 4096-byte limit/);
  });

  it('rejects a truncated archive with a clear message', () => {
    const bytes = buildZip([{ name: 'a.txt', data: new Uint8Array(5000) }]);
    assert.throws(
      () => open(bytes.subarray(0, 3000)),
      inputError(/a\.zip: truncated or not a zip archive: no end-of-central-directory record .*file is 3000 bytes/),
    );
    // End record intact but the directory it points at is cut away.
    const eocd = bytes.subarray(bytes.length - 22);
    const cut = new Uint8Array([...bytes.subarray(0, 100), ...eocd]);
    assert.throws(() => open(cut), inputError(/truncated zip archive: the central directory/));
  });

  it('flags entry names that escape the folder', () => {
    const zip = open(
      buildZip([
        { name: '../evil.pkl', data: enc.encode('x') },
        { name: '/etc/cron.d/x', data: enc.encode('y') },
        { name: 'ok/fine.txt', data: enc.encode('z') },
      ]),
    );
    const found = zip.findings.filter((f) => f.rule === 'zip/path-traversal');
    assert.deepEqual(
      found.map((f) => [f.severity, f.location, f.message]),
      [
        ['high', '../evil.pkl', "entry name '../evil.pkl' contains a '..' segment"],
        ['high', '/etc/cron.d/x', "entry name '/etc/cron.d/x' is an absolute path"],
      ],
    );
    assert.equal(unsafeEntryName('C:\\Windows\\x'), 'starts with a drive letter');
    assert.equal(unsafeEntryName('a\\..\\b'), "contains a '..' segment");
  });

  it('flags local/central name disagreement, CRC and size mismatches', () => {
    const zip = open(
      buildZip([
        { name: 'data.pkl', localName: 'other.pkl', data: enc.encode('abc') },
        { name: 'crc.pkl', data: enc.encode('x'.repeat(100)), method: 8, crc: 1234 },
        { name: 'short.pkl', data: enc.encode('y'.repeat(100)), method: 8, declaredSize: 150 },
      ]),
    );
    zip.dataOffset(zip.entries[0]);
    zip.entrySource(zip.entries[1]);
    zip.entrySource(zip.entries[2]);
    assert.equal(only(zip.findings, 'zip/name-mismatch').severity, 'medium');
    assert.equal(only(zip.findings, 'zip/crc-mismatch').location, 'crc.pkl');
    assert.match(only(zip.findings, 'zip/size-mismatch').message, /inflates to 100 bytes, not the declared 150/);
  });

  it('does not scan encrypted entries or unknown compression methods, and says so', () => {
    const zip = open(buildZip([{ name: 'data.pkl', data: enc.encode('x'), flags: 1 }]));
    assert.equal(zip.readable(zip.entries[0]), false);
    assert.match(only(zip.findings, 'zip/unscanned-entry').message, /encrypted/);
  });
});
