/**
 * Finding locations are relative to the file on disk a FileScan names: 'byte 120 (GLOBAL)' in
 * a plain pickle, 'archive/data.pkl @ byte 120 (GLOBAL)' inside a zip, 'inner.zip!/x.pkl …'
 * for nested archives. A ScanContext's path is '<file>!/<entry>' below the top level.
 */
import type { ScanContext } from './finding.js';

/** The part of a context path inside the top-level file, or undefined at the top level. */
export function innerPath(path: string): string | undefined {
  const i = path.indexOf('!/');
  return i < 0 ? undefined : path.slice(i + 2);
}

/** 'what' at the top level, '<entry> @ what' inside an archive. */
export function locate(context: ScanContext, what: string): string {
  const inner = innerPath(context.path);
  return inner === undefined ? what : `${inner} @ ${what}`;
}

/** An archive entry's location: its name, prefixed by the archive's own path when nested. */
export function entryLocation(context: ScanContext, name: string): string {
  const inner = innerPath(context.path);
  return inner === undefined ? name : `${inner}!/${name}`;
}

/** The archive itself. */
export function archiveLocation(context: ScanContext): string {
  return innerPath(context.path) ?? 'archive';
}
