/**
 * Signs a model file or folder in the spirit of OpenSSF model signing (sigstore/model-transparency):
 * SHA-256 of every file → in-toto Statement v1 → DSSE envelope signed with Ed25519.
 */
import type { KeyObject } from 'node:crypto';
import { AegisInputError } from '../../core/errors.js';
import { type DsseEnvelope, signEnvelope } from './dsse.js';
import {
  buildStatement,
  type FileSerialization,
  IN_TOTO_PAYLOAD_TYPE,
  isRelativeModelPath,
  type ModelStatement,
  statementBytes,
} from './in-toto.js';
import { GIT_PATHS, hashModelFiles, listModelFiles, modelKind, nameInsideModel } from './model-files.js';
import { defaultSignaturePath, writeSignatureFile } from './signature-file.js';
import { keyIdOf } from './signing-keys.js';

export interface SignOptions {
  privateKey: KeyObject;
  /** Where to write the envelope (default: `<dir>/model.sig` or `<file>.sig`). */
  signaturePath?: string;
  /** More paths to leave out, relative to the model folder. */
  ignorePaths?: readonly string[];
  /** Leave out .git, .gitattributes, .github and .gitignore (default true, as model_signing). */
  ignoreGitPaths?: boolean;
  /** Follow symbolic links to files inside the model folder (default false: refuse them). */
  allowSymlinks?: boolean;
}

export interface SignResult {
  signaturePath: string;
  keyId: string;
  files: number;
  bytes: number;
  statement: ModelStatement;
  envelope: DsseEnvelope;
}

function normalizeIgnorePath(path: string): string {
  const name = path.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/+$/, '');
  if (!isRelativeModelPath(name)) {
    throw new AegisInputError(`ignore path '${path}' must be a relative path inside the model folder`);
  }
  return name;
}

/** Builds the statement for a model and signs it; writes the envelope to the signature path. */
export async function signArtifact(target: string, options: SignOptions): Promise<SignResult> {
  const signaturePath = options.signaturePath ?? defaultSignaturePath(target);
  const ignore = new Set((options.ignorePaths ?? []).map(normalizeIgnorePath));
  if (options.ignoreGitPaths ?? true) for (const p of GIT_PATHS) ignore.add(p);
  const kind = modelKind(target);
  if (kind === 'directory') {
    // The signature must not sign itself (model_signing adds it to the ignored paths as well).
    const own = nameInsideModel(target, signaturePath);
    if (own !== undefined) ignore.add(own);
  }
  const allowSymlinks = options.allowSymlinks ?? false;
  const ignorePaths = kind === 'directory' ? [...ignore] : [];
  const listing = listModelFiles(target, { allowSymlinks, ignorePaths });
  if (listing.refused.length > 0) {
    const first = listing.refused[0];
    const more = listing.refused.length > 1 ? ` (and ${listing.refused.length - 1} more)` : '';
    throw new AegisInputError(`cannot sign '${target}': '${first.name}' ${first.reason}${more}`);
  }
  if (listing.files.length === 0) throw new AegisInputError(`'${target}' holds no files to sign`);
  const hashed = await hashModelFiles(listing.files);
  const serialization: FileSerialization = {
    method: 'files',
    hash_type: 'sha256',
    allow_symlinks: allowSymlinks,
    ignore_paths: ignorePaths,
  };
  const statement = buildStatement(hashed, serialization);
  const keyId = keyIdOf(options.privateKey);
  const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementBytes(statement), options.privateKey, keyId);
  writeSignatureFile(signaturePath, envelope);
  const bytes = hashed.reduce((sum, f) => sum + f.bytes, 0);
  return { signaturePath, keyId, files: hashed.length, bytes, statement, envelope };
}
