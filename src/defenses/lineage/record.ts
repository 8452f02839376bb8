/**
 * `recordDataset`: streams every file of a dataset once, digesting files and records, and writes the
 * lineage manifest (plus a record-digest sidecar for large datasets). See manifest.ts for the format.
 */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { AegisInputError } from '../../core/errors.js';
import { packageVersion } from '../../core/version.js';
import { listDatasetFiles } from './dataset-files.js';
import { fileDigest } from './digest.js';
import { digestFileRecords } from './digest-records.js';
import { detectFormat } from './formats.js';
import {
  datasetMerkleRoot,
  type LineageManifest,
  MANIFEST_SCHEMA,
  type ManifestFile,
  type ManifestSource,
  readManifest,
  type TransformStep,
  writeManifest,
} from './manifest.js';
import { readDigestSlice, SidecarWriter } from './sidecar.js';

/** Datasets with at most this many records keep their record digests inline in the manifest. */
export const DEFAULT_INLINE_RECORDS = 4096;

export interface RecordOptions {
  /** Where to write the manifest (default: beside the dataset, '<dataset>.lineage.json'). */
  out?: string;
  /** Default: the dataset's file or folder name. */
  name?: string;
  /** A URL or a description; default: the first URL (or heading) of a README beside the data. */
  source?: string;
  transforms?: TransformStep[];
  /** Paths of the manifests of the datasets this one was derived from. */
  parents?: string[];
  inlineRecords?: number;
  /** Fixes createdAt (tests). */
  now?: Date;
  /** Called after each file (progress). */
  onFile?: (path: string, bytes: number) => void;
}

export interface RecordResult {
  manifest: LineageManifest;
  manifestPath: string;
  digest: string;
  sidecarPath?: string;
}

export function defaultManifestPath(datasetPath: string): string {
  return `${resolve(datasetPath).replace(/[\\/]+$/, '')}.lineage.json`;
}

/** 'x.lineage.json' → 'x.lineage.records'. */
export function sidecarPathFor(manifestPath: string): string {
  return `${manifestPath.replace(/\.json$/i, '')}.records`;
}

const URL_PATTERN = /https?:\/\/[^\s<>()"'`\]]+/;

/** The source named by a README beside the data: its first URL, and its first heading as description. */
export function sourceFromReadme(folder: string): ManifestSource | undefined {
  const readme = ['README.md', 'README.txt', 'README', 'readme.md'].map((n) => join(folder, n)).find(existsSync);
  if (!readme) return undefined;
  const text = readFileSync(readme, 'utf8').slice(0, 64 * 1024);
  const uri = URL_PATTERN.exec(text)?.[0].replace(/[.,;:]+$/, '');
  const heading = text
    .split(/\r?\n/)
    .map((l) => l.replace(/^#+\s*/, '').trim())
    .find((l) => l.length > 0);
  if (!uri && !heading) return undefined;
  return { ...(uri ? { uri } : {}), ...(heading ? { description: heading } : {}), from: 'readme' };
}

function sourceOf(flag: string | undefined, folder: string): ManifestSource {
  if (flag !== undefined) {
    const text = flag.trim();
    if (text === '') throw new AegisInputError('--source must not be empty');
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? { uri: text, from: 'flag' } : { description: text, from: 'flag' };
  }
  return sourceFromReadme(folder) ?? { from: 'none' };
}

function parentsOf(paths: readonly string[]): LineageManifest['parents'] {
  return paths.map((p) => {
    const { manifest, digest } = readManifest(p);
    return { digest, name: manifest.name, merkleRoot: manifest.merkleRoot };
  });
}

/** Relative location with '/' separators (manifests move between systems). */
function portable(from: string, to: string): string {
  return relative(from, to).split(sep).join('/') || '.';
}

function defaultName(datasetPath: string, kind: 'file' | 'directory'): string {
  const base = basename(resolve(datasetPath));
  return (kind === 'file' ? base.replace(/(\.gz)?$/, '').replace(/\.[^.]*$/, '') : base) || 'dataset';
}

/** Records the dataset at `datasetPath` and writes its manifest. */
export async function recordDataset(datasetPath: string, options: RecordOptions = {}): Promise<RecordResult> {
  const manifestPath = resolve(options.out ?? defaultManifestPath(datasetPath));
  const sidecarPath = sidecarPathFor(manifestPath);
  const dataset = listDatasetFiles(datasetPath, [manifestPath, sidecarPath, `${sidecarPath}.tmp`]);
  if (dataset.paths.length === 0) throw new AegisInputError(`dataset folder '${datasetPath}' holds no files`);
  const parents = parentsOf(options.parents ?? []);
  const inlineLimit = options.inlineRecords ?? DEFAULT_INLINE_RECORDS;
  const tmp = `${sidecarPath}.tmp`;
  const writer = new SidecarWriter(tmp);
  const files: ManifestFile[] = [];
  try {
    for (const path of dataset.paths) {
      const full = join(dataset.root, ...path.split('/'));
      const format = detectFormat(full);
      const offset = writer.count;
      const facts = await digestFileRecords(full, format, { source: full, onRecord: (d) => writer.add(d) });
      files.push({ path, format, ...facts, ...(facts.records !== undefined ? { digestsOffset: offset } : {}) });
      options.onFile?.(path, facts.bytes);
    }
    writer.close();
  } catch (error) {
    writer.close();
    rmSync(tmp, { force: true });
    throw error;
  }
  const total = writer.count;
  let recordDigests: LineageManifest['recordDigests'];
  if (total <= inlineLimit) {
    for (const file of files) {
      if (file.records === undefined) continue;
      const packed = readDigestSlice(tmp, file.digestsOffset as number, file.records);
      file.digests = Array.from({ length: file.records }, (_, k) => packed.toString('hex', k * 32, k * 32 + 32));
      delete file.digestsOffset;
    }
    rmSync(tmp, { force: true });
    rmSync(sidecarPath, { force: true }); // a stale sidecar from an earlier, larger recording
    recordDigests = { storage: 'inline' };
  } else {
    renameSync(tmp, sidecarPath);
    const { sha256, bytes } = await fileDigest(sidecarPath);
    recordDigests = { storage: 'sidecar', path: basename(sidecarPath), bytes, sha256 };
  }
  const manifest: LineageManifest = {
    schema: MANIFEST_SCHEMA,
    name: options.name ?? defaultName(datasetPath, dataset.kind),
    source: sourceOf(options.source, dataset.kind === 'directory' ? resolve(datasetPath) : dataset.root),
    dataset: { kind: dataset.kind, location: portable(dirname(manifestPath), resolve(datasetPath)) },
    files,
    recordDigests,
    merkleRoot: datasetMerkleRoot(files),
    transforms: options.transforms ?? [],
    parents,
    createdAt: (options.now ?? new Date()).toISOString(),
    tool: { name: 'aegis', version: packageVersion() },
  };
  const digest = writeManifest(manifestPath, manifest);
  return {
    manifest,
    manifestPath,
    digest,
    ...(recordDigests.storage === 'sidecar' ? { sidecarPath } : {}),
  };
}
