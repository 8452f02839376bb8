/**
 * Gateway access control cost per request: API key verification cold (scrypt, N=16384 r=8 p=1)
 * and warm (SHA-256 + LRU + the revocation SELECT), forged keys cold and remembered, the whole
 * `authenticate(headers)` path, JWT verification (EdDSA, ES256) cold and cached, and a flood of
 * distinct forged keys against the hash gate while a valid key keeps being served.
 * Store: a WAL SQLite file in a temp dir. Prints medians (µs) as JSON.
 * Usage: npx tsx bench/gateway-auth.ts [--warm 200000] [--cold 20] [--flood 2000]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { API_KEY_MIGRATIONS, ApiKeyStore } from '../src/gateway/auth/api-keys.js';
import { createAuthenticator } from '../src/gateway/auth/authenticate.js';
import { createJwtVerifier } from '../src/gateway/auth/jwt.js';
import { openStore } from '../src/store/store.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const warmCalls = flag('warm', 200_000);
const coldCalls = flag('cold', 20);
const floodSize = flag('flood', 2000);

const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

/** Mean µs per call over `n` calls, median of 5 rounds. */
function perCall(n: number, fn: (i: number) => unknown): number {
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    rounds.push(Number(process.hrtime.bigint() - t) / 1e3 / n);
  }
  return round(median(rounds));
}

async function perCallAsync(n: number, fn: (i: number) => unknown): Promise<number> {
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await fn(i);
    rounds.push(Number(process.hrtime.bigint() - t) / 1e3 / n);
  }
  return round(median(rounds));
}

/** µs of each call, timed one by one (for cold paths that take milliseconds). */
async function eachCall(n: number, fn: (i: number) => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    times.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
  return round(median(times), 0);
}

const dir = mkdtempSync(join(tmpdir(), 'aegis-bench-auth-'));
try {
  const db = openStore(join(dir, 'aegis.db'), API_KEY_MIGRATIONS);
  const store = new ApiKeyStore(db);
  const { key } = store.create({ name: 'bench', scopes: [{ model: 'cnn', actions: ['predict'] }] });
  const uncached = new ApiKeyStore(db, { cacheSize: 0, failureCacheSize: 0 });
  const forged = (i: number) => `${key.slice(0, -6)}${i.toString(36).padStart(6, '0').slice(-6)}`;

  store.verify(key); // warm: the first sight hashes
  store.verify(forged(1)); // remembered as a failure
  const apiKey = {
    coldSyncUs: await eachCall(coldCalls, () => uncached.verify(key)),
    coldAsyncUs: await eachCall(coldCalls, () => uncached.verifyAsync(key)),
    coldUnknownIdUs: await eachCall(coldCalls, (i) =>
      uncached.verify(key.replace(/_[0-9a-f]{12}_/, `_${String(i).padStart(12, 'f')}_`)),
    ),
    coldForgedUs: await eachCall(coldCalls, (i) => uncached.verify(forged(i))),
    warmSyncUs: perCall(warmCalls, () => store.verify(key)),
    warmAsyncUs: await perCallAsync(warmCalls, () => store.verifyAsync(key)),
    forgedRememberedUs: perCall(warmCalls, () => store.verify(forged(1))),
    malformedUs: perCall(warmCalls, () => store.verify('aegis_not-a-key')),
  };
  const authenticate = createAuthenticator({ apiKeys: store });
  const headers = { 'x-api-key': key };
  const bearer = { authorization: `Bearer ${key}` };
  const authenticateUs = {
    xApiKey: await perCallAsync(warmCalls, () => authenticate(headers)),
    bearerKey: await perCallAsync(warmCalls, () => authenticate(bearer)),
    missing: await perCallAsync(warmCalls, () => authenticate({})),
  };

  // Flood: `floodSize` distinct forged keys at once, while a valid (cached) key is checked every ms.
  const flooded = new ApiKeyStore(db);
  const victim = flooded.create({ name: 'bench-flood', scopes: [] });
  await flooded.verifyAsync(victim.key);
  const before = flooded.stats().hashes;
  const latencies: number[] = [];
  let flooding = true;
  const probe = (async () => {
    while (flooding) {
      const t = process.hrtime.bigint();
      await flooded.verifyAsync(victim.key);
      latencies.push(Number(process.hrtime.bigint() - t) / 1e3);
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(
    Array.from({ length: floodSize }, (_, i) => flooded.verifyAsync(forged(10_000 + i))),
  );
  const floodMs = Number(process.hrtime.bigint() - t0) / 1e6;
  flooding = false;
  await probe;
  const flood = {
    forgedKeys: floodSize,
    accepted: results.filter((r) => r !== null).length,
    hashed: flooded.stats().hashes - before,
    refusedUnhashed: floodSize - (flooded.stats().hashes - before),
    wallMs: round(floodMs, 0),
    validKeyP50Us: round(quantile(latencies, 0.5), 1),
    validKeyP99Us: round(quantile(latencies, 0.99), 1),
    validKeyChecks: latencies.length,
  };
  db.close();

  // JWT: one Ed25519 and one P-256 key, PEM files.
  const ed = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const es = await generateKeyPair('ES256', { extractable: true });
  writeFileSync(join(dir, 'ed.pem'), await exportSPKI(ed.publicKey));
  writeFileSync(join(dir, 'es.pem'), await exportSPKI(es.publicKey));
  const jwtConfig = {
    keys: [join(dir, 'ed.pem'), join(dir, 'es.pem')],
    issuer: 'https://idp.example',
    audience: 'aegis',
    algorithms: ['EdDSA', 'ES256'] as ('EdDSA' | 'ES256')[],
    defaultTier: 'default',
  };
  const sign = (alg: 'EdDSA' | 'ES256', sub: string) =>
    new SignJWT({ scope: 'predict:cnn' })
      .setProtectedHeader({ alg })
      .setSubject(sub)
      .setIssuer(jwtConfig.issuer)
      .setAudience(jwtConfig.audience)
      .setExpirationTime('1h')
      .sign(alg === 'EdDSA' ? ed.privateKey : es.privateKey);
  const cold = await createJwtVerifier(jwtConfig, { cacheSize: 0, failureCacheSize: 0 });
  const warm = await createJwtVerifier(jwtConfig);
  const edToken = await sign('EdDSA', 'alice');
  const esToken = await sign('ES256', 'bob');
  await warm(edToken);
  await warm(esToken);
  const jwt = {
    eddsaColdUs: await perCallAsync(2000, () => cold(edToken)),
    es256ColdUs: await perCallAsync(2000, () => cold(esToken)),
    eddsaCachedUs: await perCallAsync(warmCalls, () => warm(edToken)),
    es256CachedUs: await perCallAsync(warmCalls, () => warm(esToken)),
  };

  console.log(
    JSON.stringify(
      {
        node: process.version,
        scrypt: { N: 16384, r: 8, p: 1 },
        apiKey,
        authenticateUs,
        flood,
        jwt,
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
