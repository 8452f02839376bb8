/**
 * Per-user risk in the embedded store (table uba_user_risk), shared with triage, which reads a user's
 * risk as an alert feature. One row per user, replaced on every save (the latest scoring wins).
 */
import type { Migration, StoreDatabase } from '../../store/store.js';
import type { Reason } from '../detector.js';

export const BEHAVIOR_MIGRATIONS: readonly Migration[] = [
  {
    id: 'behavior/001-user-risk',
    sql: `CREATE TABLE uba_user_risk (
      user TEXT PRIMARY KEY,
      domain TEXT NOT NULL,
      risk REAL NOT NULL,
      updated_at INTEGER NOT NULL,
      reasons TEXT NOT NULL
    );`,
  },
];

export interface StoredUserRisk {
  user: string;
  domain?: string;
  risk: number;
  reasons: Reason[];
}

/** Upserts the users' risk; `updatedAt` in ms since the epoch (default now). Returns rows written. */
export function saveUserRisk(
  db: StoreDatabase,
  users: readonly StoredUserRisk[],
  updatedAt: number = Date.now(),
): number {
  const upsert = db.prepare(
    `INSERT INTO uba_user_risk (user, domain, risk, updated_at, reasons) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(user) DO UPDATE SET domain = excluded.domain, risk = excluded.risk,
       updated_at = excluded.updated_at, reasons = excluded.reasons`,
  );
  db.transaction(() => {
    for (const u of users) {
      upsert.run(
        u.user,
        u.domain ?? '',
        Number.isFinite(u.risk) ? u.risk : 0,
        Math.round(updatedAt),
        JSON.stringify(u.reasons),
      );
    }
  })();
  return users.length;
}

/** All users' stored risk (empty when the table does not exist yet). */
export function readUserRisk(
  db: StoreDatabase,
): Map<string, { risk: number; reasons: Reason[]; domain: string; updatedAt: number }> {
  const out = new Map<string, { risk: number; reasons: Reason[]; domain: string; updatedAt: number }>();
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'uba_user_risk'").get();
  if (!exists) return out;
  const rows = db.prepare('SELECT user, domain, risk, updated_at, reasons FROM uba_user_risk').all() as {
    user: string;
    domain: string;
    risk: number;
    updated_at: number;
    reasons: string;
  }[];
  for (const r of rows) {
    let reasons: Reason[] = [];
    try {
      reasons = JSON.parse(r.reasons) as Reason[];
    } catch {
      reasons = [];
    }
    out.set(r.user, { risk: r.risk, reasons, domain: r.domain, updatedAt: r.updated_at });
  }
  return out;
}
