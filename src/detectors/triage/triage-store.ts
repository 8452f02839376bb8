/**
 * Triage in the embedded store (src/store/store.ts): alerts, incidents, which alert belongs to
 * which incident, analyst verdicts, and the ranking model's state. Tables are prefixed 'triage_'
 * because the database is shared with the gateway (its `alerts` table) and behaviour analytics.
 *
 * Migrations: 'triage/001-tables' is the first schema; 'triage/002-score-explanation' adds the
 * ranker's explanation and feature columns to incidents and the model table, so a store created by an older
 * Aegis upgrades in place (openStore applies only the migrations a database has not recorded).
 */
import type Database from 'better-sqlite3';
import type { Migration, StoreDatabase } from '../../store/store.js';
import type { Reason } from '../detector.js';
import type { Incident, TriageAlert, TriageSeverity } from './alert.js';
import type { IncidentFeatures } from './features.js';
import { SEVERITIES, SEVERITY_RANK } from './parse-common.js';

/** Prepared statements per database (preparing costs more than running the small queries here). */
type Statement = Database.Statement<unknown[], unknown>;
const statements = new WeakMap<StoreDatabase, Map<string, Statement>>();
function stmt(db: StoreDatabase, sql: string): Statement {
  let cache = statements.get(db);
  if (!cache) {
    cache = new Map();
    statements.set(db, cache);
  }
  let s = cache.get(sql);
  if (!s) {
    s = db.prepare<unknown[], unknown>(sql);
    cache.set(sql, s);
  }
  return s;
}

export const TRIAGE_MIGRATION_V1: Migration = {
  id: 'triage/001-tables',
  sql: `CREATE TABLE triage_alerts (
      id TEXT PRIMARY KEY,
      time INTEGER NOT NULL,
      source TEXT NOT NULL,
      signature_id TEXT NOT NULL,
      signature TEXT NOT NULL,
      severity TEXT NOT NULL,
      confidence REAL,
      src_ip TEXT NOT NULL,
      dest_ip TEXT NOT NULL,
      host TEXT NOT NULL,
      user TEXT NOT NULL,
      tactic TEXT NOT NULL,
      technique TEXT NOT NULL,
      truth INTEGER,
      raw TEXT NOT NULL
    );
    CREATE INDEX triage_alerts_time ON triage_alerts (time);
    CREATE TABLE triage_incidents (
      id TEXT PRIMARY KEY,
      key TEXT NOT NULL,
      first_seen INTEGER NOT NULL,
      last_seen INTEGER NOT NULL,
      alert_count INTEGER NOT NULL,
      duplicates INTEGER NOT NULL,
      max_severity INTEGER NOT NULL,
      score REAL,
      verdict TEXT CHECK (verdict IN ('tp', 'fp')),
      truth INTEGER,
      updated_at INTEGER NOT NULL
    );
    CREATE INDEX triage_incidents_key ON triage_incidents (key, last_seen);
    CREATE INDEX triage_incidents_queue ON triage_incidents (verdict, score);
    CREATE TABLE triage_incident_alerts (
      alert_id TEXT PRIMARY KEY REFERENCES triage_alerts (id) ON DELETE CASCADE,
      incident_id TEXT NOT NULL REFERENCES triage_incidents (id) ON DELETE CASCADE
    );
    CREATE INDEX triage_incident_alerts_incident ON triage_incident_alerts (incident_id);
    CREATE TABLE triage_verdicts (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      incident_id TEXT NOT NULL REFERENCES triage_incidents (id) ON DELETE CASCADE,
      verdict TEXT NOT NULL CHECK (verdict IN ('tp', 'fp')),
      analyst TEXT NOT NULL,
      time INTEGER NOT NULL
    );
    CREATE INDEX triage_verdicts_incident ON triage_verdicts (incident_id);
    CREATE TABLE triage_duplicates (
      alert_id TEXT PRIMARY KEY,
      incident_id TEXT NOT NULL,
      time INTEGER NOT NULL
    );
    CREATE INDEX triage_duplicates_incident ON triage_duplicates (incident_id);`,
};

export const TRIAGE_MIGRATION_V2: Migration = {
  id: 'triage/002-score-explanation',
  sql: `ALTER TABLE triage_incidents ADD COLUMN score_explanation TEXT;
    ALTER TABLE triage_incidents ADD COLUMN features TEXT;
    CREATE TABLE triage_model (
      name TEXT PRIMARY KEY,
      state TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    );`,
};

export const TRIAGE_MIGRATIONS: readonly Migration[] = [TRIAGE_MIGRATION_V1, TRIAGE_MIGRATION_V2];

/** An incident as stored: the contract plus what the queue shows. */
export interface StoredIncident extends Incident {
  alertCount: number;
  maxSeverity: TriageSeverity;
  /** The ranker's reasons for `score` (most important first); [] when not computed yet (see pipeline.queue). */
  scoreExplanation: Reason[];
  updatedAt: number;
}

const boolOrNull = (b: boolean | undefined) => (b === undefined ? null : b ? 1 : 0);

/** Inserts alerts (an id already stored is left alone); returns how many were new. One transaction. */
export function saveAlerts(db: StoreDatabase, alerts: readonly TriageAlert[]): number {
  const insert = stmt(
    db,
    `INSERT OR IGNORE INTO triage_alerts
       (id, time, source, signature_id, signature, severity, confidence, src_ip, dest_ip, host, user, tactic, technique, truth, raw)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  let added = 0;
  db.transaction(() => {
    for (const a of alerts) {
      added += insert.run(
        a.id,
        a.time,
        a.source,
        a.signatureId,
        a.signature,
        a.severity,
        a.confidence ?? null,
        a.srcIp,
        a.destIp,
        a.host,
        a.user,
        a.tactic,
        a.technique,
        boolOrNull(a.truth),
        JSON.stringify(a.raw ?? null),
      ).changes;
    }
  })();
  return added;
}

/**
 * Records duplicate deliveries folded into incidents (ids only: the alert kept holds the content),
 * so that ingesting the same file again recognises them. Returns how many were new.
 */
export function saveDuplicates(
  db: StoreDatabase,
  rows: readonly { alertId: string; incidentId: string; time: number }[],
): number {
  const insert = stmt(db, 'INSERT OR IGNORE INTO triage_duplicates (alert_id, incident_id, time) VALUES (?, ?, ?)');
  let added = 0;
  db.transaction(() => {
    for (const r of rows) added += insert.run(r.alertId, r.incidentId, r.time).changes;
  })();
  return added;
}

/** Alert ids among `ids` already in the store (kept alerts or recorded duplicates). */
export function storedAlertIds(db: StoreDatabase, ids: readonly string[]): Set<string> {
  const kept = stmt(db, 'SELECT 1 FROM triage_alerts WHERE id = ?').pluck();
  const folded = stmt(db, 'SELECT 1 FROM triage_duplicates WHERE alert_id = ?').pluck();
  return new Set(ids.filter((id) => kept.get(id) !== undefined || folded.get(id) !== undefined));
}

/**
 * Upserts incidents and their membership (from `alertIds`, whose alerts must be saved first;
 * alerts stored earlier stay members). `merges` (AlertGrouper.absorbed, in order) move a stored
 * incident's alerts and verdicts into the incident that finally absorbed it, then delete it.
 * Verdicts and scores already stored are kept unless the incident carries new ones. One transaction.
 */
export function saveIncidents(
  db: StoreDatabase,
  incidents: readonly Incident[],
  merges: readonly { from: string; into: string }[] = [],
): void {
  const now = Date.now();
  const upsert = stmt(
    db,
    `INSERT INTO triage_incidents
       (id, key, first_seen, last_seen, alert_count, duplicates, max_severity, score, verdict, truth, updated_at)
     VALUES (@id, @key, @firstSeen, @lastSeen, @alertCount, @duplicates, @maxSeverity, @score, @verdict, @truth, @now)
     ON CONFLICT (id) DO UPDATE SET
       key = excluded.key, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
       alert_count = excluded.alert_count, duplicates = excluded.duplicates, max_severity = excluded.max_severity,
       score = COALESCE(excluded.score, triage_incidents.score),
       verdict = COALESCE(excluded.verdict, triage_incidents.verdict),
       truth = COALESCE(excluded.truth, triage_incidents.truth), updated_at = excluded.updated_at`,
  );
  const member = stmt(db, 'INSERT OR REPLACE INTO triage_incident_alerts (alert_id, incident_id) VALUES (?, ?)');
  const severity = stmt(
    db,
    `SELECT MAX(CASE a.severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END)
     FROM triage_incident_alerts m JOIN triage_alerts a ON a.id = m.alert_id WHERE m.incident_id = ?`,
  ).pluck();
  const refresh = stmt(db, 'UPDATE triage_incidents SET max_severity = ?, alert_count = ? WHERE id = ?');
  const count = stmt(db, 'SELECT COUNT(*) FROM triage_incident_alerts WHERE incident_id = ?').pluck();
  const drop = stmt(db, 'DELETE FROM triage_incidents WHERE id = ?');
  const moveAlerts = stmt(db, 'UPDATE triage_incident_alerts SET incident_id = ? WHERE incident_id = ?');
  const moveVerdicts = stmt(db, 'UPDATE triage_verdicts SET incident_id = ? WHERE incident_id = ?');
  const moveDuplicates = stmt(db, 'UPDATE triage_duplicates SET incident_id = ? WHERE incident_id = ?');
  const byId = new Map(incidents.map((i) => [i.id, i]));
  const next = new Map(merges.map((m) => [m.from, m.into]));
  const final = (id: string): string => {
    let at = id;
    for (let hops = 0; next.has(at) && hops <= merges.length; hops++) at = next.get(at) as string;
    return at;
  };
  db.transaction(() => {
    for (const { from } of merges) {
      const target = byId.get(final(from));
      if (!target) continue; // the caller did not pass the surviving incident: leave the stored one alone
      upsert.run(params(target, now)); // so moved rows have an incident to point at
      moveAlerts.run(target.id, from);
      moveVerdicts.run(target.id, from);
      moveDuplicates.run(target.id, from);
      drop.run(from);
    }
    for (const inc of incidents) {
      upsert.run(params(inc, now));
      for (const id of inc.alertIds) member.run(id, inc.id);
      refresh.run((severity.get(inc.id) as number | null) ?? 0, count.get(inc.id) as number, inc.id);
    }
  })();
}

function params(inc: Incident, now: number) {
  return {
    id: inc.id,
    key: inc.key,
    firstSeen: inc.firstSeen,
    lastSeen: inc.lastSeen,
    alertCount: inc.alertIds.length,
    duplicates: inc.duplicates,
    maxSeverity: 0,
    score: inc.score ?? null,
    verdict: inc.verdict ?? null,
    truth: boolOrNull(inc.truth),
    now,
  };
}

function incidentFromRow(r: Record<string, unknown>, alertIds: string[]): StoredIncident {
  return {
    id: r.id as string,
    key: r.key as string,
    firstSeen: r.first_seen as number,
    lastSeen: r.last_seen as number,
    alertIds,
    duplicates: r.duplicates as number,
    ...(r.score !== null ? { score: r.score as number } : {}),
    ...(r.verdict !== null ? { verdict: r.verdict as 'tp' | 'fp' } : {}),
    ...(r.truth !== null ? { truth: r.truth === 1 } : {}),
    alertCount: r.alert_count as number,
    maxSeverity: SEVERITIES[r.max_severity as number] ?? 'info',
    scoreExplanation: r.score_explanation ? (JSON.parse(r.score_explanation as string) as Reason[]) : [],
    updatedAt: r.updated_at as number,
  };
}

export interface IncidentQuery {
  /** Default: all. */
  limit?: number;
  /** 'open' = no verdict yet, 'judged' = with one; default both (open first). */
  status?: 'open' | 'judged' | 'all';
  /** Only incidents whose last alert is at or after this time (ms). */
  since?: number;
  /** Include alert ids (one extra query per incident). Default false. */
  withAlertIds?: boolean;
}

/**
 * The analyst queue: incidents without a verdict first, then by score (highest first; unscored
 * last), then highest severity, most alerts, most recent, id — a total, deterministic order.
 */
export function listIncidents(db: StoreDatabase, query: IncidentQuery = {}): StoredIncident[] {
  const where: string[] = [];
  const args: (number | string)[] = [];
  if (query.status === 'open') where.push('verdict IS NULL');
  if (query.status === 'judged') where.push('verdict IS NOT NULL');
  if (query.since !== undefined) {
    where.push('last_seen >= ?');
    args.push(query.since);
  }
  const sql = `SELECT * FROM triage_incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY (verdict IS NOT NULL), (score IS NULL), score DESC, max_severity DESC, alert_count DESC, last_seen DESC, id
    LIMIT ?`;
  const rows = stmt(db, sql).all(...args, query.limit ?? -1) as Record<string, unknown>[];
  const ids = stmt(db, 'SELECT alert_id FROM triage_incident_alerts WHERE incident_id = ? ORDER BY alert_id').pluck();
  return rows.map((r) => incidentFromRow(r, query.withAlertIds ? (ids.all(r.id) as string[]) : []));
}

function alertFromRow(r: Record<string, unknown>): TriageAlert {
  return {
    id: r.id as string,
    time: r.time as number,
    source: r.source as string,
    signatureId: r.signature_id as string,
    signature: r.signature as string,
    severity: r.severity as TriageSeverity,
    ...(r.confidence !== null ? { confidence: r.confidence as number } : {}),
    srcIp: r.src_ip as string,
    destIp: r.dest_ip as string,
    host: r.host as string,
    user: r.user as string,
    tactic: r.tactic as string,
    technique: r.technique as string,
    ...(r.truth !== null ? { truth: r.truth === 1 } : {}),
    raw: r.raw === null ? null : (JSON.parse(r.raw as string) as unknown),
  };
}

/** Alerts of an incident in time order; `raw: false` leaves the source records out (raw: null), which is faster. */
export function incidentAlerts(db: StoreDatabase, incidentId: string, options: { raw?: boolean } = {}): TriageAlert[] {
  const columns =
    options.raw === false
      ? 'a.id, a.time, a.source, a.signature_id, a.signature, a.severity, a.confidence, a.src_ip, a.dest_ip, a.host, a.user, a.tactic, a.technique, a.truth, NULL AS raw'
      : 'a.*';
  const rows = stmt(
    db,
    `SELECT ${columns} FROM triage_incident_alerts m JOIN triage_alerts a ON a.id = m.alert_id
       WHERE m.incident_id = ? ORDER BY a.time, a.id`,
  ).all(incidentId) as Record<string, unknown>[];
  return rows.map(alertFromRow);
}

/** One incident with its alerts (time order), or undefined. A unique id prefix (≥ 6 characters) is accepted. */
export function getIncident(
  db: StoreDatabase,
  id: string,
): { incident: StoredIncident; alerts: TriageAlert[] } | undefined {
  let row = stmt(db, 'SELECT * FROM triage_incidents WHERE id = ?').get(id) as Record<string, unknown> | undefined;
  if (!row && id.length >= 6) {
    const rows = db
      .prepare("SELECT * FROM triage_incidents WHERE id LIKE ? ESCAPE '\\' LIMIT 2")
      .all(`${id.replace(/[\\%_]/g, '\\$&')}%`) as Record<string, unknown>[];
    if (rows.length === 1) row = rows[0];
  }
  if (!row) return undefined;
  const alerts = incidentAlerts(db, row.id as string);
  return {
    incident: incidentFromRow(
      row,
      alerts.map((a) => a.id),
    ),
    alerts,
  };
}

/** Records an analyst verdict (kept in triage_verdicts as history; the incident shows the latest). */
export function recordVerdict(
  db: StoreDatabase,
  incidentId: string,
  verdict: 'tp' | 'fp',
  analyst = '',
  time = Date.now(),
): void {
  db.transaction(() => {
    stmt(db, 'INSERT INTO triage_verdicts (incident_id, verdict, analyst, time) VALUES (?, ?, ?, ?)').run(
      incidentId,
      verdict,
      analyst,
      time,
    );
    stmt(db, 'UPDATE triage_incidents SET verdict = ?, updated_at = ? WHERE id = ?').run(verdict, time, incidentId);
  })();
}

export interface VerdictRow {
  incidentId: string;
  verdict: 'tp' | 'fp';
  analyst: string;
  time: number;
}

/** Verdict history, oldest first (optionally of one incident). */
export function listVerdicts(db: StoreDatabase, incidentId?: string): VerdictRow[] {
  const rows = (
    incidentId === undefined
      ? stmt(db, 'SELECT * FROM triage_verdicts ORDER BY id').all()
      : stmt(db, 'SELECT * FROM triage_verdicts WHERE incident_id = ? ORDER BY id').all(incidentId)
  ) as Record<string, unknown>[];
  return rows.map((r) => ({
    incidentId: r.incident_id as string,
    verdict: r.verdict as 'tp' | 'fp',
    analyst: r.analyst as string,
    time: r.time as number,
  }));
}

/**
 * Stores an incident's score and, optionally, its explanation and the features it was computed
 * from. `reasons: null` clears a stale explanation (it is recomputed from the features on demand).
 */
export function saveScore(
  db: StoreDatabase,
  incidentId: string,
  score: number,
  reasons: readonly Reason[] | null,
  features?: IncidentFeatures,
): void {
  const explanation = reasons === null ? null : JSON.stringify(reasons);
  if (features === undefined) {
    stmt(db, 'UPDATE triage_incidents SET score = ?, score_explanation = ? WHERE id = ?').run(
      score,
      explanation,
      incidentId,
    );
  } else {
    stmt(db, 'UPDATE triage_incidents SET score = ?, score_explanation = ?, features = ? WHERE id = ?').run(
      score,
      explanation,
      JSON.stringify(features),
      incidentId,
    );
  }
}

/** Caches an explanation computed later (queue, explain). */
export function saveExplanation(db: StoreDatabase, incidentId: string, reasons: readonly Reason[]): void {
  stmt(db, 'UPDATE triage_incidents SET score_explanation = ? WHERE id = ?').run(JSON.stringify(reasons), incidentId);
}

/** The features an incident was last scored from, or undefined (never scored, or a v1 database). */
export function loadFeatures(db: StoreDatabase, incidentId: string): IncidentFeatures | undefined {
  const text = stmt(db, 'SELECT features FROM triage_incidents WHERE id = ?').pluck().get(incidentId) as
    | string
    | null
    | undefined;
  return text ? (JSON.parse(text) as IncidentFeatures) : undefined;
}

/** Persisted model state by name ('ranker', 'rarity'), or undefined. */
export function loadModelState<T>(db: StoreDatabase, name: string): T | undefined {
  const state = stmt(db, 'SELECT state FROM triage_model WHERE name = ?').pluck().get(name) as string | undefined;
  return state === undefined ? undefined : (JSON.parse(state) as T);
}

export function saveModelState(db: StoreDatabase, name: string, state: unknown): void {
  stmt(
    db,
    `INSERT INTO triage_model (name, state, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
  ).run(name, JSON.stringify(state), Date.now());
}

/** User → risk from behaviour analytics (uba_user_risk) when that table exists; empty otherwise. */
export function readUserRiskTable(db: StoreDatabase): Map<string, number> {
  const exists = stmt(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'uba_user_risk'").get();
  if (!exists) return new Map();
  const rows = stmt(db, 'SELECT user, risk FROM uba_user_risk').all() as { user: string; risk: number }[];
  return new Map(rows.map((r) => [r.user.toLowerCase(), r.risk]));
}

/** Severity rank → name, for callers ordering without a score. */
export function severityRank(s: TriageSeverity): number {
  return SEVERITY_RANK[s];
}
