/**
 * NumPy .npz files: a zip archive of .npy files, one per named array (np.savez, stored;
 * np.savez_compressed, deflated). Written deflated, like np.savez_compressed.
 */
import { unzipSync, zipSync } from 'fflate';
import { AegisInputError } from '../core/errors.js';
import { type NdArray, readBytes, readNpy, writeBytes, writeNpy } from './npy.js';

export interface ReadNpzOptions {
  /** Read only these arrays (names without '.npy'); a missing one is an error. */
  only?: string[];
}

/** Parses .npz bytes into arrays keyed by entry name without '.npy'. Non-.npy entries are skipped. */
export function readNpz(
  bytes: Uint8Array,
  source = '<npz bytes>',
  options: ReadNpzOptions = {},
): Record<string, NdArray> {
  const only = options.only ? new Set(options.only.map((n) => `${n}.npy`)) : undefined;
  // A local file header, or the end record alone for an empty archive.
  const isZip = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 3 || bytes[2] === 5);
  if (!isZip) {
    throw new AegisInputError(`${source}: not a .npz file (it does not start with the zip signature PK\\x03\\x04)`);
  }
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: (f) => !only || only.has(f.name) });
  } catch (error) {
    throw new AegisInputError(
      `${source}: corrupt or truncated .npz (zip) archive (${(error as Error).message}, ${bytes.length} bytes)`,
      { cause: error },
    );
  }
  const out: Record<string, NdArray> = {};
  for (const [entry, data] of Object.entries(files)) {
    if (!entry.endsWith('.npy')) continue;
    out[entry.slice(0, -4)] = readNpy(data, `${source}: entry '${entry}'`);
  }
  const absent = (options.only ?? []).filter((n) => !(n in out));
  if (absent.length > 0)
    throw new AegisInputError(`${source}: no array named ${absent.map((n) => `'${n}'`).join(', ')}`);
  if (Object.keys(out).length === 0) {
    const names = Object.keys(files);
    throw new AegisInputError(
      `${source}: the archive holds no .npy arrays${names.length ? ` (entries: ${names.join(', ')})` : ''}`,
    );
  }
  return out;
}

/** Encodes arrays as a deflated .npz (level 6; `level: 0` stores them like np.savez). */
export function writeNpz(arrays: Record<string, NdArray>, options: { level?: 0 | 6 | 9 } = {}): Uint8Array {
  const level = options.level ?? 6;
  const entries: Record<string, [Uint8Array, { level: 0 | 6 | 9 }]> = {};
  for (const [name, arr] of Object.entries(arrays)) {
    if (name === '' || name.includes('/')) throw new AegisInputError(`npz: bad array name '${name}'`);
    entries[`${name}.npy`] = [writeNpy(arr, `npz entry '${name}'`), { level }];
  }
  return zipSync(entries, { mtime: new Date('1980-01-02T00:00:00Z') }); // fixed date: same arrays, same bytes
}

export function readNpzFile(path: string, options: ReadNpzOptions = {}): Record<string, NdArray> {
  return readNpz(readBytes(path), path, options);
}

export function writeNpzFile(path: string, arrays: Record<string, NdArray>, options: { level?: 0 | 6 | 9 } = {}): void {
  writeBytes(path, writeNpz(arrays, options));
}
