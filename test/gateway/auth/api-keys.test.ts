/** API keys: salted scrypt storage, verification, revocation seen across processes, caches and the hash gate. */
import assert from 'node:assert/strict';
import { scryptSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { API_KEY_MIGRATIONS, ApiKeyStore, DEFAULT_SCRYPT } from '../../../src/gateway/auth/api-keys.js';
import { openStore, type StoreDatabase } from '../../../src/store/store.js';

let dir: string;
let dbPath: string;
const opened: StoreDatabase[] = [];

function open(): StoreDatabase {
  const db = openStore(dbPath, API_KEY_MIGRATIONS);
  opened.push(db);
  return db;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-api-keys-'));
  dbPath = join(dir, 'aegis.db');
});
after(() => {
  for (const db of opened) db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The key with one secret character changed (still well-formed). */
function wrongSecret(key: string): string {
  const last = key.at(-1) === 'A' ? 'B' : 'A';
  return key.slice(0, -1) + last;
}

test('create → verify: the key has the documented shape and maps to its principal', async () => {
  const store = new ApiKeyStore(open());
  const { id, key } = store.create({
    name: 'svc-a',
    scopes: [
      { model: 'cnn', actions: ['predict'] },
      { model: 'cnn', actions: ['list', 'predict'] },
    ],
    tier: 'gold',
  });
  assert.match(id, /^[0-9a-f]{12}$/);
  assert.match(key, /^aegis_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  assert.ok(key.startsWith(`aegis_${id}_`));
  const principal = store.verify(key);
  assert.deepEqual(principal, {
    id,
    name: 'svc-a',
    tier: 'gold',
    scopes: [{ model: 'cnn', actions: ['predict', 'list'] }],
    via: 'api-key',
  });
  assert.deepEqual(await store.verifyAsync(key), principal);
  // The cached principal cannot be edited by whoever receives it.
  assert.throws(() => (principal as { scopes: unknown[] }).scopes.push({ model: '*', actions: ['predict'] }));
  assert.throws(() => {
    (principal as { tier: string }).tier = 'full';
  });
});

test('only a salt and an scrypt hash are stored; the secret is nowhere in the table', () => {
  const db = open();
  const store = new ApiKeyStore(db);
  const { id, key } = store.create({ name: 'stored', scopes: [{ model: '*', actions: ['list'] }] });
  const secret = key.slice(`aegis_${id}_`.length);
  const row = db.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as Record<string, unknown>;
  assert.equal((row.salt as Buffer).length, 16);
  assert.equal((row.hash as Buffer).length, 32);
  assert.deepEqual([row.scrypt_n, row.scrypt_r, row.scrypt_p], [DEFAULT_SCRYPT.N, DEFAULT_SCRYPT.r, DEFAULT_SCRYPT.p]);
  const expected = scryptSync(secret, row.salt as Buffer, 32, { N: 16384, r: 8, p: 1 });
  assert.deepEqual(row.hash, expected);
  for (const value of Object.values(row)) {
    const text = Buffer.isBuffer(value) ? value.toString('latin1') : String(value);
    assert.ok(!text.includes(secret), 'secret stored in clear');
  }
  const other = store.create({ name: 'stored-2', scopes: [] });
  const salt2 = (db.prepare('SELECT salt FROM api_keys WHERE id = ?').get(other.id) as { salt: Buffer }).salt;
  assert.notDeepEqual(salt2, row.salt, 'salts are per key');
});

test('wrong secret, unknown id and malformed strings are rejected (sync and async)', async () => {
  const store = new ApiKeyStore(open());
  const { id, key } = store.create({ name: 'svc-b', scopes: [{ model: 'cnn', actions: ['predict'] }] });
  const unknownId = key.replace(id, id === '000000000000' ? '000000000001' : '000000000000');
  const malformed: unknown[] = [
    '',
    'aegis_',
    `aegis_${id}_`,
    `aegis_${id}`,
    `${key} `,
    ` ${key}`,
    `${key}A`,
    key.slice(0, -1),
    key.replace('aegis_', 'AEGIS_'),
    key.replace(id, id.toUpperCase().replace(/[0-9]/g, 'F')),
    `aegis_${id}_${'!'.repeat(43)}`,
    'x'.repeat(100_000),
    '\u0000'.repeat(62),
    null,
    undefined,
    42,
    { key },
    [key],
  ];
  for (const candidate of [wrongSecret(key), unknownId, ...malformed]) {
    assert.equal(store.verify(candidate as string), null, `accepted ${String(candidate).slice(0, 80)}`);
    assert.equal(await store.verifyAsync(candidate as string), null, `accepted ${String(candidate).slice(0, 80)}`);
  }
  assert.notEqual(store.verify(key), null, 'the real key still verifies after the failures');
});

test('an unknown id runs scrypt like a wrong secret does (no cheap path that reveals which ids exist)', () => {
  const store = new ApiKeyStore(open());
  const { id, key } = store.create({ name: 'svc-timing', scopes: [] });
  const before = store.stats().hashes;
  store.verify(wrongSecret(key));
  assert.equal(store.stats().hashes, before + 1);
  store.verify(key.replace(id, 'ffffffffffff'));
  assert.equal(store.stats().hashes, before + 2);
  store.verify('aegis_garbage');
  assert.equal(store.stats().hashes, before + 2, 'a malformed string is refused before any hashing');
});

test('revocation by another process (a second store on the same file) takes effect on the next call', async () => {
  const server = new ApiKeyStore(open());
  const cli = new ApiKeyStore(open());
  const { id, key } = cli.create({ name: 'svc-c', scopes: [{ model: 'cnn', actions: ['predict'] }] });
  const keep = cli.create({ name: 'svc-keep', scopes: [{ model: 'cnn', actions: ['predict'] }] });
  assert.equal(server.verify(key)?.id, id);
  assert.equal(server.verify(key)?.id, id, 'second call is served from the cache');
  assert.equal((await server.verifyAsync(keep.key))?.id, keep.id);
  const hashes = server.stats().hashes;

  assert.equal(cli.revoke('svc-c'), true);
  assert.equal(server.verify(key), null);
  assert.equal(await server.verifyAsync(key), null);
  assert.equal(server.stats().hashes, hashes, 'revocation is read without re-hashing');
  assert.equal((await server.verifyAsync(keep.key))?.id, keep.id, 'other keys are untouched');

  // Revoked rows stay (the audit log names them); the name is free again; revoking twice is false.
  const revoked = server.list().find((r) => r.id === id);
  assert.ok(revoked?.revokedAt, 'revoked row kept with revokedAt');
  assert.equal(cli.revoke(id), false);
  assert.equal(cli.revoke('no-such-key'), false);
  const again = cli.create({ name: 'svc-c', scopes: [{ model: 'cnn', actions: ['list'] }] });
  assert.notEqual(again.id, id);
  assert.equal(server.verify(key), null, 'the old key stays dead after its name is reused');
  assert.equal(server.verify(again.key)?.id, again.id);
  // Revoke by id as well as by name.
  assert.equal(cli.revoke(keep.id), true);
  assert.equal(await server.verifyAsync(keep.key), null);
});

test('revocation on the same connection (another store on the handle, or plain SQL) takes effect on the next call', async () => {
  const db = open();
  const server = new ApiKeyStore(db);
  const admin = new ApiKeyStore(db);
  const a = admin.create({ name: 'same-a', scopes: [{ model: 'cnn', actions: ['predict'] }] });
  const b = admin.create({ name: 'same-b', scopes: [{ model: 'cnn', actions: ['predict'] }] });
  const c = admin.create({ name: 'same-c', scopes: [{ model: 'cnn', actions: ['predict'] }] });
  for (const k of [a, b, c]) assert.equal((await server.verifyAsync(k.key))?.id, k.id);
  // Cached hits while nothing changed; unrelated writes (another table) change nothing.
  db.exec('CREATE TABLE IF NOT EXISTS unrelated (x); INSERT INTO unrelated VALUES (1);');
  assert.equal((await server.verifyAsync(a.key))?.id, a.id);
  assert.equal(admin.revoke(a.id), true);
  assert.equal(await server.verifyAsync(a.key), null, 'revoked through another store on this connection');
  db.prepare("UPDATE api_keys SET revoked_at = '2026-01-01T00:00:00.000Z' WHERE id = ?").run(b.id);
  assert.equal(server.verify(b.key), null, 'revoked by an UPDATE on this connection');
  db.prepare('DELETE FROM api_keys WHERE id = ?').run(c.id);
  assert.equal(await server.verifyAsync(c.key), null, 'deleted on this connection');
});

test("revocationCheckMs: another process's revocation is seen once the interval has passed, not before", () => {
  let clock = 1_000_000;
  const server = new ApiKeyStore(open(), { revocationCheckMs: 5, now: () => clock });
  const cli = new ApiKeyStore(open());
  const { id, key } = cli.create({ name: 'svc-window', scopes: [{ model: 'cnn', actions: ['predict'] }] });
  assert.equal(server.verifyCached(key), undefined, 'never verified: the caller must hash');
  assert.equal(server.verify(key)?.id, id);
  assert.equal(server.verifyCached(key)?.id, id, 'a verified key is answered synchronously');
  assert.equal(server.verifyCached('aegis_not-a-key'), null, 'malformed: refused without hashing');
  assert.equal(cli.revoke('svc-window'), true);
  clock += 4;
  assert.equal(server.verifyCached(key)?.id, id, 'within the interval the last data_version read is reused');
  clock += 1;
  assert.equal(server.verifyCached(key), null, 'once the interval has passed the revocation is read');
  assert.throws(() => new ApiKeyStore(open(), { revocationCheckMs: -1 }), AegisInputError);
});

test('keys survive a restart: a new store on the reopened file verifies them', () => {
  const db = open();
  const { key, id } = new ApiKeyStore(db).create({ name: 'persisted', scopes: [{ model: '*', actions: ['predict'] }] });
  db.close();
  opened.splice(opened.indexOf(db), 1);
  assert.equal(new ApiKeyStore(open()).verify(key)?.id, id);
});

test('list never exposes a hash, salt or secret', () => {
  const store = new ApiKeyStore(open());
  const { key } = store.create({ name: 'listed', scopes: [{ model: 'cnn', actions: ['predict', 'monitor'] }] });
  const records = store.list();
  const listed = records.find((r) => r.name === 'listed');
  assert.ok(listed);
  assert.deepEqual(Object.keys(listed).sort(), ['createdAt', 'id', 'name', 'revokedAt', 'scopes', 'tier']);
  assert.deepEqual(listed.scopes, [{ model: 'cnn', actions: ['predict', 'monitor'] }]);
  assert.equal(listed.revokedAt, null);
  const text = JSON.stringify(records);
  assert.ok(!/hash|salt/i.test(text));
  assert.ok(!text.includes(key.slice(-43)));
});

test('names are unique among active keys; bad names, tiers and scopes are refused with a clear message', () => {
  const store = new ApiKeyStore(open());
  store.create({ name: 'dup', scopes: [] });
  assert.throws(() => store.create({ name: 'dup', scopes: [] }), /key named 'dup' is already active/);
  const bad: [Parameters<ApiKeyStore['create']>[0], RegExp][] = [
    [{ name: '', scopes: [] }, /key name ''/],
    [{ name: '../x', scopes: [] }, /key name '\.\.\/x'/],
    [{ name: 'a'.repeat(65), scopes: [] }, /key name/],
    [{ name: 'abcdef012345', scopes: [] }, /not 12 hex digits/],
    [{ name: 'ok', scopes: [], tier: 'a b' }, /tier 'a b'/],
    [{ name: 'ok', scopes: [{ model: '../cnn', actions: ['predict'] }] }, /scopes\[0\]\.model: '\.\.\/cnn'/],
    [{ name: 'ok', scopes: [{ model: 'cnn', actions: [] }] }, /scopes\[0\]\.actions: give at least one/],
    [{ name: 'ok', scopes: [{ model: 'cnn', actions: ['delete' as 'predict'] }] }, /unknown action 'delete'/],
    [{ name: 'ok', scopes: 'cnn' as unknown as [] }, /scopes must be a list/],
  ];
  for (const [opts, message] of bad) {
    assert.throws(
      () => store.create(opts),
      (e: unknown) => e instanceof AegisInputError && message.test(e.message),
    );
  }
  assert.equal(store.list().filter((r) => r.name === 'ok').length, 0, 'nothing was written for refused keys');
});

test('failures are cached briefly: a repeated forged key costs no scrypt until the entry expires', () => {
  let now = 1_000_000;
  const store = new ApiKeyStore(open(), { failureTtlMs: 5_000, now: () => now });
  const { key } = store.create({ name: 'svc-d', scopes: [] });
  const forged = wrongSecret(key);
  const start = store.stats().hashes;
  assert.equal(store.verify(forged), null);
  assert.equal(store.verify(forged), null);
  assert.equal(store.stats().hashes, start + 1);
  now += 5_001;
  assert.equal(store.verify(forged), null, 'a forged key is never accepted, cached or not');
  assert.equal(store.stats().hashes, start + 2);
  assert.notEqual(store.verify(key), null);
});

test('caches stay bounded: an evicted key is simply hashed again', () => {
  const store = new ApiKeyStore(open(), { cacheSize: 1, scrypt: { N: 1024, r: 8, p: 1 } });
  const a = store.create({ name: 'lru-a', scopes: [] });
  const b = store.create({ name: 'lru-b', scopes: [] });
  const start = store.stats().hashes;
  store.verify(a.key);
  store.verify(b.key); // evicts a
  store.verify(b.key);
  assert.equal(store.stats().hashes, start + 2);
  assert.equal(store.verify(a.key)?.id, a.id);
  assert.equal(store.stats().hashes, start + 3);
});

test('verifyAsync: concurrent checks of one key share one hash; a full gate refuses without hashing or caching', async () => {
  const store = new ApiKeyStore(open(), { maxConcurrentHashes: 1, maxQueuedHashes: 1 });
  const { id, key } = store.create({ name: 'svc-e', scopes: [{ model: 'cnn', actions: ['predict'] }] });
  const start = store.stats().hashes;
  const same = await Promise.all(Array.from({ length: 5 }, () => store.verifyAsync(key)));
  assert.ok(same.every((p) => p?.id === id));
  assert.equal(store.stats().hashes, start + 1);

  const other = store.create({ name: 'svc-f', scopes: [] });
  const forged = Array.from({ length: 6 }, (_, i) => `${key.slice(0, -2)}${String.fromCharCode(97 + i)}x`);
  // One hashing, one waiting; the rest and the legitimate key arrive to a full gate.
  const results = await Promise.all([...forged.map((f) => store.verifyAsync(f)), store.verifyAsync(other.key)]);
  assert.ok(results.every((r) => r === null));
  assert.equal(store.stats().hashes, start + 3, 'only the running and the queued hash ran');
  assert.deepEqual({ active: store.stats().active, waiting: store.stats().waiting }, { active: 0, waiting: 0 });
  assert.equal((await store.verifyAsync(other.key))?.id, other.id, 'a refusal by the full gate was not cached');
});
