/**
 * API keys for the gateway, stored only as a per-key random salt and an scrypt hash
 * (Percival 2009, "Stronger key derivation via sequential memory-hard functions"; RFC 7914).
 *
 * Verification cost: scrypt (N=16384, r=8, p=1: 16 MiB and ~40 ms per hash) runs once per key per
 * process. Successful verifications are cached in a bounded LRU keyed by SHA-256 of the presented
 * key. A cached hit re-reads the key's revocation only when the api_keys table may have changed
 * since the entry was last confirmed: another connection committed (`PRAGMA data_version`, one
 * read of the WAL index) or this connection updated or deleted api_keys (temporary triggers). So
 * `aegis keys revoke` in another process takes effect on the next request — or, with
 * `revocationCheckMs` > 0 (the gateway's default is 1 ms), on the first request that starts that long
 * after it: data_version is then read at most once per interval, not once per request. Failures are cached
 * briefly (bounded) so repeating a forged key costs a hash lookup, and the async path runs scrypt
 * on the thread pool behind a small gate (HashGate) so a flood of distinct forged keys is bounded.
 *
 * Timing: an unknown id, a revoked key and a wrong secret all run the same scrypt (unknown ids
 * against a dummy salt and hash) and the same timingSafeEqual, so response time does not tell
 * which ids exist. Revoked keys stay in the table (revoked_at) so the audit log's key ids keep
 * naming a key.
 */
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { AegisInputError } from '../../core/errors.js';
import { type Migration, migrate, type StoreDatabase } from '../../store/store.js';
import type { Principal, Scope } from '../types.js';
import { HashGate } from './hash-gate.js';
import { formatApiKey, KEY_ID_PATTERN, newKeyId, newSecret, type ParsedApiKey, parseApiKey } from './key-format.js';
import { LruCache } from './lru-cache.js';
import { freezeScopes, validateScopes } from './scopes.js';

export const API_KEY_MIGRATIONS: readonly Migration[] = [
  {
    id: 'gateway/keys-001-api-keys',
    sql: `CREATE TABLE api_keys (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      tier TEXT NOT NULL,
      scopes TEXT NOT NULL,
      salt BLOB NOT NULL,
      hash BLOB NOT NULL,
      scrypt_n INTEGER NOT NULL,
      scrypt_r INTEGER NOT NULL,
      scrypt_p INTEGER NOT NULL,
      created_at TEXT NOT NULL,
      revoked_at TEXT
    );
    CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;`,
  },
];

/** scrypt cost: N (CPU/memory, a power of two), r (block size), p (parallelism). Memory ≈ 128·N·r bytes. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** OWASP's minimum for scrypt (2023): 16 MiB, ~40 ms on one core of this machine. */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 16384, r: 8, p: 1 });
const HASH_BYTES = 32;
const SALT_BYTES = 16;

/** A key as listed: never its secret, hash or salt. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  tier: string;
  scopes: Scope[];
  createdAt: string;
  revokedAt: string | null;
}

export interface ApiKeyStoreOptions {
  /** Cost for keys created from now on (each row keeps its own). Default DEFAULT_SCRYPT. */
  scrypt?: ScryptParams;
  /** Verified keys kept in memory (LRU). Default 10,000. */
  cacheSize?: number;
  /** Rejected keys remembered, and for how long (ms). Default 10,000 for 60 s. */
  failureCacheSize?: number;
  failureTtlMs?: number;
  /** verifyAsync: scrypt hashes at once, and how many may wait; beyond that a key is refused unhashed. Default 2 and 256. */
  maxConcurrentHashes?: number;
  maxQueuedHashes?: number;
  /**
   * Reuse one read of `PRAGMA data_version` for this many ms (another process's revocation is seen by
   * requests that start this long after it commits). Default 0: read on every cached hit.
   */
  revocationCheckMs?: number;
  /** Clock (ms) for the failure cache and the revocation interval; tests move it. */
  now?: () => number;
}

/** Key names: letters, digits, . _ @ -, ≤ 64, not 12 hex digits (that is what ids look like). */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const TIER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

interface KeyRow {
  name: string;
  tier: string;
  scopes: string;
  salt: Buffer;
  hash: Buffer;
  scrypt_n: number;
  scrypt_r: number;
  scrypt_p: number;
  revoked_at: string | null;
}

interface Statements {
  lookup: { get(id: string): KeyRow | undefined };
  isActive: { get(id: string): unknown };
  dataVersion: { get(): unknown };
}

/** A verified key, and the store state in which it was last seen active. */
interface CachedKey {
  principal: Principal;
  dataVersion: unknown;
  localChanges: number;
}

/**
 * Changes this connection made to api_keys, counted by temporary triggers (PRAGMA data_version
 * only moves for other connections' commits). One counter per connection, shared by its stores.
 */
const localKeyChanges = new WeakMap<StoreDatabase, { count: number }>();

function watchLocalKeyChanges(db: StoreDatabase): { count: number } {
  let watched = localKeyChanges.get(db);
  if (watched === undefined) {
    const counter = { count: 0 };
    db.function('aegis_api_keys_changed', { deterministic: false, varargs: false }, () => {
      counter.count++;
      return null;
    });
    db.exec(`CREATE TEMP TRIGGER IF NOT EXISTS aegis_api_keys_updated AFTER UPDATE ON main.api_keys
               BEGIN SELECT aegis_api_keys_changed(); END;
             CREATE TEMP TRIGGER IF NOT EXISTS aegis_api_keys_deleted AFTER DELETE ON main.api_keys
               BEGIN SELECT aegis_api_keys_changed(); END;`);
    watched = counter;
    localKeyChanges.set(db, watched);
  }
  return watched;
}

function scryptOptions(params: ScryptParams) {
  return { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + (1 << 20) };
}

function checkScrypt(params: ScryptParams): ScryptParams {
  const { N, r, p } = params;
  if (!Number.isInteger(N) || N < 2 || (N & (N - 1)) !== 0)
    throw new AegisInputError(`scrypt N=${N} is not a power of two ≥ 2`);
  if (!Number.isInteger(r) || r < 1 || !Number.isInteger(p) || p < 1) {
    throw new AegisInputError(`scrypt r=${r}, p=${p}: both must be whole numbers ≥ 1`);
  }
  return { N, r, p };
}

const scryptAsync = (secret: string, salt: Buffer, params: ScryptParams) =>
  new Promise<Buffer>((resolve, reject) =>
    scrypt(secret, salt, HASH_BYTES, scryptOptions(params), (error, key) => (error ? reject(error) : resolve(key))),
  );

export class ApiKeyStore {
  private readonly params: ScryptParams;
  private readonly statements: Statements;
  private readonly verified: LruCache<CachedKey>;
  private readonly localChanges: { count: number };
  private readonly rejected: LruCache<true>;
  private readonly failureTtlMs: number;
  private readonly gate: HashGate;
  private readonly inFlight = new Map<string, Promise<Principal | null>>();
  private hashes = 0;
  private readonly now: () => number;
  private readonly revocationCheckMs: number;
  /** The last `PRAGMA data_version` read, and when (ms, this.now()). */
  private lastVersion: { value: unknown; at: number } | null = null;
  /** What an unknown id is hashed against, so it costs what a wrong secret costs. */
  private readonly dummy = { salt: randomBytes(SALT_BYTES), hash: randomBytes(HASH_BYTES) };

  constructor(
    private readonly db: StoreDatabase,
    options: ApiKeyStoreOptions = {},
  ) {
    migrate(db, API_KEY_MIGRATIONS);
    this.params = checkScrypt(options.scrypt ?? DEFAULT_SCRYPT);
    this.verified = new LruCache(options.cacheSize ?? 10_000);
    this.rejected = new LruCache(options.failureCacheSize ?? 10_000);
    this.failureTtlMs = options.failureTtlMs ?? 60_000;
    this.gate = new HashGate(options.maxConcurrentHashes ?? 2, options.maxQueuedHashes ?? 256);
    this.now = options.now ?? Date.now;
    this.revocationCheckMs = options.revocationCheckMs ?? 0;
    if (!(this.revocationCheckMs >= 0))
      throw new AegisInputError(`revocationCheckMs ${this.revocationCheckMs} must be a number ≥ 0`);
    this.statements = {
      lookup: db.prepare(
        'SELECT name, tier, scopes, salt, hash, scrypt_n, scrypt_r, scrypt_p, revoked_at FROM api_keys WHERE id = ?',
      ),
      isActive: db.prepare('SELECT 1 FROM api_keys WHERE id = ? AND revoked_at IS NULL').pluck(),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
    };
    this.localChanges = watchLocalKeyChanges(db);
  }

  /** Creates a key; the returned `key` is the only time the secret exists outside the caller. */
  create(opts: { name: string; scopes: Scope[]; tier?: string }): { id: string; key: string } {
    const name = opts.name;
    if (typeof name !== 'string' || !KEY_NAME_PATTERN.test(name) || KEY_ID_PATTERN.test(name)) {
      throw new AegisInputError(
        `key name '${String(name)}' must be 1–64 letters, digits, . _ @ - (starting with a letter or digit, not 12 hex digits)`,
      );
    }
    const tier = opts.tier ?? 'default';
    if (!TIER_PATTERN.test(tier)) throw new AegisInputError(`tier '${tier}' must be 1–64 letters, digits, . _ -`);
    const scopes = validateScopes(opts.scopes);
    const secret = newSecret();
    const salt = randomBytes(SALT_BYTES);
    const hash = scryptSync(secret, salt, HASH_BYTES, scryptOptions(this.params));
    const insert = this.db.prepare(
      `INSERT INTO api_keys (id, name, tier, scopes, salt, hash, scrypt_n, scrypt_r, scrypt_p, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (let attempt = 0; ; attempt++) {
      const id = newKeyId();
      try {
        insert.run(
          id,
          name,
          tier,
          JSON.stringify(scopes),
          salt,
          hash,
          this.params.N,
          this.params.r,
          this.params.p,
          iso(),
        );
        return { id, key: formatApiKey(id, secret) };
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new AegisInputError(`a key named '${name}' is already active; revoke it first or pick another name`);
        }
        // 48-bit ids collide about once in 16 million keys; draw again.
        if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY' && attempt < 5) continue;
        throw error;
      }
    }
  }

  /** Every key, oldest first, revoked ones included (with revokedAt); never a hash, salt or secret. */
  list(): ApiKeyRecord[] {
    const rows = this.db
      .prepare('SELECT id, name, tier, scopes, created_at, revoked_at FROM api_keys ORDER BY rowid')
      .all() as {
      id: string;
      name: string;
      tier: string;
      scopes: string;
      created_at: string;
      revoked_at: string | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      tier: r.tier,
      scopes: JSON.parse(r.scopes) as Scope[],
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
    }));
  }

  /** Revokes the active key with this id (or else this name); false when there is none. Every process sees it at once. */
  revoke(idOrName: string): boolean {
    const now = iso();
    const byId = this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
    const byName = this.db.prepare('UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL');
    return byId.run(now, idOrName).changes > 0 || byName.run(now, idOrName).changes > 0;
  }

  /**
   * The key's principal, or null (malformed, unknown, wrong secret, revoked). Synchronous: a cache
   * miss runs scrypt on this thread (~40 ms). Servers should use verifyAsync (what createAuthenticator calls).
   */
  verify(presented: string): Principal | null {
    const parsed = parseApiKey(presented);
    if (parsed === null) return null;
    const digest = sha256(presented);
    const cached = this.fromCache(digest, parsed.id);
    if (cached !== undefined) return cached;
    const row = this.statements.lookup.get(parsed.id);
    const { salt, hash, params } = this.hashTarget(row);
    this.hashes++;
    const computed = scryptSync(parsed.secret, salt, HASH_BYTES, scryptOptions(params));
    return this.settle(digest, parsed, row, computed, hash);
  }

  /**
   * Like verify, but scrypt runs on the thread pool, concurrent checks of one key share one hash,
   * and when the hash gate is full the key is refused without hashing (and without caching the refusal).
   */
  async verifyAsync(presented: string): Promise<Principal | null> {
    const cached = this.verifyCached(presented);
    if (cached !== undefined) return cached;
    const parsed = parseApiKey(presented) as ParsedApiKey;
    const digest = sha256(presented);
    const pending = this.inFlight.get(digest);
    if (pending) return pending;
    const verification = this.gate
      .run(async () => {
        const row = this.statements.lookup.get(parsed.id);
        const { salt, hash, params } = this.hashTarget(row);
        this.hashes++;
        const computed = await scryptAsync(parsed.secret, salt, params);
        return this.settle(digest, parsed, row, computed, hash);
      })
      .then((outcome) => (outcome.ran ? outcome.value : null))
      .finally(() => this.inFlight.delete(digest));
    this.inFlight.set(digest, verification);
    return verification;
  }

  /**
   * The answer when it needs no hashing — the key's principal (verified before, still active), or null
   * (malformed, known bad, now revoked) — else undefined: call verifyAsync. The gateway's fast path:
   * no promise on a cached hit.
   */
  verifyCached(presented: string): Principal | null | undefined {
    const parsed = parseApiKey(presented);
    if (parsed === null) return null;
    return this.fromCache(sha256(presented), parsed.id);
  }

  /** Work done so far: scrypt hashes run (verify and verifyAsync), and hashes running and waiting in verifyAsync. */
  stats(): { hashes: number; active: number; waiting: number } {
    return { hashes: this.hashes, ...this.gate.load() };
  }

  /** Principal when verified before and still active; null when known bad or now revoked; undefined when unknown. */
  private fromCache(digest: string, id: string): Principal | null | undefined {
    const now = this.now();
    const cached = this.verified.get(digest, now);
    if (cached !== undefined) {
      const dataVersion = this.dataVersion(now);
      const localChanges = this.localChanges.count;
      // Unchanged since last confirmed active: no revocation can have happened in between.
      if (cached.dataVersion === dataVersion && cached.localChanges === localChanges) return cached.principal;
      if (this.statements.isActive.get(id) !== undefined) {
        cached.dataVersion = dataVersion;
        cached.localChanges = localChanges;
        return cached.principal;
      }
      this.verified.delete(digest);
      this.rejected.set(digest, true, now + this.failureTtlMs);
      return null;
    }
    return this.rejected.get(digest, now) === undefined ? undefined : null;
  }

  /** `PRAGMA data_version`, re-read when the last read is revocationCheckMs old (every call at 0). */
  private dataVersion(now: number): unknown {
    const last = this.lastVersion;
    if (last !== null && now - last.at < this.revocationCheckMs) return last.value;
    const value = this.statements.dataVersion.get();
    this.lastVersion = { value, at: now };
    return value;
  }

  private hashTarget(row: KeyRow | undefined): { salt: Buffer; hash: Buffer; params: ScryptParams } {
    if (row === undefined) return { salt: this.dummy.salt, hash: this.dummy.hash, params: this.params };
    return { salt: row.salt, hash: row.hash, params: { N: row.scrypt_n, r: row.scrypt_r, p: row.scrypt_p } };
  }

  /** Compares in constant time, then decides; revocation is re-read in case it happened while hashing. */
  private settle(
    digest: string,
    parsed: ParsedApiKey,
    row: KeyRow | undefined,
    computed: Buffer,
    expected: Buffer,
  ): Principal | null {
    const matches = computed.length === expected.length && timingSafeEqual(computed, expected);
    // Read before the revocation check below, so a change committed after it is seen on the next hit.
    const dataVersion = this.statements.dataVersion.get();
    this.lastVersion = { value: dataVersion, at: this.now() };
    const localChanges = this.localChanges.count;
    if (
      !matches ||
      row === undefined ||
      row.revoked_at !== null ||
      this.statements.isActive.get(parsed.id) === undefined
    ) {
      this.rejected.set(digest, true, this.now() + this.failureTtlMs);
      return null;
    }
    const principal: Principal = Object.freeze({
      id: parsed.id,
      name: row.name,
      tier: row.tier,
      scopes: freezeScopes(JSON.parse(row.scopes) as Scope[]),
      via: 'api-key' as const,
    });
    this.verified.set(digest, { principal, dataVersion, localChanges });
    return principal;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

function iso(): string {
  return new Date().toISOString();
}
