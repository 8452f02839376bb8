/**
 * The 'sqlite' limits store: query budgets in the shared store (RateLimiterSQLite on the
 * better-sqlite3 handle), so they survive restarts; request rates stay in memory. A rate window
 * lasts seconds and would have expired by the time a restarted process serves again, while an
 * SQLite write costs ~50–250 µs (WAL, synchronous NORMAL/FULL): paying it per request for a
 * counter nobody needs after a restart would double the limits stage's cost.
 */
import type { Statement } from 'better-sqlite3';
import { RateLimiterSQLite } from 'rate-limiter-flexible';
import { type Migration, migrate, type StoreDatabase } from '../../store/store.js';
import { type LimitCounters, type LimitWindows, memoryCounter } from './counters.js';

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
  const sweep = db.prepare(`DELETE FROM ${LIMITS_TABLE} WHERE expire < ?`);
  const sweeper = setInterval(() => {
    try {
      sweep.run(Date.now() - 3600_000);
    } catch {
      // Busy or closed store: the next sweep retries; stale rows are ignored by reads anyway.
    }
  }, SWEEP_EVERY_MS).unref();
  return {
    ...memory,
    budget: stored(budget.queries, 'budget'),
    budgetAlert: stored(1, 'budget-alert'),
    async close() {
      clearInterval(sweeper);
      memory.rate.close();
      memory.throttle.close();
    },
  };
}
