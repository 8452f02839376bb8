/**
 * Pieces every behaviour-event parser shares: what one record parses to (an event, an ignored
 * record or a malformed one — counted, never thrown) and the normalisation of account, host and
 * source names so that 'THESHIRE\pgustavo', 'pgustavo@THESHIRE.LOCAL' and 'PGUSTAVO' are one user.
 */
import { createHash } from 'node:crypto';
import type { BehaviorEvent, IngestCounts } from './event.js';

/** One record's fate: parsed into an event, a valid record UBA does not model, or unusable input. */
export type ParseOutcome =
  | { kind: 'event'; event: BehaviorEvent }
  | { kind: 'ignored'; reason: string }
  | { kind: 'malformed'; reason: string };

export function ignored(reason: string): ParseOutcome {
  return { kind: 'ignored', reason };
}

export function malformed(reason: string): ParseOutcome {
  return { kind: 'malformed', reason };
}

export function emptyCounts(): IngestCounts {
  return { read: 0, parsed: 0, malformed: 0, ignored: 0, duplicates: 0, outOfOrder: 0 };
}

/** Adds `b` into `a` (in place) and returns `a`. */
export function addCounts(a: IngestCounts, b: IngestCounts): IngestCounts {
  a.read += b.read;
  a.parsed += b.parsed;
  a.malformed += b.malformed;
  a.ignored += b.ignored;
  a.duplicates += b.duplicates;
  a.outOfOrder += b.outOfOrder;
  return a;
}

/** Windows and Linux placeholders for "no value". */
const EMPTY_VALUES = new Set(['', '-', 'n/a', 'null', 'none', '(null)', '?']);

/** A field value as a trimmed string, or '' when absent or a placeholder ('-', 'N/A'). */
export function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return '';
  const s = String(value).trim();
  return EMPTY_VALUES.has(s.toLowerCase()) ? '' : s;
}

/** Well-known Windows service identities and their Linux counterparts, lower case. */
const SERVICE_ACCOUNTS = new Set([
  'system',
  'local service',
  'localservice',
  'network service',
  'networkservice',
  'anonymous logon',
  'local system',
  'nobody',
  'daemon',
  'www-data',
]);

/** True for machine accounts ('ws5$'), SYSTEM and other service identities, and Windows' per-session DWM-n / UMFD-n. */
export function isMachineAccount(rawName: string): boolean {
  const name = rawName.trim().toLowerCase();
  return (
    name.endsWith('$') ||
    SERVICE_ACCOUNTS.has(name) ||
    /^(?:dwm|umfd)-\d+$/.test(name) ||
    name.startsWith('systemd-') ||
    name.startsWith('nt service\\')
  );
}

/** Domain as its first label, lower case: 'THESHIRE.LOCAL' and 'theshire' both become 'theshire'. */
export function normaliseDomain(domain: string): string {
  const d = text(domain).toLowerCase();
  if (d === '') return '';
  return d.split('.')[0] ?? d;
}

export interface Account {
  user: string;
  domain: string;
  machineAccount: boolean;
}

/**
 * Splits 'DOMAIN\user', 'user@realm' or 'user' (plus a separate domain field) into a lower-case
 * user without its trailing '$' and a normalised domain; '' user when the name is a placeholder.
 */
export function normaliseAccount(rawName: unknown, rawDomain: unknown = ''): Account {
  let name = text(rawName);
  let domain = text(rawDomain);
  const backslash = name.lastIndexOf('\\');
  if (backslash >= 0) {
    domain = domain || name.slice(0, backslash);
    name = name.slice(backslash + 1);
  } else {
    const at = name.lastIndexOf('@');
    if (at > 0) {
      domain = domain || name.slice(at + 1);
      name = name.slice(0, at);
    }
  }
  name = text(name);
  const machineAccount = name !== '' && isMachineAccount(name);
  const user = name.toLowerCase().replace(/\$+$/, '');
  return { user, domain: normaliseDomain(domain), machineAccount };
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** Host names as their first label, lower case ('MORDORDC.theshire.local' → 'mordordc'); IP addresses kept whole. */
export function normaliseHost(raw: unknown): string {
  const h = text(raw).toLowerCase().replace(/^\\\\/, '');
  if (h === '') return '';
  if (IPV4.test(h) || h.includes(':')) return h;
  return h.split('.')[0] ?? h;
}

/** Source address: IPv4-mapped IPv6 unwrapped ('::ffff:172.18.39.5' → '172.18.39.5'), names as hosts. */
export function normaliseSource(raw: unknown): string {
  const s = text(raw).toLowerCase();
  if (s === '') return '';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  if (mapped) return mapped[1] as string;
  if (IPV4.test(s) || s.includes(':')) return s;
  return normaliseHost(s);
}

/** Short stable id of a raw line, for sources without record numbers (exact re-deliveries dedupe). */
export function lineId(prefix: string, line: string): string {
  return `${prefix}:${createHash('sha1').update(line).digest('base64url').slice(0, 20)}`;
}

/**
 * Parses a timestamp string to epoch ms: ISO 8601 / RFC 3339 (a missing zone means UTC, never the
 * machine's local zone), 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC), or NaN.
 */
export function parseIsoTime(raw: string): number {
  const s = raw.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(s);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  const ms = frac ? Number(`0.${frac}`) * 1000 : 0;
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec ?? 0)) + Math.round(ms);
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return Number.isFinite(t) && Number(mo) >= 1 && Number(mo) <= 12 ? t : Number.NaN;
}

/** Epoch seconds (< 1e11, i.e. before year 5138) or milliseconds, as a number or numeric string. */
export function parseEpoch(raw: string | number): number {
  const n = typeof raw === 'number' ? raw : /^-?\d+(?:\.\d+)?$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0) return Number.NaN;
  return Math.round(Math.abs(n) < 1e11 ? n * 1000 : n);
}

/** ISO string or epoch number → epoch ms, NaN when neither. */
export function parseAnyTime(raw: unknown): number {
  if (typeof raw === 'number') return parseEpoch(raw);
  if (typeof raw !== 'string') return Number.NaN;
  const epoch = parseEpoch(raw);
  return Number.isNaN(epoch) ? parseIsoTime(raw) : epoch;
}
