/**
 * Scan results as text (one line per finding and a summary), JSON (`{files: [{path, format,
 * bytes, findings: [{severity, rule, message, location}]}], summary}`) and SARIF 2.1.0
 * (https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html) for code-scanning tools.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type FileScan, type Finding, isBlocking, SEVERITIES, type Severity } from './finding.js';
import { ALL_RULES } from './rules.js';

export interface ScanSummary {
  files: number;
  bytes: number;
  findings: number;
  bySeverity: Record<Severity, number>;
  /** Files with a high or critical finding. */
  blockingFiles: number;
  /** Files that could not be read. */
  unreadableFiles: number;
}

export function summarize(scans: readonly FileScan[]): ScanSummary {
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  let findings = 0;
  for (const scan of scans) {
    for (const f of scan.findings) bySeverity[f.severity]++;
    findings += scan.findings.length;
  }
  return {
    files: scans.length,
    bytes: scans.reduce((a, s) => a + s.bytes, 0),
    findings,
    bySeverity,
    blockingFiles: scans.filter((s) => s.findings.some((f) => isBlocking(f.severity))).length,
    unreadableFiles: scans.filter((s) => s.error !== undefined).length,
  };
}

const RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

/** Most severe first, otherwise in the order found. */
function bySeverity(findings: readonly Finding[]): Finding[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => RANK[a.f.severity] - RANK[b.f.severity] || a.i - b.i)
    .map((x) => x.f);
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

export function summaryLine(summary: ScanSummary): string {
  const counts = [...SEVERITIES]
    .reverse()
    .map((s) => `${summary.bySeverity[s]} ${s}`)
    .join(', ');
  const verdict =
    summary.blockingFiles > 0
      ? `${summary.blockingFiles} file${summary.blockingFiles === 1 ? '' : 's'} with high or critical findings`
      : 'no high or critical findings';
  const unreadable = summary.unreadableFiles > 0 ? `; ${summary.unreadableFiles} unreadable` : '';
  return `scanned ${summary.files} file${summary.files === 1 ? '' : 's'} (${size(summary.bytes)}): ${counts} — ${verdict}${unreadable}`;
}

/** One line per finding: severity, rule, file: location, message; then the summary line. */
export function formatText(scans: readonly FileScan[]): string {
  const lines: string[] = [];
  for (const scan of scans) {
    for (const f of bySeverity(scan.findings)) {
      lines.push(`${f.severity.toUpperCase().padEnd(8)} ${f.rule}  ${scan.path}: ${f.location} — ${f.message}`);
    }
  }
  lines.push(summaryLine(summarize(scans)));
  return `${lines.join('\n')}\n`;
}

/** The JSON document: each finding has exactly severity, rule, message and location. */
export function scanJson(scans: readonly FileScan[]): {
  files: { path: string; format: string; bytes: number; findings: Finding[] }[];
  summary: ScanSummary;
} {
  return {
    files: scans.map((s) => ({
      path: s.path,
      format: s.format,
      bytes: s.bytes,
      findings: bySeverity(s.findings).map((f) => ({
        severity: f.severity,
        rule: f.rule,
        message: f.message,
        location: f.location,
      })),
    })),
    summary: summarize(scans),
  };
}

export function formatJson(scans: readonly FileScan[]): string {
  return `${JSON.stringify(scanJson(scans), null, 2)}\n`;
}

export type SarifLevel = 'error' | 'warning' | 'note';

export function sarifLevel(severity: Severity): SarifLevel {
  return severity === 'critical' || severity === 'high' ? 'error' : severity === 'medium' ? 'warning' : 'note';
}

/** GitHub code scanning's 0–10 'security-severity' scale. */
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
  info: '0.0',
};

function artifactUri(path: string): string {
  if (isAbsolute(path)) return pathToFileURL(path).href;
  return encodeURI(path.replaceAll('\\', '/'));
}

/** A SARIF 2.1.0 log with one run: the tool's rules and one result per finding. */
export function scanSarif(scans: readonly FileScan[], toolVersion: string): Record<string, unknown> {
  // Every catalogued rule, plus any another scanner reported (its level: the most severe seen).
  const ruleSeverities = new Map<string, { severity: Severity; description: string }>();
  for (const [id, info] of Object.entries(ALL_RULES)) ruleSeverities.set(id, info);
  for (const scan of scans) {
    for (const f of scan.findings) {
      const known = ruleSeverities.get(f.rule);
      if (known === undefined) ruleSeverities.set(f.rule, { severity: f.severity, description: f.rule });
      else if (!(f.rule in ALL_RULES) && RANK[f.severity] < RANK[known.severity]) known.severity = f.severity;
    }
  }
  const ids = [...ruleSeverities.keys()].sort();
  const index = new Map(ids.map((id, i) => [id, i]));
  const rules = ids.map((id) => {
    const info = ruleSeverities.get(id)!;
    return {
      id,
      name: id.replace(/[/-](\w)/g, (_, c: string) => c.toUpperCase()).replace(/^\w/, (c) => c.toUpperCase()),
      shortDescription: { text: info.description },
      defaultConfiguration: { level: sarifLevel(info.severity) },
      properties: {
        'security-severity': SECURITY_SEVERITY[info.severity],
        severity: info.severity,
        tags: ['security'],
      },
    };
  });
  const results = scans.flatMap((scan) =>
    bySeverity(scan.findings).map((f) => {
      const physicalLocation: Record<string, unknown> = { artifactLocation: { uri: artifactUri(scan.path) } };
      if (f.offset !== undefined) physicalLocation.region = { byteOffset: f.offset };
      return {
        ruleId: f.rule,
        ruleIndex: index.get(f.rule),
        level: sarifLevel(f.severity),
        message: { text: f.message },
        locations: [{ physicalLocation, logicalLocations: [{ fullyQualifiedName: f.location }] }],
        properties: { severity: f.severity },
      };
    }),
  );
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'aegis',
            version: toolVersion,
            rules,
          },
        },
        invocations: [{ executionSuccessful: scans.every((s) => s.error === undefined) }],
        results,
      },
    ],
  };
}

export function formatSarif(scans: readonly FileScan[], toolVersion: string): string {
  return `${JSON.stringify(scanSarif(scans, toolVersion), null, 2)}\n`;
}
