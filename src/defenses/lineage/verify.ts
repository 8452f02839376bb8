/**
 * `verifyDataset`: compares a dataset on disk with its lineage manifest. Files are matched by path
 * (added, removed, changed); a changed file with records is re-read in its recorded format and its
 * records diffed (record-diff.ts); and the dataset's Merkle root is recomputed and compared.
 * Unchanged files cost one streamed SHA-256; only changed files are parsed.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AegisInputError } from '../../core/errors.js';
import { listDatasetFiles } from './dataset-files.js';
import { fileDigest } from './digest.js';
import { digestFileRecords, type FileRecordsDigest } from './digest-records.js';
import { detectFormat, isLineFormat, type LineageFormat } from './formats.js';
import { datasetMerkleRoot, type LineageManifest, type ManifestFile, readManifest } from './manifest.js';
import { sidecarPathFor } from './record.js';
import { diffByContent, diffByIndex, mergeDiffs, type RecordDiff } from './record-diff.js';
import { recordDigestReader } from './sidecar.js';

export interface Expected<T> {
  expected: T;
  actual: T;
}

export interface FileChange {
  path: string;
  format: LineageFormat;
  bytes: Expected<number>;
  sha256: Expected<string>;
  records?: Expected<number | undefined> & { diff?: RecordDiff };
  /** CSV/TSV: the header row differs. */
  headerChanged?: boolean;
  /** NPZ arrays present on one side only. */
  arrays?: { added: string[]; removed: string[] };
  /** Why records could not be compared (the file no longer parses in its recorded format …). */
  note?: string;
}

export interface AddedFile {
  path: string;
  format: LineageFormat;
  bytes: number;
  records?: number;
}

export interface VerifyResult {
  manifest: string;
  manifestDigest: string;
  dataset: string;
  name: string;
  identical: boolean;
  merkleRoot: Expected<string> & { match: boolean };
  files: {
    recorded: number;
    unchanged: number;
    added: AddedFile[];
    removed: string[];
    changed: FileChange[];
  };
}

export interface VerifyOptions {
  /** The dataset to check (default: where the manifest says it was, relative to the manifest). */
  dataset?: string;
  /** Records listed per kind and file (counts are always complete). Default 20. */
  maxList?: number;
}

/** Collects record digests into one growing packed buffer (32 bytes a record, no per-record objects). */
class DigestCollector {
  private buffer = Buffer.allocUnsafe(32 * 1024);
  private used = 0;
  add = (digest: Buffer): void => {
    if (this.used + digest.length > this.buffer.length) {
      const bigger = Buffer.allocUnsafe(this.buffer.length * 2);
      this.buffer.copy(bigger, 0, 0, this.used);
      this.buffer = bigger;
    }
    digest.copy(this.buffer, this.used);
    this.used += digest.length;
  };
  packed(): Buffer {
    return this.buffer.subarray(0, this.used);
  }
}

function npzDiff(
  expected: ManifestFile,
  before: Buffer,
  actual: FileRecordsDigest,
  after: Buffer,
  cap: number,
): { diff: RecordDiff; added: string[]; removed: string[] } {
  const slices = (arrays: { name: string; records: number }[] | undefined, packed: Buffer) => {
    const out = new Map<string, Buffer>();
    let at = 0;
    for (const a of arrays ?? []) {
      out.set(a.name, packed.subarray(at * 32, (at + a.records) * 32));
      at += a.records;
    }
    return out;
  };
  const old = slices(expected.arrays, before);
  const now = slices(actual.arrays, after);
  const diff = diffByIndex(Buffer.alloc(0), Buffer.alloc(0), cap);
  const names = [...new Set([...old.keys(), ...now.keys()])].sort();
  for (const name of names) {
    const part = diffByIndex(
      old.get(name) ?? Buffer.alloc(0),
      now.get(name) ?? Buffer.alloc(0),
      cap,
      (i) => `${name}[${i}]`,
    );
    mergeDiffs(diff, part, cap);
  }
  return {
    diff,
    added: [...now.keys()].filter((n) => !old.has(n)),
    removed: [...old.keys()].filter((n) => !now.has(n)),
  };
}

async function compareFile(
  expected: ManifestFile,
  full: string,
  expectedDigests: () => Buffer,
  cap: number,
): Promise<{ change?: FileChange; recordsRoot?: string; sha256: string }> {
  const size = statSync(full).size;
  if (size === expected.bytes) {
    const { sha256 } = await fileDigest(full);
    if (sha256 === expected.sha256)
      return { sha256, ...(expected.recordsRoot ? { recordsRoot: expected.recordsRoot } : {}) };
  }
  const change: FileChange = {
    path: expected.path,
    format: expected.format,
    bytes: { expected: expected.bytes, actual: size },
    sha256: { expected: expected.sha256, actual: '' },
  };
  if (expected.records === undefined) {
    change.sha256.actual = (await fileDigest(full)).sha256;
    return { change, sha256: change.sha256.actual };
  }
  const collector = new DigestCollector();
  let actual: FileRecordsDigest;
  try {
    actual = await digestFileRecords(full, expected.format, { source: full, onRecord: collector.add });
  } catch (error) {
    if (!(error instanceof AegisInputError)) throw error;
    change.sha256.actual = (await fileDigest(full)).sha256;
    change.note = `records unreadable as ${expected.format}: ${error.message}`;
    change.records = { expected: expected.records, actual: undefined };
    return { change, sha256: change.sha256.actual };
  }
  change.sha256.actual = actual.sha256;
  change.bytes.actual = actual.bytes;
  const before = expectedDigests();
  const after = collector.packed();
  let diff: RecordDiff;
  if (expected.format === 'npz') {
    const result = npzDiff(expected, before, actual, after, cap);
    diff = result.diff;
    if (result.added.length + result.removed.length > 0)
      change.arrays = { added: result.added, removed: result.removed };
  } else if (isLineFormat(expected.format)) {
    diff = diffByContent(before, after, cap);
  } else {
    diff = diffByIndex(before, after, cap);
  }
  change.records = { expected: expected.records, actual: actual.records, diff };
  if (expected.headerSha256 !== actual.headerSha256) change.headerChanged = true;
  if (actual.note) change.note = actual.note;
  return { change, sha256: actual.sha256, ...(actual.recordsRoot ? { recordsRoot: actual.recordsRoot } : {}) };
}

/** Where the manifest says its dataset is. */
export function recordedDatasetPath(manifest: LineageManifest, manifestPath: string): string {
  return resolve(dirname(resolve(manifestPath)), ...manifest.dataset.location.split('/'));
}

/** Verifies the dataset against the manifest at `manifestPath`. */
export async function verifyDataset(manifestPath: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const cap = options.maxList ?? 20;
  const { manifest, digest } = readManifest(manifestPath);
  const expectedDigests = recordDigestReader(manifest, manifestPath);
  const datasetPath = resolve(options.dataset ?? recordedDatasetPath(manifest, manifestPath));
  if (!existsSync(datasetPath)) throw new AegisInputError(`dataset '${datasetPath}' does not exist`);
  const manifestAbs = resolve(manifestPath);
  const sidecar = sidecarPathFor(manifestAbs);
  const current = listDatasetFiles(datasetPath, [manifestAbs, sidecar]);
  if (current.kind !== manifest.dataset.kind) {
    throw new AegisInputError(
      `'${datasetPath}' is a ${current.kind} but the manifest recorded a ${manifest.dataset.kind}`,
    );
  }
  // A single-file dataset may be verified under another name: compare it with the recorded file.
  const recordedPaths = manifest.files.map((f) => f.path);
  const onDisk =
    current.kind === 'file' && recordedPaths.length === 1
      ? new Map([[recordedPaths[0] as string, join(current.root, current.paths[0] as string)]])
      : new Map(current.paths.map((p) => [p, join(current.root, ...p.split('/'))]));

  const leaves: { path: string; sha256: string; recordsRoot?: string }[] = [];
  const result: VerifyResult = {
    manifest: manifestAbs,
    manifestDigest: digest,
    dataset: datasetPath,
    name: manifest.name,
    identical: false,
    merkleRoot: { expected: manifest.merkleRoot, actual: '', match: false },
    files: { recorded: manifest.files.length, unchanged: 0, added: [], removed: [], changed: [] },
  };
  for (const [i, expected] of manifest.files.entries()) {
    const full = onDisk.get(expected.path);
    if (full === undefined) {
      result.files.removed.push(expected.path);
      continue;
    }
    onDisk.delete(expected.path);
    const compared = await compareFile(expected, full, () => expectedDigests(i), cap);
    leaves.push({
      path: expected.path,
      sha256: compared.sha256,
      ...(compared.recordsRoot ? { recordsRoot: compared.recordsRoot } : {}),
    });
    if (compared.change) result.files.changed.push(compared.change);
    else result.files.unchanged++;
  }
  for (const [path, full] of onDisk) {
    const format = detectFormat(full);
    const facts = await digestFileRecords(full, format, { source: full }).catch(async (error: unknown) => {
      if (!(error instanceof AegisInputError)) throw error;
      return fileDigest(full); // unparseable in its detected format: still an added file
    });
    const records = (facts as FileRecordsDigest).records;
    result.files.added.push({ path, format, bytes: facts.bytes, ...(records !== undefined ? { records } : {}) });
    const recordsRoot = (facts as FileRecordsDigest).recordsRoot;
    leaves.push({ path, sha256: facts.sha256, ...(recordsRoot ? { recordsRoot } : {}) });
  }
  result.merkleRoot.actual = datasetMerkleRoot(leaves);
  result.merkleRoot.match = result.merkleRoot.actual === manifest.merkleRoot;
  result.identical =
    result.merkleRoot.match &&
    result.files.added.length + result.files.removed.length + result.files.changed.length === 0;
  return result;
}
