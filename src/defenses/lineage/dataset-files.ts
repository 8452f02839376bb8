/**
 * The files that make up a dataset: the file itself, or every regular file under a folder
 * (recursively, skipping hidden entries such as .git or .DS_Store, and not following symlinked
 * folders, which could loop), as '/'-separated relative paths in canonical (UTF-8 byte) order.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { AegisInputError } from '../../core/errors.js';
import { comparePaths } from './manifest.js';

export interface DatasetFiles {
  kind: 'file' | 'directory';
  /** Absolute folder the relative paths start from. */
  root: string;
  /** Relative '/'-separated paths, sorted. */
  paths: string[];
}

function walk(dir: string, root: string, exclude: Set<string>, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (exclude.has(full)) continue;
    if (entry.isDirectory()) walk(full, root, exclude, out);
    else if (entry.isFile() || (entry.isSymbolicLink() && statSync(full, { throwIfNoEntry: false })?.isFile())) {
      out.push(relative(root, full).split(sep).join('/'));
    }
  }
}

/** Lists the dataset at `path`; `exclude` holds absolute paths to leave out (the manifest and its sidecar). */
export function listDatasetFiles(path: string, exclude: readonly string[] = []): DatasetFiles {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new AegisInputError(`dataset '${path}' does not exist`);
  const stat = statSync(abs);
  if (stat.isFile()) return { kind: 'file', root: resolve(abs, '..'), paths: [basename(abs)] };
  if (!stat.isDirectory()) throw new AegisInputError(`dataset '${path}' is neither a file nor a folder`);
  const paths: string[] = [];
  try {
    walk(abs, abs, new Set(exclude.map((p) => resolve(p))), paths);
  } catch (error) {
    throw new AegisInputError(`cannot list dataset folder '${path}': ${(error as Error).message}`, { cause: error });
  }
  return { kind: 'directory', root: abs, paths: paths.sort(comparePaths) };
}
