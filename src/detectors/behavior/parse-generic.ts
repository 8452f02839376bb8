/**
 * The generic event formats: CSV with a header row and JSON lines, both with the columns/keys
 * user, host, source, time, action, outcome (plus optional domain, detail, id). Extra columns are
 * ignored; JSON objects may nest them as Elastic Common Schema does (user.name, source.ip,
 * event.action, event.outcome). Times are ISO 8601 (no zone = UTC) or epoch seconds/milliseconds. Action words outside
 * BehaviorAction map through a few synonyms ('login' → logon, 'sudo' → privilege-use) or to
 * 'other'; a logon with outcome failure becomes 'logon-failure'. CSV fields may be quoted
 * ("a, b" and "" escapes) but a record must sit on one line: a quoted newline makes it malformed.
 */
import type { BehaviorAction, BehaviorEvent, BehaviorOutcome } from './event.js';
import {
  isMachineAccount,
  lineId,
  malformed,
  normaliseAccount,
  normaliseHost,
  normaliseSource,
  type ParseOutcome,
  parseAnyTime,
  text,
} from './parse-common.js';

const ACTIONS = new Set<BehaviorAction>([
  'logon',
  'logon-failure',
  'explicit-credentials',
  'privilege-use',
  'process',
  'kerberos-tgt',
  'kerberos-service-ticket',
  'share-access',
  'account-change',
  'logoff',
  'other',
]);

const ACTION_SYNONYMS: Record<string, BehaviorAction> = {
  login: 'logon',
  signin: 'logon',
  'sign-in': 'logon',
  authenticate: 'logon',
  authentication: 'logon',
  ssh: 'logon',
  'login-failure': 'logon-failure',
  'failed-login': 'logon-failure',
  'failed-logon': 'logon-failure',
  logout: 'logoff',
  signout: 'logoff',
  'sign-out': 'logoff',
  sudo: 'privilege-use',
  su: 'privilege-use',
  'privilege-escalation': 'privilege-use',
  exec: 'process',
  execute: 'process',
  'process-start': 'process',
  'file-share': 'share-access',
  'password-change': 'account-change',
  'password-reset': 'account-change',
};

/** Column aliases, first match wins; keys are compared lower case with '_' and '-' removed. */
const ALIASES: Record<string, string[]> = {
  user: ['user', 'username', 'account', 'accountname', 'userid', 'user.name'],
  domain: ['domain', 'realm', 'user.domain'],
  host: ['host', 'hostname', 'computer', 'dest', 'desthost', 'target', 'host.name', 'host.hostname'],
  source: [
    'source',
    'src',
    'srcip',
    'sourceip',
    'ip',
    'clientip',
    'workstation',
    'source.ip',
    'source.address',
    'client.ip',
  ],
  time: ['time', 'timestamp', 'ts', 'datetime', 'eventtime', '@timestamp'],
  action: ['action', 'event', 'eventtype', 'activity', 'event.action'],
  outcome: ['outcome', 'result', 'status', 'success', 'event.outcome'],
  detail: ['detail', 'details', 'process', 'command', 'service', 'process.executable'],
  id: ['id', 'recordid', 'eventid', 'uid', 'event.id'],
};

function squash(key: string): string {
  return key
    .trim()
    .toLowerCase()
    .replace(/[_\-\s]/g, '');
}

export function normaliseAction(raw: string): BehaviorAction {
  const a = raw
    .trim()
    .toLowerCase()
    .replace(/[_\s]+/g, '-');
  if (ACTIONS.has(a as BehaviorAction)) return a as BehaviorAction;
  return ACTION_SYNONYMS[a] ?? 'other';
}

export function normaliseOutcome(raw: string): BehaviorOutcome {
  const o = raw.trim().toLowerCase();
  if (['success', 'succeeded', 'ok', 'true', '1', 'allowed', 'allow', 'accepted', 'pass', 'passed'].includes(o))
    return 'success';
  if (['failure', 'fail', 'failed', 'false', '0', 'denied', 'deny', 'rejected', 'error', 'blocked'].includes(o))
    return 'failure';
  return 'unknown';
}

/** Builds an event from named fields (CSV row or JSON object); `raw` ids records without an id. */
function fromFields(get: (field: string) => unknown, raw: string, format: 'csv' | 'jsonl'): ParseOutcome {
  const account = normaliseAccount(get('user'), get('domain'));
  if (!account.user) return malformed('no user');
  const time = parseAnyTime(get('time'));
  if (!Number.isFinite(time)) return malformed(`unreadable time '${text(get('time')).slice(0, 40)}'`);
  const actionWord = text(get('action'));
  const outcome = normaliseOutcome(text(get('outcome')));
  let action = actionWord ? normaliseAction(actionWord) : 'other';
  if (action === 'logon' && outcome === 'failure') action = 'logon-failure';
  const id = text(get('id'));
  const event: BehaviorEvent = {
    time,
    user: account.user,
    domain: account.domain,
    host: normaliseHost(get('host')),
    source: normaliseSource(get('source')),
    action,
    outcome: action === 'logon-failure' && outcome === 'unknown' ? 'failure' : outcome,
    detail: text(get('detail')),
    machineAccount: account.machineAccount || isMachineAccount(account.user),
    recordId: id ? `${format}:${id}` : lineId(format, raw),
    sourceFormat: format,
    rawType: actionWord.toLowerCase() || 'other',
  };
  return { kind: 'event', event };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Nested objects as dotted keys, two levels deep, so Elastic Common Schema documents
 * ({"user": {"name": …}, "source": {"ip": …}, "event": {"action", "outcome"}}) read like flat ones.
 */
function flattenNested(record: Record<string, unknown>): Record<string, unknown> {
  if (!Object.values(record).some(isPlainObject)) return record;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (!isPlainObject(v)) {
      out[k] = v;
      continue;
    }
    for (const [k2, v2] of Object.entries(v)) {
      if (!isPlainObject(v2)) out[`${k}.${k2}`] = v2;
      else for (const [k3, v3] of Object.entries(v2)) out[`${k}.${k2}.${k3}`] = v3;
    }
  }
  return out;
}

/** Which key of an object holds each field; cached per key list (a feed's records share one shape). */
const keyCache = new Map<string, Partial<Record<string, string>>>();

function fieldKeys(keys: string[]): Partial<Record<string, string>> {
  const signature = keys.join('\u0000');
  const cached = keyCache.get(signature);
  if (cached) return cached;
  const bySquashed = new Map<string, string>();
  for (const k of keys) if (!bySquashed.has(squash(k))) bySquashed.set(squash(k), k);
  const out: Partial<Record<string, string>> = {};
  for (const [field, aliases] of Object.entries(ALIASES)) {
    for (const alias of aliases) {
      const key = bySquashed.get(squash(alias));
      if (key !== undefined) {
        out[field] = key;
        break;
      }
    }
  }
  if (keyCache.size >= 1000) keyCache.clear(); // shapes are few; a hostile feed cannot grow this
  keyCache.set(signature, out);
  return out;
}

/** One JSON line with the generic keys (aliases accepted); never throws. */
export function parseJsonlLine(line: string): ParseOutcome {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return malformed('not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return malformed('not a JSON object');
  const record = flattenNested(value as Record<string, unknown>);
  const fields = fieldKeys(Object.keys(record));
  const get = (field: string): unknown => {
    const key = fields[field];
    return key === undefined ? undefined : record[key];
  };
  return fromFields(get, line, 'jsonl');
}

/** Splits one CSV line (RFC 4180 quoting within the line); undefined when a quote is left open. */
export function splitCsvLine(line: string, delimiter = ','): string[] | undefined {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (c === delimiter) {
      out.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) return undefined;
  out.push(field);
  return out;
}

/** The header's column index for each field this parser reads. */
export type CsvColumns = Partial<Record<keyof typeof ALIASES, number>>;

/** Reads a header line; undefined unless it names at least a user and a time column. */
export function parseCsvHeader(line: string): CsvColumns | undefined {
  const cells = splitCsvLine(line.replace(/^\uFEFF/, ''));
  if (!cells) return undefined;
  const squashed = cells.map(squash);
  const columns: CsvColumns = {};
  for (const [field, aliases] of Object.entries(ALIASES)) {
    for (const alias of aliases) {
      const index = squashed.indexOf(squash(alias));
      if (index >= 0) {
        columns[field] = index;
        break;
      }
    }
  }
  return columns.user !== undefined && columns.time !== undefined ? columns : undefined;
}

/** One CSV data line under `columns`; never throws. */
export function parseCsvLine(line: string, columns: CsvColumns): ParseOutcome {
  const cells = splitCsvLine(line);
  if (!cells) return malformed('unterminated quoted CSV field');
  const get = (field: string): unknown => {
    const index = columns[field];
    return index === undefined ? undefined : cells[index];
  };
  return fromFields(get, line, 'csv');
}
