/**
 * The gateway's data directory (`aegis.db`, `audit.journal`): created when missing; a path that is
 * a file, lies under a file, or cannot be created is one clear input error, never a raw fs error.
 */
import { AegisInputError } from '../core/errors.js';
import { makeDirectory } from '../core/make-directory.js';

/** Makes `dir` (and its parents) when missing; throws AegisInputError naming `dir` when it cannot be used. */
export function ensureDataDir(dir: string): void {
  if (dir === '') throw new AegisInputError('the data directory is an empty string; give a path');
  const reason = makeDirectory(dir, 'directory');
  if (reason !== null) throw new AegisInputError(`the data directory '${dir}' cannot be used: ${reason}`);
}
