/**
 * Builds zip archives and .npy files byte by byte for the model-scan tests: local headers,
 * central directory and end record written field by field (APPNOTE.TXT), with switches for the
 * hostile shapes — sizes that lie, names that differ between headers, entries sharing bytes,
 * ZIP64 records, prepended stubs.
 */
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipEntrySpec {
  name: string;
  data: Uint8Array;
  /** 0 stored (default), 8 deflated. */
  method?: 0 | 8;
  /** Lie about the uncompressed size in both headers. */
  declaredSize?: number;
  /** Put this name in the local header instead. */
  localName?: string;
  /** Use this CRC-32 instead of the real one. */
  crc?: number;
  /** General-purpose flags (bit 0: encrypted). */
  flags?: number;
  /** Point the central directory at another entry's local header (index into the entries). */
  sharesHeaderOf?: number;
}

export interface ZipOptions {
  /** Write ZIP64 end records and extra fields (the 32-bit fields say 0xFFFFFFFF). */
  zip64?: boolean;
  /** Bytes before the archive (a self-extractor stub). */
  prefix?: Uint8Array;
}

function u16(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff];
}

function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

function u64(v: number): number[] {
  return [...u32(v % 2 ** 32), ...u32(Math.floor(v / 2 ** 32))];
}

const enc = new TextEncoder();

export function buildZip(entries: ZipEntrySpec[], options: ZipOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const push = (b: Uint8Array | number[]) => {
    const bytes = b instanceof Uint8Array ? b : Uint8Array.from(b);
    parts.push(bytes);
    offset += bytes.length;
  };
  if (options.prefix) push(options.prefix);
  const base = offset;
  const written: { spec: ZipEntrySpec; name: Uint8Array; crc: number; csize: number; size: number; at: number }[] = [];
  for (const spec of entries) {
    const method = spec.method ?? 0;
    const body = method === 8 ? new Uint8Array(deflateRawSync(spec.data)) : spec.data;
    const crc = spec.crc ?? crc32(spec.data);
    const size = spec.declaredSize ?? spec.data.length;
    const name = enc.encode(spec.name);
    const localName = enc.encode(spec.localName ?? spec.name);
    const at = offset;
    if (spec.sharesHeaderOf === undefined) {
      push([
        ...u32(0x04034b50),
        ...u16(20),
        ...u16((spec.flags ?? 0) | 0x800),
        ...u16(method),
        ...u16(0),
        ...u16(0x21),
        ...u32(crc),
        ...u32(body.length),
        ...u32(size),
        ...u16(localName.length),
        ...u16(0),
        ...localName,
      ]);
      push(body);
    }
    written.push({ spec, name, crc, csize: body.length, size, at });
  }
  const cdStart = offset;
  for (const w of written) {
    const shared = w.spec.sharesHeaderOf !== undefined ? written[w.spec.sharesHeaderOf] : undefined;
    const at = (shared ?? w).at - base;
    const csize = shared ? shared.csize : w.csize;
    const extra = options.zip64 ? [...u16(1), ...u16(24), ...u64(w.size), ...u64(csize), ...u64(at)] : [];
    push([
      ...u32(0x02014b50),
      ...u16(45),
      ...u16(45),
      ...u16((w.spec.flags ?? 0) | 0x800),
      ...u16(w.spec.method ?? 0),
      ...u16(0),
      ...u16(0x21),
      ...u32(w.crc),
      ...u32(options.zip64 ? 0xffffffff : csize),
      ...u32(options.zip64 ? 0xffffffff : w.size),
      ...u16(w.name.length),
      ...u16(extra.length),
      ...u16(0),
      ...u16(0),
      ...u16(0),
      ...u32(0),
      ...u32(options.zip64 ? 0xffffffff : at),
      ...w.name,
      ...extra,
    ]);
  }
  const cdSize = offset - cdStart;
  // Offsets in the records are relative to the archive start when a stub is prepended (as the stub-unaware writer would).
  const cdOffset = cdStart - base;
  if (options.zip64) {
    const zip64At = offset;
    push([
      ...u32(0x06064b50),
      ...u64(44),
      ...u16(45),
      ...u16(45),
      ...u32(0),
      ...u32(0),
      ...u64(written.length),
      ...u64(written.length),
      ...u64(cdSize),
      ...u64(cdOffset),
    ]);
    push([...u32(0x07064b50), ...u32(0), ...u64(zip64At - base), ...u32(1)]);
  }
  push([
    ...u32(0x06054b50),
    ...u16(0),
    ...u16(0),
    ...u16(options.zip64 ? 0xffff : written.length),
    ...u16(options.zip64 ? 0xffff : written.length),
    ...u32(options.zip64 ? 0xffffffff : cdSize),
    ...u32(options.zip64 ? 0xffffffff : cdOffset),
    ...u16(0),
  ]);
  const out = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An .npy file (format 1.0): the header dict padded to 64 bytes, then `data`. */
export function npyBytes(descr: string, shape: number[], data: Uint8Array): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += `${' '.repeat((64 - (total % 64)) % 64)}\n`;
  const h = enc.encode(header);
  const out = new Uint8Array(10 + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]);
  out.set(h, 10);
  out.set(data, 10 + h.length);
  return out;
}
