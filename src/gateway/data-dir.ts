/**
 * The gateway's data directory (`aegis.db`, `audit.journal`): created when missing; a path that is
 * a file, lies under a file, or cannot be created is one clear input error, never a raw fs error.
 */
import { mkdirSync } from 'node:fs';
import { AegisInputError } from '../core/errors.js';

const REASONS: Record<string, string> = {
  EEXIST: 'it is a file, not a directory',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
};

/** Makes `dir` (and its parents) when missing; throws AegisInputError naming `dir` when it cannot be used. */
export function ensureDataDir(dir: string): void {
  if (dir === '') throw new AegisInputError('the data directory is an empty string; give a path');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    throw new AegisInputError(`the data directory '${dir}' cannot be used: ${REASONS[code] ?? code}`);
  }
}
