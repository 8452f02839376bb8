import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import {
  generateSigningKeyPair,
  keyIdOf,
  readPrivateKey,
  readPublicKey,
  writeKeyPair,
} from '../../../src/defenses/lineage/signing-keys.js';

let dir: string;

function throwsInput(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AegisInputError, `expected AegisInputError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-keys-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('Ed25519 signing keys', () => {
  test('written PEM files read back to the same key pair; key id is SHA-256 of the SPKI DER', () => {
    const pair = generateSigningKeyPair();
    const written = writeKeyPair(pair, join(dir, 'round'), { name: 'team' });
    assert.equal(written.privatePath, join(dir, 'round', 'team.key'));
    assert.equal(written.publicPath, join(dir, 'round', 'team.pub'));
    assert.match(readFileSync(written.privatePath, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    assert.match(readFileSync(written.publicPath, 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
    assert.equal(statSync(written.privatePath).mode & 0o777, 0o600);

    const privateKey = readPrivateKey(written.privatePath);
    const publicKey = readPublicKey(written.publicPath);
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    assert.equal(written.keyId, createHash('sha256').update(spki).digest('hex'));
    assert.equal(keyIdOf(privateKey), written.keyId);
    const message = Buffer.from('weights');
    assert.ok(verify(null, message, publicKey, sign(null, message, privateKey)));
  });

  test('refuses to overwrite an existing pair unless forced; a forced key file stays mode 0600', () => {
    const out = join(dir, 'overwrite');
    const first = writeKeyPair(generateSigningKeyPair(), out);
    throwsInput(() => writeKeyPair(generateSigningKeyPair(), out), /already exist.*--force/);
    assert.equal(keyIdOf(readPublicKey(first.publicPath)), first.keyId, 'the refused write left the old pair');
    writeFileSync(first.privatePath, 'x', { mode: 0o644 });
    const second = writeKeyPair(generateSigningKeyPair(), out, { force: true });
    assert.notEqual(second.keyId, first.keyId);
    assert.equal(keyIdOf(readPrivateKey(second.privatePath)), second.keyId);
    assert.equal(statSync(second.privatePath).mode & 0o777, 0o600);
  });

  test('a name with a folder in it is refused', () => {
    throwsInput(() => writeKeyPair(generateSigningKeyPair(), dir, { name: '../evil' }), /plain file name/);
  });

  test('a public key where the private key is needed, and the reverse, are refused by name', () => {
    const written = writeKeyPair(generateSigningKeyPair(), join(dir, 'swap'));
    throwsInput(() => readPrivateKey(written.publicPath), /holds a public key.*private key/);
    throwsInput(() => readPublicKey(written.privatePath), /is a private key.*public key/);
  });

  test('RSA keys are refused with their type named', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const privatePath = join(dir, 'rsa.key');
    const publicPath = join(dir, 'rsa.pub');
    writeFileSync(privatePath, rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    writeFileSync(publicPath, rsa.publicKey.export({ format: 'pem', type: 'spki' }));
    throwsInput(() => readPrivateKey(privatePath), /type RSA; aegis signs with Ed25519/);
    throwsInput(() => readPublicKey(publicPath), /type RSA; aegis signs with Ed25519/);
  });

  test('missing, non-PEM, corrupt and encrypted key files get one clear message each', () => {
    throwsInput(() => readPrivateKey(join(dir, 'nope.key')), /cannot read the private key .*ENOENT/);
    throwsInput(() => readPublicKey(join(dir, 'nope.pub')), /cannot read the public key .*ENOENT/);
    const text = join(dir, 'text.key');
    writeFileSync(text, 'not a key at all\n');
    throwsInput(() => readPrivateKey(text), /not a PEM key file/);
    const corrupt = join(dir, 'corrupt.pub');
    writeFileSync(corrupt, '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
    throwsInput(() => readPublicKey(corrupt), /not a readable public key/);
    const encrypted = join(dir, 'encrypted.key');
    const pair = generateKeyPairSync('ed25519');
    writeFileSync(
      encrypted,
      pair.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }),
    );
    throwsInput(() => readPrivateKey(encrypted), /encrypted private key/);
  });
});
