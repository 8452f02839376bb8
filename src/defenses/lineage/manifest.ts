/**
 * The lineage manifest ('aegis.lineage/1'): what a dataset is (its files, their SHA-256 digests and
 * per-record digests, one Merkle root over all of it), where it came from (source, transforms,
 * parent manifests), and when and by which tool it was recorded. Read back through a Zod schema and
 * an internal consistency check, so a malformed or hand-edited manifest fails with the field named.
 *
 * Per-record digests are stored inline (hex, per file) while the dataset has few records, and in a
 * binary sidecar (32 raw bytes per record, files in manifest order) beyond that: hex in JSON costs
 * 66 bytes a record and JSON.parse must hold it all, so 60,000 images would make a 4 MB manifest
 * and a 2M-row CSV a 130 MB one. The sidecar's size and SHA-256 are in the manifest, so the
 * manifest digest still covers every record digest.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { AegisInputError } from '../../core/errors.js';
import { sha256Hex } from './digest.js';
import { LINEAGE_FORMATS } from './formats.js';
import { MerkleBuilder, merkleRootOfDigests } from './merkle.js';

export const MANIFEST_SCHEMA = 'aegis.lineage/1';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 as 64 lower-case hex digits');
const count = z.number().int().nonnegative();

/** A path inside the dataset: relative, '/'-separated, no '..' or empty segments (a manifest must not point outside). */
export const relativePath = z
  .string()
  .min(1)
  .refine(
    (p) => !p.startsWith('/') && !/^[A-Za-z]:/.test(p) && !p.includes('\\') && !p.includes('\0'),
    'expected a relative path with / separators',
  )
  .refine(
    (p) => p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'),
    "path must not contain '..' or empty segments",
  );

const paramValue = z.union([z.string(), z.number(), z.boolean()]);

const arrayInfo = z.object({
  name: z.string().min(1),
  shape: z.array(count),
  dtype: z.string(),
  records: count,
  note: z.string().optional(),
});

const fileEntry = z.object({
  path: relativePath,
  bytes: count,
  sha256: hex64,
  format: z.enum(LINEAGE_FORMATS),
  records: count.optional(),
  recordsRoot: hex64.optional(),
  /** Inline record digests (hex), in canonical order. */
  digests: z.array(hex64).optional(),
  /** Index of this file's first record digest in the sidecar. */
  digestsOffset: count.optional(),
  headerSha256: hex64.optional(),
  shape: z.array(count).optional(),
  dtype: z.string().optional(),
  arrays: z.array(arrayInfo).optional(),
  note: z.string().optional(),
});

const recordDigests = z.discriminatedUnion('storage', [
  z.object({ storage: z.literal('inline') }),
  z.object({
    storage: z.literal('sidecar'),
    /** Relative to the manifest's folder. */
    path: relativePath,
    bytes: count,
    sha256: hex64,
  }),
]);

export const manifestSchema = z.object({
  schema: z.literal(MANIFEST_SCHEMA),
  name: z.string().min(1),
  source: z.object({
    uri: z.string().optional(),
    description: z.string().optional(),
    from: z.enum(['flag', 'readme', 'none']),
  }),
  dataset: z.object({
    kind: z.enum(['file', 'directory']),
    /** Where the dataset was, relative to the manifest's folder ('/' separators; may start with '..'). */
    location: z.string().min(1),
  }),
  files: z.array(fileEntry),
  recordDigests,
  merkleRoot: hex64,
  transforms: z.array(z.object({ name: z.string().min(1), params: z.record(z.string(), paramValue) })),
  parents: z.array(z.object({ digest: hex64, name: z.string(), merkleRoot: hex64 })),
  createdAt: z.iso.datetime(),
  tool: z.object({ name: z.string(), version: z.string() }),
});

export type LineageManifest = z.infer<typeof manifestSchema>;
export type ManifestFile = z.infer<typeof fileEntry>;
export type TransformStep = LineageManifest['transforms'][number];
export type ManifestSource = LineageManifest['source'];

/** Byte order of the UTF-8 encodings: the canonical order of paths (independent of locale). */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * A file's Merkle leaf: UTF-8 path, a 0x00 separator (paths hold no NUL), its 32-byte SHA-256, then its
 * 32-byte records root when it has records. The dataset root thus binds names, contents and records.
 */
export function fileLeaf(file: Pick<ManifestFile, 'path' | 'sha256' | 'recordsRoot'>): Buffer {
  return Buffer.concat([
    Buffer.from(file.path, 'utf8'),
    Buffer.from([0]),
    Buffer.from(file.sha256, 'hex'),
    file.recordsRoot ? Buffer.from(file.recordsRoot, 'hex') : Buffer.alloc(0),
  ]);
}

/** RFC 6962 root over the files' leaves in canonical path order. */
export function datasetMerkleRoot(files: readonly Pick<ManifestFile, 'path' | 'sha256' | 'recordsRoot'>[]): string {
  const tree = new MerkleBuilder();
  for (const file of [...files].sort((a, b) => comparePaths(a.path, b.path))) tree.add(fileLeaf(file));
  return tree.rootHex();
}

/** The manifest as written: stable two-space JSON with a final newline. */
export function serializeManifest(manifest: LineageManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** A manifest's identity: SHA-256 of its bytes as written (parents and the lineage graph use it). */
export function manifestDigest(text: string | Uint8Array): string {
  return sha256Hex(text);
}

export function writeManifest(path: string, manifest: LineageManifest): string {
  const text = serializeManifest(manifest);
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new AegisInputError(`cannot write the manifest '${path}': ${(error as Error).message}`, { cause: error });
  }
  return manifestDigest(text);
}

function fieldName(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (s, k) => (typeof k === 'number' ? `${s}[${k}]` : s === '' ? String(k) : `${s}.${String(k)}`),
    '',
  );
}

/** Validates a parsed manifest: schema first, then that its digests and roots agree with each other. */
export function parseManifest(value: unknown, source = '<manifest>'): LineageManifest {
  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = fieldName(issue?.path ?? []) || '(root)';
    const version =
      field === 'schema' && typeof (value as { schema?: unknown })?.schema === 'string'
        ? ` (this tool reads '${MANIFEST_SCHEMA}')`
        : '';
    throw new AegisInputError(`${source}: invalid lineage manifest: field '${field}': ${issue?.message}${version}`);
  }
  checkConsistency(parsed.data, source);
  return parsed.data;
}

function inconsistent(source: string, field: string, what: string): AegisInputError {
  return new AegisInputError(
    `${source}: inconsistent lineage manifest: field '${field}' ${what} (edited or corrupted?)`,
  );
}

function checkConsistency(m: LineageManifest, source: string): void {
  const seen = new Set<string>();
  let offset = 0;
  m.files.forEach((file, i) => {
    const at = `files[${i}]`;
    if (seen.has(file.path)) throw inconsistent(source, `${at}.path`, `repeats '${file.path}'`);
    seen.add(file.path);
    if ((file.records === undefined) !== (file.recordsRoot === undefined)) {
      throw inconsistent(source, `${at}.recordsRoot`, 'must be present exactly when records is');
    }
    if (file.arrays && file.arrays.reduce((s, a) => s + a.records, 0) !== (file.records ?? 0)) {
      throw inconsistent(source, `${at}.arrays`, `do not add up to ${file.records ?? 0} records`);
    }
    if (file.records === undefined) return;
    if (m.recordDigests.storage === 'inline') {
      if (!file.digests || file.digests.length !== file.records) {
        throw inconsistent(source, `${at}.digests`, `must list ${file.records} record digests`);
      }
      const root = merkleRootOfDigests(Buffer.from(file.digests.join(''), 'hex')).toString('hex');
      if (root !== file.recordsRoot)
        throw inconsistent(source, `${at}.recordsRoot`, 'does not match its record digests');
    } else {
      if (file.digestsOffset !== offset) throw inconsistent(source, `${at}.digestsOffset`, `should be ${offset}`);
      offset += file.records;
    }
  });
  if (m.recordDigests.storage === 'sidecar' && m.recordDigests.bytes !== offset * 32) {
    throw inconsistent(source, 'recordDigests.bytes', `should be ${offset * 32} (32 per record)`);
  }
  if (datasetMerkleRoot(m.files) !== m.merkleRoot) throw inconsistent(source, 'merkleRoot', 'does not match its files');
}

/** Reads, parses and checks a manifest file; returns it with its digest. */
export function readManifest(path: string): { manifest: LineageManifest; digest: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new AegisInputError(`cannot read the manifest '${path}' (${reason})`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new AegisInputError(`${path}: not a lineage manifest (invalid JSON: ${(error as Error).message})`);
  }
  return { manifest: parseManifest(value, path), digest: manifestDigest(bytes) };
}
