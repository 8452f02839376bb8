/**
 * Streaming decompression with a hard cap on the bytes produced (zip entries: raw DEFLATE;
 * joblib: zlib and gzip). Compressed input goes in at most 16 KiB at a time, and less near the
 * cap, so one step produces at most ~16 MiB (DEFLATE expands at most 1032:1) and little more
 * than the cap; past the cap the stream stops. A zip bomb therefore costs a bounded amount
 * of memory and time, however large it claims to expand.
 */
import { crc32 } from 'node:zlib';
import { Gunzip, Inflate, Unzlib } from 'fflate';
import { AegisInputError } from '../../core/errors.js';
import type { ChunkPull } from './file-source.js';
import type { ByteSource } from './finding.js';

const INPUT_CHUNK = 16 * 1024;

export type Compression = 'deflate-raw' | 'zlib' | 'gzip';

export interface InflateStatus {
  /** Bytes produced so far (never more than the cap). */
  produced: number;
  /** The stream had more to give past the cap. */
  overflowed: boolean;
  /** All compressed input was consumed. */
  finished: boolean;
  /** CRC-32 of the bytes produced so far. */
  crc: number;
}

/**
 * A ChunkPull that inflates `source` bytes [start, start + length) and stops after `cap`
 * output bytes. `status` is updated as it goes; `what` names the stream in error messages.
 */
export function inflatingPull(
  source: ByteSource,
  start: number,
  length: number,
  compression: Compression,
  cap: number,
  what: string,
): { pull: ChunkPull; status: InflateStatus } {
  const status: InflateStatus = { produced: 0, overflowed: false, finished: false, crc: 0 };
  const queue: Uint8Array[] = [];
  const end = Math.min(source.size, start + length);
  let at = start;
  const onData = (chunk: Uint8Array) => {
    if (status.overflowed || chunk.length === 0) return;
    let out = chunk;
    if (status.produced + out.length > cap) {
      out = out.subarray(0, cap - status.produced);
      status.overflowed = true;
    }
    status.produced += out.length;
    status.crc = crc32(out, status.crc);
    if (out.length > 0) queue.push(out);
  };
  const stream =
    compression === 'deflate-raw'
      ? new Inflate(onData)
      : compression === 'zlib'
        ? new Unzlib(onData)
        : new Gunzip(onData);
  const pull: ChunkPull = {
    next() {
      while (queue.length === 0) {
        if (status.overflowed || status.finished) return null;
        // DEFLATE expands at most ~1032:1: near the cap, push only what can reach it.
        const room = Math.ceil((cap - status.produced) / 1024);
        const n = Math.min(INPUT_CHUNK, Math.max(256, room), end - at);
        const input = n > 0 ? source.read(at, n) : new Uint8Array(0);
        at += n;
        const final = at >= end;
        try {
          stream.push(input, final);
        } catch (error) {
          throw new AegisInputError(
            `${what}: corrupt or truncated ${compression} data near byte ${at} (${(error as Error).message})`,
            { cause: error },
          );
        }
        if (final) status.finished = true;
      }
      return queue.shift()!;
    },
  };
  return { pull, status };
}

/** Inflates a whole stream into memory, at most `cap` bytes (check status.overflowed). */
export function inflateAll(
  source: ByteSource,
  start: number,
  length: number,
  compression: Compression,
  cap: number,
  what: string,
): { bytes: Uint8Array; status: InflateStatus } {
  const { pull, status } = inflatingPull(source, start, length, compression, cap, what);
  const parts: Uint8Array[] = [];
  for (let chunk = pull.next(); chunk !== null; chunk = pull.next()) parts.push(chunk);
  const bytes = new Uint8Array(status.produced);
  let offset = 0;
  for (const p of parts) {
    bytes.set(p, offset);
    offset += p.length;
  }
  return { bytes, status };
}
