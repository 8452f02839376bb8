/**
 * Where a model's signature lives and how it is read and written. A folder keeps its signature
 * inside as `model.sig` (model_signing's default name, left out of the signed files); a single
 * file gets `<file>.sig` beside it, so several files in one folder can each carry their own.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AegisInputError } from '../../core/errors.js';
import { type DsseEnvelope, envelopeJson, parseEnvelope } from './dsse.js';

export const MODEL_SIGNATURE_NAME = 'model.sig';

/** `<dir>/model.sig` for a folder, `<file>.sig` for a file (a missing target counts as a file). */
export function defaultSignaturePath(target: string): string {
  let isDirectory = false;
  try {
    isDirectory = statSync(target).isDirectory();
  } catch {
    // a missing target is reported by whoever reads it
  }
  return isDirectory ? join(target, MODEL_SIGNATURE_NAME) : `${target}.sig`;
}

/** Reads and parses a signature file; unreadable or malformed files are AegisInputErrors. */
export function readSignatureFile(path: string): DsseEnvelope {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new AegisInputError(`cannot read the signature '${path}' (${code})`, { cause: error });
  }
  return parseEnvelope(text, `signature '${path}'`);
}

export function writeSignatureFile(path: string, envelope: DsseEnvelope): void {
  try {
    writeFileSync(path, envelopeJson(envelope));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new AegisInputError(`cannot write the signature '${path}' (${code})`, { cause: error });
  }
}
