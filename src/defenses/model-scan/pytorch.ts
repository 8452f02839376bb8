/**
 * PyTorch checkpoints. torch.save (since 1.6) writes a zip: '<name>/data.pkl' is the pickle
 * that torch.load unpickles (tensors are persistent ids pointing at '<name>/data/<key>'
 * storage entries, which are raw bytes and are not read). TorchScript archives add
 * 'constants.pkl' and 'code/'. The legacy format (torch.save with
 * _use_new_zipfile_serialization=False) is five pickles back to back — magic number,
 * protocol version, sys info, the object, the storage keys — followed by raw storage data.
 */
import { forwardReader } from './file-source.js';
import type { ByteSource, Finding, ScanContext } from './finding.js';
import { archiveLocation } from './location.js';
import { scanPickleStream } from './pickle-scan.js';

/** pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2): torch.serialization.MAGIC_NUMBER. */
export const LEGACY_TORCH_MAGIC = Uint8Array.from([
  0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
]);

export function isLegacyTorch(head: Uint8Array): boolean {
  return head.length >= LEGACY_TORCH_MAGIC.length && LEGACY_TORCH_MAGIC.every((b, i) => head[i] === b);
}

/** The five pickles of a legacy torch.save file; the raw storages after them are not read. */
export function scanLegacyTorch(source: ByteSource, context: ScanContext): Finding[] {
  return scanPickleStream(forwardReader(source), context, { pickles: 5 }).findings;
}

export type TorchEntryRole = 'pickle' | 'storage' | 'code' | 'other';

/** True when a zip's entry names are those of a torch.save or TorchScript archive. */
export function isTorchArchive(names: readonly string[]): boolean {
  return names.some((n) => /(^|\/)(data|constants)\.pkl$/.test(n));
}

/** What an entry of a PyTorch archive is: a pickle to scan, tensor storage, TorchScript code, or something else. */
export function torchEntryRole(name: string): TorchEntryRole {
  if (/\.pkl$/.test(name)) return 'pickle';
  if (/(^|\/)data\/[^/]+$/.test(name)) return 'storage';
  if (/(^|\/)code\//.test(name)) return 'code';
  return 'other';
}

/** The TorchScript note for an archive with code/ entries. */
export function torchScriptFinding(context: ScanContext, count: number): Finding {
  return {
    severity: 'info',
    rule: 'pytorch/torchscript',
    message: `TorchScript archive: ${count} code/ entries are compiled by torch.jit.load (not scanned as pickles)`,
    location: archiveLocation(context),
  };
}
