/**
 * Suricata EVE JSON (https://docs.suricata.io/en/latest/output/eve/eve-json-format.html) →
 * TriageAlert. Only event_type 'alert' records become alerts; flow, dns, http, stats … are valid
 * EVE records of another kind and are ignored (counted by the reader). Suricata severities run
 * 1 (high) … 3 (low); ET/Proofpoint rule metadata may add signature_severity, confidence and the
 * MITRE ATT&CK tactic and technique ids, which are kept when present.
 */
import type { TriageAlert, TriageSeverity } from './alert.js';
import { contentId, entity, isRecord, num, type ParseResult, parseConfidence, parseTime, str } from './parse-common.js';

/** True when a JSON record looks like EVE: an event_type and a timestamp. */
export function isSuricataRecord(record: Record<string, unknown>): boolean {
  return typeof record.event_type === 'string' && typeof record.timestamp === 'string';
}

function severityOf(level: number | undefined, metadataSeverity: string): TriageSeverity {
  // ET metadata signature_severity: Critical, Major, Minor, Informational.
  const meta = metadataSeverity.toLowerCase();
  if (meta === 'critical') return 'critical';
  if (level === 1) return 'high';
  if (level === 2) return 'medium';
  if (level === 3) return 'low';
  if (level !== undefined && level >= 4) return 'info';
  if (meta === 'major') return 'high';
  if (meta === 'minor') return 'low';
  if (meta === 'informational') return 'info';
  return 'medium';
}

export function parseSuricata(record: Record<string, unknown>): ParseResult {
  if (!isSuricataRecord(record)) return { kind: 'malformed', reason: 'not an EVE record (no event_type/timestamp)' };
  if (record.event_type !== 'alert') return { kind: 'ignored', reason: `EVE event_type '${record.event_type}'` };
  const a = record.alert;
  if (!isRecord(a)) return { kind: 'malformed', reason: "EVE alert without an 'alert' object" };
  const time = parseTime(record.timestamp);
  if (time === undefined)
    return { kind: 'malformed', reason: `EVE timestamp '${str(record.timestamp)}' is not a date` };
  const sid = str(a.signature_id);
  if (sid === '') return { kind: 'malformed', reason: 'EVE alert without alert.signature_id' };
  const meta = isRecord(a.metadata) ? a.metadata : {};
  const srcIp = entity(record.src_ip);
  const destIp = entity(record.dest_ip);
  const confidence = parseConfidence(meta.confidence);
  const alert: TriageAlert = {
    // EVE has no alert id: the same delivery twice hashes to the same id, distinct packets do not.
    id: contentId('suricata', [
      record.flow_id,
      record.timestamp,
      sid,
      a.rev,
      srcIp,
      record.src_port,
      destIp,
      record.dest_port,
      record.pcap_cnt,
    ]),
    time,
    source: 'suricata',
    signatureId: sid,
    signature: str(a.signature) || `sid ${sid}`,
    severity: severityOf(num(a.severity), str(meta.signature_severity)),
    ...(confidence !== undefined ? { confidence } : {}),
    srcIp,
    destIp,
    // EVE's 'host' is the sensor name, not the asset: the asset is dest_ip.
    host: '',
    user: '',
    tactic: str(meta.mitre_tactic_id).toUpperCase(),
    technique: str(meta.mitre_technique_id).toUpperCase(),
    raw: record,
  };
  return { kind: 'alert', alert };
}
