/**
 * PGM (portable graymap, Netpbm; https://netpbm.sourceforge.net/doc/pgm.html): binary `P5` and
 * ASCII `P2`. Header: magic, width, height, maxval, separated by whitespace, with `#` comments
 * to the end of a line anywhere in it. P5 rasters follow one whitespace byte after maxval,
 * one byte per sample when maxval < 256, else two bytes big-endian. Only the first image of a
 * file is read.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { AegisInputError } from '../core/errors.js';

export interface PgmImage {
  width: number;
  height: number;
  /** Largest sample value (1 … 65535): white. */
  maxval: number;
  /** Row-major samples, top row first, each in [0, maxval]. */
  data: Uint16Array;
}

const SPACE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);

/** Reads whitespace-separated decimal tokens, skipping `#` comments, from a byte offset. */
class TokenReader {
  constructor(
    private readonly bytes: Uint8Array,
    public offset: number,
    private readonly where: string,
  ) {}

  private skipSpaceAndComments(): void {
    const b = this.bytes;
    while (this.offset < b.length) {
      const c = b[this.offset] as number;
      if (SPACE.has(c)) this.offset++;
      else if (c === 0x23) {
        while (this.offset < b.length && b[this.offset] !== 0x0a && b[this.offset] !== 0x0d) this.offset++;
      } else break;
    }
  }

  /** The next unsigned integer; `what` names it in errors. */
  int(what: string): number {
    this.skipSpaceAndComments();
    const b = this.bytes;
    const start = this.offset;
    let value = 0;
    while (this.offset < b.length) {
      const c = b[this.offset] as number;
      if (c < 0x30 || c > 0x39) break;
      value = value * 10 + (c - 0x30);
      this.offset++;
    }
    if (this.offset === start) {
      if (this.offset >= b.length) throw new AegisInputError(`${this.where}: truncated PGM file: ${what} is missing`);
      throw new AegisInputError(
        `${this.where}: corrupt PGM file: expected ${what} at byte ${start}, found '${String.fromCharCode(b[start] as number)}'`,
      );
    }
    const next = b[this.offset];
    if (next !== undefined && !SPACE.has(next) && next !== 0x23) {
      throw new AegisInputError(
        `${this.where}: corrupt PGM file: ${what} is followed by byte ${next} at ${this.offset}`,
      );
    }
    return value;
  }
}

/** Parses a P5 or P2 file's bytes; `where` (the file name) prefixes every error. */
export function parsePgm(bytes: Uint8Array, where = 'PGM data'): PgmImage {
  if (bytes.length < 2 || bytes[0] !== 0x50 || (bytes[1] !== 0x35 && bytes[1] !== 0x32)) {
    const magic = String.fromCharCode(...bytes.subarray(0, 2));
    throw new AegisInputError(`${where}: not a PGM file (magic '${magic}', expected 'P5' or 'P2')`);
  }
  const binary = bytes[1] === 0x35;
  const reader = new TokenReader(bytes, 2, where);
  const width = reader.int('the width');
  const height = reader.int('the height');
  const maxval = reader.int('maxval');
  if (width <= 0 || height <= 0) throw new AegisInputError(`${where}: PGM size ${width}×${height} is empty`);
  if (maxval <= 0 || maxval > 65535) throw new AegisInputError(`${where}: PGM maxval ${maxval} is outside 1…65535`);
  const n = width * height;
  const data = new Uint16Array(n);
  if (binary) {
    const start = reader.offset + 1; // exactly one whitespace byte ends the header
    const per = maxval < 256 ? 1 : 2;
    const need = start + n * per;
    if (bytes.length < need) {
      throw new AegisInputError(
        `${where}: truncated PGM file: ${width}×${height} samples need ${n * per} bytes after the header, found ${Math.max(0, bytes.length - start)}`,
      );
    }
    for (let i = 0; i < n; i++) {
      data[i] =
        per === 1
          ? (bytes[start + i] as number)
          : ((bytes[start + 2 * i] as number) << 8) | (bytes[start + 2 * i + 1] as number);
    }
  } else {
    for (let i = 0; i < n; i++) {
      try {
        data[i] = reader.int(`sample ${i}`);
      } catch (error) {
        if (error instanceof AegisInputError && /is missing/.test(error.message)) {
          throw new AegisInputError(`${where}: truncated PGM file: ${width}×${height} needs ${n} samples, found ${i}`);
        }
        throw error;
      }
    }
  }
  for (let i = 0; i < n; i++) {
    if ((data[i] as number) > maxval) {
      throw new AegisInputError(
        `${where}: corrupt PGM file: sample ${data[i]} at row ${Math.floor(i / width)}, column ${i % width} exceeds maxval ${maxval}`,
      );
    }
  }
  return { width, height, maxval, data };
}

/** Reads and parses a PGM file; unreadable, truncated or corrupt files raise AegisInputError naming it. */
export function readPgm(path: string): PgmImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new AegisInputError(`${path}: cannot read PGM file: ${(error as Error).message}`);
  }
  return parsePgm(bytes, path);
}

/** Samples scaled to [0, 1] (sample / maxval). */
export function pgmToUnit(image: PgmImage): Float32Array {
  const out = new Float32Array(image.data.length);
  for (let i = 0; i < out.length; i++) out[i] = (image.data[i] as number) / image.maxval;
  return out;
}

/** Encodes a PGM file: binary P5 by default, ASCII P2 with `ascii`; `comment` goes in the header. */
export function encodePgm(image: PgmImage, opts: { ascii?: boolean; comment?: string } = {}): Uint8Array {
  const { width, height, maxval, data } = image;
  const comment = opts.comment === undefined ? '' : `# ${opts.comment}\n`;
  const header = `${opts.ascii ? 'P2' : 'P5'}\n${comment}${width} ${height}\n${maxval}\n`;
  if (opts.ascii) {
    const rows: string[] = [];
    for (let r = 0; r < height; r++) rows.push(Array.from(data.subarray(r * width, (r + 1) * width)).join(' '));
    return new TextEncoder().encode(`${header}${rows.join('\n')}\n`);
  }
  const head = new TextEncoder().encode(header);
  const per = maxval < 256 ? 1 : 2;
  const out = new Uint8Array(head.length + data.length * per);
  out.set(head);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (per === 1) out[head.length + i] = v;
    else {
      out[head.length + 2 * i] = v >> 8;
      out[head.length + 2 * i + 1] = v & 0xff;
    }
  }
  return out;
}

export function writePgm(path: string, image: PgmImage, opts: { ascii?: boolean; comment?: string } = {}): void {
  writeFileSync(path, encodePgm(image, opts));
}
