/**
 * A ZIP reader for hostile archives (APPNOTE.TXT 6.3.10): the end-of-central-directory
 * record (and ZIP64's), the central directory, then entries on demand. It refuses archives
 * with more entries than the limit or with overlapping entries (David Fifield's
 * non-recursive zip bomb, 2019), never inflates an entry that declares a ratio or size above
 * the limits, and inflates the rest with a hard cap on the bytes produced.
 */
import { AegisInputError } from '../../core/errors.js';
import { ForwardReader, sliceSource } from './file-source.js';
import type { ByteSource, Finding, ScanContext, ScanLimits } from './finding.js';
import { type InflateStatus, inflateAll, inflatingPull } from './inflate.js';
import { archiveLocation, entryLocation } from './location.js';
import { ruleSeverity } from './rules.js';

export interface ZipEntry {
  name: string;
  /** Length of the name as stored (bytes). */
  nameLength: number;
  /** 0 stored, 8 deflated (others are not read). */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  /** Declared uncompressed size. */
  size: number;
  /** Where the local file header starts in the source. */
  localHeaderOffset: number;
  /** Set when the declared ratio is above the limit: never inflated. */
  ratioRefused?: boolean;
}

/** Bytes inflated so far across one top-level file (archives in archives share it). */
export interface ByteBudget {
  remaining: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
/** Largest central directory read (about 600k entries with 60-byte names). */
const MAX_CENTRAL_DIRECTORY = 64 * 1024 * 1024;
/** Ratios are only judged on entries at least this large (tiny entries cannot hurt). */
const RATIO_FLOOR = 1024 * 1024;

const utf8 = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');

function u16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000;
}

function u64(b: Uint8Array, at: number): number {
  return u32(b, at) + u32(b, at + 4) * 0x100000000;
}

/** True for 'PK\x03\x04' (an archive) or 'PK\x05\x06' (an empty archive). */
export function looksLikeZip(head: Uint8Array): boolean {
  return (
    head.length >= 4 &&
    head[0] === 0x50 &&
    head[1] === 0x4b &&
    ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6))
  );
}

/** A reason when the entry name escapes the extraction folder. */
export function unsafeEntryName(name: string): string | undefined {
  if (name.includes('\0')) return 'contains a NUL byte';
  if (/^[/\\]/.test(name)) return 'is an absolute path';
  if (/^[A-Za-z]:/.test(name)) return 'starts with a drive letter';
  if (name.split(/[/\\]/).includes('..')) return "contains a '..' segment";
  return undefined;
}

interface Directory {
  entries: number;
  cdOffset: number;
  cdSize: number;
  /** Bytes prepended before the archive (self-extracting stubs): added to every offset. */
  bias: number;
}

export class ZipArchive {
  readonly entries: ZipEntry[] = [];
  readonly findings: Finding[] = [];
  /** Why the whole archive is refused (then `entries` is empty). */
  refused?: string;
  private readonly limits: ScanLimits;
  private bias = 0;

  constructor(
    readonly source: ByteSource,
    private readonly context: ScanContext,
    private readonly budget: ByteBudget,
  ) {
    this.limits = context.limits;
    const dir = this.findDirectory();
    this.bias = dir.bias;
    if (dir.entries > this.limits.maxEntries) {
      this.refuse('zip/too-many-entries', `${dir.entries} entries, more than the limit of ${this.limits.maxEntries}`);
      return;
    }
    if (dir.cdSize > MAX_CENTRAL_DIRECTORY) {
      this.refuse(
        'zip/too-many-entries',
        `a central directory of ${dir.cdSize} bytes (limit ${MAX_CENTRAL_DIRECTORY})`,
      );
      return;
    }
    this.readDirectory(dir);
    this.checkNames();
    if (this.checkOverlaps(dir)) {
      this.entries.length = 0;
      return;
    }
    this.checkRatios();
  }

  private where(): string {
    return this.context.path;
  }

  private at(entry: ZipEntry): string {
    return entryLocation(this.context, entry.name);
  }

  private add(
    rule: string,
    message: string,
    location = archiveLocation(this.context),
    severity = ruleSeverity(rule),
  ): void {
    this.findings.push({ severity, rule, message, location });
  }

  private refuse(rule: string, why: string): void {
    this.refused = why;
    this.add(rule, `archive refused: ${why}`);
  }

  private fail(message: string): never {
    throw new AegisInputError(`${this.where()}: ${message}`);
  }

  private findDirectory(): Directory {
    const size = this.source.size;
    const tailLength = Math.min(size, 22 + 0xffff);
    const tailStart = size - tailLength;
    const tail = this.source.read(tailStart, tailLength);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail[i] !== 0x50 || tail[i + 1] !== 0x4b || u32(tail, i) !== SIG_EOCD) continue;
      // Prefer a record whose comment runs exactly to the end; otherwise the last one that fits.
      if (i + 22 + u16(tail, i + 20) === tail.length) {
        eocd = i;
        break;
      }
      if (eocd < 0) eocd = i;
    }
    if (eocd < 0) {
      this.fail(
        `truncated or not a zip archive: no end-of-central-directory record in the last ${tailLength} bytes (file is ${size} bytes)`,
      );
    }
    const disk = u16(tail, eocd + 4);
    const cdDisk = u16(tail, eocd + 6);
    let entries = u16(tail, eocd + 10);
    let cdSize = u32(tail, eocd + 12);
    let cdOffset = u32(tail, eocd + 16);
    const eocdOffset = tailStart + eocd;
    let recordStart = eocdOffset;
    if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocdOffset >= 20 ? this.source.read(eocdOffset - 20, 20) : new Uint8Array(0);
      if (loc.length === 20 && u32(loc, 0) === SIG_ZIP64_LOCATOR) {
        // Like Python's zipfile: the record sits right before its locator (the stored offset
        // is relative to the archive start, which a prepended stub shifts); fall back to it.
        let at = eocdOffset - 20 - 56;
        let rec = at >= 0 ? this.source.read(at, 56) : new Uint8Array(0);
        if (rec.length < 56 || u32(rec, 0) !== SIG_ZIP64_EOCD) {
          at = u64(loc, 8);
          rec = this.source.read(at, 56);
        }
        if (rec.length < 56 || u32(rec, 0) !== SIG_ZIP64_EOCD) {
          this.fail(`corrupt ZIP64 end-of-central-directory record (locator at byte ${eocdOffset - 20})`);
        }
        entries = u64(rec, 32);
        cdSize = u64(rec, 40);
        cdOffset = u64(rec, 48);
        recordStart = at;
      }
    } else if (disk !== 0 || cdDisk !== 0) {
      this.fail('multi-disk (split) zip archives are not supported');
    }
    // The central directory ends where the end record starts; a difference is a prepended stub.
    const bias = recordStart - cdSize - cdOffset;
    if (bias < 0 || cdOffset + bias + cdSize > size) {
      this.fail(
        `truncated zip archive: the central directory (${cdSize} bytes at byte ${cdOffset}) does not fit in the ${size}-byte file`,
      );
    }
    return { entries, cdOffset, cdSize, bias };
  }

  private readDirectory(dir: Directory): void {
    const cd = sliceSource(this.source, dir.cdOffset + dir.bias, dir.cdSize);
    const reader = new ForwardReader({
      next: (() => {
        let at = 0;
        return () => {
          if (at >= cd.size) return null;
          const chunk = cd.read(at, Math.min(1 << 20, cd.size - at));
          at += chunk.length;
          return chunk.length > 0 ? chunk : null;
        };
      })(),
    });
    for (let k = 0; k < dir.entries; k++) {
      const at = dir.cdOffset + dir.bias + reader.position;
      const h = reader.read(46);
      if (h.length < 46 || u32(h, 0) !== SIG_CENTRAL) {
        this.fail(`corrupt central directory: entry ${k + 1} of ${dir.entries} at byte ${at} is not a file header`);
      }
      const flags = u16(h, 8);
      const nameLength = u16(h, 28);
      const extraLength = u16(h, 30);
      const commentLength = u16(h, 32);
      const rawName = reader.read(nameLength);
      const extra = reader.read(extraLength);
      reader.skip(commentLength);
      if (rawName.length < nameLength || extra.length < extraLength) {
        this.fail(`corrupt central directory: entry ${k + 1} at byte ${at} runs past the directory`);
      }
      const entry: ZipEntry = {
        name: (flags & 0x800 ? utf8 : latin1).decode(rawName),
        nameLength,
        method: u16(h, 10),
        flags,
        crc32: u32(h, 16),
        compressedSize: u32(h, 20),
        size: u32(h, 24),
        localHeaderOffset: u32(h, 42),
      };
      applyZip64Extra(entry, extra);
      entry.localHeaderOffset += dir.bias;
      this.entries.push(entry);
    }
  }

  private checkNames(): void {
    const bad = this.entries
      .map((e) => ({ e, why: unsafeEntryName(e.name) }))
      .filter((x): x is { e: ZipEntry; why: string } => x.why !== undefined);
    for (const { e, why } of bad.slice(0, 20)) {
      this.add('zip/path-traversal', `entry name '${e.name}' ${why}`, this.at(e));
    }
    if (bad.length > 20) this.add('zip/path-traversal', `${bad.length - 20} more entries with unsafe names`);
  }

  /** Entries whose bytes overlap: refuse (true) with a finding. */
  private checkOverlaps(dir: Directory): boolean {
    const sorted = [...this.entries].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
    const cdStart = dir.cdOffset + dir.bias;
    for (let k = 0; k < sorted.length; k++) {
      const e = sorted[k];
      // The data cannot end before header + name + compressed size (the local extra field only adds).
      const minEnd = e.localHeaderOffset + 30 + e.nameLength + e.compressedSize;
      const next = k + 1 < sorted.length ? sorted[k + 1].localHeaderOffset : cdStart;
      if (minEnd > next) {
        const other = k + 1 < sorted.length ? `entry '${sorted[k + 1].name}'` : 'the central directory';
        this.refuse(
          'zip/overlapping-entries',
          `entry '${e.name}' (header at byte ${e.localHeaderOffset}, ${e.compressedSize} compressed bytes) overlaps ${other} at byte ${next}`,
        );
        return true;
      }
    }
    return false;
  }

  private checkRatios(): void {
    let reported = 0;
    for (const e of this.entries) {
      if (e.size < RATIO_FLOOR) continue;
      const ratio = e.compressedSize === 0 ? Number.POSITIVE_INFINITY : e.size / e.compressedSize;
      if (ratio <= this.limits.maxRatio) continue;
      e.ratioRefused = true;
      if (reported++ < 20) {
        this.add(
          'zip/compression-ratio',
          `entry declares ${e.size} bytes from ${e.compressedSize} compressed (ratio ${Number.isFinite(ratio) ? ratio.toFixed(0) : '∞'}:1, limit ${this.limits.maxRatio}:1); not inflated`,
          this.at(e),
        );
      }
    }
  }

  /** Where the entry's data starts; checks the local header (and that it names the same file). */
  dataOffset(entry: ZipEntry): number {
    const h = this.source.read(entry.localHeaderOffset, 30);
    if (h.length < 30 || u32(h, 0) !== SIG_LOCAL) {
      this.fail(`entry '${entry.name}': no local file header at byte ${entry.localHeaderOffset}`);
    }
    const nameLength = u16(h, 26);
    const extraLength = u16(h, 28);
    const localName = (u16(h, 6) & 0x800 ? utf8 : latin1).decode(
      this.source.read(entry.localHeaderOffset + 30, nameLength),
    );
    if (localName !== entry.name) {
      this.add(
        'zip/name-mismatch',
        `the central directory says '${entry.name}' but the local header says '${localName}'`,
        this.at(entry),
      );
    }
    const start = entry.localHeaderOffset + 30 + nameLength + extraLength;
    if (start + entry.compressedSize > this.source.size) {
      this.fail(
        `truncated zip archive: entry '${entry.name}' needs bytes up to ${start + entry.compressedSize} but the file has ${this.source.size}`,
      );
    }
    return start;
  }

  /** True when the entry may be read; otherwise adds the finding that says why not. */
  readable(entry: ZipEntry): boolean {
    const location = this.at(entry);
    if (entry.ratioRefused) return false;
    if (entry.flags & 1) {
      this.add('zip/unscanned-entry', 'the entry is encrypted and cannot be scanned', location);
      return false;
    }
    if (entry.method !== 0 && entry.method !== 8) {
      this.add('zip/unscanned-entry', `compression method ${entry.method} is not supported; not scanned`, location);
      return false;
    }
    if (entry.size > this.limits.maxEntryBytes) {
      this.add(
        'zip/entry-too-large',
        `the entry declares ${entry.size} bytes, above the ${this.limits.maxEntryBytes}-byte limit (--max-entry-bytes); not read`,
        location,
      );
      return false;
    }
    if (entry.method === 8 && entry.size > this.budget.remaining) {
      this.add(
        'zip/total-size',
        `inflating ${entry.size} more bytes would pass the ${this.limits.maxTotalBytes}-byte total limit; not read`,
        location,
      );
      return false;
    }
    return true;
  }

  /** Call after reading an entry fully or partly: flags sizes and CRCs that disagree with the directory. */
  private afterInflate(entry: ZipEntry, status: InflateStatus, complete: boolean): void {
    const location = this.at(entry);
    this.budget.remaining -= status.produced;
    if (status.overflowed) {
      this.add(
        'zip/size-mismatch',
        `the entry inflates past its declared ${entry.size} bytes (stopped at the cap)`,
        location,
        'high',
      );
    } else if (complete && status.produced !== entry.size) {
      this.add(
        'zip/size-mismatch',
        `the entry inflates to ${status.produced} bytes, not the declared ${entry.size}`,
        location,
        'medium',
      );
    } else if (complete && status.crc !== entry.crc32) {
      this.add('zip/crc-mismatch', 'the CRC-32 of the inflated data does not match the directory', location);
    }
  }

  /** The cap for an entry: its declared size and the per-entry limit, whichever is smaller. */
  private cap(entry: ZipEntry): number {
    return Math.min(entry.size, this.limits.maxEntryBytes, this.budget.remaining);
  }

  /**
   * An entry as a ByteSource: stored entries are a window over the archive (nothing read);
   * deflated ones are inflated into memory, capped. Call readable() first.
   */
  entrySource(entry: ZipEntry): ByteSource {
    const start = this.dataOffset(entry);
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size) {
        this.add(
          'zip/size-mismatch',
          `a stored entry with ${entry.compressedSize} stored bytes but a declared size of ${entry.size}`,
          this.at(entry),
          'medium',
        );
      }
      return sliceSource(this.source, start, Math.min(entry.compressedSize, entry.size));
    }
    const what = `${this.where()}!/${entry.name}`;
    const { bytes, status } = inflateAll(
      this.source,
      start,
      entry.compressedSize,
      'deflate-raw',
      this.cap(entry),
      what,
    );
    this.afterInflate(entry, status, true);
    return { size: bytes.length, read: (o, n) => bytes.subarray(o, Math.min(bytes.length, o + n)) };
  }

  /** An entry as a forward stream (pickles): stored entries are read in place, deflated ones inflated as they go. */
  entryReader(entry: ZipEntry): { reader: ForwardReader; done: () => void; fileOffset?: number } {
    const start = this.dataOffset(entry);
    if (entry.method === 0) {
      const source = this.entrySource(entry);
      let at = 0;
      const reader = new ForwardReader({
        next: () => {
          if (at >= source.size) return null;
          const chunk = source.read(at, Math.min(1 << 20, source.size - at));
          at += chunk.length;
          return chunk;
        },
        skip: (n) => {
          const k = Math.max(0, Math.min(n, source.size - at));
          at += k;
          return k;
        },
      });
      return { reader, done: () => {}, fileOffset: start };
    }
    const what = `${this.where()}!/${entry.name}`;
    const { pull, status } = inflatingPull(
      this.source,
      start,
      entry.compressedSize,
      'deflate-raw',
      this.cap(entry),
      what,
    );
    const reader = new ForwardReader(pull);
    return { reader, done: () => this.afterInflate(entry, status, reader.atEnd() && status.finished) };
  }

  /** The first `n` bytes of an entry (format sniffing), inflating only that much. */
  entryHead(entry: ZipEntry, n = 64): Uint8Array {
    const start = this.dataOffset(entry);
    if (entry.method === 0) return this.source.read(start, Math.min(n, entry.compressedSize));
    const what = `${this.where()}!/${entry.name}`;
    const { pull } = inflatingPull(
      this.source,
      start,
      entry.compressedSize,
      'deflate-raw',
      Math.min(n, entry.size),
      what,
    );
    const reader = new ForwardReader(pull);
    return reader.read(n);
  }
}

/** ZIP64 extended information (0x0001): 8-byte values for the fields that hold 0xFFFFFFFF. */
function applyZip64Extra(entry: ZipEntry, extra: Uint8Array): void {
  if (entry.size !== 0xffffffff && entry.compressedSize !== 0xffffffff && entry.localHeaderOffset !== 0xffffffff)
    return;
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = u16(extra, at);
    const length = u16(extra, at + 2);
    if (id === 0x0001) {
      let p = at + 4;
      const take = () => {
        const v = p + 8 <= at + 4 + length ? u64(extra, p) : undefined;
        p += 8;
        return v;
      };
      if (entry.size === 0xffffffff) entry.size = take() ?? entry.size;
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = take() ?? entry.compressedSize;
      if (entry.localHeaderOffset === 0xffffffff) entry.localHeaderOffset = take() ?? entry.localHeaderOffset;
      return;
    }
    at += 4 + length;
  }
}
