/**
 * Verifies a model against its signature (OpenSSF model signing style, DSSE + in-toto): the
 * envelope must verify with the trusted Ed25519 key, carry an in-toto model signing statement, and
 * its subjects must equal the files on disk exactly — any changed, added or removed file fails.
 */
import type { KeyObject } from 'node:crypto';
import { verifyEnvelope } from './dsse.js';
import { IN_TOTO_PAYLOAD_TYPE, type ModelStatement, parseStatement } from './in-toto.js';
import { hashModelFiles, listModelFiles, type ModelFile, modelKind, nameInsideModel } from './model-files.js';
import { defaultSignaturePath, readSignatureFile } from './signature-file.js';
import { keyIdOf } from './signing-keys.js';

export interface VerifyOptions {
  publicKey: KeyObject;
  /** The envelope to check (default: `<dir>/model.sig` or `<file>.sig`). */
  signaturePath?: string;
}

export interface VerifyReport {
  valid: boolean;
  target: string;
  signaturePath: string;
  /** Key id (SHA-256 of the SPKI DER) of the key verified against. */
  keyId: string;
  /** The envelope's signature verified with that key. */
  signatureValid: boolean;
  /** Files the statement names (0 when the signature or statement is invalid). */
  signedFiles: number;
  /** Signed files whose SHA-256 differs from the one signed. */
  changed: string[];
  /** Files on disk the signature does not cover. */
  added: string[];
  /** Signed files that are no longer on disk. */
  removed: string[];
  /** Entries that cannot belong to a signed model (e.g. a symbolic link out of the folder). */
  refused: { name: string; reason: string }[];
  /** Every reason the verification failed, one line each; empty when valid. */
  reasons: string[];
}

interface FileComparison {
  changed: string[];
  added: string[];
  removed: string[];
}

/** Hashes only the files the statement names and compares them with the signed digests. */
async function compareWithStatement(
  files: readonly ModelFile[],
  refusedNames: ReadonlySet<string>,
  statement: ModelStatement,
): Promise<FileComparison> {
  const signed = new Map(statement.subject.map((s) => [s.name, s.digest.sha256]));
  const onDisk = new Set(files.map((f) => f.name));
  const added = files.filter((f) => !signed.has(f.name)).map((f) => f.name);
  const removed = [...signed.keys()].filter((name) => !onDisk.has(name) && !refusedNames.has(name));
  const hashed = await hashModelFiles(files.filter((f) => signed.has(f.name)));
  const changed = hashed.filter((f) => signed.get(f.name) !== f.sha256).map((f) => f.name);
  return { changed, added, removed };
}

function withReasons(base: Omit<VerifyReport, 'valid' | 'reasons'>, reasons: string[]): VerifyReport {
  return { valid: reasons.length === 0, ...base, reasons };
}

/**
 * Verifies `target` (a model file or folder). An unreadable or malformed signature file, or a
 * missing target, throws AegisInputError; every other problem is a reason in the report.
 */
export async function verifyArtifact(target: string, options: VerifyOptions): Promise<VerifyReport> {
  const signaturePath = options.signaturePath ?? defaultSignaturePath(target);
  const envelope = readSignatureFile(signaturePath);
  const kind = modelKind(target);
  const keyId = keyIdOf(options.publicKey);
  const base = {
    target,
    signaturePath,
    keyId,
    signatureValid: false,
    signedFiles: 0,
    changed: [],
    added: [],
    removed: [],
    refused: [],
  };
  const checked = verifyEnvelope(envelope, options.publicKey);
  if (!checked.verified) {
    const hint = checked.keyids.length > 0 ? ` (the envelope names key id ${checked.keyids.join(', ')})` : '';
    return withReasons(base, [`signature: does not verify with key id ${keyId}${hint}`]);
  }
  const signedBase = { ...base, signatureValid: true };
  if (checked.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return withReasons(signedBase, [`payload: type is '${checked.payloadType}', expected '${IN_TOTO_PAYLOAD_TYPE}'`]);
  }
  const parsed = parseStatement(checked.payload);
  if (!parsed.ok) return withReasons(signedBase, [`statement: ${parsed.reason}`]);
  const { statement } = parsed;
  const serialization = statement.predicate.serialization;
  const ignorePaths = [...serialization.ignore_paths];
  if (kind === 'directory') {
    const own = nameInsideModel(target, signaturePath);
    if (own !== undefined) ignorePaths.push(own);
  }
  const listing = listModelFiles(target, { allowSymlinks: serialization.allow_symlinks, ignorePaths });
  const refusedNames = new Set(listing.refused.map((r) => r.name));
  const { changed, added, removed } = await compareWithStatement(listing.files, refusedNames, statement);
  const reasons = [
    ...changed.map((name) => `changed: ${name} (SHA-256 differs from the signed digest)`),
    ...added.map((name) => `added: ${name} (present but not signed)`),
    ...removed.map((name) => `removed: ${name} (signed but missing)`),
    ...listing.refused.map((r) => `refused: ${r.name} ${r.reason}`),
  ];
  return withReasons(
    { ...signedBase, signedFiles: statement.subject.length, changed, added, removed, refused: listing.refused },
    reasons,
  );
}
