// Fawcett 2006, "An introduction to ROC analysis", Pattern Recognition Letters; low-FPR reporting after Carlini et al. 2022, "Membership Inference Attacks From First Principles", IEEE S&P.
/**
 * How well membership scores separate members (positives) from non-members (negatives): the ROC
 * curve over every threshold, its area (equal to the Mann-Whitney U statistic, ties counting
 * half), the best balanced accuracy over thresholds, and the TPR at a low FPR — the figure
 * Carlini et al. argue matters (an attack that is sure about a few records is a real leak, even
 * when its AUC is near 0.5). A higher score means "more likely a member".
 */
import { AegisInputError } from '../../core/errors.js';

export interface RocPoint {
  fpr: number;
  tpr: number;
}

export interface MembershipMetrics {
  auc: number;
  /** max over thresholds of (TPR + TNR) / 2. */
  balancedAccuracy: number;
  tprAt0_1pctFpr: number;
  tprAt1pctFpr: number;
}

function checkScores(scores: ArrayLike<number>, what: string): void {
  if (scores.length === 0) throw new AegisInputError(`membership scores: no ${what} to evaluate`);
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new AegisInputError(`membership scores: ${what} score ${i} is NaN`);
  }
}

/**
 * The ROC curve from (0, 0) to (1, 1): one point per distinct score, thresholds from high to low
 * ("member" when score ≥ threshold). Tied scores move TPR and FPR together (one diagonal step).
 */
export function rocCurve(members: ArrayLike<number>, nonMembers: ArrayLike<number>): RocPoint[] {
  checkScores(members, 'member');
  checkScores(nonMembers, 'non-member');
  const all: { s: number; member: boolean }[] = [];
  for (let i = 0; i < members.length; i++) all.push({ s: members[i] as number, member: true });
  for (let i = 0; i < nonMembers.length; i++) all.push({ s: nonMembers[i] as number, member: false });
  all.sort((a, b) => b.s - a.s);
  const p = members.length;
  const n = nonMembers.length;
  const points: RocPoint[] = [{ fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < all.length; ) {
    const s = all[i]?.s;
    while (i < all.length && all[i]?.s === s) {
      if (all[i]?.member) tp++;
      else fp++;
      i++;
    }
    points.push({ fpr: fp / n, tpr: tp / p });
  }
  return points;
}

/** Area under the curve by the trapezoid rule (= P(member score > non-member score) + ½ P(tie)). */
export function aucOf(curve: RocPoint[]): number {
  let area = 0;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1] as RocPoint;
    const b = curve[i] as RocPoint;
    area += ((b.fpr - a.fpr) * (a.tpr + b.tpr)) / 2;
  }
  return area;
}

/** Highest TPR among thresholds whose FPR ≤ maxFpr (Carlini et al.'s reading of the curve). */
export function tprAtFpr(curve: RocPoint[], maxFpr: number): number {
  let best = 0;
  for (const point of curve) if (point.fpr <= maxFpr + 1e-12) best = Math.max(best, point.tpr);
  return best;
}

export function bestBalancedAccuracy(curve: RocPoint[]): number {
  let best = 0;
  for (const point of curve) best = Math.max(best, (point.tpr + 1 - point.fpr) / 2);
  return best;
}

export function membershipMetrics(members: ArrayLike<number>, nonMembers: ArrayLike<number>): MembershipMetrics {
  const curve = rocCurve(members, nonMembers);
  return {
    auc: aucOf(curve),
    balancedAccuracy: bestBalancedAccuracy(curve),
    tprAt0_1pctFpr: tprAtFpr(curve, 0.001),
    tprAt1pctFpr: tprAtFpr(curve, 0.01),
  };
}

/**
 * At most `count` points for a log-log chart: at log-spaced FPRs from 1/(non-members) to 1, the
 * highest TPR reached with at most that FPR. Points with TPR 0 are dropped (no place on a log axis).
 */
export function logLogRocPoints(curve: RocPoint[], count = 60): { x: number; y: number }[] {
  const last = curve[curve.length - 1];
  const smallest = curve.find((p) => p.fpr > 0)?.fpr ?? 1;
  if (!last) return [];
  const out: { x: number; y: number }[] = [];
  const lo = Math.log10(smallest);
  for (let i = 0; i < count; i++) {
    const fpr = count === 1 ? 1 : 10 ** (lo + ((0 - lo) * i) / (count - 1));
    const tpr = tprAtFpr(curve, fpr);
    if (tpr > 0) out.push({ x: fpr, y: tpr });
  }
  return out;
}
