/**
 * Windows Security (and Sysmon process) events as JSON, as common tools export them, into
 * BehaviorEvent. Accepted shapes, one JSON object per line:
 *  - flattened NXLog/Logstash (OTRF Security-Datasets): EventID, Channel, Hostname, @timestamp,
 *    EventTime, RecordNumber/EventRecordID and the event's own fields at the top level; Azure
 *    Sentinel SecurityEvent rows (TimeGenerated, Computer, Account) are the same shape;
 *  - python-evtx flattening (evtx-attack-samples): event_id, channel, computer, record_id,
 *    time_created, event_data {…};
 *  - evtx_dump / XML-as-JSON: Event.System {EventID, Channel, Computer, EventRecordID,
 *    TimeCreated.SystemTime} and Event.EventData {…} or EventData.Data [{Name, #text}];
 *  - Winlogbeat / ECS: winlog {event_id, channel, computer_name, record_id, event_data {…}}.
 * Event ids UBA does not model (and channels other than Security and Sysmon) are 'ignored'.
 * Field meanings: Microsoft, "Advanced security audit policy settings" event reference (4624 …).
 */
import type { BehaviorAction, BehaviorEvent, BehaviorOutcome } from './event.js';
import {
  type Account,
  ignored,
  lineId,
  malformed,
  normaliseAccount,
  normaliseHost,
  normaliseSource,
  type ParseOutcome,
  parseAnyTime,
  parseIsoTime,
  text,
} from './parse-common.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The common view of one record, whatever its nesting. */
interface WinRecord {
  eventId: number;
  /** Lower case; '' when the export has none. */
  channel: string;
  provider: string;
  host: string;
  time: number;
  recordNumber: string;
  /** Extra part of the record id where record numbers restart (python-evtx: per source file). */
  recordScope: string;
  field(name: string): unknown;
}

function unwrap(value: unknown): unknown {
  // XML-as-JSON puts text next to attributes: {"#text": 4624, "#attributes": {...}}.
  if (isObject(value) && '#text' in value) return value['#text'];
  return value;
}

/** EventData as a flat object: already flat, or a list of {Name|@Name, #text|Value}. */
function flattenEventData(data: unknown): Json {
  if (isObject(data) && Array.isArray(data.Data)) return flattenEventData(data.Data);
  if (Array.isArray(data)) {
    const out: Json = {};
    for (const item of data) {
      if (!isObject(item)) continue;
      const attrs = isObject(item['#attributes']) ? item['#attributes'] : item;
      const name = attrs.Name ?? attrs['@Name'] ?? item.Name;
      if (typeof name === 'string') out[name] = item['#text'] ?? item.Value ?? item.value;
    }
    return out;
  }
  if (isObject(data)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(data)) {
      if (k !== '#attributes') out[k] = unwrap(v);
    }
    return out;
  }
  return {};
}

function intOf(value: unknown): number {
  const v = unwrap(value);
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
  return Number.isInteger(n) ? n : Number.NaN;
}

/**
 * NXLog's EventTime is the event's wall-clock time on the host, with no zone; @timestamp is the
 * collector's UTC receipt time and EventReceivedTime the same receipt in host local time. Their
 * difference (rounded to 15 minutes) is the host's UTC offset, which turns EventTime into UTC to
 * the second without the collector's delivery lag.
 */
function nxlogTime(r: Json): number {
  const stamp = typeof r['@timestamp'] === 'string' ? parseIsoTime(r['@timestamp']) : Number.NaN;
  const eventLocal = typeof r.EventTime === 'string' ? parseIsoTime(r.EventTime) : Number.NaN;
  const receivedLocal = typeof r.EventReceivedTime === 'string' ? parseIsoTime(r.EventReceivedTime) : Number.NaN;
  if (Number.isFinite(stamp) && Number.isFinite(eventLocal) && Number.isFinite(receivedLocal)) {
    const quarter = 15 * 60_000;
    const offset = Math.round((stamp - receivedLocal) / quarter) * quarter;
    return eventLocal + offset;
  }
  return stamp;
}

function firstTime(...candidates: unknown[]): number {
  for (const c of candidates) {
    const t = parseAnyTime(unwrap(c));
    if (Number.isFinite(t)) return t;
  }
  return Number.NaN;
}

function fromFlat(r: Json): WinRecord | undefined {
  const eventId = intOf(r.EventID ?? r.EventId ?? r.event_id);
  if (Number.isNaN(eventId)) return undefined;
  const nested = isObject(r.event_data)
    ? flattenEventData(r.event_data)
    : isObject(r.EventData)
      ? flattenEventData(r.EventData)
      : undefined;
  const field = nested ? (name: string) => nested[name] ?? r[name] : (name: string) => r[name];
  const utc = field('UtcTime');
  const time = firstTime(
    typeof utc === 'string' ? utc : undefined,
    r.time_created,
    r.TimeCreated,
    r.TimeGenerated,
    Number.isFinite(nxlogTime(r)) ? nxlogTime(r) : undefined,
    r.EventTime,
  );
  return {
    eventId,
    channel: text(r.Channel ?? r.channel).toLowerCase(),
    provider: text(r.SourceName ?? r.provider ?? r.ProviderName ?? r.EventSourceName),
    host: normaliseHost(
      r.Hostname ?? r.computer ?? r.Computer ?? r.ComputerName ?? (typeof r.host === 'string' ? r.host : ''),
    ),
    time,
    recordNumber: text(r.EventRecordID ?? r.RecordNumber ?? r.record_id ?? r.EventOriginId),
    recordScope: text(r.source_file),
    field,
  };
}

function fromEvtxDump(r: Json): WinRecord | undefined {
  const event = isObject(r.Event) ? r.Event : undefined;
  const system = event && isObject(event.System) ? event.System : undefined;
  if (!event || !system) return undefined;
  const eventId = intOf(system.EventID);
  if (Number.isNaN(eventId)) return undefined;
  const data = { ...flattenEventData(event.UserData), ...flattenEventData(event.EventData) };
  const created = isObject(system.TimeCreated) ? system.TimeCreated : {};
  const createdAttrs = isObject(created['#attributes']) ? created['#attributes'] : created;
  const provider = isObject(system.Provider) ? system.Provider : {};
  const providerAttrs = isObject(provider['#attributes']) ? provider['#attributes'] : provider;
  return {
    eventId,
    channel: text(unwrap(system.Channel)).toLowerCase(),
    provider: text(providerAttrs.Name ?? providerAttrs['@Name']),
    host: normaliseHost(unwrap(system.Computer)),
    time: firstTime(data.UtcTime, createdAttrs.SystemTime ?? createdAttrs['@SystemTime']),
    recordNumber: text(unwrap(system.EventRecordID)),
    recordScope: '',
    field: (name) => data[name],
  };
}

function fromWinlogbeat(r: Json): WinRecord | undefined {
  const w = isObject(r.winlog) ? r.winlog : undefined;
  if (!w) return undefined;
  const eventId = intOf(w.event_id ?? (isObject(r.event) ? r.event.code : undefined));
  if (Number.isNaN(eventId)) return undefined;
  const data = flattenEventData(w.event_data);
  const host = isObject(r.host) ? r.host.name : undefined;
  return {
    eventId,
    channel: text(w.channel).toLowerCase(),
    provider: text(w.provider_name),
    host: normaliseHost(w.computer_name ?? host),
    time: firstTime(data.UtcTime, r['@timestamp']),
    recordNumber: text(w.record_id),
    recordScope: '',
    field: (name) => data[name],
  };
}

/** Reads any accepted shape; undefined when the object has no event id anywhere. */
export function toWinRecord(r: Json): WinRecord | undefined {
  return fromWinlogbeat(r) ?? fromEvtxDump(r) ?? fromFlat(r);
}

const ACCOUNT_CHANGES: Record<number, string> = {
  4720: 'user-created',
  4722: 'user-enabled',
  4723: 'password-change',
  4724: 'password-reset',
  4725: 'user-disabled',
  4726: 'user-deleted',
  4727: 'group-created',
  4728: 'global-group-member-added',
  4732: 'local-group-member-added',
  4738: 'user-changed',
  4740: 'user-locked-out',
  4741: 'computer-created',
  4742: 'computer-changed',
  4756: 'universal-group-member-added',
  4767: 'user-unlocked',
  4781: 'account-renamed',
};

/** Status / result codes: 0x0 (or absent) is success. */
function outcomeOf(status: unknown): BehaviorOutcome {
  const s = text(status).toLowerCase();
  if (s === '') return 'unknown';
  return /^0x0+$|^0$/.test(s) ? 'success' : 'failure';
}

/** Privilege names from 4672's multi-line PrivilegeList, comma-joined. */
function privileges(list: unknown): string {
  return text(list)
    .split(/\s+/)
    .filter((p) => p.startsWith('Se'))
    .join(',');
}

interface Mapped {
  action: BehaviorAction;
  outcome: BehaviorOutcome;
  account: Account;
  source: unknown;
  detail: string;
}

const SECURITY = new Set(['security', '']);
const SYSMON = /sysmon/i;

function target(rec: WinRecord): Account {
  return normaliseAccount(rec.field('TargetUserName'), rec.field('TargetDomainName'));
}

function subject(rec: WinRecord): Account {
  return normaliseAccount(rec.field('SubjectUserName'), rec.field('SubjectDomainName'));
}

function networkSource(rec: WinRecord): unknown {
  const ip = normaliseSource(rec.field('IpAddress'));
  return ip || rec.field('WorkstationName') || rec.field('Workstation');
}

/** The event-id table: undefined for ids UBA does not model. */
function mapSecurity(rec: WinRecord): Mapped | undefined {
  const id = rec.eventId;
  switch (id) {
    case 4624:
    case 4625:
      return {
        action: id === 4624 ? 'logon' : 'logon-failure',
        outcome: id === 4624 ? 'success' : 'failure',
        account: target(rec),
        source: networkSource(rec),
        detail: text(rec.field('LogonType')),
      };
    case 4634:
    case 4647:
      return {
        action: 'logoff',
        outcome: 'success',
        account: target(rec),
        source: '',
        detail: text(rec.field('LogonType')),
      };
    case 4648: {
      // The actor is the subject; the explicit credentials (target) and server go to detail.
      const creds = target(rec);
      const server = text(rec.field('TargetServerName'));
      return {
        action: 'explicit-credentials',
        outcome: 'success',
        account: subject(rec),
        source: networkSource(rec),
        detail: `${creds.user}${creds.domain ? `@${creds.domain}` : ''}${server ? ` on ${server.toLowerCase()}` : ''}`,
      };
    }
    case 4672:
      return {
        action: 'privilege-use',
        outcome: 'success',
        account: subject(rec),
        source: '',
        detail: privileges(rec.field('PrivilegeList')),
      };
    case 4688: {
      // Process creation: the new process's account when the creator ran it as someone else.
      const t = target(rec);
      return {
        action: 'process',
        outcome: 'success',
        account: t.user ? t : subject(rec),
        source: '',
        detail: text(rec.field('NewProcessName') ?? rec.field('ProcessName')),
      };
    }
    case 4768:
    case 4769: {
      const outcome = outcomeOf(rec.field('Status'));
      return {
        action: id === 4768 ? 'kerberos-tgt' : 'kerberos-service-ticket',
        outcome: outcome === 'unknown' ? 'success' : outcome,
        account: target(rec),
        source: networkSource(rec),
        detail: text(rec.field('ServiceName')).toLowerCase(),
      };
    }
    case 4771:
      return {
        action: 'logon-failure',
        outcome: 'failure',
        account: target(rec),
        source: networkSource(rec),
        detail: 'kerberos-preauth',
      };
    case 4776: {
      // NTLM credential validation on the DC: failures are failed logons; successes are not
      // counted as logons (the 4624 on the target host is) but kept as 'other'.
      const outcome = outcomeOf(rec.field('Status'));
      return {
        action: outcome === 'failure' ? 'logon-failure' : 'other',
        outcome: outcome === 'unknown' ? 'success' : outcome,
        account: normaliseAccount(rec.field('TargetUserName')),
        source: rec.field('Workstation'),
        detail: 'ntlm-validation',
      };
    }
    case 5140:
    case 5145:
      return {
        action: 'share-access',
        outcome: 'success',
        account: subject(rec),
        source: networkSource(rec),
        detail: text(rec.field('ShareName')).toLowerCase(),
      };
    default: {
      const change = ACCOUNT_CHANGES[id];
      if (!change) return undefined;
      const t = normaliseAccount(rec.field('TargetUserName'), rec.field('TargetDomainName'));
      return {
        action: 'account-change',
        outcome: 'success',
        account: subject(rec).user ? subject(rec) : t,
        source: '',
        detail: `${change}${t.user ? `:${t.user}` : ''}`,
      };
    }
  }
}

function mapSysmon(rec: WinRecord): Mapped | undefined {
  if (rec.eventId !== 1) return undefined;
  return {
    action: 'process',
    outcome: 'success',
    account: normaliseAccount(rec.field('User')),
    source: '',
    detail: text(rec.field('Image')),
  };
}

/** One parsed JSON object → event / ignored / malformed. `raw` (the line) ids records without a number. */
export function parseWindowsRecord(value: unknown, raw = ''): ParseOutcome {
  if (!isObject(value)) return malformed('not a JSON object');
  const rec = toWinRecord(value);
  if (!rec) return malformed('no Windows event id (EventID, event_id, Event.System.EventID or winlog.event_id)');
  const sysmon = SYSMON.test(rec.channel) || SYSMON.test(rec.provider);
  const mapped = sysmon ? mapSysmon(rec) : SECURITY.has(rec.channel) ? mapSecurity(rec) : undefined;
  if (!mapped) return ignored(`event ${rec.eventId} on channel '${rec.channel}' is not modelled`);
  if (!mapped.account.user) return malformed(`event ${rec.eventId} has no user name`);
  if (!Number.isFinite(rec.time)) return malformed(`event ${rec.eventId} has no readable time`);
  const channel = sysmon ? 'sysmon' : 'security';
  const recordId = rec.recordNumber
    ? `win:${rec.host}:${channel}:${rec.recordScope ? `${rec.recordScope}:` : ''}${rec.recordNumber}`
    : lineId('win', raw || JSON.stringify(value));
  const event: BehaviorEvent = {
    time: rec.time,
    user: mapped.account.user,
    domain: mapped.account.domain,
    host: rec.host,
    source: normaliseSource(mapped.source),
    action: mapped.action,
    outcome: mapped.outcome,
    detail: mapped.detail,
    machineAccount: mapped.account.machineAccount,
    recordId,
    sourceFormat: 'windows-json',
    rawType: sysmon ? `sysmon:${rec.eventId}` : String(rec.eventId),
  };
  return { kind: 'event', event };
}

/** Event ids some mapping above models (Security ids, and Sysmon 1). */
const MODELLED_IDS = new Set([
  1,
  4624,
  4625,
  4634,
  4647,
  4648,
  4672,
  4688,
  4768,
  4769,
  4771,
  4776,
  5140,
  5145,
  ...Object.keys(ACCOUNT_CHANGES).map(Number),
]);
const EVENT_ID_TEXT = /"(?:EventID|EventId|event_id)"\s*:\s*"?(\d+)[",}\s]/;

/**
 * One line of Windows event JSON; never throws. Most lines of a real export are event types UBA
 * does not model (Sysmon registry and image-load events, object access …), so the event id is
 * read off the raw text first and those lines are counted 'ignored' without a JSON parse (the OTRF
 * files: 0.72 instead of 1.24 CPU s for 47k lines, the rest being gunzip and line splitting); a
 * broken line of an unmodelled type is therefore 'ignored', not 'malformed'.
 */
export function parseWindowsLine(line: string): ParseOutcome {
  const quick = EVENT_ID_TEXT.exec(line);
  if (quick && !MODELLED_IDS.has(Number(quick[1]))) return ignored(`event ${quick[1]} is not modelled`);
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return malformed('not valid JSON');
  }
  return parseWindowsRecord(value, line);
}
