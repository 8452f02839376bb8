/**
 * Output folders of long-running commands (`--out`, `--report`): made before the work starts, so a
 * path that cannot be used (it is a file, lies under a file, permission denied) is one clear input
 * error up front instead of a raw fs error after minutes of training.
 */
import { AegisInputError } from '../core/errors.js';
import { makeDirectory } from '../core/make-directory.js';

/** Makes `dir` (and its parents) when missing; throws AegisInputError naming the flag and `dir` otherwise. */
export function ensureOutputDir(flag: string, dir: string): void {
  const reason = makeDirectory(dir, 'folder');
  if (reason !== null) throw new AegisInputError(`${flag} ${dir}: cannot write there (${reason})`);
}
