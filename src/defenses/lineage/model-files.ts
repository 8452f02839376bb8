/**
 * Which files make up a model, as model_signing's "files" serialization sees them: a single file,
 * or every regular file under a folder (sorted walk) minus the ignored paths. Symbolic links are
 * refused unless allowed, and a link whose target leaves the model folder is always refused.
 */
import { type Dirent, readdirSync, realpathSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { AegisInputError } from '../../core/errors.js';
import { CHUNK_BYTES, fileDigest, sha256Hex } from './digest.js';
import { comparePaths } from './in-toto.js';

/** What model_signing leaves out by default besides the signature: git metadata at the root. */
export const GIT_PATHS = ['.git', '.gitattributes', '.github', '.gitignore'] as const;

export interface ModelFileOptions {
  /** Follow symbolic links to files that stay inside the model folder (default false: refuse all). */
  allowSymlinks?: boolean;
  /** Paths relative to the model root ('/' separators); a folder ignores everything under it. */
  ignorePaths?: readonly string[];
}

export interface ModelFile {
  /** Path relative to the model root with '/' separators (the subject name). */
  name: string;
  /** Where to read it. */
  path: string;
}

export interface ModelListing {
  kind: 'file' | 'directory';
  /** The folder names are relative to (the file's folder for a single file). */
  root: string;
  files: ModelFile[];
  /** Entries that cannot be part of a signed model (symbolic links, sockets …), with why. */
  refused: { name: string; reason: string }[];
}

export interface HashedFile {
  name: string;
  sha256: string;
  bytes: number;
}

function cannotRead(path: string, error: unknown): AegisInputError {
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new AegisInputError(`cannot read '${path}' (${code})`, { cause: error });
}

function isIgnored(name: string, ignorePaths: readonly string[]): boolean {
  return ignorePaths.some((p) => name === p || name.startsWith(`${p}/`));
}

function isInside(root: string, target: string): boolean {
  return nameInsideModel(root, target) !== undefined;
}

/** Decides what a symbolic link inside the model becomes: a file to hash, or a refusal. */
function classifySymlink(
  realRoot: string,
  path: string,
  name: string,
  allowSymlinks: boolean,
): { file: ModelFile } | { reason: string } {
  let target: string;
  try {
    target = realpathSync(path);
  } catch {
    return { reason: 'is a symbolic link whose target does not exist' };
  }
  if (!isInside(realRoot, target)) {
    return { reason: `is a symbolic link to '${target}', outside the model folder` };
  }
  if (!allowSymlinks) return { reason: 'is a symbolic link (signing hashes regular files only; see --allow-symlinks)' };
  if (!statSync(target).isFile())
    return { reason: 'is a symbolic link to a folder (only links to files are followed)' };
  return { file: { name, path } };
}

function entryKind(entry: Dirent): string {
  if (entry.isFIFO()) return 'a named pipe';
  if (entry.isSocket()) return 'a socket';
  if (entry.isBlockDevice() || entry.isCharacterDevice()) return 'a device';
  return 'not a regular file';
}

function walk(
  dir: string,
  prefix: string,
  realRoot: string,
  options: Required<ModelFileOptions>,
  out: ModelListing,
): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw cannotRead(dir, error);
  }
  for (const entry of entries) {
    const name = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (isIgnored(name, options.ignorePaths)) continue;
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) {
      const verdict = classifySymlink(realRoot, path, name, options.allowSymlinks);
      if ('file' in verdict) out.files.push(verdict.file);
      else out.refused.push({ name, reason: verdict.reason });
    } else if (entry.isDirectory()) {
      walk(path, name, realRoot, options, out);
    } else if (entry.isFile()) {
      out.files.push({ name, path });
    } else {
      out.refused.push({ name, reason: `is ${entryKind(entry)}` });
    }
  }
}

/** Whether the model is one file or a folder; anything else, or a missing path, is an input error. */
export function modelKind(target: string): 'file' | 'directory' {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(target);
  } catch (error) {
    throw cannotRead(target, error);
  }
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  throw new AegisInputError(`'${target}' is neither a file nor a folder`);
}

/**
 * Lists the files of a model (a file or a folder), sorted by path. A missing or unreadable target
 * is an AegisInputError; entries that cannot be signed are returned in `refused` for the caller to
 * reject (signing) or report (verification).
 */
export function listModelFiles(target: string, options: ModelFileOptions = {}): ModelListing {
  if (modelKind(target) === 'file') {
    return { kind: 'file', root: dirname(target), files: [{ name: basename(target), path: target }], refused: [] };
  }
  const full = { allowSymlinks: options.allowSymlinks ?? false, ignorePaths: options.ignorePaths ?? [] };
  const listing: ModelListing = { kind: 'directory', root: target, files: [], refused: [] };
  walk(target, '', realpathSync(target), full, listing);
  listing.files.sort((a, b) => comparePaths(a.name, b.name));
  listing.refused.sort((a, b) => comparePaths(a.name, b.name));
  return listing;
}

/** The model-relative name of `path` when it lies inside the model folder, else undefined. */
export function nameInsideModel(root: string, path: string): string | undefined {
  const rel = relative(root, path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || rel.startsWith(sep)) return undefined;
  return rel.split(sep).join('/');
}

/**
 * SHA-256 of one file: small files (≤ one chunk) in a single read, larger ones streamed in 1 MiB
 * chunks — a read stream per small file costs more than the hashing (about 3x on 1,000 files).
 */
async function hashFile(file: ModelFile): Promise<HashedFile> {
  let size: number;
  try {
    size = (await stat(file.path)).size;
  } catch (error) {
    throw cannotRead(file.path, error);
  }
  if (size > CHUNK_BYTES) return { name: file.name, ...(await fileDigest(file.path)) };
  let data: Buffer;
  try {
    data = await readFile(file.path);
  } catch (error) {
    throw cannotRead(file.path, error);
  }
  return { name: file.name, sha256: sha256Hex(data), bytes: data.length };
}

/** Hashes every file, a few at a time so small files overlap their I/O; results keep the order. */
export async function hashModelFiles(files: readonly ModelFile[], concurrency = 8): Promise<HashedFile[]> {
  const out: HashedFile[] = new Array(files.length);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      out[i] = await hashFile(files[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return out;
}
