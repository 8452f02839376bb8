/**
 * safetensors (https://github.com/huggingface/safetensors#format): an 8-byte little-endian header
 * length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {str: str}},
 * then the tensor bytes. The format holds no code; the risks are loaders trusting the header:
 * out-of-range or overlapping offsets (out-of-bounds reads, aliased tensors), sizes that disagree
 * with shape × dtype, a header length that makes a loader allocate gigabytes, bytes no tensor
 * claims (room for a hidden payload). Only the header is read, never the tensor data.
 */
import type { ByteSource, Finding, FormatScanner, ScanContext, Severity } from './finding.js';
import { decodeUtf8, isPlainObject, parseGuardedJson } from './json-guard.js';

/** The reference implementation's MAX_HEADER_SIZE. */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

/** Bits per element of every dtype the reference implementation knows. */
export const SAFETENSORS_DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
};

/** Findings of one rule beyond this many are summed up in one line. */
const MAX_PER_RULE = 20;

interface TensorEntry {
  name: string;
  begin: number;
  end: number;
}

class Findings {
  readonly list: Finding[] = [];
  private readonly counts = new Map<string, number>();

  add(severity: Severity, rule: string, message: string, location: string): void {
    const n = (this.counts.get(rule) ?? 0) + 1;
    this.counts.set(rule, n);
    if (n <= MAX_PER_RULE) this.list.push({ severity, rule, message, location });
  }

  finish(): Finding[] {
    for (const [rule, n] of this.counts) {
      if (n > MAX_PER_RULE) {
        const first = this.list.find((f) => f.rule === rule) as Finding;
        this.list.push({
          ...first,
          message: `${n - MAX_PER_RULE} more findings of this rule not listed`,
          location: 'header',
        });
      }
    }
    return this.list;
  }
}

function u64le(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Checks one tensor entry; returns its byte range when the entry is well-formed. */
function checkTensor(name: string, entry: unknown, dataSize: number, out: Findings): TensorEntry | undefined {
  const where = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(entry)) {
    out.add(
      'high',
      'safetensors/bad-tensor-entry',
      'the header entry is not an object {dtype, shape, data_offsets}',
      where,
    );
    return undefined;
  }
  const { dtype, shape, data_offsets: offsets } = entry;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !isCount(offsets[0]) || !isCount(offsets[1])) {
    out.add('high', 'safetensors/bad-tensor-entry', 'data_offsets is not a pair of non-negative integers', where);
    return undefined;
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) {
    out.add('high', 'safetensors/bad-tensor-entry', `data_offsets [${begin}, ${end}] ends before it begins`, where);
    return undefined;
  }
  if (end > dataSize) {
    out.add(
      'high',
      'safetensors/offset-out-of-range',
      `data_offsets [${begin}, ${end}] reach past the ${dataSize}-byte data section: a loader would read out of bounds`,
      where,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    out.add('high', 'safetensors/bad-tensor-entry', 'shape is not a list of non-negative integers', where);
  } else if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPE_BITS)) {
    out.add(
      'medium',
      'safetensors/unknown-dtype',
      `dtype ${JSON.stringify(dtype)} is not a safetensors dtype; its size cannot be checked`,
      where,
    );
  } else {
    const elements = shape.reduce((p: bigint, d: number) => p * BigInt(d), 1n);
    const bits = elements * BigInt(SAFETENSORS_DTYPE_BITS[dtype]);
    const expected = bits / 8n;
    if (bits % 8n !== 0n || expected !== BigInt(end - begin)) {
      out.add(
        'high',
        'safetensors/size-mismatch',
        `shape [${shape.join(', ')}] of ${dtype} needs ${bits % 8n === 0n ? `${expected} bytes` : `${bits} bits (not whole bytes)`} but data_offsets span ${end - begin}: a loader trusting the shape reads out of bounds`,
        where,
      );
    }
  }
  return { name, begin, end };
}

/** Overlaps, gaps and unclaimed trailing bytes of the data section. */
function checkCoverage(tensors: TensorEntry[], dataSize: number, out: Findings): void {
  const sorted = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let last: TensorEntry | undefined;
  for (const t of sorted) {
    if (t.begin < covered && last && t.end > t.begin) {
      out.add(
        'high',
        'safetensors/overlap',
        `bytes [${t.begin}, ${Math.min(t.end, covered)}) also belong to tensor ${JSON.stringify(last.name)}: writes to one tensor change the other`,
        `tensor ${JSON.stringify(t.name)}`,
      );
    } else if (t.begin > covered) {
      out.add(
        'medium',
        'safetensors/gap',
        `bytes [${covered}, ${t.begin}) of the data section belong to no tensor (the format requires contiguous tensors)`,
        `before tensor ${JSON.stringify(t.name)}`,
      );
    }
    if (t.end > covered) {
      covered = t.end;
      last = t;
    }
  }
  if (covered < dataSize) {
    out.add(
      'medium',
      'safetensors/trailing-data',
      `${dataSize - covered} bytes after the last tensor belong to no tensor (room for a hidden payload)`,
      `data section @ byte ${covered}`,
    );
  }
}

function checkMetadata(metadata: unknown, out: Findings): void {
  if (!isPlainObject(metadata) || !Object.values(metadata).every((v) => typeof v === 'string')) {
    out.add('medium', 'safetensors/bad-metadata', '__metadata__ is not a map of strings to strings', '__metadata__');
  }
}

export function scanSafetensors(source: ByteSource, context: ScanContext): Finding[] {
  const out = new Findings();
  if (source.size < 8) {
    out.add(
      'high',
      'safetensors/truncated',
      `the file has ${source.size} bytes, fewer than the 8-byte header length`,
      'byte 0',
    );
    return out.finish();
  }
  const declared = u64le(source.read(0, 8));
  const room = BigInt(source.size - 8);
  if (declared > BigInt(MAX_SAFETENSORS_HEADER) || declared > room || declared < 2n) {
    const why =
      declared > room
        ? `but only ${room} bytes follow`
        : declared < 2n
          ? 'too small for a JSON object'
          : `over the ${MAX_SAFETENSORS_HEADER}-byte limit loaders enforce`;
    out.add(
      'high',
      'safetensors/header-length',
      `the header length is ${declared} bytes, ${why}: a loader trusting it allocates or reads past the file`,
      'bytes 0..8',
    );
    return out.finish();
  }
  const headerSize = Number(declared);
  const header = source.read(8, headerSize);
  const dataSize = source.size - 8 - headerSize;
  if (header[0] !== 0x7b) {
    out.add('high', 'safetensors/malformed-header', 'the header does not start with "{"', 'byte 8');
    return out.finish();
  }
  const parsed = parseGuardedJson(decodeUtf8(header).replace(/ +$/, ''), context.limits.maxDepth);
  if (!parsed.ok || !isPlainObject(parsed.value)) {
    const why = parsed.ok ? 'not a JSON object' : parsed.message;
    out.add('high', 'safetensors/malformed-header', `the header is ${why}; no tensor could be checked`, 'header');
    return out.finish();
  }
  const tensors: TensorEntry[] = [];
  for (const [name, entry] of Object.entries(parsed.value)) {
    if (name === '__metadata__') checkMetadata(entry, out);
    else {
      const t = checkTensor(name, entry, dataSize, out);
      if (t) tensors.push(t);
    }
  }
  checkCoverage(tensors, dataSize, out);
  return out.finish();
}

function looksLikeSafetensors(head: Uint8Array): boolean {
  if (head.length < 10 || head[8] !== 0x7b) return false;
  const high = head[4] | head[5] | head[6] | head[7];
  return high === 0 && [0x22, 0x7d, 0x20, 0x0a].includes(head[9]);
}

export const safetensorsScanner: FormatScanner = {
  format: 'safetensors',
  matches: (head, name) => /\.safetensors$/i.test(name) || looksLikeSafetensors(head),
  scan: scanSafetensors,
};
