/**
 * One streamed pass over a dataset file: the SHA-256 of its bytes on disk, and (optionally) the
 * digest of every record in canonical order with their Merkle root. Gzip is detected by its magic
 * bytes (as src/data/idx.ts does) and undone on the fly for line and IDX files.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { AegisInputError } from '../../core/errors.js';
import { type ArrayFacts, idxRecordParser, npyRecordParser, npzRecordParser } from './array-records.js';
import { CHUNK_BYTES } from './digest.js';
import { hasRecords, isLineFormat, type LineageFormat } from './formats.js';
import { LineRecordSplitter } from './line-records.js';
import { MerkleBuilder } from './merkle.js';

export interface NpzArrayInfo {
  name: string;
  shape: number[];
  dtype: string;
  records: number;
  note?: string;
}

export interface FileRecordsDigest {
  bytes: number;
  sha256: string;
  /** Absent when the format has no records or they were not asked for. */
  records?: number;
  recordsRoot?: string;
  /** CSV/TSV header row digest. */
  headerSha256?: string;
  shape?: number[];
  dtype?: string;
  arrays?: NpzArrayInfo[];
  /** Why a file that should have records has none (object dtype, Fortran order …). */
  note?: string;
}

function startsWithGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

interface RecordConsumer {
  push(chunk: Uint8Array): void;
  /** Called after the last chunk; fills in what the format learnt. */
  end(out: FileRecordsDigest): void;
}

function arrayFacts(out: FileRecordsDigest, facts: ArrayFacts): void {
  out.shape = facts.shape;
  out.dtype = facts.dtype;
  if (facts.unsupported) out.note = `records not digested: ${facts.unsupported}`;
}

function consumerFor(
  format: LineageFormat,
  source: string,
  emit: (digest: Buffer) => void,
): { consumer: RecordConsumer; decompress: boolean } {
  if (isLineFormat(format)) {
    const splitter = new LineRecordSplitter(
      { csv: format === 'csv', header: format === 'csv' || format === 'tsv', delimiter: ',' },
      emit,
    );
    return {
      decompress: true,
      consumer: {
        push: (chunk) => splitter.push(chunk),
        end: (out) => {
          splitter.end();
          if (splitter.header) out.headerSha256 = splitter.header.toString('hex');
        },
      },
    };
  }
  if (format === 'idx' || format === 'npy') {
    const parser = format === 'idx' ? idxRecordParser(source, emit) : npyRecordParser(source, emit);
    return {
      decompress: format === 'idx',
      consumer: { push: (chunk) => parser.push(chunk), end: (out) => arrayFacts(out, parser.end()) },
    };
  }
  if (format === 'npz') {
    const parser = npzRecordParser(source);
    return {
      decompress: false,
      consumer: {
        push: (chunk) => parser.push(chunk),
        end: (out) => {
          const arrays = parser.end();
          out.arrays = arrays.map((a) => ({
            name: a.name,
            shape: a.facts.shape,
            dtype: a.facts.dtype,
            records: a.digests.length,
            ...(a.facts.unsupported ? { note: `records not digested: ${a.facts.unsupported}` } : {}),
          }));
          // Canonical order: arrays by name, rows by index within each.
          for (const a of arrays) for (const d of a.digests) emit(d);
        },
      },
    };
  }
  throw new Error(`format '${format}' has no records`);
}

/**
 * Digests the file at `path` (shown as `source` in messages). With `records` (default true) and a
 * format that has records, every record digest is passed to `onRecord` in canonical order.
 * Unreadable files and records that cannot be parsed in `format` are AegisInputErrors.
 */
export async function digestFileRecords(
  path: string,
  format: LineageFormat,
  options: { records?: boolean; onRecord?: (digest: Buffer) => void; source?: string } = {},
): Promise<FileRecordsDigest> {
  const source = options.source ?? path;
  const fileHash = createHash('sha256');
  const out: FileRecordsDigest = { bytes: 0, sha256: '' };
  const wantRecords = (options.records ?? true) && hasRecords(format);
  const tree = new MerkleBuilder();
  const emit = (digest: Buffer): void => {
    tree.add(digest);
    options.onRecord?.(digest);
  };
  try {
    const reader = createReadStream(path, { highWaterMark: CHUNK_BYTES });
    const tap = async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const chunk of chunks) {
        fileHash.update(chunk);
        out.bytes += chunk.length;
        yield chunk;
      }
    };
    if (!wantRecords) {
      await pipeline(reader, tap, async (chunks: AsyncIterable<Buffer>) => {
        for await (const _ of chunks);
      });
    } else {
      const { consumer, decompress } = consumerFor(format, source, emit);
      const sink = async (chunks: AsyncIterable<Buffer>): Promise<void> => {
        for await (const chunk of chunks) consumer.push(chunk);
      };
      if (decompress && startsWithGzip(path)) await pipeline(reader, tap, createGunzip(), sink);
      else await pipeline(reader, tap, sink);
      consumer.end(out);
      if (!out.note) {
        out.records = tree.count;
        out.recordsRoot = tree.rootHex();
      }
    }
  } catch (error) {
    if (error instanceof AegisInputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code?.startsWith('Z_')) {
      throw new AegisInputError(`${source}: corrupt or truncated gzip data (${(error as Error).message})`, {
        cause: error,
      });
    }
    throw new AegisInputError(`cannot read '${source}' (${code ?? (error as Error).message})`, { cause: error });
  }
  out.sha256 = fileHash.digest('hex');
  return out;
}
