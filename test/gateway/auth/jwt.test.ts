/** JWT bearer tokens: EdDSA and ES256 accepted from PEM and JWK keys; everything else rejected. */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { AegisInputError } from '../../../src/core/errors.js';
import { createJwtVerifier, type JwtVerifier, loadJwtKeys } from '../../../src/gateway/auth/jwt.js';
import type { JwtConfig } from '../../../src/gateway/config.js';

let dir: string;
let ed: { publicKey: CryptoKey; privateKey: CryptoKey };
let es: { publicKey: CryptoKey; privateKey: CryptoKey };
let stranger: { publicKey: CryptoKey; privateKey: CryptoKey };
let edPem: string;
let config: JwtConfig;
let verify: JwtVerifier;
const ISSUER = 'https://idp.example';
const AUDIENCE = 'aegis-gateway';
const nowSeconds = () => Math.floor(Date.now() / 1000);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-jwt-'));
  ed = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  es = await generateKeyPair('ES256', { extractable: true });
  stranger = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  edPem = await exportSPKI(ed.publicKey);
  writeFileSync(join(dir, 'ed.pem'), edPem);
  writeFileSync(join(dir, 'es.jwk'), JSON.stringify({ ...(await exportJWK(es.publicKey)), kid: 'es-1', use: 'sig' }));
  config = {
    keys: [join(dir, 'ed.pem'), join(dir, 'es.jwk')],
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['EdDSA', 'ES256'],
    defaultTier: 'default',
  };
  verify = await createJwtVerifier(config);
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface SignOptions {
  alg?: string;
  key?: CryptoKey | Uint8Array;
  kid?: string;
  claims?: JWTPayload;
  issuer?: string | null;
  audience?: string | null;
  exp?: number | null;
  nbf?: number;
  sub?: string | null;
}

async function token(o: SignOptions = {}): Promise<string> {
  const alg = o.alg ?? 'EdDSA';
  const jwt = new SignJWT({ scope: 'predict:cnn list:*', ...o.claims }).setProtectedHeader({
    alg,
    ...(o.kid ? { kid: o.kid } : {}),
  });
  if (o.sub !== null) jwt.setSubject(o.sub ?? 'alice');
  if (o.issuer !== null) jwt.setIssuer(o.issuer ?? ISSUER);
  if (o.audience !== null) jwt.setAudience(o.audience ?? AUDIENCE);
  if (o.exp !== null) jwt.setExpirationTime(o.exp ?? nowSeconds() + 300);
  if (o.nbf !== undefined) jwt.setNotBefore(o.nbf);
  jwt.setIssuedAt();
  return jwt.sign(o.key ?? (alg === 'ES256' ? es.privateKey : ed.privateKey));
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

test('a valid EdDSA token (PEM SPKI key) becomes a jwt: principal with the scopes it names', async () => {
  const principal = await verify(await token({ claims: { scope: 'predict:cnn list:* bogus monitor:../x write:cnn' } }));
  assert.deepEqual(principal, {
    id: 'jwt:alice',
    name: 'alice',
    tier: 'default',
    scopes: [
      { model: 'cnn', actions: ['predict'] },
      { model: '*', actions: ['list'] },
    ],
    via: 'jwt',
  });
});

test('a valid ES256 token (JWK key with kid) is accepted; aegis_tier sets the tier', async () => {
  const principal = await verify(
    await token({ alg: 'ES256', kid: 'es-1', claims: { scope: 'monitor:cnn predict:cnn', aegis_tier: 'gold' } }),
  );
  assert.equal(principal?.id, 'jwt:alice');
  assert.equal(principal?.tier, 'gold');
  assert.deepEqual(principal?.scopes, [{ model: 'cnn', actions: ['predict', 'monitor'] }]);
  // No kid, or a kid naming no key: every key of the algorithm is tried.
  assert.equal((await verify(await token({ alg: 'ES256' })))?.id, 'jwt:alice');
  assert.equal((await verify(await token({ alg: 'ES256', kid: 'other' })))?.id, 'jwt:alice');
  // A token without a scope claim authenticates but grants nothing.
  assert.deepEqual((await verify(await token({ claims: { scope: undefined } })))?.scopes, []);
});

test('expired, not yet valid, wrong issuer, wrong audience, missing exp or sub → null', async () => {
  const cases: [string, SignOptions][] = [
    ['expired', { exp: nowSeconds() - 10 }],
    ['not yet valid', { nbf: nowSeconds() + 600 }],
    ['wrong issuer', { issuer: 'https://evil.example' }],
    ['no issuer', { issuer: null }],
    ['wrong audience', { audience: 'another-service' }],
    ['no audience', { audience: null }],
    ['no exp', { exp: null }],
    ['no sub', { sub: null }],
    ['empty sub', { sub: '' }],
    ['bad tier claim', { claims: { aegis_tier: 42 } }],
    ['tier with a slash', { claims: { aegis_tier: '../gold' } }],
  ];
  for (const [label, options] of cases) {
    assert.equal(await verify(await token(options)), null, label);
    assert.equal(await verify(await token({ ...options, alg: 'ES256' })), null, `${label} (ES256)`);
  }
});

test('alg none, HS256 (also keyed with the public key), an unknown signer and tampering → null', async () => {
  const claims = { sub: 'alice', scope: 'predict:*', iss: ISSUER, aud: AUDIENCE, exp: nowSeconds() + 300 };
  const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
  assert.equal(await verify(unsigned), null, 'alg none');
  assert.equal(await verify(`${unsigned}AAAA`), null, 'alg none with a fake signature');
  assert.equal(await verify(await token({ alg: 'HS256', key: randomBytes(32) })), null, 'HS256');
  // Algorithm confusion: HMAC keyed with the (public) PEM the gateway trusts.
  assert.equal(await verify(await token({ alg: 'HS256', key: new TextEncoder().encode(edPem) })), null, 'HS256/PEM');
  assert.equal(await verify(await token({ key: stranger.privateKey })), null, 'unknown key');
  assert.equal(await verify(await token({ key: stranger.privateKey, kid: 'es-1' })), null, 'unknown key, known kid');
  // An ES256 signature under a header that claims EdDSA (and the reverse).
  const [, esBody, esSig] = (await token({ alg: 'ES256' })).split('.');
  assert.equal(await verify(`${b64({ alg: 'EdDSA' })}.${esBody}.${esSig}`), null, 'ES256 signature as EdDSA');
  const [, edBody, edSig] = (await token()).split('.');
  assert.equal(await verify(`${b64({ alg: 'ES256', kid: 'es-1' })}.${edBody}.${edSig}`), null, 'EdDSA as ES256');
  const good = await token();
  const [header, , signature] = good.split('.');
  assert.equal(await verify(`${header}.${b64({ ...claims, scope: 'predict:* monitor:*' })}.${signature}`), null);
  assert.equal((await verify(good))?.id, 'jwt:alice', 'the untampered token still verifies');
});

test('malformed tokens → null, never an exception', async () => {
  const garbage: unknown[] = [
    '',
    'a.b.c',
    'a.b',
    '...',
    `${b64({ alg: 'EdDSA' })}.!!!.abc`,
    `${b64({ alg: 'EdDSA' })}.${b64('not an object')}.abcd`,
    `${Buffer.from('{not json').toString('base64url')}.${b64({})}.abcd`,
    `${b64({ alg: 'EdDSA' })}.${b64({ sub: 'a' })}.${'A'.repeat(9000)}`,
    `${b64({ alg: 'EdDSA', crit: ['unknown'] })}.${b64({ sub: 'a', exp: nowSeconds() + 60 })}.abcd`,
    null,
    42,
    ['a.b.c'],
  ];
  for (const value of garbage) assert.equal(await verify(value as string), null, String(value).slice(0, 60));
});

test('a cached token stops being accepted at its exp', async () => {
  let now = Date.now();
  const timed = await createJwtVerifier(config, { now: () => now });
  const jwt = await token({ exp: Math.floor(now / 1000) + 60 });
  assert.equal((await timed(jwt))?.id, 'jwt:alice');
  assert.equal((await timed(jwt))?.id, 'jwt:alice');
  now += 61_000;
  assert.equal(await timed(jwt), null);
});

test('a token not yet valid is accepted once its nbf has passed (that rejection is not cached)', async () => {
  let now = Date.now();
  const timed = await createJwtVerifier(config, { now: () => now });
  const jwt = await token({ nbf: Math.floor(now / 1000) + 30 });
  assert.equal(await timed(jwt), null);
  now += 31_000;
  assert.equal((await timed(jwt))?.id, 'jwt:alice');
});

test('key files: JWK Sets pick by kid; the algorithm list restricts which keys load', async () => {
  const set = join(dir, 'set.json');
  writeFileSync(
    set,
    JSON.stringify({
      keys: [
        { ...(await exportJWK(stranger.publicKey)), kid: 'ed-2' },
        { ...(await exportJWK(es.publicKey)), kid: 'es-1', alg: 'ES256' },
      ],
    }),
  );
  const keys = await loadJwtKeys(set, ['EdDSA', 'ES256']);
  assert.deepEqual(
    keys.map((k) => [k.alg, k.kid]),
    [
      ['EdDSA', 'ed-2'],
      ['ES256', 'es-1'],
    ],
  );
  const onlyEs = await createJwtVerifier({ ...config, keys: [join(dir, 'es.jwk')], algorithms: ['ES256'] });
  assert.equal((await onlyEs(await token({ alg: 'ES256' })))?.id, 'jwt:alice');
  assert.equal(await onlyEs(await token()), null, 'EdDSA is not an allowed algorithm here');
  await assert.rejects(
    createJwtVerifier({ ...config, algorithms: ['ES256'] }),
    /ed\.pem is a EdDSA key but auth\.jwt\.algorithms allows only ES256/,
  );
});

test('key files that are private, symmetric, of another type, unreadable or garbage are refused by name', async () => {
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const edPair = generateKeyPairSync('ed25519');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const cases: [string, RegExp][] = [
    [
      write('priv.pem', edPair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
      /priv\.pem' is a private key/,
    ],
    [write('priv.jwk', JSON.stringify(edPair.privateKey.export({ format: 'jwk' }))), /priv\.jwk is a private key/],
    [write('oct.jwk', JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' })), /oct\.jwk is a symmetric \(oct\) key/],
    [write('rsa.pem', rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string), /rsa\.pem is a rsa key/],
    [
      write('p384.pem', p384.publicKey.export({ type: 'spki', format: 'pem' }) as string),
      /p384\.pem is a EC secp384r1/,
    ],
    [write('enc.jwk', JSON.stringify({ ...edPair.publicKey.export({ format: 'jwk' }), use: 'enc' })), /use 'enc'/],
    [
      write('badalg.jwk', JSON.stringify({ ...edPair.publicKey.export({ format: 'jwk' }), alg: 'ES256' })),
      /says alg 'ES256'/,
    ],
    [write('garbage.txt', 'hello'), /garbage\.txt' is neither a PEM public key/],
    [write('broken.json', '{"kty":'), /broken\.json' is not valid JSON/],
    [write('empty.json', '{"keys": []}'), /empty JWK Set/],
    [join(dir, 'missing.pem'), /cannot read '.*missing\.pem'/],
  ];
  for (const [path, message] of cases) {
    await assert.rejects(
      createJwtVerifier({ ...config, keys: [path] }),
      (e: unknown) => e instanceof AegisInputError && message.test(e.message),
      path,
    );
  }
});
