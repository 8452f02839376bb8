/**
 * Aegis's own alerts → TriageAlert, with MITRE ATLAS (AI systems) or ATT&CK technique ids:
 *  - rows of the store's `alerts` table (src/gateway/alerts.ts): PRADA extraction detection,
 *    query budgets, drift monitors — the model is the asset (host), the API key the user;
 *  - detector verdicts as `aegis nids detect --json` / `aegis phish detect --json` print them
 *    ({score, label, reasons, line | id}); benign labels are ignored;
 *  - `aegis uba score --json` users ({users: [{user, risk, reasons, alerts, lastSeen}]}): one alert per risky user.
 * Verdicts carry no time of their own: they take `time` when present, else the caller's fallback.
 */
import type { StoredAlert } from '../../gateway/alerts.js';
import type { Alert, AlertSeverity } from '../../gateway/types.js';
import type { TriageAlert, TriageSeverity } from './alert.js';
import { contentId, entity, isRecord, num, type ParseResult, parseTime, str } from './parse-common.js';

/** ATLAS tactic ids (https://atlas.mitre.org/tactics). */
export const ATLAS_TACTICS = {
  modelAccess: 'AML.TA0000',
  attackStaging: 'AML.TA0001',
  defenseEvasion: 'AML.TA0007',
  exfiltration: 'AML.TA0010',
  impact: 'AML.TA0011',
} as const;

/** Technique and tactic of each gateway/monitor alert source (ids as in src/report/atlas.ts). */
export function atlasOfAlertSource(source: string): { technique: string; tactic: string } {
  if (source === 'prada') return { technique: 'AML.T0024.002', tactic: ATLAS_TACTICS.exfiltration }; // Extract AI Model
  // A key that exhausts its budget is querying at extraction/inversion scale.
  if (source === 'query-budget') return { technique: 'AML.T0040', tactic: ATLAS_TACTICS.modelAccess };
  // Input drift: crafted or out-of-distribution inputs; prediction/confidence drift: integrity erodes.
  if (/^drift\/(ks|psi|mmd)$/.test(source)) return { technique: 'AML.T0043', tactic: ATLAS_TACTICS.attackStaging };
  if (source.startsWith('drift/')) return { technique: 'AML.T0031', tactic: ATLAS_TACTICS.impact };
  return { technique: '', tactic: '' };
}

const GATEWAY_SEVERITY: Readonly<Record<AlertSeverity, TriageSeverity>> = {
  info: 'info',
  warning: 'medium',
  critical: 'critical',
};

/** True for a gateway/monitor Alert (stored row or its JSON): {time, source, severity info|warning|critical, message}. */
export function isAegisStoreAlert(record: Record<string, unknown>): boolean {
  return (
    typeof record.time === 'string' &&
    typeof record.source === 'string' &&
    typeof record.message === 'string' &&
    (record.severity === 'info' || record.severity === 'warning' || record.severity === 'critical')
  );
}

/** One row of the `alerts` table (listAlerts) or an Alert as JSON. */
export function parseAegisStoreAlert(row: (Alert & { id?: number }) | Record<string, unknown>): ParseResult {
  const r = row as Record<string, unknown>;
  if (!isAegisStoreAlert(r))
    return { kind: 'malformed', reason: 'not an Aegis alert (time, source, severity, message)' };
  const time = parseTime(r.time);
  if (time === undefined) return { kind: 'malformed', reason: `Aegis alert time '${str(r.time)}' is not a date` };
  const source = r.source as string;
  const { technique, tactic } = atlasOfAlertSource(source);
  const model = entity(r.model);
  const key = entity(r.keyId ?? r.key_id);
  const alert: TriageAlert = {
    id:
      typeof r.id === 'number'
        ? `aegis-alert:${r.id}`
        : contentId('aegis-alert', [r.time, source, model, key, r.message]),
    time,
    source: source.startsWith('drift/') ? 'aegis-monitor' : 'aegis-gateway',
    signatureId: source,
    signature: r.message as string,
    severity: GATEWAY_SEVERITY[r.severity as AlertSeverity],
    srcIp: '',
    destIp: '',
    host: model,
    user: key,
    tactic,
    technique,
    raw: row,
  };
  return { kind: 'alert', alert };
}

/** Rows of the store's `alerts` table, as listAlerts returns them. */
export function aegisStoreAlerts(rows: readonly StoredAlert[]): TriageAlert[] {
  const out: TriageAlert[] = [];
  for (const row of rows) {
    const r = parseAegisStoreAlert(row);
    if (r.kind === 'alert') out.push(r.alert);
  }
  return out;
}

/** Network detector classes (NSL-KDD categories, UNSW-NB15 attack_cat) → ATT&CK technique and tactic. */
const NIDS_ATTACK: Readonly<Record<string, readonly [string, string]>> = {
  probe: ['T1046', 'TA0007'],
  reconnaissance: ['T1595', 'TA0043'],
  analysis: ['T1046', 'TA0007'],
  fuzzers: ['T1595', 'TA0043'],
  dos: ['T1498', 'TA0040'],
  r2l: ['T1110', 'TA0006'],
  u2r: ['T1068', 'TA0004'],
  exploits: ['T1190', 'TA0001'],
  backdoor: ['T1505', 'TA0003'],
  backdoors: ['T1505', 'TA0003'],
  shellcode: ['T1203', 'TA0002'],
  worms: ['T1210', 'TA0008'],
};

/** ATT&CK technique/tactic for a network attack class; '' when unknown ('generic', 'attack'). */
export function attackOfNidsClass(label: string): { technique: string; tactic: string } {
  const hit = NIDS_ATTACK[label.toLowerCase()];
  return hit ? { technique: hit[0], tactic: hit[1] } : { technique: '', tactic: '' };
}

const BENIGN_LABELS = new Set(['normal', 'benign', 'ham', 'legitimate', 'clean']);

/** True for a detector verdict object: {score: number, label: string, reasons: []}. */
export function isAegisVerdict(record: Record<string, unknown>): boolean {
  return typeof record.score === 'number' && typeof record.label === 'string' && Array.isArray(record.reasons);
}

/** True for `aegis uba score --json` output: {users: [{user, risk}]}. */
export function isUbaUsers(record: Record<string, unknown>): boolean {
  return Array.isArray(record.users) && record.users.every((u) => isRecord(u) && typeof u.user === 'string');
}

function topReason(reasons: unknown): string {
  const first = Array.isArray(reasons) ? reasons[0] : undefined;
  return isRecord(first) ? str(first.detail) : '';
}

/** One detector verdict (nids or phish). `fallbackTime` when the verdict has no `time`. */
export function parseAegisVerdict(record: Record<string, unknown>, fallbackTime: number): ParseResult {
  if (!isAegisVerdict(record)) return { kind: 'malformed', reason: 'not a detector verdict (score, label, reasons)' };
  const label = record.label as string;
  const attack = record.attack === true || (record.attack === undefined && !BENIGN_LABELS.has(label.toLowerCase()));
  if (!attack) return { kind: 'ignored', reason: `detector verdict '${label}'` };
  const time = parseTime(record.time) ?? fallbackTime;
  const phishing = label.toLowerCase() === 'phishing';
  const detector = str(record.detector) || (phishing ? 'phish' : 'nids');
  const { technique, tactic } = phishing ? { technique: 'T1566', tactic: 'TA0001' } : attackOfNidsClass(label);
  const score = record.score as number;
  const item = str(record.id) || (record.line !== undefined ? `line ${str(record.line)}` : '');
  const alert: TriageAlert = {
    id: contentId('aegis-verdict', [detector, item, label, score, record.time]),
    time,
    source: 'aegis-detector',
    signatureId: `${detector}:${label.toLowerCase()}`,
    signature: `${detector} ${label}${item ? ` (${item})` : ''}${topReason(record.reasons) ? `: ${topReason(record.reasons)}` : ''}`,
    severity: score >= 0.9 ? 'high' : score >= 0.6 ? 'medium' : 'low',
    ...(score >= 0 && score <= 1 ? { confidence: score } : {}),
    srcIp: entity(record.srcIp ?? record.src_ip),
    destIp: entity(record.destIp ?? record.dest_ip),
    host: entity(record.host),
    user: entity(record.user),
    tactic,
    technique,
    raw: record,
  };
  return { kind: 'alert', alert };
}

/**
 * `aegis uba score --json` users with risk ≥ minRisk and at least one suspicious event, one alert
 * each ('uba:user-risk', ATT&CK Valid Accounts T1078: a compromised account behaving unlike
 * itself). UBA risk is a decayed sum of event scores (unbounded); the confidence is 1 − e^(−risk),
 * as triage's user-risk feature squashes it. Time: the user's lastSeen, else the run's asOf.
 */
export function parseUbaUsers(record: Record<string, unknown>, fallbackTime: number, minRisk = 0.5): TriageAlert[] {
  if (!isUbaUsers(record)) return [];
  const out: TriageAlert[] = [];
  for (const u of record.users as Record<string, unknown>[]) {
    const risk = num(u.risk);
    if (risk === undefined || risk < minRisk) continue;
    if (typeof u.alerts === 'number' && u.alerts === 0) continue;
    const time = parseTime(u.lastSeen ?? u.updatedAt ?? u.updated_at) ?? parseTime(record.asOf) ?? fallbackTime;
    const user = entity(u.user);
    const confidence = 1 - Math.exp(-risk);
    out.push({
      id: contentId('aegis-uba', [user, entity(u.domain), risk, time]),
      time,
      source: 'aegis-detector',
      signatureId: 'uba:user-risk',
      signature: `user ${user} behaviour risk ${risk.toFixed(2)}${topReason(u.reasons) ? `: ${topReason(u.reasons)}` : ''}`,
      severity: confidence >= 0.95 ? 'high' : confidence >= 0.75 ? 'medium' : 'low',
      confidence,
      srcIp: '',
      destIp: '',
      host: entity(u.host),
      user,
      tactic: 'TA0001',
      technique: 'T1078',
      raw: u,
    });
  }
  return out;
}
