/**
 * Interoperability with OpenSSL: an aegis signature is a plain Ed25519 signature over the DSSE PAE
 * bytes, so `openssl pkeyutl -verify -rawin` accepts it; and an OpenSSL-generated Ed25519 key signs
 * models that aegis verifies. Skipped (with the reason) when openssl is not installed.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pae } from '../../../src/defenses/lineage/dsse.js';
import { signArtifact } from '../../../src/defenses/lineage/sign-artifact.js';
import { readSignatureFile } from '../../../src/defenses/lineage/signature-file.js';
import {
  generateSigningKeyPair,
  keyIdOf,
  readPrivateKey,
  readPublicKey,
  writeKeyPair,
} from '../../../src/defenses/lineage/signing-keys.js';
import { verifyArtifact } from '../../../src/defenses/lineage/verify-artifact.js';

function opensslVersion(): string | undefined {
  const run = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

const version = opensslVersion();
const skip = version === undefined ? 'openssl is not installed on this machine' : false;
let dir: string;

function opensslVerify(publicKey: string, data: string, sig: string): { ok: boolean; output: string } {
  const run = spawnSync(
    'openssl',
    ['pkeyutl', '-verify', '-pubin', '-inkey', publicKey, '-rawin', '-in', data, '-sigfile', sig],
    { encoding: 'utf8' },
  );
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-openssl-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe(`interop with ${version ?? 'openssl'}`, { skip }, () => {
  test('openssl pkeyutl verifies the envelope signature over the PAE bytes, and rejects altered bytes', async () => {
    const model = join(dir, 'model');
    mkdirSync(model);
    writeFileSync(join(model, 'weights.bin'), Buffer.alloc(4096, 7));
    const keys = writeKeyPair(generateSigningKeyPair(), join(dir, 'keys'));
    await signArtifact(model, { privateKey: readPrivateKey(keys.privatePath) });
    const envelope = readSignatureFile(join(model, 'model.sig'));
    const paePath = join(dir, 'pae.bin');
    const sigPath = join(dir, 'sig.bin');
    writeFileSync(paePath, pae(envelope.payloadType, Buffer.from(envelope.payload, 'base64')));
    writeFileSync(sigPath, Buffer.from(envelope.signatures[0].sig, 'base64'));
    const good = opensslVerify(keys.publicPath, paePath, sigPath);
    assert.ok(good.ok, good.output);
    assert.match(good.output, /Signature Verified Successfully/);

    const altered = readFileSync(paePath);
    altered[altered.length - 3] ^= 1;
    writeFileSync(paePath, altered);
    assert.equal(opensslVerify(keys.publicPath, paePath, sigPath).ok, false);
  });

  test('an Ed25519 key made by openssl genpkey signs a model that aegis verifies', async () => {
    const privatePath = join(dir, 'openssl.key');
    const publicPath = join(dir, 'openssl.pub');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', privatePath]);
    execFileSync('openssl', ['pkey', '-in', privatePath, '-pubout', '-out', publicPath]);
    const model = join(dir, 'model2');
    mkdirSync(model);
    writeFileSync(join(model, 'w.bin'), 'weights');
    const privateKey = readPrivateKey(privatePath);
    const publicKey = readPublicKey(publicPath);
    assert.equal(keyIdOf(privateKey), keyIdOf(publicKey));
    await signArtifact(model, { privateKey });
    assert.equal((await verifyArtifact(model, { publicKey })).valid, true);
  });
});
