// Cry Wolf impossible-travel alerts: Roden & Layman 2020, "Cry Wolf: Toward an Experimentation Platform and Dataset for Human Factors in Cyber Security Analysis", ACMSE (arXiv:2002.10530).
/**
 * Reads the Cry Wolf experiment's alerts (session `Event` sheet as CSV: one simulated "impossible
 * travel" alert per row, with `should_escalate` as ground truth) into TriageAlerts, and the
 * participants' decisions (`EventDecision`) as a novice-analyst baseline. The data has no licence:
 * it is read from the team's shared folder for evaluation and never bundled.
 *
 * Mapping (what the alert itself would carry in a SIEM):
 *  - signature: impossible travel, split by the two providers ('Telecom → Hosting/server'), so the
 *    ranker can learn from verdicts that, say, hosting-provider logins are VPN exits;
 *  - confidence: 1 − the VPN confidence (how sure the alerting system is that it is not a VPN);
 *  - severity: high with 10 or more failed logins on either side ('100+' counts as 100), else medium;
 *  - entities: each alert gets its own pseudo-user (the data has none), so each alert is one incident;
 *  - time: synthetic, alerts 10 minutes apart in id order.
 * Rows whose numbers do not parse (the attention-check events) are skipped and counted.
 */
import { AegisInputError } from '../../core/errors.js';
import { type CsvTable, csvRecords } from '../../data/csv.js';
import type { TriageAlert } from './alert.js';

function count(v: string | undefined): number {
  const t = (v ?? '').trim();
  if (/^\d+\+$/.test(t)) return Number(t.slice(0, -1));
  return /^\d+(\.\d+)?$/.test(t) ? Number(t) : Number.NaN;
}

function percent(v: string | undefined): number {
  const t = (v ?? '').trim();
  const m = /^(\d+(?:\.\d+)?)%$/.exec(t);
  return m ? Number(m[1]) / 100 : Number.NaN;
}

function need(table: CsvTable, columns: readonly string[]): void {
  const header = table.header.map((h) => h.replace(/^\ufeff/, ''));
  const missing = columns.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new AegisInputError(`${table.source}: not a Cry Wolf event table (missing ${missing.join(', ')})`);
  }
  table.header = header;
}

const EVENT_COLUMNS = [
  'id',
  'time_between_authentications',
  'number_failed_logins1',
  'number_failed_logins2',
  'source_provider1',
  'source_provider2',
  'should_escalate',
  'vpn_confidence',
  'country_of_authentication1',
  'country_of_authentication2',
] as const;

/** Alerts of a Cry Wolf `Event` table; `skipped` counts rows that are not alerts (attention checks). */
export function crywolfAlerts(
  table: CsvTable,
  start = Date.UTC(2020, 0, 25),
): { alerts: TriageAlert[]; skipped: number } {
  need(table, EVENT_COLUMNS);
  const alerts: TriageAlert[] = [];
  let skipped = 0;
  for (const r of csvRecords(table)) {
    const id = count(r.id);
    const hours = count(r.time_between_authentications);
    const failed = Math.max(count(r.number_failed_logins1), count(r.number_failed_logins2));
    const vpn = percent(r.vpn_confidence);
    const truth = r.should_escalate?.trim();
    if (![id, hours, failed, vpn].every(Number.isFinite) || (truth !== '0' && truth !== '1')) {
      skipped++;
      continue;
    }
    const p1 = (r.source_provider1 ?? '').trim();
    const p2 = (r.source_provider2 ?? '').trim();
    alerts.push({
      id: `crywolf:${id}`,
      time: start + id * 600_000,
      source: 'crywolf',
      signatureId: `crywolf-travel/${p1}/${p2}`,
      signature: `Impossible travel (${p1} → ${p2})`,
      severity: failed >= 10 ? 'high' : 'medium',
      confidence: 1 - vpn,
      srcIp: '',
      destIp: '',
      host: '',
      user: `crywolf-user-${id}`,
      tactic: 'TA0001',
      technique: 'T1078',
      truth: truth === '1',
      raw: { ...r },
    });
  }
  return { alerts, skipped };
}

/** Share of participants who chose "Escalate" per alert id ("I don't know" counts as not escalating). */
export function crywolfEscalationShare(decisions: CsvTable): Map<string, { escalate: number; total: number }> {
  need(decisions, ['escalate', 'event_id']);
  const out = new Map<string, { escalate: number; total: number }>();
  for (const r of csvRecords(decisions)) {
    const key = `crywolf:${(r.event_id ?? '').trim()}`;
    const e = out.get(key) ?? { escalate: 0, total: 0 };
    e.total++;
    if ((r.escalate ?? '').trim() === 'Escalate') e.escalate++;
    out.set(key, e);
  }
  return out;
}
