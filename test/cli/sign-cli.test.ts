/**
 * `aegis keygen`, `aegis sign` and `aegis verify` end to end (in-process): exit 0 for a valid
 * model, 1 with the reasons printed when verification fails, 2 when a key or signature cannot be
 * read or parsed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/run-cli.js';

let dir: string;
let keys: string;
let model: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-sign-cli-'));
  keys = join(dir, 'keys');
  model = join(dir, 'model');
  mkdirSync(join(model, 'shards'), { recursive: true });
  writeFileSync(join(model, 'config.json'), '{"arch": "cnn"}\n');
  writeFileSync(join(model, 'shards', 'weights-0.bin'), Buffer.alloc(10_000, 3));
  writeFileSync(join(model, 'shards', 'weights-1.bin'), Buffer.alloc(10_000, 4));
  const made = await runCli(['keygen', '--out', keys]);
  assert.equal(made.code, 0, made.stderr);
  const other = await runCli(['keygen', '--out', keys, '--name', 'other']);
  assert.equal(other.code, 0, other.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const pub = () => join(keys, 'aegis.pub');
const key = () => join(keys, 'aegis.key');

describe('aegis keygen', () => {
  test('writes <name>.key and <name>.pub and prints the key id', async () => {
    const run = await runCli(['keygen', '--out', join(dir, 'k2'), '--name', 'release']);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(existsSync(join(dir, 'k2', 'release.key')) && existsSync(join(dir, 'k2', 'release.pub')));
    assert.match(run.stdout, /key id [0-9a-f]{64}/);
  });

  test('refuses to overwrite an existing pair (exit 2) unless --force', async () => {
    const before = readFileSync(pub(), 'utf8');
    const refused = await runCli(['keygen', '--out', keys]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /already exist; pass --force/);
    assert.equal(readFileSync(pub(), 'utf8'), before);
    const out = join(dir, 'k3');
    await runCli(['keygen', '--out', out]);
    const old = readFileSync(join(out, 'aegis.pub'), 'utf8');
    const forced = await runCli(['keygen', '--out', out, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(readFileSync(join(out, 'aegis.pub'), 'utf8'), old);
  });
});

describe('aegis sign and aegis verify', () => {
  test('sign writes model.sig; verify passes with exit 0, also as JSON', async () => {
    const signed = await runCli(['sign', model, '--key', key()]);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stdout, /signed 3 files/);
    assert.ok(existsSync(join(model, 'model.sig')));
    const verified = await runCli(['verify', model, '--key', pub()]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /^verified: .* \(3 files, key id [0-9a-f]{64}\)/);
    const json = await runCli(['verify', model, '--key', pub(), '--json']);
    assert.equal(json.code, 0);
    const report = JSON.parse(json.stdout);
    assert.equal(report.valid, true);
    assert.equal(report.signedFiles, 3);
  });

  test('a changed, an added and a removed file each fail with exit 1 and the file named', async () => {
    const copy = join(dir, 'tampered');
    mkdirSync(join(copy, 'shards'), { recursive: true });
    writeFileSync(join(copy, 'config.json'), '{"arch": "cnn"}\n');
    writeFileSync(join(copy, 'shards', 'weights-0.bin'), Buffer.alloc(10_000, 3));
    writeFileSync(join(copy, 'shards', 'weights-1.bin'), Buffer.alloc(10_000, 4));
    assert.equal((await runCli(['sign', copy, '--key', key()])).code, 0);

    writeFileSync(join(copy, 'shards', 'weights-0.bin'), Buffer.alloc(10_000, 9));
    writeFileSync(join(copy, 'payload.pkl'), 'cos\nsystem\n');
    unlinkSync(join(copy, 'config.json'));
    const run = await runCli(['verify', copy, '--key', pub()]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /verification FAILED/);
    assert.match(run.stdout, /changed: shards\/weights-0\.bin/);
    assert.match(run.stdout, /added: payload\.pkl/);
    assert.match(run.stdout, /removed: config\.json/);
    const json = JSON.parse((await runCli(['verify', copy, '--key', pub(), '--json'])).stdout);
    assert.deepEqual(
      [json.changed, json.added, json.removed],
      [['shards/weights-0.bin'], ['payload.pkl'], ['config.json']],
    );
  });

  test('another public key fails with exit 1', async () => {
    const run = await runCli(['verify', model, '--key', join(keys, 'other.pub')]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /signature: does not verify/);
  });

  test('a single file with --signature elsewhere', async () => {
    const file = join(dir, 'single.onnx');
    const sig = join(dir, 'sigs', 'single.sig');
    mkdirSync(join(dir, 'sigs'));
    writeFileSync(file, 'onnx bytes');
    assert.equal((await runCli(['sign', file, '--key', key(), '--signature', sig])).code, 0);
    assert.equal((await runCli(['verify', file, '--key', pub(), '--signature', sig])).code, 0);
    assert.equal((await runCli(['verify', file, '--key', pub()])).code, 2, 'no single.onnx.sig was written');
  });

  test('malformed or missing signatures and wrong key files exit 2 with one message', async () => {
    const bad = join(dir, 'bad.sig');
    writeFileSync(bad, '{"payload": "!!", "payloadType": "x", "signatures": [{"sig": "AA=="}]}');
    const malformed = await runCli(['verify', model, '--key', pub(), '--signature', bad]);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /^aegis: signature '.*bad\.sig': 'payload' is not valid base64\n$/);
    writeFileSync(bad, 'not json');
    assert.match((await runCli(['verify', model, '--key', pub(), '--signature', bad])).stderr, /is not JSON/);
    const missing = await runCli(['verify', model, '--key', pub(), '--signature', join(dir, 'none.sig')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read the signature .*ENOENT/);

    const privateAsPublic = await runCli(['verify', model, '--key', key()]);
    assert.equal(privateAsPublic.code, 2);
    assert.match(privateAsPublic.stderr, /is a private key/);
    const publicAsPrivate = await runCli(['sign', model, '--key', pub()]);
    assert.equal(publicAsPrivate.code, 2);
    assert.match(publicAsPrivate.stderr, /holds a public key/);
    const absent = await runCli(['sign', join(dir, 'no-model'), '--key', key()]);
    assert.equal(absent.code, 2);
    assert.match(absent.stderr, /cannot read .*no-model.*ENOENT/);
  });
});
