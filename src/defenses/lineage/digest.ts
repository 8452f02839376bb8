/**
 * SHA-256 (FIPS 180-4, node:crypto) of bytes and of files. Files are streamed in 1 MiB chunks, so
 * a multi-GB file never sits in memory. Shared by lineage manifests and signing.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { AegisInputError } from '../../core/errors.js';

export const CHUNK_BYTES = 1 << 20;

/** Lower-case hex SHA-256 of bytes or of a UTF-8 string. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function unreadable(path: string, error: unknown): AegisInputError {
  const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message ?? String(error);
  return new AegisInputError(`cannot read '${path}' (${reason})`, { cause: error });
}

/** SHA-256 and size of a file, streamed. An unreadable file is an AegisInputError. */
export async function fileDigest(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch (error) {
    throw unreadable(path, error);
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Lower-case hex SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  return (await fileDigest(path)).sha256;
}

/** Synchronous twin of fileDigest (for callers that cannot await), still chunked. */
export function fileDigestSync(path: string): { sha256: string; bytes: number } {
  const hash = createHash('sha256');
  let bytes = 0;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK_BYTES, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      bytes += n;
    }
  } catch (error) {
    throw unreadable(path, error);
  } finally {
    closeSync(fd);
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Synchronous SHA-256 of a file. */
export function sha256FileSync(path: string): string {
  return fileDigestSync(path).sha256;
}
