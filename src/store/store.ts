/**
 * The embedded store: one SQLite file (better-sqlite3, WAL) shared by lineage, the gateway,
 * monitors and triage. Each feature owns its tables and brings its own ordered migrations;
 * `openStore` applies the ones a database has not seen yet, each in a transaction, and records
 * them in `schema_migrations`, so old databases upgrade in place and nothing is applied twice.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { AegisInputError } from '../core/errors.js';

export type StoreDatabase = Database.Database;

export interface Migration {
  /** Unique and stable forever, prefixed by the owning feature: 'lineage/001-graph'. */
  id: string;
  /** One or more SQL statements. */
  sql: string;
}

/** Where the store lives when no path is given: $AEGIS_STORE, else .aegis/aegis.db under the working directory. */
export function defaultStorePath(): string {
  return process.env.AEGIS_STORE ?? resolve('.aegis', 'aegis.db');
}

/** Opens (creating if needed) the store at `path` (':memory:' for a private in-memory one) and migrates it. */
export function openStore(path: string = defaultStorePath(), migrations: readonly Migration[] = []): StoreDatabase {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  let db: StoreDatabase;
  try {
    db = new Database(path);
  } catch (error) {
    throw new AegisInputError(`cannot open the store '${path}': ${(error as Error).message}`);
  }
  try {
    if (path !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, migrations);
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_NOTADB') {
      throw new AegisInputError(`the store '${path}' is not an SQLite database`);
    }
    throw error;
  }
  return db;
}

/** Applies the migrations this database has not recorded yet, in the order given. */
export function migrate(db: StoreDatabase, migrations: readonly Migration[]): string[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  const seen = new Set<string>();
  for (const m of migrations) {
    if (seen.has(m.id)) throw new Error(`migration id '${m.id}' is listed twice`);
    seen.add(m.id);
  }
  const applied = new Set(
    (db.prepare('SELECT id FROM schema_migrations').all() as { id: string }[]).map((row) => row.id),
  );
  const record = db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
  const done: string[] = [];
  for (const m of migrations) {
    if (applied.has(m.id)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.id, new Date().toISOString());
    })();
    done.push(m.id);
  }
  return done;
}
