/**
 * Ed25519 signing keys (RFC 8032, node:crypto) as PEM files: PKCS#8 private key (mode 0600) and
 * SPKI public key. The key id is the hex SHA-256 of the public key's SPKI DER, so anyone holding
 * the .pub file can compute it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AegisInputError } from '../../core/errors.js';
import { sha256Hex } from './digest.js';

export interface SigningKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
}

export interface WrittenKeyPair {
  privatePath: string;
  publicPath: string;
  keyId: string;
}

/** Hex SHA-256 of the SPKI DER encoding of an Ed25519 public (or private) key. */
export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return sha256Hex(publicKey.export({ format: 'der', type: 'spki' }));
}

export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function publicKeyPem(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ format: 'pem', type: 'spki' }).toString();
}

/** A plain file name: no folders, no leading dot, nothing a shell or path join could misread. */
function checkKeyName(name: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(name)) {
    throw new AegisInputError(`key name '${name}' must be a plain file name (letters, digits, '.', '_', '-')`);
  }
}

/**
 * Writes `<name>.key` (private, mode 0600) and `<name>.pub` into `dir`. Refuses to replace either
 * file unless `force`, and checks both before writing so a refusal leaves nothing half-written.
 */
export function writeKeyPair(
  pair: SigningKeyPair,
  dir: string,
  options: { name?: string; force?: boolean } = {},
): WrittenKeyPair {
  const name = options.name ?? 'aegis';
  checkKeyName(name);
  const privatePath = join(dir, `${name}.key`);
  const publicPath = join(dir, `${name}.pub`);
  if (!options.force) {
    const existing = [privatePath, publicPath].filter((p) => existsSync(p));
    if (existing.length > 0) {
      const verb = existing.length === 1 ? 'exists' : 'exist';
      throw new AegisInputError(`${existing.join(' and ')} already ${verb}; pass --force to replace the key pair`);
    }
  }
  try {
    mkdirSync(dir, { recursive: true });
    const flag = options.force ? 'w' : 'wx';
    writeFileSync(privatePath, privateKeyPem(pair.privateKey), { mode: 0o600, flag });
    // `mode` only applies when the file is created; a forced overwrite must tighten it too.
    chmodSync(privatePath, 0o600);
    writeFileSync(publicPath, publicKeyPem(pair.publicKey), { mode: 0o644, flag });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new AegisInputError(`cannot write the key pair into '${dir}' (${code})`, { cause: error });
  }
  return { privatePath, publicPath, keyId: pair.keyId };
}

/** The label of the first PEM block (`PRIVATE KEY`, `PUBLIC KEY`, `RSA PRIVATE KEY` …), if any. */
function pemLabel(text: string): string | undefined {
  return /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
}

function readKeyText(path: string, role: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new AegisInputError(`cannot read the ${role} key '${path}' (${code})`, { cause: error });
  }
}

function requireEd25519(key: KeyObject, path: string): void {
  if (key.asymmetricKeyType !== 'ed25519') {
    const kind = (key.asymmetricKeyType ?? 'unknown').toUpperCase();
    throw new AegisInputError(
      `'${path}' holds a key of type ${kind}; aegis signs with Ed25519 keys (create one with 'aegis keygen')`,
    );
  }
}

/** Reads an Ed25519 private key (PKCS#8 PEM, or any unencrypted PEM private key node:crypto reads). */
export function readPrivateKey(path: string): KeyObject {
  const text = readKeyText(path, 'private');
  const label = pemLabel(text);
  if (label === undefined) throw new AegisInputError(`'${path}' is not a PEM key file (no '-----BEGIN' line)`);
  if (label === 'PUBLIC KEY' || label === 'CERTIFICATE') {
    throw new AegisInputError(`'${path}' holds a public key; signing needs the private key (the .key file)`);
  }
  if (label === 'ENCRYPTED PRIVATE KEY') {
    throw new AegisInputError(`'${path}' is an encrypted private key; aegis reads unencrypted PKCS#8 keys only`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(text);
  } catch (error) {
    throw new AegisInputError(`'${path}' is not a readable private key (${(error as Error).message})`, {
      cause: error,
    });
  }
  requireEd25519(key, path);
  return key;
}

/** Reads an Ed25519 public key (SPKI PEM). A private key is refused: verifiers hold only the .pub. */
export function readPublicKey(path: string): KeyObject {
  const text = readKeyText(path, 'public');
  const label = pemLabel(text);
  if (label === undefined) throw new AegisInputError(`'${path}' is not a PEM key file (no '-----BEGIN' line)`);
  if (label.includes('PRIVATE KEY')) {
    throw new AegisInputError(`'${path}' is a private key; verify with the public key (the .pub file)`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch (error) {
    throw new AegisInputError(`'${path}' is not a readable public key (${(error as Error).message})`, {
      cause: error,
    });
  }
  requireEd25519(key, path);
  return key;
}
