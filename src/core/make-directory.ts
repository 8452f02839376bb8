/**
 * Makes a directory (and its parents) for a command, turning fs errors into a reason a user can act
 * on: a path that is a file, lies under a file, or cannot be written.
 */
import { mkdirSync } from 'node:fs';

/** What the user calls it in the message: the gateway says directory, the training commands folder. */
export type DirectoryNoun = 'directory' | 'folder';

function reasonOf(code: string, noun: DirectoryNoun): string {
  switch (code) {
    case 'EEXIST':
      return `it is a file, not a ${noun}`;
    case 'ENOTDIR':
      return `a part of the path is a file, not a ${noun}`;
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return code;
  }
}

/** Makes `dir` when missing; null when it is usable, else why not. */
export function makeDirectory(dir: string, noun: DirectoryNoun): string | null {
  try {
    mkdirSync(dir, { recursive: true });
    return null;
  } catch (error) {
    return reasonOf((error as NodeJS.ErrnoException).code ?? String(error), noun);
  }
}
