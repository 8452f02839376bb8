/**
 * What every membership inference attack shares: its input (records known to be members and
 * non-members of the target's training set — the audit setting, where the ground truth is known
 * and the attack is scored), its result (one report row of ROC metrics, a log-log ROC chart, the
 * per-record scores), and the audit list of the most exposed training records.
 */
import { AegisInputError } from '../../core/errors.js';
import type { ThreatModel } from '../../core/threat-model.js';
import { type Dataset, featureShape, featureSize, size, validateDataset } from '../../data/dataset.js';
import type { Model } from '../../models/model.js';
import type { ReportChart } from '../../report/schema.js';
import { logLogRocPoints, type MembershipMetrics, membershipMetrics, rocCurve } from './roc.js';

export const MEMBERSHIP_ATLAS = 'AML.T0024.000';

export interface MembershipData {
  /** Records in the target's training set. */
  members: Dataset;
  /** Records from the same distribution that were not. */
  nonMembers: Dataset;
}

export interface MembershipRow extends MembershipMetrics {
  /** Queries sent to the target. */
  queries: number;
  seconds: number;
  /** Shadow models trained (shadow attack, LiRA). */
  shadows?: number;
}

/** A training record the attack singles out: index into the members, its label and score. */
export interface ExposedRecord {
  index: number;
  label: number;
  score: number;
}

export interface MembershipResult {
  attack: string;
  title: string;
  citation: string;
  atlas: string;
  threatModel: ThreatModel;
  rows: MembershipRow[];
  charts: ReportChart[];
  /** Membership score per record (higher = more likely a member). */
  scores: { members: Float64Array; nonMembers: Float64Array };
  /** Members with the highest scores, most exposed first. */
  exposed: ExposedRecord[];
}

export interface AttackInfo {
  attack: string;
  title: string;
  citation: string;
}

/** The members and non-members as one candidate set (members first). */
export function candidates(data: MembershipData): Dataset {
  const { members, nonMembers } = data;
  const x = new Float32Array(members.x.length + nonMembers.x.length);
  x.set(members.x);
  x.set(nonMembers.x, members.x.length);
  const y = new Int32Array(size(members) + size(nonMembers));
  y.set(members.y);
  y.set(nonMembers.y, size(members));
  return {
    name: `${members.name}+${nonMembers.name}`,
    x,
    y,
    shape: [y.length, ...featureShape(members)],
    classNames: members.classNames,
  };
}

/** Both sets non-empty, valid, of the model's example shape and label range. */
export function checkMembershipData(model: Model, data: MembershipData): void {
  for (const [what, set] of [
    ['members', data.members],
    ['non-members', data.nonMembers],
  ] as const) {
    if (!set || size(set) === 0) {
      throw new AegisInputError(`membership inference needs ${what} (records known to be ${what} of the training set)`);
    }
    validateDataset(set);
    const got = featureShape(set);
    if (got.join(',') !== model.info.inputShape.join(',')) {
      throw new AegisInputError(
        `${what} '${set.name}' have examples of shape [${got}] but model '${model.info.name}' expects [${model.info.inputShape}]`,
      );
    }
    for (let i = 0; i < set.y.length; i++) {
      if ((set.y[i] as number) >= model.info.numClasses) {
        throw new AegisInputError(
          `${what} '${set.name}': label ${set.y[i]} of example ${i} is outside the model's ${model.info.numClasses} classes`,
        );
      }
    }
  }
  if (featureSize(data.members) !== featureSize(data.nonMembers)) {
    throw new AegisInputError('members and non-members have examples of different shapes');
  }
}

/** Members' indices sorted by score, highest first (ties by index), the first `count`. */
export function mostExposed(scores: Float64Array, labels: ArrayLike<number>, count: number): ExposedRecord[] {
  const order = Array.from(scores.keys()).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  return order
    .slice(0, count)
    .map((index) => ({ index, label: labels[index] as number, score: scores[index] as number }));
}

/** Log-log ROC chart of one or more score sets, with the chance line. */
export function rocChart(title: string, series: { name: string; members: Float64Array; nonMembers: Float64Array }[]) {
  const chart: ReportChart = {
    title,
    xTitle: 'false positive rate',
    yTitle: 'true positive rate',
    logX: true,
    logY: true,
    series: series.map((s) => ({ name: s.name, points: logLogRocPoints(rocCurve(s.members, s.nonMembers)) })),
  };
  const lowest = Math.min(...chart.series.map((s) => s.points[0]?.x ?? 1), 1e-3);
  chart.series.push({
    name: 'chance',
    points: [
      { x: lowest, y: lowest },
      { x: 1, y: 1 },
    ],
  });
  return chart;
}

/** Splits candidate scores (members first) back into members and non-members. */
export function splitScores(scores: Float64Array, members: number): MembershipResult['scores'] {
  return { members: scores.slice(0, members), nonMembers: scores.slice(members) };
}

/** Builds the result: metrics, chart and audit list from the per-record scores. */
export function membershipResult(
  info: AttackInfo,
  threatModel: ThreatModel,
  data: MembershipData,
  scores: MembershipResult['scores'],
  cost: { queries: number; seconds: number; shadows?: number },
  auditCount = 10,
): MembershipResult {
  const metrics = membershipMetrics(scores.members, scores.nonMembers);
  const row: MembershipRow = { ...metrics, queries: cost.queries, seconds: cost.seconds };
  if (cost.shadows !== undefined) row.shadows = cost.shadows;
  return {
    ...info,
    atlas: MEMBERSHIP_ATLAS,
    threatModel,
    rows: [row],
    charts: [rocChart(`${info.title}: ROC (log-log)`, [{ name: info.attack, ...scores }])],
    scores,
    exposed: mostExposed(scores.members, data.members.y, auditCount),
  };
}

export function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
