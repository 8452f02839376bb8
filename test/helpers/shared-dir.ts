/**
 * The team's shared folder (datasets, the PyTorch baseline) sits beside the checkout as
 * ../shared on developer machines and in CI; users do not have it, so tests that need it
 * skip with a reason. AEGIS_SHARED overrides the location.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export const SHARED_DIR = process.env.AEGIS_SHARED ?? resolve(repoRoot, '..', 'shared');

/** Absolute path of a file under the shared folder. */
export function sharedPath(...parts: string[]): string {
  return join(SHARED_DIR, ...parts);
}

/** undefined when the file exists, else a skip reason for node:test. */
export function skipUnlessShared(...parts: string[]): string | undefined {
  const path = sharedPath(...parts);
  return existsSync(path) ? undefined : `needs ${path} (the team's shared folder; absent here)`;
}
