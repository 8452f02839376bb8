// Triage evaluation: workload reduction at a fixed recall of true incidents (the "alert reduction at 95% recall" of Hassan et al. 2019, NoDoze, NDSS), precision at k, ROC AUC (Fawcett 2006), and a simulated-analyst learning curve as in active-learning triage studies (Beaugnon, Chifflier & Bach 2017, "ILAB", RAID).
/**
 * How much analyst work the ranking saves, on incidents with ground truth:
 *
 *  - reduction at recall r: sort incidents by score, keep the top until r of the true incidents are
 *    in (ceil(r · T)); everything scoring strictly below that incident's score is removed (ties
 *    are kept, so a constant score removes nothing). Reported as the share of incidents and the
 *    share of alerts (duplicates included) removed, and how many true incidents were lost.
 *  - precision at k: share of true incidents among the k top-ranked.
 *  - learning curve: a simulated analyst works the top of a training queue, giving the ground
 *    truth as verdicts one incident at a time (the ranker re-ranks after each), and after 0, 25,
 *    50, 100 … verdicts the ranker is scored on held-out incidents it never saw a verdict for.
 *    Train and test incidents are disjoint (the callers split by file or by time).
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { rocAuc } from '../metrics.js';
import type { Incident, TriageAlert } from './alert.js';
import { type FeatureContext, type IncidentFeatures, streamFeatures } from './features.js';
import type { TriageRanker } from './ranker.js';

export interface ScoredIncident {
  score: number;
  truth: boolean;
  /** Alerts in the incident, duplicates included (what an analyst would have seen without grouping). */
  alerts: number;
}

export interface Reduction {
  /** Target recall of true incidents. */
  recall: number;
  /** Recall actually kept (≥ target; ties can keep more). */
  achievedRecall: number;
  /** Score threshold: incidents scoring below it are removed. */
  threshold: number;
  keptIncidents: number;
  removedIncidents: number;
  removedIncidentShare: number;
  removedAlerts: number;
  removedAlertShare: number;
  /** True incidents below the threshold (missed). */
  lostTrueIncidents: number;
}

export interface RankingQuality {
  incidents: number;
  trueIncidents: number;
  alerts: number;
  /** ROC AUC of the scores against the truth; null when only one class is present. */
  auc: number | null;
  /** precisionAt[k] for each requested k (k larger than the queue: over the whole queue). */
  precisionAt: Record<string, number>;
  reduction: Reduction[];
}

function check(items: readonly ScoredIncident[]): void {
  items.forEach((it, i) => {
    if (!Number.isFinite(it.score)) throw new AegisInputError(`triage evaluation: incident ${i} has score ${it.score}`);
    if (!(it.alerts >= 0)) throw new AegisInputError(`triage evaluation: incident ${i} has ${it.alerts} alerts`);
  });
}

/** Indices by decreasing score (stable). */
function order(items: readonly ScoredIncident[]): number[] {
  return items
    .map((_, i) => i)
    .sort((a, b) => (items[b] as ScoredIncident).score - (items[a] as ScoredIncident).score || a - b);
}

/** Incidents and alerts removed while keeping at least `recall` of the true incidents. */
export function reductionAtRecall(items: readonly ScoredIncident[], recall: number): Reduction {
  if (!(recall > 0 && recall <= 1))
    throw new AegisInputError(`triage evaluation: recall must be in (0, 1], got ${recall}`);
  check(items);
  const totalTrue = items.filter((it) => it.truth).length;
  const totalAlerts = items.reduce((s, it) => s + it.alerts, 0);
  if (totalTrue === 0) throw new AegisInputError('triage evaluation: no true incident, recall is undefined');
  const need = Math.ceil(recall * totalTrue - 1e-9);
  const idx = order(items);
  let found = 0;
  let threshold = Number.NEGATIVE_INFINITY;
  for (const i of idx) {
    const it = items[i] as ScoredIncident;
    if (it.truth) found++;
    if (found >= need) {
      threshold = it.score;
      break;
    }
  }
  let removedIncidents = 0;
  let removedAlerts = 0;
  let lostTrue = 0;
  for (const it of items) {
    if (it.score >= threshold) continue;
    removedIncidents++;
    removedAlerts += it.alerts;
    if (it.truth) lostTrue++;
  }
  return {
    recall,
    achievedRecall: (totalTrue - lostTrue) / totalTrue,
    threshold,
    keptIncidents: items.length - removedIncidents,
    removedIncidents,
    removedIncidentShare: items.length ? removedIncidents / items.length : 0,
    removedAlerts,
    removedAlertShare: totalAlerts ? removedAlerts / totalAlerts : 0,
    lostTrueIncidents: lostTrue,
  };
}

/** Share of true incidents among the k top-ranked (ties broken by input order). */
export function precisionAtK(items: readonly ScoredIncident[], k: number): number {
  if (!(k >= 1) || !Number.isInteger(k))
    throw new AegisInputError(`triage evaluation: k must be a positive integer, got ${k}`);
  check(items);
  const top = order(items).slice(0, k);
  return top.length ? top.filter((i) => (items[i] as ScoredIncident).truth).length / top.length : 0;
}

export interface QualityOptions {
  ks: readonly number[];
  recalls: readonly number[];
}

export const QUALITY_DEFAULTS: QualityOptions = { ks: [10, 100], recalls: [0.95, 0.99] };

export function rankingQuality(
  items: readonly ScoredIncident[],
  options: Partial<QualityOptions> = {},
): RankingQuality {
  const { ks, recalls } = { ...QUALITY_DEFAULTS, ...options };
  check(items);
  const trueIncidents = items.filter((it) => it.truth).length;
  const auc =
    trueIncidents > 0 && trueIncidents < items.length
      ? rocAuc(
          items.map((it) => it.score),
          items.map((it) => it.truth),
        )
      : null;
  const precisionAt: Record<string, number> = {};
  for (const k of ks) precisionAt[String(k)] = precisionAtK(items, k);
  return {
    incidents: items.length,
    trueIncidents,
    alerts: items.reduce((s, it) => s + it.alerts, 0),
    auc,
    precisionAt,
    reduction: trueIncidents > 0 ? recalls.map((r) => reductionAtRecall(items, r)) : [],
  };
}

/** An incident as the evaluation needs it: its features, ground truth and alert count. */
export interface LabelledIncident {
  features: IncidentFeatures;
  truth: boolean;
  alerts: number;
}

/**
 * Grouped incidents with their features (online over the alert stream: see streamFeatures), truth
 * (the incident's, else whether any of its alerts is true) and alert counts (duplicates included).
 */
export function labelIncidents(
  alerts: readonly TriageAlert[],
  incidents: readonly Incident[],
  ctx: FeatureContext,
): LabelledIncident[] {
  const byId = new Map<string, TriageAlert>();
  for (const a of alerts) if (!byId.has(a.id)) byId.set(a.id, a);
  const members = incidents.map((inc) =>
    inc.alertIds.map((id) => {
      const a = byId.get(id);
      if (!a)
        throw new AegisInputError(
          `triage evaluation: incident ${inc.id} lists alert ${id}, which is not in the stream`,
        );
      return a;
    }),
  );
  const features = streamFeatures(members, ctx, alerts);
  return incidents.map((inc, i) => ({
    features: features[i] as IncidentFeatures,
    truth: inc.truth ?? (members[i] as TriageAlert[]).some((a) => a.truth === true),
    alerts: inc.alertIds.length + inc.duplicates,
  }));
}

export function scoreAll(ranker: TriageRanker, incidents: readonly LabelledIncident[]): ScoredIncident[] {
  return incidents.map((inc) => ({ score: ranker.logit(inc.features), truth: inc.truth, alerts: inc.alerts }));
}

export interface FeedbackOptions {
  /** Which incident the analyst judges next: the top of the current queue (default) or a random one. */
  strategy: 'top' | 'random';
  /** Share of verdicts the simulated analyst gets wrong (flipped), seeded. Default 0. */
  errorRate: number;
  seed: number;
}

export const FEEDBACK_DEFAULTS: FeedbackOptions = { strategy: 'top', errorRate: 0, seed: 1 };

/** One point of the learning curve. */
export interface CurvePoint {
  verdicts: number;
  tp: number;
  fp: number;
  quality: RankingQuality;
}

/**
 * Simulated analyst feedback on `train`, evaluation on `test` after each checkpoint's number of
 * verdicts (0 = the prior alone). The ranker is updated in place.
 */
export function learningCurve(
  ranker: TriageRanker,
  train: readonly LabelledIncident[],
  test: readonly LabelledIncident[],
  checkpoints: readonly number[] = [0, 25, 50, 100],
  options: Partial<FeedbackOptions & QualityOptions> = {},
): CurvePoint[] {
  const opts = { ...FEEDBACK_DEFAULTS, ...options };
  if (!(opts.errorRate >= 0 && opts.errorRate < 1)) {
    throw new AegisInputError(`triage evaluation: errorRate must be in [0, 1), got ${opts.errorRate}`);
  }
  const sorted = [...checkpoints].sort((a, b) => a - b);
  const rng = new Rng(opts.seed);
  const judged = new Uint8Array(train.length);
  const points: CurvePoint[] = [];
  let given = 0;
  let tp = 0;
  let fp = 0;
  for (const target of sorted) {
    while (given < target && given < train.length) {
      const next = pickNext(ranker, train, judged, opts.strategy, rng);
      judged[next] = 1;
      const inc = train[next] as LabelledIncident;
      const wrong = opts.errorRate > 0 && rng.next() < opts.errorRate;
      const verdict = inc.truth !== wrong ? 'tp' : 'fp';
      if (verdict === 'tp') tp++;
      else fp++;
      ranker.update(inc.features, verdict);
      given++;
    }
    points.push({ verdicts: given, tp, fp, quality: rankingQuality(scoreAll(ranker, test), options) });
  }
  return points;
}

function pickNext(
  ranker: TriageRanker,
  pool: readonly LabelledIncident[],
  judged: Uint8Array,
  strategy: 'top' | 'random',
  rng: Rng,
): number {
  if (strategy === 'random') {
    const open: number[] = [];
    judged.forEach((j, i) => {
      if (!j) open.push(i);
    });
    return open[rng.int(open.length)] as number;
  }
  let best = -1;
  let bestZ = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < pool.length; i++) {
    if (judged[i]) continue;
    const z = ranker.logit((pool[i] as LabelledIncident).features);
    if (z > bestZ || best < 0) {
      best = i;
      bestZ = z;
    }
  }
  return best;
}
