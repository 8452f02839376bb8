/**
 * Evaluation of user ranking and alarms against known compromised users:
 *  - precision at k: share of the top k ranked users that are compromised (Manning, Raghavan &
 *    Schütze 2008, "Introduction to Information Retrieval", §8.4);
 *  - detection delay: per victim, time from its first planted event to its first alarm at or after
 *    that time, and to the moment it first enters the top k of the running risk ranking;
 *  - false alarms per user-day: alarms on users that are not compromised (or victims before their
 *    compromise started), divided by the user-days (distinct user × UTC day with activity) of those users.
 */
import { AegisInputError } from '../../core/errors.js';
import type { BehaviorEvent } from './event.js';
import { type RiskOptions, type ScoreStreamResult, UbaStream } from './risk.js';

const DAY = 86_400_000;

/** Share of the first k users of `ranked` that are in `positives` (divides by k, as is standard). */
export function precisionAtK(ranked: readonly string[], positives: ReadonlySet<string>, k: number): number {
  if (!Number.isInteger(k) || k <= 0) throw new AegisInputError(`precisionAtK: k must be a positive integer, got ${k}`);
  let hits = 0;
  for (let i = 0; i < Math.min(k, ranked.length); i++) if (positives.has(ranked[i])) hits++;
  return hits / k;
}

/** Share of the positives found in the first k. */
export function recallAtK(ranked: readonly string[], positives: ReadonlySet<string>, k: number): number {
  if (positives.size === 0) return 0;
  let hits = 0;
  for (let i = 0; i < Math.min(k, ranked.length); i++) if (positives.has(ranked[i])) hits++;
  return hits / positives.size;
}

/**
 * 1-based rank of `user` among scored users, counting ties pessimistically (every other user with a
 * risk at least as high ranks before it); null when the user is absent.
 */
export function pessimisticRank(users: readonly { user: string; risk: number }[], user: string): number | null {
  const me = users.find((u) => u.user === user);
  if (!me) return null;
  let rank = 1;
  for (const u of users) if (u.user !== user && u.risk >= me.risk) rank++;
  return rank;
}

export interface Alarm {
  user: string;
  time: number;
}

export interface VictimLabel {
  user: string;
  /** First malicious event time (ms). */
  start: number;
}

export interface DelayRow {
  user: string;
  start: number;
  /** First alarm on the user at or after `start`, or null (missed). */
  firstAlarm: number | null;
  delayMs: number | null;
}

/** Detection delay per victim from alarms (any order). */
export function detectionDelays(victims: readonly VictimLabel[], alarms: readonly Alarm[]): DelayRow[] {
  return victims.map((v) => {
    let first: number | null = null;
    for (const a of alarms)
      if (a.user === v.user && a.time >= v.start && (first === null || a.time < first)) first = a.time;
    return { user: v.user, start: v.start, firstAlarm: first, delayMs: first === null ? null : first - v.start };
  });
}

/** Distinct (user, UTC day) pairs with activity, per user. */
export function userDays(events: Iterable<Pick<BehaviorEvent, 'user' | 'time'>>): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const e of events) {
    let s = out.get(e.user);
    if (!s) {
      s = new Set();
      out.set(e.user, s);
    }
    s.add(Math.floor(e.time / DAY));
  }
  return out;
}

/**
 * False alarms per user-day: alarms on non-victims, and on victims before their start, over the
 * user-days of that clean activity. `events` are the users' events (machine accounts filtered by the caller).
 */
export function falseAlarmsPerUserDay(
  events: Iterable<Pick<BehaviorEvent, 'user' | 'time'>>,
  alarms: readonly Alarm[],
  victims: readonly VictimLabel[],
): { falseAlarms: number; userDays: number; rate: number } {
  const start = new Map(victims.map((v) => [v.user, v.start]));
  const clean = (user: string, time: number): boolean => {
    const s = start.get(user);
    return s === undefined || time < s;
  };
  let days = 0;
  const seen = new Map<string, Set<number>>();
  for (const e of events) {
    if (!clean(e.user, e.time)) continue;
    let s = seen.get(e.user);
    if (!s) {
      s = new Set();
      seen.set(e.user, s);
    }
    const d = Math.floor(e.time / DAY);
    if (!s.has(d)) {
      s.add(d);
      days++;
    }
  }
  let falseAlarms = 0;
  for (const a of alarms) if (clean(a.user, a.time) && seen.has(a.user)) falseAlarms++;
  return { falseAlarms, userDays: days, rate: days === 0 ? 0 : falseAlarms / days };
}

export interface UbaEvaluation {
  k: number;
  precisionAtK: number;
  recallAtK: number;
  /** Victims with at least one alarm after their start. */
  detected: number;
  victims: number;
  delays: (DelayRow & { topKAt: number | null; topKDelayMs: number | null; finalRank: number | null })[];
  medianDelayMs: number | null;
  medianTopKDelayMs: number | null;
  falseAlarms: number;
  cleanUserDays: number;
  falseAlarmsPerUserDay: number;
  /** Alarms on planted events in the names of non-victims (password-spray targets), not counted as false. */
  alarmsOnAttackTargets: number;
  /** Clean users that ended in the top k. */
  cleanInTopK: number;
  result: ScoreStreamResult;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Scores `events` (in time order) with UBA and evaluates the final ranking and the alarms against
 * `victims`. Machine accounts are excluded from ranking, alarms and user-days unless the risk
 * options include them. The top-k entry time is checked at each victim alarm (exact: risk only
 * rises at alarms, and between alarms all users decay at the same rate, so ranks change only then
 * or when another user's alarm overtakes).
 */
export function evaluateUba(
  events: Iterable<BehaviorEvent>,
  victims: readonly VictimLabel[],
  options: RiskOptions & {
    k?: number;
    /**
     * recordIds of planted events: an alarm on a planted event of a non-victim (a password-spray
     * target) is attack activity, not a false alarm; it is counted in `alarmsOnAttackTargets`.
     */
    planted?: ReadonlySet<string>;
  } = {},
): UbaEvaluation {
  const k = options.k ?? 10;
  const includeMachines = options.includeMachineAccounts ?? false;
  const victimStart = new Map(victims.map((v) => [v.user, v.start]));
  const alarms: Alarm[] = [];
  const topKAt = new Map<string, number>();
  const userEvents: { user: string; time: number }[] = [];
  let alarmsOnAttackTargets = 0;
  const stream: UbaStream = new UbaStream({
    ...options,
    onVerdict: (e, verdict, risk) => {
      options.onVerdict?.(e, verdict, risk);
      if (e.machineAccount && !includeMachines) return;
      const start = victimStart.get(e.user);
      if (start === undefined && options.planted?.has(e.recordId)) {
        if (verdict.score >= stream.risk.threshold) alarmsOnAttackTargets++;
        return;
      }
      userEvents.push({ user: e.user, time: e.time });
      if (verdict.score < stream.risk.threshold) return;
      alarms.push({ user: e.user, time: e.time });
      if (start === undefined || e.time < start || topKAt.has(e.user)) return;
      let above = 0;
      for (const s of stream.risk.states.values()) {
        if (s.user === e.user || (s.machineAccount && !includeMachines)) continue;
        if (stream.risk.riskOf(s.user, e.time) >= risk) above++;
        if (above >= k) return;
      }
      topKAt.set(e.user, e.time);
    },
  });
  for (const e of events) stream.push(e);
  const result = stream.result();
  const ranked = result.users.map((u) => u.user);
  const positives = new Set(victims.map((v) => v.user));
  const delays = detectionDelays(victims, alarms).map((d) => {
    const at = topKAt.get(d.user) ?? null;
    return {
      ...d,
      topKAt: at,
      topKDelayMs: at === null ? null : at - d.start,
      finalRank: pessimisticRank(result.users, d.user),
    };
  });
  const fa = falseAlarmsPerUserDay(userEvents, alarms, victims);
  return {
    k,
    precisionAtK: precisionAtK(ranked, positives, k),
    recallAtK: recallAtK(ranked, positives, k),
    detected: delays.filter((d) => d.firstAlarm !== null).length,
    victims: victims.length,
    delays,
    medianDelayMs: median(delays.flatMap((d) => (d.delayMs === null ? [] : [d.delayMs]))),
    medianTopKDelayMs: median(delays.flatMap((d) => (d.topKDelayMs === null ? [] : [d.topKDelayMs]))),
    falseAlarms: fa.falseAlarms,
    cleanUserDays: fa.userDays,
    falseAlarmsPerUserDay: fa.rate,
    alarmsOnAttackTargets,
    cleanInTopK: ranked.slice(0, k).filter((u) => !positives.has(u)).length,
    result,
  };
}
