/**
 * Small helpers the alert parsers share: field access that tolerates both nested objects and
 * flattened dotted keys (Elasticsearch returns either), timestamp parsing, content-hash ids,
 * and the verdict every parser returns (an alert, or why the record was not one).
 */
import { createHash } from 'node:crypto';
import type { TriageAlert, TriageSeverity } from './alert.js';

/** A parser's answer for one record: an alert, a valid record of another kind (ignored), or a malformed one. */
export type ParseResult =
  | { kind: 'alert'; alert: TriageAlert }
  | { kind: 'ignored'; reason: string }
  | { kind: 'malformed'; reason: string };

export const SEVERITY_RANK: Readonly<Record<TriageSeverity, number>> = {
  info: 0,
  low: 1,
  medium: 2,
  high: 3,
  critical: 4,
};

export const SEVERITIES: readonly TriageSeverity[] = ['info', 'low', 'medium', 'high', 'critical'];

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Value at a dotted path, trying nested objects and flattened keys at every level:
 * get({a: {'b.c': 1}}, 'a.b.c') === get({'a.b.c': 1}, 'a.b.c') === get({a: {b: {c: 1}}}, 'a.b.c') === 1.
 */
export function getPath(obj: unknown, path: string): unknown {
  return getParts(obj, path.split('.'));
}

function getParts(obj: unknown, parts: readonly string[]): unknown {
  if (parts.length === 0) return obj;
  if (!isRecord(obj)) return undefined;
  // Longest flattened key first: 'kibana.alert.rule.name' is usually stored whole.
  for (let i = parts.length; i >= 1; i--) {
    const key = parts.slice(0, i).join('.');
    if (Object.hasOwn(obj, key)) {
      const found = getParts(obj[key], parts.slice(i));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** First value of a scalar-or-array field, as a string; '' when absent. */
export function str(v: unknown): string {
  if (Array.isArray(v)) return v.length > 0 ? str(v[0]) : '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return '';
}

/** A finite number from a number or numeric string; undefined otherwise. */
export function num(v: unknown): number | undefined {
  if (Array.isArray(v)) return v.length > 0 ? num(v[0]) : undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/**
 * Milliseconds since the epoch from an ISO 8601 string (Suricata's '+0000' offsets and
 * microseconds included) or a number (seconds below 1e11, milliseconds otherwise).
 */
export function parseTime(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e11 ? Math.round(v * 1000) : Math.round(v);
  if (typeof v !== 'string' || v.length < 10) return undefined;
  // '2023-04-05T12:34:56.123456+0000': keep milliseconds, put a colon in the offset.
  const normal = v
    .trim()
    .replace(/(\.\d{3})\d+/, '$1')
    .replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const t = Date.parse(normal);
  return Number.isFinite(t) ? t : undefined;
}

/** Short stable id from content (sources without ids, or ids only unique within one sensor). */
export function contentId(prefix: string, parts: readonly unknown[]): string {
  const h = createHash('sha1');
  for (const p of parts) h.update(`${p === undefined || p === null ? '' : String(p)}\u0000`);
  return `${prefix}:${h.digest('hex').slice(0, 20)}`;
}

/** IPs and names as grouping keys: trimmed and lower case. */
export function entity(v: unknown): string {
  return str(v).trim().toLowerCase();
}

/** Confidence words (Suricata/ET metadata 'High', ECS 'medium') or numbers in [0, 1] or [0, 100]. */
export function parseConfidence(v: unknown): number | undefined {
  const word = str(v).toLowerCase();
  if (word === 'high') return 0.9;
  if (word === 'medium') return 0.6;
  if (word === 'low') return 0.3;
  const n = num(v);
  if (n === undefined || n < 0) return undefined;
  if (n <= 1) return n;
  if (n <= 100) return n / 100;
  return undefined;
}
