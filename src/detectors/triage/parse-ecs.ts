/**
 * Elastic Common Schema documents (https://www.elastic.co/guide/en/ecs/current/) → TriageAlert:
 * plain ECS alerts (event.kind 'alert') and Elastic Security detection alerts (event.kind
 * 'signal' with kibana.alert.* fields), as NDJSON of documents or of search hits ({_id, _source}).
 * Fields may be nested or flattened ('kibana.alert.rule.name'); both are read. ECS documents of
 * other kinds (event, metric, state …) are ignored.
 */
import type { TriageAlert, TriageSeverity } from './alert.js';
import {
  contentId,
  entity,
  getPath,
  isRecord,
  num,
  type ParseResult,
  parseConfidence,
  parseTime,
  SEVERITIES,
  str,
} from './parse-common.js';

/** The document itself, or the `_source` of an Elasticsearch hit. */
function documentOf(record: Record<string, unknown>): Record<string, unknown> {
  return isRecord(record._source) ? record._source : record;
}

const ECS_FIELD_SETS = ['event', 'kibana', 'rule', 'ecs', 'signal'];

/** True when a JSON record looks like ECS: an @timestamp and an ECS field set. */
export function isEcsRecord(record: Record<string, unknown>): boolean {
  const doc = documentOf(record);
  if (doc['@timestamp'] === undefined) return false;
  // Nested ({event: {kind}}) or flattened ('event.kind', 'kibana.alert.rule.name') field sets.
  return Object.keys(doc).some((k) => ECS_FIELD_SETS.some((p) => k === p || k.startsWith(`${p}.`)));
}

function isAlertDocument(doc: Record<string, unknown>): boolean {
  const kind = str(getPath(doc, 'event.kind')).toLowerCase();
  return kind === 'alert' || kind === 'signal' || getPath(doc, 'kibana.alert.rule.name') !== undefined;
}

/** Elastic rule severities and risk scores: low 21, medium 47, high 73, critical 99. */
function severityOf(doc: Record<string, unknown>): TriageSeverity {
  const word = str(getPath(doc, 'kibana.alert.severity') ?? getPath(doc, 'signal.rule.severity')).toLowerCase();
  if ((SEVERITIES as readonly string[]).includes(word)) return word as TriageSeverity;
  const n = num(getPath(doc, 'event.severity')) ?? riskScore(doc);
  if (n === undefined) return 'medium';
  if (n >= 90) return 'critical';
  if (n >= 70) return 'high';
  if (n >= 40) return 'medium';
  if (n >= 20) return 'low';
  return 'info';
}

function riskScore(doc: Record<string, unknown>): number | undefined {
  return (
    num(getPath(doc, 'kibana.alert.risk_score')) ??
    num(getPath(doc, 'event.risk_score')) ??
    num(getPath(doc, 'signal.rule.risk_score'))
  );
}

/** ATT&CK ids from ECS threat.* or from the Elastic rule's threat array: [{tactic: {id}, technique: [{id}]}]. */
function threatOf(doc: Record<string, unknown>): { tactic: string; technique: string } {
  let tactic = str(getPath(doc, 'threat.tactic.id'));
  let technique = str(getPath(doc, 'threat.technique.subtechnique.id')) || str(getPath(doc, 'threat.technique.id'));
  const list = getPath(doc, 'kibana.alert.rule.threat') ?? getPath(doc, 'threat');
  if (Array.isArray(list)) {
    for (const t of list) {
      if (!isRecord(t)) continue;
      tactic ||= str(getPath(t, 'tactic.id'));
      const techniques = getPath(t, 'technique');
      const first = Array.isArray(techniques) ? techniques[0] : techniques;
      if (isRecord(first)) {
        const subs = first.subtechnique;
        const sub = Array.isArray(subs) ? subs[0] : subs;
        technique ||= str(isRecord(sub) ? sub.id : undefined) || str(first.id);
      }
      if (tactic && technique) break;
    }
  }
  return { tactic: tactic.toUpperCase(), technique: technique.toUpperCase() };
}

export function parseEcs(record: Record<string, unknown>): ParseResult {
  const doc = documentOf(record);
  if (!isEcsRecord(record)) return { kind: 'malformed', reason: 'not an ECS document (no @timestamp/event)' };
  if (!isAlertDocument(doc)) {
    return { kind: 'ignored', reason: `ECS event.kind '${str(getPath(doc, 'event.kind')) || 'unset'}'` };
  }
  const time = parseTime(doc['@timestamp']);
  if (time === undefined)
    return { kind: 'malformed', reason: `ECS @timestamp '${str(doc['@timestamp'])}' is not a date` };
  const signatureId =
    str(getPath(doc, 'rule.id')) ||
    str(getPath(doc, 'kibana.alert.rule.rule_id')) ||
    str(getPath(doc, 'kibana.alert.rule.uuid')) ||
    str(getPath(doc, 'signal.rule.id'));
  const signature =
    str(getPath(doc, 'rule.name')) ||
    str(getPath(doc, 'kibana.alert.rule.name')) ||
    str(getPath(doc, 'signal.rule.name')) ||
    str(getPath(doc, 'message'));
  if (signatureId === '' && signature === '')
    return { kind: 'malformed', reason: 'ECS alert without rule.id or rule.name' };
  const srcIp = entity(getPath(doc, 'source.ip'));
  const destIp = entity(getPath(doc, 'destination.ip'));
  const host = entity(getPath(doc, 'host.name') ?? getPath(doc, 'host.hostname'));
  const user = entity(getPath(doc, 'user.name'));
  const risk = riskScore(doc);
  const confidence =
    parseConfidence(getPath(doc, 'event.confidence')) ?? (risk !== undefined ? parseConfidence(risk) : undefined);
  const { tactic, technique } = threatOf(doc);
  const sourceId = str(record._id) || str(getPath(doc, 'kibana.alert.uuid')) || str(getPath(doc, 'event.id'));
  const alert: TriageAlert = {
    id: sourceId
      ? `ecs:${sourceId}`
      : contentId('ecs', [doc['@timestamp'], signatureId, signature, srcIp, destIp, host, user]),
    time,
    source: 'ecs',
    signatureId: signatureId || signature,
    signature: signature || signatureId,
    severity: severityOf(doc),
    ...(confidence !== undefined ? { confidence } : {}),
    srcIp,
    destIp,
    host,
    user,
    tactic,
    technique,
    raw: record,
  };
  return { kind: 'alert', alert };
}
