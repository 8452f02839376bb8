/**
 * Signing and verifying model files and folders: a round trip passes, and every kind of tampering
 * (one byte changed, a file added, removed or renamed, a wrong key, an edited envelope, a link out
 * of the folder) fails with the matching reason.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { type DsseEnvelope, signEnvelope } from '../../../src/defenses/lineage/dsse.js';
import { IN_TOTO_PAYLOAD_TYPE, parseStatement } from '../../../src/defenses/lineage/in-toto.js';
import { signArtifact } from '../../../src/defenses/lineage/sign-artifact.js';
import { generateSigningKeyPair } from '../../../src/defenses/lineage/signing-keys.js';
import { verifyArtifact } from '../../../src/defenses/lineage/verify-artifact.js';
import { rejectsWithInputError } from '../../helpers/assertions.js';

const pair = generateSigningKeyPair();
const otherPair = generateSigningKeyPair();
let base: string;
let model: string;
let counter = 0;

function bytes(n: number, seed: number): Buffer {
  const rng = new Rng(seed);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rng.next() * 256);
  return out;
}

/** A fresh model folder: weights, config, a nested tokenizer and git metadata. */
function makeModel(): string {
  const dir = join(base, `model-${counter++}`);
  mkdirSync(join(dir, 'tokenizer'), { recursive: true });
  mkdirSync(join(dir, '.git'));
  writeFileSync(join(dir, 'weights.bin'), bytes(50_000, 1));
  writeFileSync(join(dir, 'config.json'), '{"layers": 4}\n');
  writeFileSync(join(dir, 'tokenizer', 'vocab.txt'), 'a\nb\nc\n');
  writeFileSync(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  return dir;
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const verifyWith = (target: string, publicKey = pair.publicKey, signaturePath?: string) =>
  verifyArtifact(target, { publicKey, signaturePath });

before(() => {
  base = mkdtempSync(join(tmpdir(), 'aegis-sign-'));
});
after(() => rmSync(base, { recursive: true, force: true }));

describe('signing a model folder', () => {
  beforeEach(async () => {
    model = makeModel();
    await signArtifact(model, { privateKey: pair.privateKey });
  });

  test('writes model.sig inside: one subject per file, relative names, streamed SHA-256 digests', async () => {
    const envelope = JSON.parse(readFileSync(join(model, 'model.sig'), 'utf8')) as DsseEnvelope;
    assert.equal(envelope.payloadType, IN_TOTO_PAYLOAD_TYPE);
    assert.equal(envelope.signatures[0].keyid, pair.keyId);
    const parsed = parseStatement(Buffer.from(envelope.payload, 'base64'));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.statement.subject, [
      { name: 'config.json', digest: { sha256: sha256(join(model, 'config.json')) } },
      { name: 'tokenizer/vocab.txt', digest: { sha256: sha256(join(model, 'tokenizer', 'vocab.txt')) } },
      { name: 'weights.bin', digest: { sha256: sha256(join(model, 'weights.bin')) } },
    ]);
    assert.deepEqual(parsed.statement.predicate.serialization, {
      method: 'files',
      hash_type: 'sha256',
      allow_symlinks: false,
      ignore_paths: ['.git', '.gitattributes', '.github', '.gitignore', 'model.sig'],
    });
  });

  test('the untouched folder verifies, and git metadata is not part of the signature', async () => {
    const report = await verifyWith(model);
    assert.equal(report.valid, true, report.reasons.join('; '));
    assert.equal(report.signatureValid, true);
    assert.equal(report.signedFiles, 3);
    assert.equal(report.keyId, pair.keyId);
    appendFileSync(join(model, '.git', 'HEAD'), 'x');
    assert.equal((await verifyWith(model)).valid, true);
  });

  test('one changed byte fails as "changed" with the file named', async () => {
    const weights = join(model, 'weights.bin');
    const data = readFileSync(weights);
    data[12_345] ^= 0x01;
    writeFileSync(weights, data);
    const report = await verifyWith(model);
    assert.equal(report.valid, false);
    assert.equal(report.signatureValid, true);
    assert.deepEqual(report.changed, ['weights.bin']);
    assert.deepEqual([report.added, report.removed], [[], []]);
    assert.deepEqual(report.reasons, ['changed: weights.bin (SHA-256 differs from the signed digest)']);
  });

  test('an added file fails as "added" (present but not signed)', async () => {
    writeFileSync(join(model, 'tokenizer', 'merges.txt'), 'a b\n');
    const report = await verifyWith(model);
    assert.equal(report.valid, false);
    assert.deepEqual(report.added, ['tokenizer/merges.txt']);
    assert.deepEqual([report.changed, report.removed], [[], []]);
  });

  test('a removed file fails as "removed"', async () => {
    unlinkSync(join(model, 'config.json'));
    const report = await verifyWith(model);
    assert.equal(report.valid, false);
    assert.deepEqual(report.removed, ['config.json']);
    assert.deepEqual(report.reasons, ['removed: config.json (signed but missing)']);
  });

  test('a renamed file fails as the old name removed and the new one added', async () => {
    renameSync(join(model, 'weights.bin'), join(model, 'weights-v2.bin'));
    const report = await verifyWith(model);
    assert.equal(report.valid, false);
    assert.deepEqual(report.removed, ['weights.bin']);
    assert.deepEqual(report.added, ['weights-v2.bin']);
    assert.deepEqual(report.changed, []);
  });

  test('a wrong public key fails on the signature and reports nothing about the files', async () => {
    writeFileSync(join(model, 'extra.bin'), 'x');
    const report = await verifyWith(model, otherPair.publicKey);
    assert.equal(report.valid, false);
    assert.equal(report.signatureValid, false);
    assert.deepEqual(report.added, [], 'an unauthenticated statement is not read');
    assert.match(report.reasons[0], new RegExp(`does not verify with key id ${otherPair.keyId}.*${pair.keyId}`));
  });

  test('an edited payload (a digest swapped for the tampered file) or signature fails', async () => {
    const sigPath = join(model, 'model.sig');
    const envelope = JSON.parse(readFileSync(sigPath, 'utf8')) as DsseEnvelope;
    writeFileSync(join(model, 'weights.bin'), 'backdoored weights');
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    statement.subject[2].digest.sha256 = sha256(join(model, 'weights.bin'));
    const forged = { ...envelope, payload: Buffer.from(JSON.stringify(statement)).toString('base64') };
    writeFileSync(sigPath, JSON.stringify(forged));
    const report = await verifyWith(model);
    assert.equal(report.signatureValid, false);
    assert.equal(report.valid, false);

    const sig = Buffer.from(envelope.signatures[0].sig, 'base64');
    sig[0] ^= 0x80;
    writeFileSync(sigPath, JSON.stringify({ ...envelope, signatures: [{ sig: sig.toString('base64') }] }));
    assert.equal((await verifyWith(model)).signatureValid, false);
  });

  test('a validly signed envelope of another payload type, or of a non-model statement, fails', async () => {
    const sigPath = join(model, 'model.sig');
    const body = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');
    writeFileSync(sigPath, JSON.stringify(signEnvelope('application/json', body, pair.privateKey, pair.keyId)));
    const wrongType = await verifyWith(model);
    assert.equal(wrongType.signatureValid, true);
    assert.match(wrongType.reasons.join(), /payload: type is 'application\/json'/);

    writeFileSync(sigPath, JSON.stringify(signEnvelope(IN_TOTO_PAYLOAD_TYPE, body, pair.privateKey, pair.keyId)));
    const shapeless = await verifyWith(model);
    assert.equal(shapeless.valid, false);
    assert.match(shapeless.reasons.join(), /statement: .*subject/);
  });

  test('a symbolic link out of the folder is reported as refused', async () => {
    const outside = join(base, `outside-${counter++}.txt`);
    writeFileSync(outside, 'secret');
    symlinkSync(outside, join(model, 'link.bin'));
    const report = await verifyWith(model);
    assert.equal(report.valid, false);
    assert.deepEqual(
      report.refused.map((r) => r.name),
      ['link.bin'],
    );
    assert.match(report.reasons.join(), /refused: link.bin is a symbolic link to .*outside the model folder/);
  });

  test('a signature kept outside the folder verifies with --signature', async () => {
    rmSync(join(model, 'model.sig'));
    const elsewhere = join(base, `elsewhere-${counter++}.sig`);
    const signed = await signArtifact(model, { privateKey: pair.privateKey, signaturePath: elsewhere });
    assert.equal(signed.statement.predicate.serialization.ignore_paths.includes('model.sig'), false);
    assert.equal((await verifyWith(model, pair.publicKey, elsewhere)).valid, true);
    await rejectsWithInputError(verifyWith(model), /cannot read the signature .*model.sig/);
  });
});

describe('signing edge cases', () => {
  test('a single file is signed as <file>.sig by its base name, and a change fails', async () => {
    const dir = join(base, `single-${counter++}`);
    mkdirSync(dir);
    const file = join(dir, 'classifier.onnx');
    writeFileSync(file, bytes(1000, 2));
    const result = await signArtifact(file, { privateKey: pair.privateKey });
    assert.equal(result.signaturePath, `${file}.sig`);
    assert.deepEqual(
      result.statement.subject.map((s) => s.name),
      ['classifier.onnx'],
    );
    assert.equal((await verifyWith(file)).valid, true);
    appendFileSync(file, '!');
    assert.deepEqual((await verifyWith(file)).changed, ['classifier.onnx']);
  });

  test('signing refuses links that escape the folder, and links inside unless allowed', async () => {
    const dir = makeModel();
    const outside = join(base, `outside-${counter++}.bin`);
    writeFileSync(outside, 'x');
    symlinkSync(outside, join(dir, 'escape.bin'));
    await rejectsWithInputError(
      signArtifact(dir, { privateKey: pair.privateKey }),
      /cannot sign .*'escape.bin' is a symbolic link to .*outside the model folder/,
    );
    unlinkSync(join(dir, 'escape.bin'));
    symlinkSync('config.json', join(dir, 'alias.json'));
    await rejectsWithInputError(
      signArtifact(dir, { privateKey: pair.privateKey }),
      /'alias.json' is a symbolic link .*--allow-symlinks/,
    );
    const signed = await signArtifact(dir, { privateKey: pair.privateKey, allowSymlinks: true });
    assert.ok(signed.statement.subject.some((s) => s.name === 'alias.json'));
    assert.equal(signed.statement.predicate.serialization.allow_symlinks, true);
    assert.equal((await verifyWith(dir)).valid, true);
    writeFileSync(join(dir, 'config.json'), '{"layers": 5}\n');
    assert.deepEqual((await verifyWith(dir)).changed, ['alias.json', 'config.json']);
  });

  test('extra ignore paths are recorded in the signed statement and honoured when verifying', async () => {
    const dir = makeModel();
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'logs', 'run.txt'), '1');
    const signed = await signArtifact(dir, { privateKey: pair.privateKey, ignorePaths: ['logs/'] });
    assert.ok(signed.statement.predicate.serialization.ignore_paths.includes('logs'));
    writeFileSync(join(dir, 'logs', 'run2.txt'), '2');
    assert.equal((await verifyWith(dir)).valid, true);
    await rejectsWithInputError(signArtifact(dir, { privateKey: pair.privateKey, ignorePaths: ['../x'] }), /ignore/);
  });

  test('missing targets, empty folders and unreadable signatures are input errors', async () => {
    await rejectsWithInputError(signArtifact(join(base, 'absent'), { privateKey: pair.privateKey }), /ENOENT/);
    const empty = join(base, `empty-${counter++}`);
    mkdirSync(join(empty, '.git'), { recursive: true });
    await rejectsWithInputError(signArtifact(empty, { privateKey: pair.privateKey }), /holds no files to sign/);
    assert.equal(existsSync(join(empty, 'model.sig')), false);
    const dir = makeModel();
    await rejectsWithInputError(verifyWith(dir), /cannot read the signature .*model.sig.*ENOENT/);
    writeFileSync(join(dir, 'model.sig'), '{"payload": "e30=", "payloadType": "x"}');
    await rejectsWithInputError(verifyWith(dir), /not a DSSE envelope: 'signatures'/);
  });
});
