// Features for alert triage as in Alahmadi, Axon & Martinovic 2022 ("99% False Positives", USENIX Security) and Hassan et al. 2019 ("NoDoze", NDSS): detector confidence, signature rarity, asset criticality, user risk, kill-chain stage.
/**
 * What the ranking model sees of an incident: a small set of named, roughly unit-scale numbers,
 * so that the ranker's explanation (w_i · x_i per feature) names things an analyst recognises.
 *
 *   confidence_max / confidence_mean   detector confidence of the alerts (0.5 when a source gives none)
 *   signature_rarity                   −log10 of the rarest signature's share of recent alerts (decayed counts) / 5
 *   log_alert_count                    ln(1 + alerts) / ln(1 + 1000)
 *   distinct_signatures                ln(1 + distinct signatures) / ln(1 + 20)
 *   log_duration_min                   ln(1 + minutes between first and last alert) / ln(1 + 1440)
 *   severity_max                       info 0 … critical 1
 *   asset_criticality                  the most critical host/IP involved (configurable map; default medium)
 *   user_risk                          the riskiest user's risk from behaviour analytics, squashed to [0, 1)
 *   distinct_tactics                   how many kill-chain stages the incident spans, / 4, at most 1
 *   tactic:<stage>                     one-hot (multi-hot) kill-chain stage (ATT&CK and ATLAS tactics)
 *   sig:<signatureId>                  share of the incident's alerts raised by that signature: lets the ranker
 *                                      learn from verdicts that one rule is noisy (its prior weight is 0)
 *
 * The counts are scaled to about [0, 1] (1 = a thousand alerts, twenty signatures, a day, four
 * stages, a one-in-100,000 signature) so that no feature's weight can swing the logit far more
 * than the others' under the same per-coordinate step. Rarity is learned online and without labels (SignatureRarity), as the alerts stream in.
 */
import { AegisInputError } from '../../core/errors.js';
import type { TriageAlert, TriageSeverity } from './alert.js';

export type Criticality = 'low' | 'medium' | 'high' | 'critical';

export const SEVERITY_VALUE: Readonly<Record<TriageSeverity, number>> = {
  info: 0,
  low: 0.25,
  medium: 0.5,
  high: 0.75,
  critical: 1,
};

export const CRITICALITY_VALUE: Readonly<Record<Criticality, number>> = {
  low: 0.25,
  medium: 0.5,
  high: 0.75,
  critical: 1,
};

/** Kill-chain stages the tactic one-hot uses (ATT&CK Enterprise tactics, plus ATLAS's two AI-specific ones). */
export const STAGES = [
  'reconnaissance',
  'resource-development',
  'initial-access',
  'execution',
  'persistence',
  'privilege-escalation',
  'defense-evasion',
  'credential-access',
  'discovery',
  'lateral-movement',
  'collection',
  'command-and-control',
  'exfiltration',
  'impact',
  'ai-model-access',
  'ai-attack-staging',
] as const;
export type Stage = (typeof STAGES)[number] | 'unknown';

/** ATT&CK Enterprise tactic ids (https://attack.mitre.org/tactics/enterprise/). */
const ATTACK_TACTICS: Readonly<Record<string, Stage>> = {
  TA0043: 'reconnaissance',
  TA0042: 'resource-development',
  TA0001: 'initial-access',
  TA0002: 'execution',
  TA0003: 'persistence',
  TA0004: 'privilege-escalation',
  TA0005: 'defense-evasion',
  TA0006: 'credential-access',
  TA0007: 'discovery',
  TA0008: 'lateral-movement',
  TA0009: 'collection',
  TA0011: 'command-and-control',
  TA0010: 'exfiltration',
  TA0040: 'impact',
};

/** ATLAS tactic ids (https://atlas.mitre.org/tactics). */
const ATLAS_TACTICS: Readonly<Record<string, Stage>> = {
  'AML.TA0000': 'ai-model-access',
  'AML.TA0001': 'ai-attack-staging',
  'AML.TA0002': 'reconnaissance',
  'AML.TA0003': 'resource-development',
  'AML.TA0004': 'initial-access',
  'AML.TA0005': 'execution',
  'AML.TA0006': 'persistence',
  'AML.TA0007': 'defense-evasion',
  'AML.TA0008': 'discovery',
  'AML.TA0009': 'collection',
  'AML.TA0010': 'exfiltration',
  'AML.TA0011': 'impact',
  'AML.TA0012': 'privilege-escalation',
  'AML.TA0013': 'credential-access',
  'AML.TA0014': 'command-and-control',
  'AML.TA0015': 'lateral-movement',
};

/** Tactic names as feeds write them ('Discovery', 'ML Model Access', 'Command and Control', 'command-and-control'). */
function stageByName(name: string): Stage | undefined {
  const slug = name
    .toLowerCase()
    .replace(/\bml\b/g, 'ai')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  if (slug === 'c2') return 'command-and-control';
  if (slug === 'recon') return 'reconnaissance';
  return (STAGES as readonly string[]).includes(slug) ? (slug as Stage) : undefined;
}

/** Kill-chain stage of a tactic id or name; 'unknown' for '' or anything unrecognised. */
export function stageOf(tactic: string): Stage {
  const t = tactic.trim();
  if (t === '') return 'unknown';
  return ATTACK_TACTICS[t.toUpperCase()] ?? ATLAS_TACTICS[t.toUpperCase()] ?? stageByName(t) ?? 'unknown';
}

/**
 * Signature frequencies among recent alerts: counts decay exponentially with a half-life, so a
 * rule that used to be loud and went quiet becomes rare again. Learned online, without labels.
 */
export class SignatureRarity {
  private readonly counts = new Map<string, { count: number; time: number }>();
  private total = 0;
  private totalTime = Number.NEGATIVE_INFINITY;

  /** halfLifeMs: how fast old alerts stop counting (default one day). */
  constructor(readonly halfLifeMs = 24 * 3600 * 1000) {}

  private decay(count: number, from: number, to: number): number {
    if (!Number.isFinite(from) || to <= from) return count;
    return count * 2 ** (-(to - from) / this.halfLifeMs);
  }

  /** Counts one alert of `signatureId` at `time` (ms). Out-of-order times decay nothing. */
  observe(signatureId: string, time: number): void {
    const now = Math.max(time, this.totalTime);
    this.total = this.decay(this.total, this.totalTime, now) + 1;
    this.totalTime = now;
    const entry = this.counts.get(signatureId);
    const count = entry ? this.decay(entry.count, entry.time, now) : 0;
    this.counts.set(signatureId, { count: count + 1, time: now });
  }

  /** Share of recent alerts raised by this signature (smoothed: never 0, so an unseen signature is the rarest). */
  share(signatureId: string, time = this.totalTime): number {
    const now = Math.max(time, this.totalTime);
    const total = Number.isFinite(now) ? this.decay(this.total, this.totalTime, now) : 0;
    const entry = this.counts.get(signatureId);
    const count = entry ? this.decay(entry.count, entry.time, now) : 0;
    return (count + 0.5) / (total + 1);
  }

  /** −log10(share): 0 for a signature that raises every alert, 3 for one in a thousand. */
  rarity(signatureId: string, time?: number): number {
    return Math.max(0, -Math.log10(this.share(signatureId, time)));
  }

  toJSON(): { halfLifeMs: number; total: number; totalTime: number | null; counts: [string, number, number][] } {
    return {
      halfLifeMs: this.halfLifeMs,
      total: this.total,
      totalTime: Number.isFinite(this.totalTime) ? this.totalTime : null,
      counts: [...this.counts].map(([k, v]) => [k, v.count, v.time]),
    };
  }

  static fromJSON(json: ReturnType<SignatureRarity['toJSON']>): SignatureRarity {
    const r = new SignatureRarity(json.halfLifeMs);
    r.total = json.total;
    r.totalTime = json.totalTime ?? Number.NEGATIVE_INFINITY;
    for (const [k, count, time] of json.counts) r.counts.set(k, { count, time });
    return r;
  }
}

export interface FeatureContext {
  /** Signature frequencies seen so far (observe the alerts before computing features). */
  rarity: SignatureRarity;
  /** Host name or IP → criticality; anything absent is `defaultCriticality`. */
  assetCriticality?: ReadonlyMap<string, Criticality> | Readonly<Record<string, Criticality>>;
  defaultCriticality?: Criticality;
  /** User → risk from behaviour analytics (uba_user_risk); absent users have risk 0. */
  userRisk?: ReadonlyMap<string, number>;
}

/** Named feature values plus, for the features that need one, the phrase an explanation shows. */
export interface IncidentFeatures {
  values: Record<string, number>;
  notes: Record<string, string>;
}

/** What 1 means for the scaled count features. */
export const RARITY_SCALE = 5;
export const ALERTS_SCALE = 1000;
export const SIGNATURES_SCALE = 20;
export const MINUTES_SCALE = 1440;
export const STAGES_SCALE = 4;

/** Confidence assumed for alerts whose source gives none: neither pushes nor pulls. */
export const UNKNOWN_CONFIDENCE = 0.5;

/** The dense features every incident has (tactic one-hots and signature indicators come on top). */
export const CORE_FEATURES = [
  'confidence_max',
  'confidence_mean',
  'signature_rarity',
  'log_alert_count',
  'distinct_signatures',
  'log_duration_min',
  'severity_max',
  'asset_criticality',
  'user_risk',
  'distinct_tactics',
] as const;

function criticalityOf(entity: string, ctx: FeatureContext): number {
  const fallback = CRITICALITY_VALUE[ctx.defaultCriticality ?? 'medium'];
  if (entity === '' || !ctx.assetCriticality) return fallback;
  const map = ctx.assetCriticality;
  const c: string | undefined =
    map instanceof Map
      ? (map as ReadonlyMap<string, Criticality>).get(entity)
      : (map as Readonly<Record<string, Criticality>>)[entity];
  if (c === undefined) return fallback;
  const v = CRITICALITY_VALUE[c as Criticality];
  if (v === undefined) {
    throw new AegisInputError(`asset criticality of '${entity}': '${c}' is not one of low, medium, high, critical`);
  }
  return v;
}

/** A host/IP → criticality map from JSON-like input (a config file), checked. */
export function parseCriticalityMap(input: unknown, where = 'asset criticality map'): Map<string, Criticality> {
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new AegisInputError(`${where}: expected an object of host or IP → low|medium|high|critical`);
  }
  const out = new Map<string, Criticality>();
  for (const [k, v] of Object.entries(input)) {
    if (typeof v !== 'string' || !(v in CRITICALITY_VALUE)) {
      throw new AegisInputError(
        `${where}: '${k}' has criticality ${JSON.stringify(v)}; use low, medium, high or critical`,
      );
    }
    out.set(k, v as Criticality);
  }
  return out;
}

/** Risk ≥ 0 in whatever units behaviour analytics uses, squashed monotonically into [0, 1). */
export function squashRisk(risk: number): number {
  return Number.isFinite(risk) && risk > 0 ? 1 - Math.exp(-risk) : 0;
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);

/** Features of one incident from its alerts (all of them, duplicates already folded). */
export function incidentFeatures(alerts: readonly TriageAlert[], ctx: FeatureContext): IncidentFeatures {
  const values: Record<string, number> = {};
  const notes: Record<string, string> = {};
  const n = alerts.length;
  if (n === 0) {
    for (const f of CORE_FEATURES) values[f] = 0;
    return { values, notes };
  }
  let confMax = 0;
  let confSum = 0;
  let sevMax = 0;
  let sevAlert: TriageAlert = alerts[0] as TriageAlert;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  const bySignature = new Map<string, { count: number; name: string }>();
  const stages = new Set<Stage>();
  let critMax = -1;
  let critEntity = '';
  let riskMax = 0;
  let riskUser = '';
  for (const a of alerts) {
    const c = a.confidence === undefined || !Number.isFinite(a.confidence) ? UNKNOWN_CONFIDENCE : a.confidence;
    confMax = Math.max(confMax, c);
    confSum += c;
    const s = SEVERITY_VALUE[a.severity] ?? SEVERITY_VALUE.medium;
    if (s > sevMax) {
      sevMax = s;
      sevAlert = a;
    }
    first = Math.min(first, a.time);
    last = Math.max(last, a.time);
    const sig = bySignature.get(a.signatureId);
    if (sig) sig.count++;
    else bySignature.set(a.signatureId, { count: 1, name: a.signature });
    stages.add(stageOf(a.tactic));
    for (const e of [a.host, a.destIp, a.srcIp]) {
      if (e === '') continue;
      const v = criticalityOf(e, ctx);
      if (v > critMax) {
        critMax = v;
        critEntity = e;
      }
    }
    if (a.user !== '' && ctx.userRisk) {
      const r = squashRisk(ctx.userRisk.get(a.user) ?? 0);
      if (r > riskMax) {
        riskMax = r;
        riskUser = a.user;
      }
    }
  }
  let rarest = '';
  let rarity = -1;
  for (const id of bySignature.keys()) {
    const r = ctx.rarity.rarity(id, last);
    if (r > rarity) {
      rarity = r;
      rarest = id;
    }
  }
  const rarestName = bySignature.get(rarest)?.name || rarest;
  const minutes = Math.max(0, last - first) / 60000;
  if (critMax < 0) critMax = criticalityOf('', ctx);

  values.confidence_max = confMax;
  values.confidence_mean = confSum / n;
  values.signature_rarity = rarity / RARITY_SCALE;
  values.log_alert_count = Math.log1p(n) / Math.log1p(ALERTS_SCALE);
  values.distinct_signatures = Math.log1p(bySignature.size) / Math.log1p(SIGNATURES_SCALE);
  values.log_duration_min = Math.log1p(minutes) / Math.log1p(MINUTES_SCALE);
  values.severity_max = sevMax;
  values.asset_criticality = critMax;
  values.user_risk = riskMax;
  const known = [...stages].filter((s) => s !== 'unknown');
  values.distinct_tactics = Math.min(1, known.length / STAGES_SCALE);

  notes.confidence_max = `highest detector confidence ${fmt(confMax)}`;
  notes.confidence_mean = `mean detector confidence ${fmt(confSum / n)}`;
  notes.signature_rarity = `rarest signature '${rarestName}' raised ${fmt(100 * ctx.rarity.share(rarest, last), 3)}% of recent alerts`;
  notes.log_alert_count = `${n} alert${n === 1 ? '' : 's'}`;
  notes.distinct_signatures = `${bySignature.size} distinct signature${bySignature.size === 1 ? '' : 's'}`;
  notes.log_duration_min = `spans ${fmt(minutes, 1)} min`;
  notes.severity_max = `highest severity ${sevAlert.severity} ('${sevAlert.signature}')`;
  notes.asset_criticality = critEntity
    ? `most critical asset ${critEntity} (${fmt(critMax)})`
    : `asset criticality ${fmt(critMax)} (default)`;
  notes.user_risk = riskUser
    ? `user ${riskUser} has behaviour risk ${fmt(ctx.userRisk?.get(riskUser) ?? 0)}`
    : 'no risky user';
  notes.distinct_tactics = `${known.length} kill-chain stage${known.length === 1 ? '' : 's'}${known.length ? ` (${known.join(', ')})` : ''}`;

  for (const s of stages) {
    values[`tactic:${s}`] = 1;
    notes[`tactic:${s}`] = `kill-chain stage ${s}`;
  }
  for (const [id, { count, name }] of bySignature) {
    values[`sig:${id}`] = count / n;
    notes[`sig:${id}`] = `signature '${name || id}' (${count} of ${n} alerts)`;
  }
  return { values, notes };
}

/**
 * Features of many incidents over an alert stream, online: alerts are observed in time order and
 * each incident's features are taken when its last alert has been seen, so rarity never looks ahead.
 * `incidentAlerts[i]` are the alerts of incident i (in any order).
 */
export function streamFeatures(
  incidentAlerts: readonly (readonly TriageAlert[])[],
  ctx: FeatureContext,
  allAlerts?: readonly TriageAlert[],
): IncidentFeatures[] {
  const stream = [...(allAlerts ?? incidentAlerts.flat())].sort((a, b) => a.time - b.time);
  const order = incidentAlerts
    .map((alerts, i) => ({ i, last: alerts.reduce((m, a) => Math.max(m, a.time), Number.NEGATIVE_INFINITY) }))
    .sort((a, b) => a.last - b.last);
  const out: IncidentFeatures[] = new Array(incidentAlerts.length);
  let next = 0;
  for (const { i, last } of order) {
    while (next < stream.length && (stream[next] as TriageAlert).time <= last) {
      const a = stream[next++] as TriageAlert;
      ctx.rarity.observe(a.signatureId, a.time);
    }
    out[i] = incidentFeatures(incidentAlerts[i] as readonly TriageAlert[], ctx);
  }
  return out;
}
