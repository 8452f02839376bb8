/**
 * What UBA learned, kept in the store between runs: every user's and peer group's baseline, the
 * per-source failure state and the accumulated per-user risk, so `aegis uba ingest` of today's
 * logs scores them against everything ingested before (a baseline that restarts every day would
 * call every user's routine new). One row, replaced on every save; v8 serialisation keeps Maps.
 */
import { deserialize, serialize } from 'node:v8';
import { AegisInputError } from '../../core/errors.js';
import type { Migration, StoreDatabase } from '../../store/store.js';
import type { BaselineState } from './baseline.js';
import { RiskAccumulator, type UserState } from './risk.js';
import { UbaDetector, type UbaOptions } from './uba-detector.js';

export const STATE_MIGRATIONS: readonly Migration[] = [
  {
    id: 'behavior/002-state',
    sql: `CREATE TABLE uba_state (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      version INTEGER NOT NULL,
      saved_at INTEGER NOT NULL,
      users INTEGER NOT NULL,
      state BLOB NOT NULL
    );`,
  },
];

const STATE_VERSION = 1;

interface SavedState {
  baselines: BaselineState;
  risk: UserState[];
}

export interface RestoredUba {
  detector: UbaDetector;
  risk: RiskAccumulator;
  savedAt: number;
  users: number;
}

/** Saves the detector's baselines and the accumulated risk (replacing the previous save). */
export function saveUbaState(db: StoreDatabase, detector: UbaDetector, risk: RiskAccumulator, savedAt = Date.now()) {
  const state: SavedState = { baselines: detector.baselines.exportState(), risk: risk.exportState() };
  db.prepare(
    `INSERT INTO uba_state (id, version, saved_at, users, state) VALUES (1, ?, ?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET version = excluded.version, saved_at = excluded.saved_at,
       users = excluded.users, state = excluded.state`,
  ).run(STATE_VERSION, savedAt, state.baselines.users.length, serialize(state));
}

/** The saved state as a detector and a risk accumulator built with these options; null when none was saved. */
export function loadUbaState(
  db: StoreDatabase,
  options: UbaOptions & { halfLifeMs?: number; riskThreshold?: number } = {},
): RestoredUba | null {
  const row = db.prepare('SELECT version, saved_at, users, state FROM uba_state WHERE id = 1').get() as
    | { version: number; saved_at: number; users: number; state: Buffer }
    | undefined;
  if (!row) return null;
  if (row.version !== STATE_VERSION) {
    throw new AegisInputError(
      `the store's UBA state has version ${row.version}, this Aegis reads ${STATE_VERSION}; ingest with --fresh to start over`,
    );
  }
  const state = deserialize(row.state) as SavedState;
  const detector = new UbaDetector(options);
  detector.baselines.importState(state.baselines);
  const risk = new RiskAccumulator(
    options.halfLifeMs ?? 86_400_000,
    options.riskThreshold ?? detector.options.threshold,
  );
  risk.importState(state.risk);
  return { detector, risk, savedAt: row.saved_at, users: row.users };
}
