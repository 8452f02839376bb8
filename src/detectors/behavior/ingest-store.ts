/**
 * What `aegis uba ingest` read, kept in the embedded store beside the per-user risk (table
 * uba_ingest_runs): one row per run with its files and IngestCounts, so an analyst can see how
 * much of a feed was unusable, duplicated or out of order. Events themselves are not stored: the
 * risk table is the output.
 */
import type { Migration, StoreDatabase } from '../../store/store.js';
import type { IngestCounts } from './event.js';

export const INGEST_MIGRATIONS: readonly Migration[] = [
  {
    id: 'behavior/ingest-001-runs',
    sql: `CREATE TABLE uba_ingest_runs (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      started_at INTEGER NOT NULL,
      files TEXT NOT NULL,
      counts TEXT NOT NULL,
      users INTEGER NOT NULL,
      first_event INTEGER,
      last_event INTEGER
    );`,
  },
];

export interface IngestRun {
  id: number;
  startedAt: number;
  files: string[];
  counts: IngestCounts;
  users: number;
  firstEvent: number | null;
  lastEvent: number | null;
}

/** Records one run; returns its id. */
export function recordIngestRun(db: StoreDatabase, run: Omit<IngestRun, 'id'>): number {
  const info = db
    .prepare(
      'INSERT INTO uba_ingest_runs (started_at, files, counts, users, first_event, last_event) VALUES (?, ?, ?, ?, ?, ?)',
    )
    .run(
      Math.round(run.startedAt),
      JSON.stringify(run.files),
      JSON.stringify(run.counts),
      run.users,
      run.firstEvent,
      run.lastEvent,
    );
  return Number(info.lastInsertRowid);
}

/** The latest runs, newest first (empty when the table does not exist). */
export function listIngestRuns(db: StoreDatabase, limit = 10): IngestRun[] {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'uba_ingest_runs'").get();
  if (!exists) return [];
  const rows = db
    .prepare(
      'SELECT id, started_at, files, counts, users, first_event, last_event FROM uba_ingest_runs ORDER BY id DESC LIMIT ?',
    )
    .all(limit) as {
    id: number;
    started_at: number;
    files: string;
    counts: string;
    users: number;
    first_event: number | null;
    last_event: number | null;
  }[];
  return rows.map((r) => ({
    id: r.id,
    startedAt: r.started_at,
    files: JSON.parse(r.files) as string[],
    counts: JSON.parse(r.counts) as IngestCounts,
    users: r.users,
    firstEvent: r.first_event,
    lastEvent: r.last_event,
  }));
}
