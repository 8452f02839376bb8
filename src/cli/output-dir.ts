/**
 * Output folders of long-running commands (`--out`, `--report`): made before the work starts, so a
 * path that cannot be used (it is a file, lies under a file, permission denied) is one clear input
 * error up front instead of a raw fs error after minutes of training.
 */
import { mkdirSync } from 'node:fs';
import { AegisInputError } from '../core/errors.js';

const REASONS: Record<string, string> = {
  EEXIST: 'it is a file, not a folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
};

/** Makes `dir` (and its parents) when missing; throws AegisInputError naming the flag and `dir` otherwise. */
export function ensureOutputDir(flag: string, dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new AegisInputError(`${flag} ${dir}: cannot write there (${REASONS[code] ?? code})`, { cause: error });
  }
}
