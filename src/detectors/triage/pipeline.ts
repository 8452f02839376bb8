/**
 * The triage pipeline over the store, shared by `aegis triage` and the ingest benchmark:
 *
 *   ingestAlerts  alerts (any iterable/stream) → skip ids already stored → group (continuing the
 *                 store's incidents) → save alerts in batches → save touched incidents → score them
 *   applyVerdict  analyst verdict → verdict history → one ranker update → rescore open incidents
 *   explainIncident  incident, alerts, features and the ranker's reasons
 *
 * Features are computed once per (re)grouped incident and stored with its score, so a verdict
 * rescores the whole open queue from stored features without reading alerts again. Signature
 * rarity is learned from every alert ingested and persisted with the ranker in `triage_model`.
 */
import { AegisInputError } from '../../core/errors.js';
import type { StoreDatabase } from '../../store/store.js';
import type { Incident, TriageAlert } from './alert.js';
import {
  CRITICALITY_VALUE,
  type Criticality,
  type FeatureContext,
  type IncidentFeatures,
  incidentFeatures,
  SignatureRarity,
} from './features.js';
import { AlertGrouper, type GroupCounts, type GroupOptions } from './group.js';
import { type AnalystVerdict, type RankedVerdict, TriageRanker } from './ranker.js';
import {
  getIncident,
  type IncidentQuery,
  incidentAlerts,
  listIncidents,
  loadFeatures,
  loadModelState,
  readUserRiskTable,
  recordVerdict,
  type StoredIncident,
  saveAlerts,
  saveDuplicates,
  saveExplanation,
  saveIncidents,
  saveModelState,
  saveScore,
  storedAlertIds,
} from './triage-store.js';

export interface TriageModel {
  ranker: TriageRanker;
  rarity: SignatureRarity;
  assets: Record<string, Criticality>;
}

/** The ranker, rarity counts and asset criticality saved in the store (fresh defaults when absent). */
export function loadTriageModel(db: StoreDatabase): TriageModel {
  const ranker = loadModelState<unknown>(db, 'ranker');
  const rarity = loadModelState<ReturnType<SignatureRarity['toJSON']>>(db, 'rarity');
  return {
    ranker: ranker === undefined ? new TriageRanker() : TriageRanker.fromJSON(ranker),
    rarity: rarity === undefined ? new SignatureRarity() : SignatureRarity.fromJSON(rarity),
    assets: loadModelState<Record<string, Criticality>>(db, 'assets') ?? {},
  };
}

export function saveTriageModel(db: StoreDatabase, model: TriageModel): void {
  db.transaction(() => {
    saveModelState(db, 'ranker', model.ranker.toJSON());
    saveModelState(db, 'rarity', model.rarity.toJSON());
    saveModelState(db, 'assets', model.assets);
  })();
}

/** Checks an asset criticality map ({host or IP: low|medium|high|critical}) read from a user file. */
export function parseAssetCriticality(json: unknown, where: string): Record<string, Criticality> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new AegisInputError(`${where}: expected an object {"host or IP": "low|medium|high|critical"}`);
  }
  const out: Record<string, Criticality> = {};
  for (const [k, v] of Object.entries(json)) {
    if (typeof v !== 'string' || !(v in CRITICALITY_VALUE)) {
      throw new AegisInputError(`${where}: '${k}' has criticality '${String(v)}'; use low, medium, high or critical`);
    }
    out[k.toLowerCase()] = v as Criticality;
  }
  return out;
}

function featureContext(db: StoreDatabase, model: TriageModel): FeatureContext {
  return { rarity: model.rarity, assetCriticality: model.assets, userRisk: readUserRiskTable(db) };
}

/**
 * Computes, scores and stores the features of these incidents from their stored alerts. The
 * explanation is left for `queue`/`explain` to compute from the stored features (most incidents
 * are never looked at; writing every explanation would double the store).
 */
export function scoreIncidents(db: StoreDatabase, ids: Iterable<string>, model: TriageModel): number {
  const ctx = featureContext(db, model);
  let n = 0;
  db.transaction(() => {
    for (const id of ids) {
      const alerts = incidentAlerts(db, id, { raw: false });
      if (alerts.length === 0) continue;
      const features = incidentFeatures(alerts, ctx);
      saveScore(db, id, model.ranker.score(features).score, null, features);
      n++;
    }
  })();
  return n;
}

/** Rescores every open incident from its stored features (after the ranker learned); explanations go stale and are cleared. */
export function rescoreOpen(db: StoreDatabase, ranker: TriageRanker): number {
  const rows = db
    .prepare('SELECT id, features FROM triage_incidents WHERE verdict IS NULL AND features IS NOT NULL')
    .all() as { id: string; features: string }[];
  db.transaction(() => {
    for (const r of rows) {
      const features = JSON.parse(r.features) as IncidentFeatures;
      saveScore(db, r.id, 1 / (1 + Math.exp(-ranker.logit(features))), null);
    }
  })();
  return rows.length;
}

/** The analyst queue (listIncidents) with each shown incident's explanation filled in (and cached). */
export function queue(db: StoreDatabase, query: IncidentQuery = {}): StoredIncident[] {
  const incidents = listIncidents(db, query);
  let ranker: TriageRanker | undefined;
  for (const inc of incidents) {
    if (inc.scoreExplanation.length > 0) continue;
    const features = loadFeatures(db, inc.id);
    if (!features) continue;
    ranker ??= loadTriageModel(db).ranker;
    inc.scoreExplanation = ranker.score(features).reasons;
    saveExplanation(db, inc.id, inc.scoreExplanation);
  }
  return incidents;
}

export interface IngestOptions {
  group?: Partial<GroupOptions>;
  /** Alerts written per transaction. Default 5000. */
  batchSize?: number;
  /** Asset criticality to add to the stored map. */
  assets?: Record<string, Criticality>;
  /** Skip scoring (grouping only). Default false. */
  noScore?: boolean;
}

export interface IngestResult {
  /** Alerts offered. */
  alerts: number;
  /** Alert ids already in the store before this run (not grouped again). */
  alreadyStored: number;
  /** New alerts stored (grouped into incidents). */
  stored: number;
  group: GroupCounts;
  /** Incidents opened by this run / incidents it changed (opened included). */
  newIncidents: number;
  touchedIncidents: number;
  scored: number;
  seconds: number;
  /** Wall seconds of the phases: read + group + save alerts, save incidents, compute features and score. */
  phases: { readGroupSave: number; saveIncidents: number; score: number };
}

/** Open incidents to continue: key and span only (their stored alerts stay in the store). */
function seedIncidents(db: StoreDatabase): Incident[] {
  const rows = db
    .prepare('SELECT id, key, first_seen, last_seen, duplicates, verdict, truth FROM triage_incidents')
    .all() as {
    id: string;
    key: string;
    first_seen: number;
    last_seen: number;
    duplicates: number;
    verdict: 'tp' | 'fp' | null;
    truth: number | null;
  }[];
  return rows.map((r) => ({
    id: r.id,
    key: r.key,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    alertIds: [],
    duplicates: r.duplicates,
    ...(r.verdict ? { verdict: r.verdict } : {}),
    ...(r.truth !== null ? { truth: r.truth === 1 } : {}),
  }));
}

/** Groups and stores a stream of alerts (see the module comment). */
export async function ingestAlerts(
  db: StoreDatabase,
  alerts: AsyncIterable<TriageAlert> | Iterable<TriageAlert>,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 5000;
  const model = loadTriageModel(db);
  if (options.assets) model.assets = { ...model.assets, ...options.assets };
  const seeded = seedIncidents(db);
  const seededIds = new Set(seeded.map((i) => i.id));
  const touched = new Set<string>();
  let pendingSave: TriageAlert[] = [];
  let pendingDuplicates: { alertId: string; incidentId: string; time: number }[] = [];
  let stored = 0;
  const grouper = new AlertGrouper(options.group ?? {}, (a, inc, duplicate) => {
    touched.add(inc.id);
    if (duplicate) {
      pendingDuplicates.push({ alertId: a.id, incidentId: inc.id, time: a.time });
      if (pendingDuplicates.length >= batchSize) {
        saveDuplicates(db, pendingDuplicates);
        pendingDuplicates = [];
      }
      return;
    }
    model.rarity.observe(a.signatureId, a.time);
    pendingSave.push(a);
    if (pendingSave.length >= batchSize) {
      stored += saveAlerts(db, pendingSave);
      pendingSave = [];
    }
  });
  grouper.seed(seeded);

  let offered = 0;
  let alreadyStored = 0;
  let chunk: TriageAlert[] = [];
  const drain = () => {
    const known = storedAlertIds(
      db,
      chunk.map((a) => a.id),
    );
    for (const a of chunk) {
      if (known.has(a.id)) alreadyStored++;
      else grouper.add(a);
    }
    chunk = [];
  };
  for await (const a of alerts) {
    offered++;
    chunk.push(a);
    if (chunk.length >= batchSize) drain();
  }
  drain();
  grouper.flush();
  stored += saveAlerts(db, pendingSave);
  saveDuplicates(db, pendingDuplicates);
  pendingSave = [];
  pendingDuplicates = [];

  const t1 = performance.now();
  const live = new Map(grouper.incidents().map((i) => [i.id, i]));
  const changed = [...touched].filter((id) => live.has(id)).map((id) => live.get(id) as Incident);
  saveIncidents(db, changed, grouper.absorbed);
  const t2 = performance.now();
  const scored = options.noScore
    ? 0
    : scoreIncidents(
        db,
        changed.map((i) => i.id),
        model,
      );
  saveTriageModel(db, model);
  const t3 = performance.now();
  return {
    alerts: offered,
    alreadyStored,
    stored,
    group: { ...grouper.counts },
    newIncidents: changed.filter((i) => !seededIds.has(i.id)).length,
    touchedIncidents: changed.length,
    scored,
    seconds: (t3 - started) / 1000,
    phases: { readGroupSave: (t1 - started) / 1000, saveIncidents: (t2 - t1) / 1000, score: (t3 - t2) / 1000 },
  };
}

/** Resolves an incident id or unique prefix, or throws AegisInputError. */
export function requireIncident(db: StoreDatabase, id: string): { incident: StoredIncident; alerts: TriageAlert[] } {
  const found = getIncident(db, id);
  if (!found) throw new AegisInputError(`no incident '${id}' in the store (see \`aegis triage queue\`)`);
  return found;
}

export interface VerdictResult {
  incident: string;
  verdict: AnalystVerdict;
  scoreBefore: number;
  scoreAfter: number;
  verdicts: { tp: number; fp: number };
  rescored: number;
}

/** Records an analyst verdict, teaches the ranker with the incident's features and rescores the open queue. */
export function applyVerdict(
  db: StoreDatabase,
  id: string,
  verdict: AnalystVerdict,
  analyst = '',
  time = Date.now(),
): VerdictResult {
  if (verdict !== 'tp' && verdict !== 'fp') {
    throw new AegisInputError(`a verdict is 'tp' (true positive) or 'fp' (false positive), got '${String(verdict)}'`);
  }
  const { incident, alerts } = requireIncident(db, id);
  const model = loadTriageModel(db);
  const features = loadFeatures(db, incident.id) ?? incidentFeatures(alerts, featureContext(db, model));
  const before = model.ranker.score(features).score;
  model.ranker.update(features, verdict);
  const after = model.ranker.score(features);
  let rescored = 0;
  db.transaction(() => {
    recordVerdict(db, incident.id, verdict, analyst, time);
    saveScore(db, incident.id, after.score, after.reasons, features);
    saveTriageModel(db, model);
    rescored = rescoreOpen(db, model.ranker);
  })();
  return {
    incident: incident.id,
    verdict,
    scoreBefore: before,
    scoreAfter: after.score,
    verdicts: model.ranker.verdicts,
    rescored,
  };
}

export interface Explanation {
  incident: StoredIncident;
  alerts: TriageAlert[];
  features: IncidentFeatures;
  rank: RankedVerdict;
  /** 1-based place in the queue of open incidents, or null when judged. */
  queuePosition: number | null;
}

/** An incident, its alerts, its features and the current ranker's reasons. */
export function explainIncident(db: StoreDatabase, id: string): Explanation {
  const { incident, alerts } = requireIncident(db, id);
  const model = loadTriageModel(db);
  const features = loadFeatures(db, incident.id) ?? incidentFeatures(alerts, featureContext(db, model));
  const rank = model.ranker.score(features);
  let queuePosition: number | null = null;
  if (incident.verdict === undefined) {
    const ids = listIncidents(db, { status: 'open' }).map((i) => i.id);
    queuePosition = ids.indexOf(incident.id) + 1 || null;
  }
  return { incident, alerts, features, rank, queuePosition };
}
