/**
 * The `aegis uba score` document: users ranked by risk with their reasons, what ingest counted, as
 * JSON and as a self-contained HTML page. (The attack-report schema centres on a model's clean
 * accuracy, which UBA does not have, so this is its own small page.)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { escapeHtml } from '../../report/render-html.js';
import type { Reason } from '../detector.js';
import type { IngestCounts } from './event.js';

export interface UbaUserRow {
  user: string;
  domain: string;
  risk: number;
  /** Highest risk reached during the stream, and when (ISO). */
  peakRisk?: number;
  peakAt?: string | null;
  reasons: Reason[];
  events?: number;
  alerts?: number;
  firstAlert?: string | null;
  lastSeen?: string;
}

/** One input file's own counts and detected format ('empty' when it had no lines). */
export interface FileCounts {
  path: string;
  format: string;
  counts: IngestCounts;
}

export interface UbaScoreDocument {
  users: UbaUserRow[];
  counts: IngestCounts;
  files: string[];
  perFile?: FileCounts[];
  /** Events scored (the parsed ones). */
  events: number;
  alerts: number;
  /** The time risks are given at (latest event), ISO. */
  asOf: string | null;
  machineAccountsExcluded: number;
  /** Events read and scored per second of wall time. */
  eventsPerSecond: number;
}

function round(x: number, digits = 4): number {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)) : x;
}

/** Rows sorted by risk, or by peak risk (highest first), reasons kept as given. */
export function rankRows(rows: UbaUserRow[], by: 'risk' | 'peak' = 'risk'): UbaUserRow[] {
  const key = by === 'peak' ? (r: UbaUserRow) => r.peakRisk ?? r.risk : (r: UbaUserRow) => r.risk;
  return [...rows].sort((a, b) => key(b) - key(a) || a.user.localeCompare(b.user));
}

/** Plain-text table for the terminal. */
export function formatUserTable(rows: readonly UbaUserRow[], top: number): string {
  const shown = rows.slice(0, top);
  if (shown.length === 0) return '(no users)\n';
  const width = Math.max(4, ...shown.map((r) => r.user.length + (r.domain ? r.domain.length + 1 : 0)));
  const lines = [`${'#'.padStart(3)}  ${'user'.padEnd(width)}  ${'risk'.padStart(9)}  ${'peak'.padStart(9)}  reasons`];
  shown.forEach((r, i) => {
    const name = r.domain ? `${r.domain}\\${r.user}` : r.user;
    const why = r.reasons
      .slice(0, 3)
      .map((x) => x.detail)
      .join('; ');
    lines.push(
      `${String(i + 1).padStart(3)}  ${name.padEnd(width)}  ${round(r.risk).toFixed(2).padStart(9)}  ${round(
        r.peakRisk ?? r.risk,
      )
        .toFixed(2)
        .padStart(9)}  ${why}`.trimEnd(),
    );
  });
  if (rows.length > shown.length) lines.push(`  … ${rows.length - shown.length} more (use --top)`);
  return `${lines.join('\n')}\n`;
}

export function formatCounts(c: IngestCounts): string {
  return (
    `read ${c.read}, parsed ${c.parsed}, ignored ${c.ignored} (types not modelled), malformed ${c.malformed}, ` +
    `duplicates ${c.duplicates}, out of order ${c.outOfOrder}`
  );
}

export function renderUbaHtml(doc: UbaScoreDocument): string {
  const rows = doc.users
    .map((u, i) => {
      const reasons = u.reasons
        .map(
          (r) =>
            `<li>${escapeHtml(r.detail)} <span class="w">(${escapeHtml(r.feature)}, ${round(r.weight, 3)})</span></li>`,
        )
        .join('');
      return `<tr><td class="num">${i + 1}</td><td>${escapeHtml(u.domain ? `${u.domain}\\${u.user}` : u.user)}</td><td class="num">${round(u.risk)}</td><td class="num">${round(u.peakRisk ?? u.risk)}</td><td class="num">${u.events ?? ''}</td><td class="num">${u.alerts ?? ''}</td><td><ul>${reasons}</ul></td></tr>`;
    })
    .join('\n');
  const c = doc.counts;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Aegis UBA: users by risk</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}.num{text-align:right}
ul{margin:0;padding-left:1.2em}.w{color:#777;font-size:90%}</style></head><body>
<h1>User behaviour analytics: users by risk</h1>
<p>${escapeHtml(doc.files.join(', '))}</p>
<p>${doc.events} events scored, ${doc.alerts} suspicious, risk as of ${escapeHtml(doc.asOf ?? 'n/a')}; ${doc.machineAccountsExcluded} machine/service accounts left out of the ranking.</p>
<p>Ingest: ${escapeHtml(formatCounts(c))}.</p>
${
  (doc.perFile?.length ?? 0) > 1
    ? `<ul>${(doc.perFile ?? []).map((p) => `<li>${escapeHtml(p.path)} (${escapeHtml(p.format)}): ${escapeHtml(formatCounts(p.counts))}</li>`).join('')}</ul>`
    : ''
}
<table><thead><tr><th>#</th><th>user</th><th>risk</th><th>peak</th><th>events</th><th>alerts</th><th>reasons</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}

/**
 * Writes the document: a path ending in .html gets the page there and the JSON beside it
 * (same name, .json); any other path is a folder receiving uba-report.html and uba-report.json.
 */
export async function writeUbaReport(path: string, doc: UbaScoreDocument): Promise<{ html: string; json: string }> {
  const isFile = /\.html?$/i.test(path);
  const html = isFile ? path : join(path, 'uba-report.html');
  const json = isFile ? path.replace(/\.html?$/i, '.json') : join(path, 'uba-report.json');
  await mkdir(dirname(html), { recursive: true });
  await writeFile(html, renderUbaHtml(doc));
  await writeFile(json, `${JSON.stringify(doc, null, 2)}\n`);
  return { html, json };
}
