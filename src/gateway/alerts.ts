/**
 * Alerts in the store: what extraction detection, query budgets and drift monitors raised.
 * Append-only; read back by `GET /v1/monitoring/:model`, `aegis monitor` and reports.
 */
import type { Migration, StoreDatabase } from '../store/store.js';
import type { Alert, AlertSeverity } from './types.js';

export const ALERT_MIGRATIONS: readonly Migration[] = [
  {
    id: 'alerts/001-alerts',
    sql: `CREATE TABLE alerts (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      time TEXT NOT NULL,
      source TEXT NOT NULL,
      model TEXT,
      key_id TEXT,
      severity TEXT NOT NULL,
      message TEXT NOT NULL,
      detail TEXT NOT NULL
    );
    CREATE INDEX alerts_model_time ON alerts (model, time);`,
  },
];

export interface StoredAlert extends Alert {
  id: number;
}

export function recordAlert(db: StoreDatabase, alert: Alert): number {
  const result = db
    .prepare('INSERT INTO alerts (time, source, model, key_id, severity, message, detail) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(
      alert.time,
      alert.source,
      alert.model,
      alert.keyId,
      alert.severity,
      alert.message,
      JSON.stringify(alert.detail),
    );
  return Number(result.lastInsertRowid);
}

export interface AlertQuery {
  model?: string;
  source?: string;
  /** Newest first; default 100. */
  limit?: number;
}

export function listAlerts(db: StoreDatabase, query: AlertQuery = {}): StoredAlert[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (query.model !== undefined) {
    where.push('model = ?');
    args.push(query.model);
  }
  if (query.source !== undefined) {
    where.push('source = ?');
    args.push(query.source);
  }
  const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
  const rows = db.prepare(sql).all(...args, query.limit ?? 100) as Record<string, unknown>[];
  return rows.map((r) => ({
    id: r.id as number,
    time: r.time as string,
    source: r.source as string,
    model: (r.model as string | null) ?? null,
    keyId: (r.key_id as string | null) ?? null,
    severity: r.severity as AlertSeverity,
    message: r.message as string,
    detail: JSON.parse(r.detail as string) as Record<string, unknown>,
  }));
}
