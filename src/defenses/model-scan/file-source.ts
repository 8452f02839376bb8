/**
 * Bytes for the scanners without loading big files whole: a ByteSource over a file with
 * positional reads, a window over part of another source (a stored zip entry), and a
 * buffered forward reader for streaming parsers (pickles), fed by positional reads or by a
 * decompressor. Skipping forward over a source costs nothing: the bytes are never read.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { AegisInputError } from '../../core/errors.js';
import type { ByteSource } from './finding.js';

/** A ByteSource over an open file; call close() when done. */
export interface FileSource extends ByteSource {
  readonly path: string;
  close(): void;
}

export function openFileSource(path: string): FileSource {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new AegisInputError(`${path}: cannot open (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      cause: error,
    });
  }
  const size = fstatSync(fd).size;
  let open = true;
  return {
    path,
    size,
    read(offset, length) {
      const start = Math.max(0, offset);
      const n = Math.max(0, Math.min(length, size - start));
      const out = Buffer.allocUnsafe(n);
      let done = 0;
      while (done < n) {
        let got: number;
        try {
          got = readSync(fd, out, done, n - done, start + done);
        } catch (error) {
          throw new AegisInputError(`${path}: read failed at byte ${start + done} (${String(error)})`, {
            cause: error,
          });
        }
        if (got === 0) throw new AegisInputError(`${path}: file shrank while scanning (ends at byte ${start + done})`);
        done += got;
      }
      return out;
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Bytes [start, start + length) of another source, addressed from 0. */
export function sliceSource(source: ByteSource, start: number, length: number): ByteSource {
  const size = Math.max(0, Math.min(length, source.size - start));
  return {
    size,
    read: (offset, n) => (offset >= size ? new Uint8Array(0) : source.read(start + offset, Math.min(n, size - offset))),
  };
}

/**
 * Where a ForwardReader gets its bytes: successive chunks, and optionally a cheap skip that
 * moves past bytes without producing them (positional sources can; decompressors cannot).
 */
export interface ChunkPull {
  /** The next chunk, or null at the end. Chunks may be any size > 0. */
  next(): Uint8Array | null;
  /** Skips up to n bytes past the chunks produced so far; returns how many were skipped. */
  skip?(n: number): number;
}

const EMPTY = new Uint8Array(0);

/** A line read by readLine: the first `keep` bytes and the full length (without the newline). */
export interface Line {
  bytes: Uint8Array;
  length: number;
}

/** Sequential reads over a ChunkPull, tracking the position (bytes consumed from the start). */
export class ForwardReader {
  private buf: Uint8Array = EMPTY;
  private i = 0;
  private consumedBeforeBuf = 0;
  private ended = false;

  constructor(private readonly pull: ChunkPull) {}

  /** Bytes consumed so far: the offset of the next byte. */
  get position(): number {
    return this.consumedBeforeBuf + this.i;
  }

  private fill(): boolean {
    while (this.i >= this.buf.length) {
      if (this.ended) return false;
      const chunk = this.pull.next();
      this.consumedBeforeBuf += this.buf.length;
      this.buf = EMPTY;
      this.i = 0;
      if (chunk === null) {
        this.ended = true;
        return false;
      }
      this.buf = chunk;
    }
    return true;
  }

  /** The next byte, or -1 at the end. */
  readByte(): number {
    if (this.i < this.buf.length) return this.buf[this.i++];
    return this.fill() ? this.buf[this.i++] : -1;
  }

  /** Looks at the next byte without consuming it (-1 at the end). */
  peekByte(): number {
    if (this.i < this.buf.length) return this.buf[this.i];
    return this.fill() ? this.buf[this.i] : -1;
  }

  /** Exactly n bytes, or fewer only when the input ends. */
  read(n: number): Uint8Array {
    if (this.i + n <= this.buf.length) {
      const out = this.buf.subarray(this.i, this.i + n);
      this.i += n;
      return out;
    }
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n && this.fill()) {
      const take = Math.min(n - done, this.buf.length - this.i);
      out.set(this.buf.subarray(this.i, this.i + take), done);
      this.i += take;
      done += take;
    }
    return done === n ? out : out.subarray(0, done);
  }

  /** Skips n bytes (without reading them when the pull can skip); returns how many were skipped. */
  skip(n: number): number {
    let done = Math.min(n, this.buf.length - this.i);
    this.i += done;
    if (done < n && this.pull.skip && !this.ended) {
      this.consumedBeforeBuf += this.buf.length;
      this.buf = EMPTY;
      this.i = 0;
      const skipped = this.pull.skip(n - done);
      this.consumedBeforeBuf += skipped;
      done += skipped;
    }
    while (done < n && this.fill()) {
      const take = Math.min(n - done, this.buf.length - this.i);
      this.i += take;
      done += take;
    }
    return done;
  }

  /**
   * Bytes up to the next '\n' (consumed, not returned). Keeps at most `keep` bytes but reads
   * past any more, so a huge protocol-0 string streams. Null when the input ends first.
   */
  readLine(keep: number): Line | null {
    const parts: Uint8Array[] = [];
    let kept = 0;
    let length = 0;
    for (;;) {
      if (!this.fill()) return null;
      const nl = this.buf.indexOf(0x0a, this.i);
      const end = nl === -1 ? this.buf.length : nl;
      const piece = this.buf.subarray(this.i, end);
      if (kept < keep) {
        const take = piece.subarray(0, keep - kept);
        parts.push(take);
        kept += take.length;
      }
      length += piece.length;
      this.i = nl === -1 ? end : nl + 1;
      if (nl !== -1) break;
    }
    const bytes = parts.length === 1 ? parts[0] : concat(parts, kept);
    return { bytes, length };
  }

  /** True when no byte is left. */
  atEnd(): boolean {
    return !this.fill();
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Reads a ByteSource forward from `start`; skipping moves the position without reading. Blocks
 * start at 64 KiB and double up to 1 MiB while reading runs on, back to 64 KiB after a skip
 * (a pickle of big payloads reads a few bytes between skips).
 */
export function sourcePull(source: ByteSource, start = 0): ChunkPull {
  const MIN = 64 * 1024;
  const MAX = 1024 * 1024;
  let at = start;
  let block = MIN;
  return {
    next() {
      if (at >= source.size) return null;
      const chunk = source.read(at, Math.min(block, source.size - at));
      if (chunk.length === 0) return null;
      at += chunk.length;
      block = Math.min(MAX, block * 2);
      return chunk;
    },
    skip(n) {
      const k = Math.max(0, Math.min(n, source.size - at));
      at += k;
      block = MIN;
      return k;
    },
  };
}

export function forwardReader(source: ByteSource, start = 0): ForwardReader {
  return new ForwardReader(sourcePull(source, start));
}
