/**
 * The record-digest sidecar: 32 raw SHA-256 bytes per record, files in manifest order, written
 * while the dataset streams past (buffered, so memory stays flat) and read back one file's slice at
 * a time. Its size and digest live in the manifest; reading checks both before trusting a byte.
 */
import { closeSync, existsSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { AegisInputError } from '../../core/errors.js';
import { fileDigestSync } from './digest.js';
import type { LineageManifest } from './manifest.js';

const BUFFER_BYTES = 1 << 20;

export class SidecarWriter {
  private readonly fd: number;
  private readonly buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
  private total = 0;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'w');
    } catch (error) {
      throw new AegisInputError(`cannot write '${path}': ${(error as Error).message}`, { cause: error });
    }
  }

  add(digest: Uint8Array): void {
    if (this.used + digest.length > BUFFER_BYTES) this.flush();
    this.buffer.set(digest, this.used);
    this.used += digest.length;
    this.total++;
  }

  /** Record digests written so far. */
  get count(): number {
    return this.total;
  }

  private flush(): void {
    let at = 0;
    while (at < this.used) at += writeSync(this.fd, this.buffer, at, this.used - at);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** Reads `count` digests starting at record `offset` of a sidecar (packed, 32 bytes each). */
export function readDigestSlice(path: string, offset: number, count: number): Buffer {
  const out = Buffer.alloc(count * 32);
  const fd = openSync(path, 'r');
  try {
    let at = 0;
    while (at < out.length) {
      const n = readSync(fd, out, at, out.length - at, offset * 32 + at);
      if (n === 0) throw new AegisInputError(`${path}: record digest sidecar is truncated`);
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/**
 * Returns a function giving the packed expected record digests of file `i` of the manifest,
 * checking the sidecar (when there is one) against the size and SHA-256 the manifest states.
 */
export function recordDigestReader(manifest: LineageManifest, manifestPath: string): (i: number) => Buffer {
  const storage = manifest.recordDigests;
  if (storage.storage === 'inline') {
    return (i) => Buffer.from((manifest.files[i]?.digests ?? []).join(''), 'hex');
  }
  const path = resolve(dirname(manifestPath), storage.path);
  if (!existsSync(path)) {
    throw new AegisInputError(`${manifestPath}: its record digest sidecar '${path}' is missing`);
  }
  const { sha256, bytes } = fileDigestSync(path);
  if (bytes !== storage.bytes || sha256 !== storage.sha256 || statSync(path).size !== storage.bytes) {
    throw new AegisInputError(
      `${manifestPath}: the record digest sidecar '${path}' does not match the manifest's recordDigests (changed or corrupted?)`,
    );
  }
  return (i) => {
    const file = manifest.files[i];
    if (file?.records === undefined || file.digestsOffset === undefined) return Buffer.alloc(0);
    return readDigestSlice(path, file.digestsOffset, file.records);
  };
}
