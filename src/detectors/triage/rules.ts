// Threshold signature rules in the style of Snort's detection_filter/threshold options (Roesch 1999, "Snort: Lightweight Intrusion Detection for Networks", LISA) over the connection features of NSL-KDD (Tavallaee et al. 2009) and UNSW-NB15 (Moustafa & Slay 2015).
/**
 * Labelled alert streams for evaluating triage. Real signature sets are noisy: most of what they
 * raise is benign. These rules are deliberately the same — a dozen-odd thresholds per dataset on
 * the flow features (SYN-error rates, distinct services, failed logins, root shells, "hot"
 * indicators, big uploads to uncommon services …), set low enough that they fire on many normal
 * flows too. Ground truth comes from the record's label: an alert is true when its flow is an attack.
 * UNSW-NB15's TTL columns (sttl, dttl, ct_state_ttl) are testbed artefacts and no rule uses them.
 *
 * Neither dataset has addresses or times (NSL-KDD never had them; the UNSW-NB15 partition files
 * dropped them), and grouping needs entities. So they are synthesised, deterministically from a
 * seed, and the synthesis is an assumption the figures depend on:
 *  - time: the records are played in file order (UNSW-NB15: a seeded shuffle first, since its file
 *    is sorted in blocks by class), one every `stepMs`;
 *  - normal flow: a client address drawn from `clients` internal hosts, the destination one of a
 *    few servers of its service;
 *  - attack flow: one attacker address and one victim per campaign, where a campaign is the attack
 *    label within a `campaignMs` time slot — as in the DARPA 1998 capture, where each attack
 *    instance came from one source. This uses the label, so incidents never mix attack and normal
 *    flows: grouping is cleaner than in real traffic, and only the ranking is tested.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { FlowRecord, FlowTable } from '../network/read-flows.js';
import { tableRecord } from '../network/read-flows.js';
import type { TriageAlert, TriageSeverity } from './alert.js';

export type RuleLayout = 'nsl-kdd' | 'unsw-nb15';

export interface FlowRule {
  /** Signature id, e.g. 'nsl-syn-flood'. */
  id: string;
  /** Signature name, e.g. 'SYN flood'. */
  name: string;
  layout: RuleLayout;
  severity: TriageSeverity;
  /** ATT&CK tactic and technique ids. */
  tactic: string;
  technique: string;
  fires(r: FlowRecord): boolean;
  /** Confidence in [0, 1] when the rule has a natural one (how far past the threshold); else none. */
  confidence?(r: FlowRecord): number;
}

/** A numeric field (NaN when absent or not a number). */
function num(r: FlowRecord, name: string): number {
  const v = r[name];
  if (typeof v === 'number') return v;
  if (v === undefined || v.trim() === '') return Number.NaN;
  return Number(v);
}

function str(r: FlowRecord, name: string): string {
  const v = r[name];
  return v === undefined ? '' : String(v).trim();
}

const clip01 = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0);
/** Saturating confidence for counts: 1 − 2^(−x/half). */
const saturate = (x: number, half: number) => (Number.isFinite(x) && x > 0 ? 1 - 2 ** (-x / half) : 0);

export const NSL_KDD_RULES: readonly FlowRule[] = [
  {
    id: 'nsl-syn-flood',
    name: 'SYN flood',
    layout: 'nsl-kdd',
    severity: 'high',
    tactic: 'TA0040',
    technique: 'T1498',
    fires: (r) => num(r, 'serror_rate') >= 0.5 && num(r, 'count') >= 5,
    confidence: (r) => clip01(num(r, 'serror_rate')),
  },
  {
    id: 'nsl-half-open-host',
    name: 'Half-open connections to one host',
    layout: 'nsl-kdd',
    severity: 'medium',
    tactic: 'TA0040',
    technique: 'T1499',
    fires: (r) => num(r, 'dst_host_serror_rate') >= 0.5,
    confidence: (r) => clip01(num(r, 'dst_host_serror_rate')),
  },
  {
    id: 'nsl-port-scan',
    name: 'Port scan (many services)',
    layout: 'nsl-kdd',
    severity: 'medium',
    tactic: 'TA0007',
    technique: 'T1046',
    fires: (r) => num(r, 'diff_srv_rate') >= 0.3 || num(r, 'dst_host_diff_srv_rate') >= 0.3,
    confidence: (r) => clip01(Math.max(num(r, 'diff_srv_rate'), num(r, 'dst_host_diff_srv_rate'))),
  },
  {
    id: 'nsl-host-sweep',
    name: 'Host sweep (many hosts)',
    layout: 'nsl-kdd',
    severity: 'low',
    tactic: 'TA0007',
    technique: 'T1018',
    fires: (r) => num(r, 'srv_diff_host_rate') >= 0.3 || num(r, 'dst_host_srv_diff_host_rate') >= 0.3,
    confidence: (r) => clip01(Math.max(num(r, 'srv_diff_host_rate'), num(r, 'dst_host_srv_diff_host_rate'))),
  },
  {
    id: 'nsl-rejected',
    name: 'Rejected connections',
    layout: 'nsl-kdd',
    severity: 'low',
    tactic: 'TA0043',
    technique: 'T1595',
    fires: (r) => num(r, 'rerror_rate') >= 0.3 || num(r, 'dst_host_rerror_rate') >= 0.3,
    confidence: (r) => clip01(Math.max(num(r, 'rerror_rate'), num(r, 'dst_host_rerror_rate'))),
  },
  {
    id: 'nsl-brute-force',
    name: 'Failed logins (brute force)',
    layout: 'nsl-kdd',
    severity: 'high',
    tactic: 'TA0006',
    technique: 'T1110',
    fires: (r) => num(r, 'num_failed_logins') > 0,
    confidence: (r) => saturate(num(r, 'num_failed_logins'), 1),
  },
  {
    id: 'nsl-root-access',
    name: 'Root shell or su attempt',
    layout: 'nsl-kdd',
    severity: 'critical',
    tactic: 'TA0004',
    technique: 'T1068',
    fires: (r) => num(r, 'root_shell') > 0 || num(r, 'su_attempted') > 0 || num(r, 'num_root') > 0,
  },
  {
    id: 'nsl-hot',
    name: 'Hot indicators (system directories, program execution)',
    layout: 'nsl-kdd',
    severity: 'medium',
    tactic: 'TA0002',
    technique: 'T1059',
    fires: (r) => num(r, 'hot') >= 1,
    confidence: (r) => saturate(num(r, 'hot'), 2),
  },
  {
    id: 'nsl-guest-login',
    name: 'Guest login',
    layout: 'nsl-kdd',
    severity: 'medium',
    tactic: 'TA0001',
    technique: 'T1078',
    fires: (r) => num(r, 'is_guest_login') > 0,
  },
  {
    id: 'nsl-file-activity',
    name: 'File creation, shell or access-control file access',
    layout: 'nsl-kdd',
    severity: 'medium',
    tactic: 'TA0009',
    technique: 'T1005',
    fires: (r) => num(r, 'num_file_creations') > 0 || num(r, 'num_shells') > 0 || num(r, 'num_access_files') > 0,
  },
  {
    id: 'nsl-malformed',
    name: 'Malformed packets (wrong fragments, urgent, land)',
    layout: 'nsl-kdd',
    severity: 'high',
    tactic: 'TA0040',
    technique: 'T1499',
    fires: (r) => num(r, 'wrong_fragment') > 0 || num(r, 'urgent') > 0 || num(r, 'land') > 0,
  },
  {
    id: 'nsl-icmp-flood',
    name: 'ICMP flood',
    layout: 'nsl-kdd',
    severity: 'medium',
    tactic: 'TA0040',
    technique: 'T1498',
    fires: (r) => str(r, 'protocol_type') === 'icmp' && num(r, 'count') >= 50,
    confidence: (r) => saturate(num(r, 'count'), 100),
  },
  {
    id: 'nsl-long-connection',
    name: 'Long-lived connection',
    layout: 'nsl-kdd',
    severity: 'low',
    tactic: 'TA0011',
    technique: 'T1071',
    fires: (r) => num(r, 'duration') >= 300,
  },
  {
    id: 'nsl-compromised',
    name: 'Compromised conditions',
    layout: 'nsl-kdd',
    severity: 'high',
    tactic: 'TA0004',
    technique: 'T1068',
    fires: (r) => num(r, 'num_compromised') > 0,
    confidence: (r) => saturate(num(r, 'num_compromised'), 2),
  },
  {
    id: 'nsl-service-burst',
    name: 'Same-service connection burst',
    layout: 'nsl-kdd',
    severity: 'low',
    tactic: 'TA0040',
    technique: 'T1499',
    fires: (r) => num(r, 'same_srv_rate') >= 0.9 && num(r, 'count') >= 100,
  },
  {
    id: 'nsl-large-request',
    name: 'Large web or mail request',
    layout: 'nsl-kdd',
    severity: 'low',
    tactic: 'TA0001',
    technique: 'T1190',
    fires: (r) => ['http', 'smtp'].includes(str(r, 'service')) && num(r, 'src_bytes') > 2000,
  },
  {
    id: 'nsl-udp-probe',
    name: 'UDP service probe',
    layout: 'nsl-kdd',
    severity: 'info',
    tactic: 'TA0043',
    technique: 'T1595',
    fires: (r) =>
      str(r, 'protocol_type') === 'udp' && ['snmp', 'domain_u', 'ntp_u', 'private'].includes(str(r, 'service')),
  },
  {
    id: 'nsl-payload-no-login',
    name: 'Payload without login',
    layout: 'nsl-kdd',
    severity: 'low',
    tactic: 'TA0001',
    technique: 'T1190',
    fires: (r) => str(r, 'protocol_type') === 'tcp' && num(r, 'logged_in') === 0 && num(r, 'src_bytes') > 0,
  },
  {
    id: 'nsl-upload-uncommon-service',
    name: 'Large upload to an uncommon service',
    layout: 'nsl-kdd',
    severity: 'medium',
    tactic: 'TA0010',
    technique: 'T1048',
    fires: (r) => num(r, 'src_bytes') > 5000 && !['http', 'smtp', 'ftp_data'].includes(str(r, 'service')),
    confidence: (r) => saturate(num(r, 'src_bytes') - 5000, 50_000),
  },
];

export const UNSW_NB15_RULES: readonly FlowRule[] = [
  {
    id: 'unsw-high-rate',
    name: 'High packet rate',
    layout: 'unsw-nb15',
    severity: 'medium',
    tactic: 'TA0040',
    technique: 'T1498',
    fires: (r) => num(r, 'rate') >= 50_000,
    confidence: (r) => saturate(num(r, 'rate'), 100_000),
  },
  {
    id: 'unsw-port-scan',
    name: 'Many destination ports from one source',
    layout: 'unsw-nb15',
    severity: 'medium',
    tactic: 'TA0007',
    technique: 'T1046',
    fires: (r) => num(r, 'ct_src_dport_ltm') >= 5,
    confidence: (r) => saturate(num(r, 'ct_src_dport_ltm'), 10),
  },
  {
    id: 'unsw-destination-burst',
    name: 'Connection burst to one destination',
    layout: 'unsw-nb15',
    severity: 'low',
    tactic: 'TA0043',
    technique: 'T1595',
    fires: (r) => num(r, 'ct_dst_ltm') >= 10,
  },
  {
    id: 'unsw-service-burst',
    name: 'Same-service burst from one source',
    layout: 'unsw-nb15',
    severity: 'low',
    tactic: 'TA0040',
    technique: 'T1499',
    fires: (r) => num(r, 'ct_srv_src') >= 20,
  },
  {
    id: 'unsw-ftp',
    name: 'FTP login or commands',
    layout: 'unsw-nb15',
    severity: 'medium',
    tactic: 'TA0001',
    technique: 'T1078',
    fires: (r) => num(r, 'is_ftp_login') > 0 || num(r, 'ct_ftp_cmd') > 0,
  },
  {
    id: 'unsw-http-methods',
    name: 'Many HTTP methods in one flow',
    layout: 'unsw-nb15',
    severity: 'medium',
    tactic: 'TA0001',
    technique: 'T1190',
    fires: (r) => num(r, 'ct_flw_http_mthd') >= 2 || num(r, 'trans_depth') >= 2,
  },
  {
    id: 'unsw-payload-no-reply',
    name: 'Payload without reply',
    layout: 'unsw-nb15',
    severity: 'medium',
    tactic: 'TA0002',
    technique: 'T1203',
    fires: (r) => str(r, 'state') === 'INT' && num(r, 'sbytes') >= 200,
  },
  {
    id: 'unsw-large-upload',
    name: 'Large upload',
    layout: 'unsw-nb15',
    severity: 'medium',
    tactic: 'TA0010',
    technique: 'T1048',
    fires: (r) => num(r, 'sbytes') >= 100_000,
    confidence: (r) => saturate(num(r, 'sbytes') - 100_000, 1_000_000),
  },
  {
    id: 'unsw-same-ports',
    name: 'Same source and destination address and port',
    layout: 'unsw-nb15',
    severity: 'high',
    tactic: 'TA0040',
    technique: 'T1499',
    fires: (r) => num(r, 'is_sm_ips_ports') > 0,
  },
  {
    id: 'unsw-large-response',
    name: 'Large HTTP response body',
    layout: 'unsw-nb15',
    severity: 'low',
    tactic: 'TA0009',
    technique: 'T1005',
    fires: (r) => num(r, 'response_body_len') >= 100_000,
  },
  {
    id: 'unsw-small-packets',
    name: 'Stream of small packets',
    layout: 'unsw-nb15',
    severity: 'low',
    tactic: 'TA0011',
    technique: 'T1095',
    fires: (r) => num(r, 'smean') <= 60 && num(r, 'spkts') >= 10,
  },
  {
    id: 'unsw-zero-duration',
    name: 'Zero-duration flow with payload',
    layout: 'unsw-nb15',
    severity: 'low',
    tactic: 'TA0043',
    technique: 'T1595',
    fires: (r) => num(r, 'dur') < 1e-5 && num(r, 'sbytes') > 0,
  },
  {
    id: 'unsw-uncommon-protocol',
    name: 'Uncommon IP protocol',
    layout: 'unsw-nb15',
    severity: 'medium',
    tactic: 'TA0011',
    technique: 'T1095',
    fires: (r) => !['tcp', 'udp', 'icmp', ''].includes(str(r, 'proto')) && str(r, 'service') === '-',
  },
  {
    id: 'unsw-retransmissions',
    name: 'Retransmissions and loss',
    layout: 'unsw-nb15',
    severity: 'info',
    tactic: 'TA0040',
    technique: 'T1499',
    fires: (r) => num(r, 'sloss') >= 5 || num(r, 'dloss') >= 5,
  },
  {
    id: 'unsw-jitter',
    name: 'High jitter',
    layout: 'unsw-nb15',
    severity: 'low',
    tactic: 'TA0011',
    technique: 'T1071',
    fires: (r) => num(r, 'sjit') >= 10_000,
  },
  {
    id: 'unsw-large-mail',
    name: 'Large SMTP message',
    layout: 'unsw-nb15',
    severity: 'medium',
    tactic: 'TA0001',
    technique: 'T1566',
    fires: (r) => str(r, 'service') === 'smtp' && num(r, 'sbytes') > 5000,
  },
  {
    id: 'unsw-rare-service',
    name: 'Remote service (ssh, pop3, snmp, irc, radius, ssl)',
    layout: 'unsw-nb15',
    severity: 'low',
    tactic: 'TA0008',
    technique: 'T1021',
    fires: (r) => ['pop3', 'snmp', 'irc', 'ssl', 'radius', 'ssh'].includes(str(r, 'service')),
  },
];

export function rulesFor(layout: string): readonly FlowRule[] {
  if (layout === 'nsl-kdd') return NSL_KDD_RULES;
  if (layout === 'unsw-nb15') return UNSW_NB15_RULES;
  throw new AegisInputError(`triage rules: no signature rules for layout '${layout}' (nsl-kdd or unsw-nb15)`);
}

export interface EntityOptions {
  /** Seed of the synthetic entities (and of the UNSW-NB15 shuffle). Default 1. */
  seed: number;
  /** Time of the first record (ms). Default 2024-01-01T00:00Z. */
  start: number;
  /** Time between consecutive records (ms). Default 2 s. */
  stepMs: number;
  /** Internal client hosts normal flows come from. Default 200. */
  clients: number;
  /** Length of one attack campaign's time slot (ms). Default 1 h. */
  campaignMs: number;
  /** Shuffle the records before playing them (default: true for UNSW-NB15, whose file is sorted by class). */
  shuffle?: boolean;
}

export const ENTITY_DEFAULTS: EntityOptions = {
  seed: 1,
  start: Date.UTC(2024, 0, 1),
  stepMs: 2000,
  clients: 200,
  campaignMs: 3600_000,
};

/** FNV-1a of a string mixed with the seed: a deterministic pick that does not depend on draw order. */
function hash(seed: number, s: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return new Rng(h).uint32();
}

const ip = (a: number, b: number, c: number, d: number) => `${a}.${b}.${c}.${d}`;

/** A server of `service`: 10.0.<service slot>.<1-3>. */
function serverOf(seed: number, service: string, pick: number): string {
  return ip(10, 0, hash(seed, `svc:${service}`) % 250, 1 + (pick % 3));
}

export interface RecordEntities {
  time: number;
  srcIp: string;
  destIp: string;
}

/** Synthetic entities of record `position` (its place in the played order). */
export function synthesizeEntities(
  position: number,
  service: string,
  attackLabel: string | undefined,
  options: EntityOptions,
  rng: Rng,
): RecordEntities {
  const time = options.start + position * options.stepMs;
  if (attackLabel === undefined) {
    const c = rng.int(options.clients);
    return {
      time,
      srcIp: ip(10, 1, c >> 8, c & 255),
      destIp: serverOf(options.seed, service, rng.int(3)),
    };
  }
  const campaign = `${attackLabel}|${Math.floor((time - options.start) / options.campaignMs)}`;
  const h = hash(options.seed, `attacker:${campaign}`);
  const block = h & 1 ? 198 : 203;
  return {
    time,
    srcIp: ip(block, block === 198 ? 51 : 0, block === 198 ? 100 : 113, 1 + ((h >>> 1) % 254)),
    destIp: serverOf(options.seed, service, hash(options.seed, `victim:${campaign}`)),
  };
}

export interface RuleRunCounts {
  records: number;
  attacks: number;
  /** Records on which at least one rule fired. */
  firing: number;
  /** Attack records on which at least one rule fired. */
  attacksFiring: number;
  alerts: number;
  /** Per rule: alerts and how many were true. */
  perRule: Record<string, { alerts: number; true: number }>;
}

/** One flow's alerts (every rule that fires), with the given entities. */
export function alertsForRecord(
  record: FlowRecord,
  rules: readonly FlowRule[],
  entities: RecordEntities,
  meta: { source: string; index: number; attack: boolean; label: string },
): TriageAlert[] {
  const out: TriageAlert[] = [];
  for (const rule of rules) {
    if (!rule.fires(record)) continue;
    out.push({
      id: `${meta.source}:${meta.index}:${rule.id}`,
      time: entities.time,
      source: 'rules',
      signatureId: rule.id,
      signature: rule.name,
      severity: rule.severity,
      ...(rule.confidence ? { confidence: rule.confidence(record) } : {}),
      srcIp: entities.srcIp,
      destIp: entities.destIp,
      host: '',
      user: '',
      tactic: rule.tactic,
      technique: rule.technique,
      truth: meta.attack,
      raw: { dataset: meta.source, row: meta.index, label: meta.label },
    });
  }
  return out;
}

/**
 * Runs the layout's rules over every record of a labelled flow table and returns the alerts in
 * time order, with synthetic entities (see the file comment) and the record's label as truth.
 */
export function ruleAlerts(
  table: FlowTable,
  options: Partial<EntityOptions> & { source?: string; rules?: readonly FlowRule[] } = {},
): { alerts: TriageAlert[]; counts: RuleRunCounts } {
  if (!table.labelled) throw new AegisInputError(`${table.source}: rule alerts need labelled records (ground truth)`);
  const layout = table.layout.name;
  const rules = options.rules ?? rulesFor(layout);
  const opts: EntityOptions = { ...ENTITY_DEFAULTS, ...options };
  const shuffle = options.shuffle ?? layout === 'unsw-nb15';
  const rng = new Rng(opts.seed);
  const order = shuffle ? rng.permutation(table.size) : Int32Array.from({ length: table.size }, (_, i) => i);
  const source = options.source ?? layout;
  const serviceCol = table.categoricalNames.indexOf('service');
  const counts: RuleRunCounts = {
    records: table.size,
    attacks: 0,
    firing: 0,
    attacksFiring: 0,
    alerts: 0,
    perRule: {},
  };
  for (const r of rules) counts.perRule[r.id] = { alerts: 0, true: 0 };
  const alerts: TriageAlert[] = [];
  for (let pos = 0; pos < table.size; pos++) {
    const i = order[pos] as number;
    const attack = table.classes[i] !== table.layout.normalClass;
    const label = table.labels[i] as string;
    if (attack) counts.attacks++;
    const service = serviceCol >= 0 ? ((table.categorical[serviceCol] as string[])[i] as string) : '';
    const entities = synthesizeEntities(pos, service, attack ? label : undefined, opts, rng);
    const found = alertsForRecord(tableRecord(table, i), rules, entities, { source, index: i, attack, label });
    if (found.length === 0) continue;
    counts.firing++;
    if (attack) counts.attacksFiring++;
    counts.alerts += found.length;
    for (const a of found) {
      const c = counts.perRule[a.signatureId] as { alerts: number; true: number };
      c.alerts++;
      if (attack) c.true++;
      alerts.push(a);
    }
  }
  return { alerts, counts };
}
