import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import {
  type DsseEnvelope,
  decodeBase64,
  pae,
  parseEnvelope,
  signEnvelope,
  verifyEnvelope,
} from '../../../src/defenses/lineage/dsse.js';
import { generateSigningKeyPair } from '../../../src/defenses/lineage/signing-keys.js';

/** Ed25519 key from a 32-byte RFC 8032 seed (PKCS#8 DER prefix for Ed25519 + seed). */
function keyFromSeed(seedHex: string): KeyObject {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedHex, 'hex')]);
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

// Key "A" of the DSSE test vectors (secure-systems-lab/dsse testvectors/vectors.json) = RFC 8032 test 1.
const KEY_A = keyFromSeed('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
const STATEMENT_BODY = '{"_type":"https://in-toto.io/Statement/v1"}';

function throwsInput(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof AegisInputError && pattern.test(e.message));
}

describe('DSSE pre-authentication encoding', () => {
  test('matches the example of the DSSE protocol spec', () => {
    const encoded = pae('http://example.com/HelloWorld', Buffer.from('hello world'));
    assert.equal(encoded.toString('utf8'), 'DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  test('lengths count UTF-8 bytes, and an empty body keeps its trailing space (spec test vectors)', () => {
    const body = Buffer.from(STATEMENT_BODY);
    assert.equal(
      pae('application/vnd.exämple+json', body).toString('hex'),
      '445353457631203239206170706c69636174696f6e2f766e642e6578c3a46d706c652b6a736f6e203433207b225f74797065223a2268747470733a2f2f696e2d746f746f2e696f2f53746174656d656e742f7631227d',
    );
    assert.equal(
      pae('application/vnd.in-toto+json', Buffer.alloc(0)).toString('hex'),
      '445353457631203238206170706c69636174696f6e2f766e642e696e2d746f746f2b6a736f6e203020',
    );
  });
});

describe('DSSE envelopes with Ed25519', () => {
  test('reproduces the spec vector signature byte for byte (Ed25519 is deterministic)', () => {
    const envelope = signEnvelope('application/vnd.in-toto+json', Buffer.from(STATEMENT_BODY), KEY_A, 'A');
    assert.deepEqual(envelope, {
      payload: 'eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ==',
      payloadType: 'application/vnd.in-toto+json',
      signatures: [
        { keyid: 'A', sig: '2WAfaHm5jluo0w+0rk8uVkluELJYWjSmU9x7EUzx+AyteDGJ4/nqyJXfmAUVFIAoQafWm7AxBZNw5M9ixNHiCA==' },
      ],
    });
  });

  test('accepts the URL-safe base64 vector and rejects the payload-type-swapped one', () => {
    const publicA = createPublicKey(KEY_A);
    const urlSafe: DsseEnvelope = {
      payload: '-_-_Pj8=',
      payloadType: 'application/vnd.in-toto+json',
      signatures: [
        { keyid: 'A', sig: 'P-_KHICeR7tI6S_YyejJTRtrXhcQyQ2LYPaL8h90KjC9qN8HU_svOQ6TuDOT1HIrsGW886DbWNWcCmX5twLrAw==' },
      ],
    };
    const accepted = verifyEnvelope(urlSafe, publicA);
    assert.ok(accepted.verified);
    assert.equal(accepted.payload.toString('hex'), 'fbffbf3e3f');
    const swapped: DsseEnvelope = {
      payload: 'eyJfdHlwZSI6Imh0dHBzOi8vaW4tdG90by5pby9TdGF0ZW1lbnQvdjEifQ==',
      payloadType: 'application/vnd.example.other+json',
      signatures: [{ sig: '2WAfaHm5jluo0w+0rk8uVkluELJYWjSmU9x7EUzx+AyteDGJ4/nqyJXfmAUVFIAoQafWm7AxBZNw5M9ixNHiCA==' }],
    };
    assert.equal(verifyEnvelope(swapped, publicA).verified, false);
  });

  test('round trip verifies; a wrong key, a changed payload or a changed signature do not', () => {
    const pair = generateSigningKeyPair();
    const other = generateSigningKeyPair();
    const body = Buffer.from('{"subject":[]}');
    const envelope = signEnvelope('application/vnd.in-toto+json', body, pair.privateKey, pair.keyId);
    const ok = verifyEnvelope(envelope, pair.publicKey);
    assert.ok(ok.verified);
    assert.deepEqual(ok.payload, body);
    assert.equal(ok.keyid, pair.keyId);

    const wrongKey = verifyEnvelope(envelope, other.publicKey);
    assert.deepEqual(wrongKey, { verified: false, keyids: [pair.keyId] });

    const payload = Buffer.from('{"subject":[1]}').toString('base64');
    assert.equal(verifyEnvelope({ ...envelope, payload }, pair.publicKey).verified, false);

    const sig = decodeBase64(envelope.signatures[0].sig, 'sig');
    sig[10] ^= 1;
    const flipped = { ...envelope, signatures: [{ keyid: pair.keyId, sig: sig.toString('base64') }] };
    assert.equal(verifyEnvelope(flipped, pair.publicKey).verified, false);
    const short = { ...envelope, signatures: [{ sig: sig.subarray(0, 20).toString('base64') }] };
    assert.equal(verifyEnvelope(short, pair.publicKey).verified, false);
  });

  test('any one valid signature among several is enough; key ids are only hints', () => {
    const pair = generateSigningKeyPair();
    const body = Buffer.from('x');
    const good = signEnvelope('t', body, pair.privateKey, 'misleading-id');
    const bad = signEnvelope('t', body, generateSigningKeyPair().privateKey, pair.keyId);
    const both = { ...good, signatures: [...bad.signatures, ...good.signatures] };
    const result = verifyEnvelope(both, pair.publicKey);
    assert.ok(result.verified);
    assert.equal(result.keyid, 'misleading-id');
  });
});

describe('envelope parsing', () => {
  const pair = generateSigningKeyPair();
  const text = JSON.stringify(signEnvelope('t', Buffer.from('body'), pair.privateKey, pair.keyId));

  test('parses what signEnvelope writes', () => {
    assert.deepEqual(parseEnvelope(text, 'sig'), JSON.parse(text));
  });

  test('rejects non-JSON, missing fields, empty signature lists and bad base64 with the source named', () => {
    throwsInput(() => parseEnvelope('{not json', "signature 'm.sig'"), /signature 'm.sig' is not JSON/);
    throwsInput(() => parseEnvelope('[]', 's'), /not a DSSE envelope: expected a JSON object/);
    const envelope = JSON.parse(text);
    throwsInput(() => parseEnvelope(JSON.stringify({ ...envelope, payload: 3 }), 's'), /'payload' must be/);
    throwsInput(() => parseEnvelope(JSON.stringify({ ...envelope, payloadType: null }), 's'), /'payloadType'/);
    throwsInput(() => parseEnvelope(JSON.stringify({ ...envelope, signatures: [] }), 's'), /non-empty list/);
    throwsInput(() => parseEnvelope(JSON.stringify({ ...envelope, signatures: [{}] }), 's'), /signatures\[0\]\.sig/);
    throwsInput(() => parseEnvelope(JSON.stringify({ ...envelope, payload: 'ab$c' }), 's'), /'payload' is not valid/);
    const keyid = { ...envelope, signatures: [{ sig: envelope.signatures[0].sig, keyid: 7 }] };
    throwsInput(() => parseEnvelope(JSON.stringify(keyid), 's'), /keyid must be a string/);
  });

  test('strict base64: bad length, misplaced padding and mixed alphabets are refused', () => {
    assert.equal(decodeBase64('aGk=', 'x').toString(), 'hi');
    assert.equal(decodeBase64('aGk', 'x').toString(), 'hi');
    for (const bad of ['a', 'aGk==', 'a=Gk', '+-==', 'aG k']) {
      throwsInput(() => decodeBase64(bad, 'field'), /field is not valid base64/);
    }
  });
});
