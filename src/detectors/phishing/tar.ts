/**
 * A minimal reader of tar archives (POSIX ustar, with GNU long names and pax `path` records), as
 * the shared corpora ship their messages: one regular file per message. Only regular files are
 * returned; directories, links and devices are passed over. A header whose checksum does not add
 * up is refused with its byte offset; an entry cut short by a truncated archive is returned as
 * `truncated` so the caller can count it and go on.
 */
import { AegisInputError } from '../../core/errors.js';

export interface TarEntry {
  name: string;
  data: Uint8Array;
  /** The archive ended before the entry's declared size. */
  truncated: boolean;
}

const BLOCK = 512;
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

function field(block: Uint8Array, start: number, length: number): string {
  const bytes = block.subarray(start, start + length);
  const end = bytes.indexOf(0);
  return latin1.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function octal(block: Uint8Array, start: number, length: number): number {
  // Sizes past 8 GiB use GNU base-256 (high bit set); messages never are.
  if (((block[start] as number) & 0x80) !== 0) return Number.NaN;
  const text = field(block, start, length).trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function checksumOk(block: Uint8Array): boolean {
  const stored = octal(block, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] as number);
  return sum === stored;
}

/** True when the bytes start with a tar header (a valid checksum; ustar magic or an old v7 header). */
export function looksLikeTar(bytes: Uint8Array): boolean {
  if (bytes.length < BLOCK) return false;
  const header = bytes.subarray(0, BLOCK);
  if (header.every((b) => b === 0)) return false;
  return checksumOk(header);
}

function paxPath(data: Uint8Array): string | undefined {
  // Records are "<len> key=value\n".
  for (const line of utf8.decode(data).split('\n')) {
    const m = /^\d+ path=(.*)$/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

/** The regular files of a tar archive, in archive order. */
export function readTarEntries(bytes: Uint8Array, where = 'tar archive'): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= bytes.length) {
    const header = bytes.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    if (!checksumOk(header)) {
      throw new AegisInputError(`${where}: the tar header at byte ${offset} is corrupt (bad checksum)`);
    }
    const size = octal(header, 124, 12);
    if (!Number.isFinite(size) || size < 0) {
      throw new AegisInputError(`${where}: the tar header at byte ${offset} has an unreadable size`);
    }
    const type = String.fromCharCode(header[156] as number);
    const prefix = field(header, 345, 155);
    const base = field(header, 0, 100);
    const start = offset + BLOCK;
    const end = start + size;
    const data = bytes.subarray(start, Math.min(end, bytes.length));
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      longName = latin1.decode(data).replace(/\0+$/, '');
      continue;
    }
    if (type === 'x') {
      longName = paxPath(data) ?? longName;
      continue;
    }
    if (type === 'g') continue;
    const name = longName ?? (prefix ? `${prefix}/${base}` : base);
    longName = undefined;
    if (type !== '0' && type !== '\0' && type !== '7') continue;
    entries.push({ name, data, truncated: end > bytes.length });
  }
  return entries;
}
