import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bufferSource,
  DEFAULT_SCAN_LIMITS,
  type Finding,
  isBlocking,
  type ScanContext,
} from '../../../src/defenses/model-scan/finding.js';
import { safetensorsScanner, scanSafetensors } from '../../../src/defenses/model-scan/safetensors.js';
import { contiguousHeader, headerOnlySource, safetensorsBytes } from '../../helpers/safetensors-samples.js';

const context: ScanContext = { path: 'model.safetensors', limits: DEFAULT_SCAN_LIMITS, depth: 0 };

function scan(bytes: Uint8Array): Finding[] {
  return scanSafetensors(bufferSource(bytes), context);
}

function rules(findings: Finding[]): string[] {
  return findings.map((f) => `${f.rule}:${f.severity}`).sort();
}

describe('safetensors scanner', () => {
  it('passes a well-formed file (tensors of several dtypes, metadata, padded header)', () => {
    const header = {
      __metadata__: { format: 'pt', source: 'aegis test' },
      'conv.weight': { dtype: 'F32', shape: [4, 1, 3, 3], data_offsets: [0, 144] },
      'conv.bias': { dtype: 'BF16', shape: [4], data_offsets: [144, 152] },
      step: { dtype: 'I64', shape: [], data_offsets: [152, 160] },
      mask: { dtype: 'BOOL', shape: [3], data_offsets: [160, 163] },
      empty: { dtype: 'F16', shape: [0, 7], data_offsets: [163, 163] },
      packed: { dtype: 'F4', shape: [2, 5], data_offsets: [163, 168] },
    };
    const bytes = safetensorsBytes(header, 168);
    assert.deepEqual(scan(bytes), []);
    assert.ok(safetensorsScanner.matches(bytes.subarray(0, 64), 'weights.bin'), 'recognised by content');
    assert.ok(safetensorsScanner.matches(new Uint8Array(0), 'model.safetensors'), 'recognised by name');
  });

  it('flags overlapping tensors as high', () => {
    const header = {
      a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] },
    };
    const findings = scan(safetensorsBytes(header, 24));
    assert.deepEqual(rules(findings), ['safetensors/overlap:high']);
    assert.equal(findings[0].location, 'tensor "b"');
    assert.match(findings[0].message, /bytes \[8, 16\) also belong to tensor "a"/);
  });

  it('flags offsets past the data section as high', () => {
    const header = { a: { dtype: 'F32', shape: [1024], data_offsets: [0, 4096] } };
    const findings = scan(safetensorsBytes(header, 64));
    assert.deepEqual(rules(findings), ['safetensors/offset-out-of-range:high']);
    assert.match(findings[0].message, /past the 64-byte data section/);
  });

  it('flags a header length over the limit or past the end of the file as high, without reading on', () => {
    const { header, dataSize } = contiguousHeader({ w: [2, 2] });
    const huge = scan(safetensorsBytes(header, dataSize, 1n << 62n));
    assert.deepEqual(rules(huge), ['safetensors/header-length:high']);
    assert.match(huge[0].message, /only \d+ bytes follow/);
    // a 1 GB file claiming a 200 MB header: refused before any header byte is read
    const source = headerOnlySource(safetensorsBytes(header, 0, 200_000_000n).subarray(0, 8), 1 << 30);
    const big = scanSafetensors(source, context);
    assert.deepEqual(rules(big), ['safetensors/header-length:high']);
    assert.match(big[0].message, /over the 100000000-byte limit/);
    assert.equal(source.bytesRead, 8);
  });

  it('reads only the header of a 1 GB file', () => {
    const { header } = contiguousHeader({ embed: [65536, 4096] }); // exactly 1 GiB of F32
    const head = safetensorsBytes(header, 0);
    const source = headerOnlySource(head, head.length + 65536 * 4096 * 4);
    assert.deepEqual(scanSafetensors(source, context), []);
    assert.equal(source.bytesRead, head.length);
  });

  it('flags gaps, trailing bytes and unknown dtypes as medium', () => {
    const header = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [16, 24] },
      c: { dtype: 'Q4_K', shape: [8], data_offsets: [24, 28] },
    };
    const findings = scan(safetensorsBytes(header, 40));
    assert.deepEqual(rules(findings), [
      'safetensors/gap:medium',
      'safetensors/trailing-data:medium',
      'safetensors/unknown-dtype:medium',
    ]);
    assert.ok(!findings.some((f) => isBlocking(f.severity)));
  });

  it('flags a size that disagrees with shape × dtype as high', () => {
    const header = { a: { dtype: 'F64', shape: [3, 3], data_offsets: [0, 8] } };
    const findings = scan(safetensorsBytes(header, 8));
    assert.deepEqual(rules(findings), ['safetensors/size-mismatch:high']);
    assert.match(findings[0].message, /needs 72 bytes but data_offsets span 8/);
  });

  it('flags malformed headers, bad entries, bad metadata and truncated files', () => {
    const text = new TextEncoder().encode('{"a": {"dtype": "F32", ');
    const broken = new Uint8Array(8 + text.length);
    new DataView(broken.buffer).setBigUint64(0, BigInt(text.length), true);
    broken.set(text, 8);
    assert.deepEqual(rules(scan(broken)), ['safetensors/malformed-header:high']);

    const entries = {
      a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] },
      b: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] },
      c: 'not an object',
      __metadata__: { epoch: 3 },
    };
    assert.deepEqual(rules(scan(safetensorsBytes(entries, 4))), [
      'safetensors/bad-metadata:medium',
      'safetensors/bad-tensor-entry:high',
      'safetensors/bad-tensor-entry:high',
      'safetensors/bad-tensor-entry:high',
    ]);
    assert.deepEqual(rules(scan(new Uint8Array([1, 2, 3]))), ['safetensors/truncated:high']);
  });

  it('refuses a deeply nested header without parsing it', () => {
    const deep = { __metadata__: JSON.parse(`${'['.repeat(200)}${']'.repeat(200)}`) };
    const findings = scan(safetensorsBytes(deep, 0));
    assert.deepEqual(rules(findings), ['safetensors/malformed-header:high']);
    assert.match(findings[0].message, /deeper than the limit of 64/);
  });

  it('sums up thousands of overlaps in a bounded number of findings', () => {
    const header: Record<string, unknown> = {};
    for (let i = 0; i < 5000; i++) header[`t${i}`] = { dtype: 'U8', shape: [4], data_offsets: [0, 4] };
    const findings = scan(safetensorsBytes(header, 4));
    assert.equal(findings.length, 21);
    assert.match(findings[20].message, /4979 more findings/);
  });
});
