/**
 * The 'sqlite' limits store: query budgets in the shared store, so they survive restarts; request
 * rates stay in memory. A rate window lasts seconds and would have expired by the time a restarted
 * process serves again, so persisting it would buy nothing for an SQLite write per request.
 *
 * The budget counter is kept in this process's memory (authoritative: one gateway process per
 * store) and its changes are written to the table as deltas with the same upsert
 * RateLimiterSQLite uses, so the rows stay in its format. By default every consume writes through
 * (one prepared upsert). When the gateway's audit log is on, it calls `deferWrites()` and writes
 * the pending deltas inside the audit batch's transaction, before any answer of that batch leaves:
 * one commit per batch instead of two per request, and a `kill -9` can lose only the budget of
 * requests that were never answered.
 */
import type { Statement } from 'better-sqlite3';
import { RateLimiterRes, RateLimiterSQLite } from 'rate-limiter-flexible';
import { type Migration, migrate, type StoreDatabase } from '../../store/store.js';
import { type Counter, type DeferredWrites, type LimitCounters, type LimitWindows, memoryCounter } from './counters.js';

export const LIMITS_TABLE = 'gateway_limits';

/** The table RateLimiterSQLite expects (key, points, expire in epoch ms), created here rather than by the library. */
export const SQLITE_LIMIT_MIGRATIONS: readonly Migration[] = [
  {
    id: 'gateway/limits-001-counters',
    sql: `CREATE TABLE ${LIMITS_TABLE} (
      key TEXT PRIMARY KEY,
      points INTEGER NOT NULL DEFAULT 0,
      expire INTEGER
    );
    CREATE INDEX ${LIMITS_TABLE}_expire ON ${LIMITS_TABLE} (expire);`,
  },
];

/** Expired budget rows are deleted this often (and an hour after they expired), off the request path. */
const SWEEP_EVERY_MS = 10 * 60 * 1000;

/** Deferred budget changes that no audit batch picked up (a client that hung up) are written after at most this. */
const DEFERRED_FLUSH_MS = 1000;

/** One key's budget window in memory; `pending`: points spent (or refunded, < 0) not yet written. */
interface BudgetEntry {
  points: number;
  expiresAt: number;
  pending: number;
}

/**
 * A budget counter (the Counter surface of RateLimiterSQLite) whose truth is in memory: a key's row
 * is read once, on its first use in this process, and changes go back as deltas. A consume is
 * therefore synchronous, so concurrent requests can never spend more than the budget.
 */
export class StoreBudgetCounter implements Counter {
  private readonly entries = new Map<string, BudgetEntry>();
  private readonly dirty = new Set<string>();
  private readonly load: Statement;
  private readonly upsert: Statement;
  private deferred = false;
  /** Deltas written by the last write() of a deferred batch, restored if its transaction rolls back. */
  private written: [string, number][] = [];

  constructor(
    private readonly db: StoreDatabase,
    private readonly opts: { points: number; duration: number; keyPrefix: string },
  ) {
    this.load = db.prepare(
      `SELECT points, expire FROM ${LIMITS_TABLE} WHERE key = ? AND (expire > ? OR expire IS NULL)`,
    );
    // RateLimiterSQLite's own upsert: a live row adds the delta, an expired one restarts with it.
    this.upsert = db.prepare(
      `INSERT INTO ${LIMITS_TABLE} (key, points, expire) VALUES (?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET
         points = CASE WHEN expire IS NULL OR expire > ? THEN points + excluded.points ELSE excluded.points END,
         expire = CASE WHEN expire IS NULL OR expire > ? THEN expire ELSE excluded.expire END`,
    );
  }

  consume(key: string, points: number): Promise<RateLimiterRes> {
    return this.change(key, points, true);
  }

  reward(key: string, points: number): Promise<RateLimiterRes> {
    return this.change(key, -points, false);
  }

  get(key: string): Promise<RateLimiterRes | null> {
    try {
      const now = Date.now();
      const entry = this.entry(key, now);
      if (entry === undefined || entry.expiresAt <= now) return Promise.resolve(null);
      return Promise.resolve(this.res(entry.points, entry.expiresAt - now, false));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** From now on changes wait for `write()` (inside the caller's transaction) instead of writing through. */
  defer(): DeferredWrites {
    this.deferred = true;
    return {
      write: () => this.writePending(),
      undo: () => this.undoWritten(),
    };
  }

  /** Writes every pending change in its own transaction (timer, close). */
  flush(): void {
    if (this.dirty.size === 0) return;
    try {
      this.db.transaction(() => this.writePending()).immediate();
    } catch (error) {
      this.undoWritten();
      throw error;
    }
  }

  /** Forgets windows that ended (their rows are swept separately). */
  sweep(now = Date.now()): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now && !this.dirty.has(key)) this.entries.delete(key);
    }
  }

  private change(key: string, delta: number, isConsume: boolean): Promise<RateLimiterRes> {
    const now = Date.now();
    let entry: BudgetEntry | undefined;
    try {
      entry = this.entry(key, now);
    } catch (error) {
      return Promise.reject(error);
    }
    let first = false;
    if (entry === undefined || entry.expiresAt <= now) {
      // A new window: whatever an ended window still had pending no longer counts.
      entry = { points: 0, expiresAt: now + this.opts.duration * 1000, pending: 0 };
      this.entries.set(key, entry);
      first = true;
    }
    entry.points += delta;
    entry.pending += delta;
    this.dirty.add(key);
    if (!this.deferred) {
      try {
        this.writeOne(key, entry, now);
      } catch (error) {
        // Not stored, not spent: fail closed (the caller refuses the request as unavailable).
        entry.points -= delta;
        entry.pending -= delta;
        return Promise.reject(error);
      }
    }
    const res = this.res(entry.points, entry.expiresAt - now, first);
    return isConsume && entry.points > this.opts.points ? Promise.reject(res) : Promise.resolve(res);
  }

  /** The live or ended window of `key`, read from the table on first use in this process. */
  private entry(key: string, now: number): BudgetEntry | undefined {
    const known = this.entries.get(key);
    if (known !== undefined) return known;
    const row = this.load.get(this.rowKey(key), now) as { points: number; expire: number | null } | undefined;
    if (row === undefined) return undefined;
    const entry = { points: row.points, expiresAt: row.expire ?? Number.POSITIVE_INFINITY, pending: 0 };
    this.entries.set(key, entry);
    return entry;
  }

  private rowKey(key: string): string {
    return `${this.opts.keyPrefix}:${key}`;
  }

  private writeOne(key: string, entry: BudgetEntry, now: number): void {
    if (entry.pending !== 0) {
      const expire = Number.isFinite(entry.expiresAt) ? entry.expiresAt : null;
      this.upsert.run(this.rowKey(key), entry.pending, expire, now, now);
    }
    entry.pending = 0;
    this.dirty.delete(key);
  }

  private writePending(): void {
    this.written = [];
    if (this.dirty.size === 0) return;
    const now = Date.now();
    for (const key of [...this.dirty]) {
      const entry = this.entries.get(key);
      if (entry === undefined) {
        this.dirty.delete(key);
        continue;
      }
      const amount = entry.pending;
      this.writeOne(key, entry, now);
      this.written.push([key, amount]);
    }
  }

  private undoWritten(): void {
    for (const [key, amount] of this.written) {
      const entry = this.entries.get(key);
      if (entry === undefined) continue;
      entry.pending += amount;
      this.dirty.add(key);
    }
    this.written = [];
  }

  private res(consumed: number, msBeforeNext: number, first: boolean): RateLimiterRes {
    return new RateLimiterRes(Math.max(this.opts.points - consumed, 0), msBeforeNext, consumed, first);
  }
}

/**
 * RateLimiterSQLite (11.x) compiles its upsert with `db.prepare` and wraps it in a fresh
 * `db.transaction` on every consume: ~110 µs of SQL compilation per request under load here, as much
 * as the write itself (bench/gateway-load.ts profile). One INSERT … ON CONFLICT … RETURNING is atomic
 * on its own, so this keeps each of its (two) statement texts prepared and runs it directly.
 */
class PreparedRateLimiterSQLite extends RateLimiterSQLite {
  private readonly statements = new Map<string, Statement>();

  async _upsertTransactionBetterSQLite3(conn: StoreDatabase, query: string, params: unknown[]): Promise<unknown> {
    let statement = this.statements.get(query);
    if (statement === undefined) {
      statement = conn.prepare(query);
      this.statements.set(query, statement);
    }
    return statement.get(...params);
  }
}

export function createSqliteCounters(windows: LimitWindows, db: StoreDatabase): LimitCounters {
  const { rate, throttle, budget } = windows;
  // Idempotent: the server normally applied these already when it opened the store.
  migrate(db, SQLITE_LIMIT_MIGRATIONS);
  const stored = (points: number, keyPrefix: string) =>
    new PreparedRateLimiterSQLite({
      storeClient: db,
      storeType: 'better-sqlite3',
      tableName: LIMITS_TABLE,
      tableCreated: true,
      points,
      duration: budget.perSeconds,
      keyPrefix,
    });
  const memory = {
    rate: memoryCounter({ points: rate.requests, duration: rate.perSeconds, keyPrefix: 'rate' }),
    throttle: memoryCounter({ points: throttle.requests, duration: throttle.perSeconds, keyPrefix: 'throttle' }),
  };
  const budgetCounter = new StoreBudgetCounter(db, {
    points: budget.queries,
    duration: budget.perSeconds,
    keyPrefix: 'budget',
  });
  const sweep = db.prepare(`DELETE FROM ${LIMITS_TABLE} WHERE expire < ?`);
  const sweeper = setInterval(() => {
    budgetCounter.sweep();
    try {
      sweep.run(Date.now() - 3600_000);
    } catch {
      // Busy or closed store: the next sweep retries; stale rows are ignored by reads anyway.
    }
  }, SWEEP_EVERY_MS).unref();
  let flusher: NodeJS.Timeout | undefined;
  return {
    ...memory,
    budget: budgetCounter,
    budgetAlert: stored(1, 'budget-alert'),
    deferWrites() {
      flusher ??= setInterval(() => {
        try {
          budgetCounter.flush();
        } catch {
          // Busy store: retried on the next tick or by the next audit batch.
        }
      }, DEFERRED_FLUSH_MS).unref();
      return budgetCounter.defer();
    },
    async close() {
      clearInterval(sweeper);
      clearInterval(flusher);
      memory.rate.close();
      memory.throttle.close();
      if (db.open) budgetCounter.flush();
    },
  };
}
