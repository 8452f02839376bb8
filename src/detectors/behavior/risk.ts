/**
 * Per-user risk: the scores of a user's suspicious events (score ≥ riskThreshold), accumulated with
 * exponential decay — risk(t) = Σ score_i · 2^(−(t − t_i)/halfLife) — so one odd event fades within
 * days while a run of them (an account being worked by an attacker) piles up. Users are ranked by risk
 * at the end of the stream, each with its top reasons (the same features summed with the same decay).
 *
 * `scoreStream` is the whole pipeline: for each event in arrival order it scores the event against the
 * baselines learned so far, then learns it (test-then-train), so every score is out-of-sample.
 * Machine and well-known service accounts are learned and scored but left out of the ranking unless
 * `includeMachineAccounts`.
 */
import type { Reason, Verdict } from '../detector.js';
import type { BehaviorEvent } from './event.js';
import { UbaDetector, type UbaOptions } from './uba-detector.js';

export interface RiskOptions extends UbaOptions {
  /** Half-life of a user's risk (default 1 day). */
  halfLifeMs?: number;
  /** Event score from which an event adds to risk and counts as an alert (default: the detector threshold). */
  riskThreshold?: number;
  /** Rank machine/service accounts too (default false). */
  includeMachineAccounts?: boolean;
  /** Reasons kept per user in the ranking (default 5). */
  topReasons?: number;
  /** Rank by the risk at the end of the stream (default) or by the highest risk each user reached. */
  rankBy?: RankBy;
  /** Alerts kept in the result (default 10 000; further ones are only counted). */
  maxAlerts?: number;
  /** Continue with an existing detector (its baselines) instead of a fresh one. */
  detector?: UbaDetector;
  /** Continue with existing per-user risk (e.g. restored from the store) instead of none. */
  risk?: RiskAccumulator;
  /** Called for every event after scoring (before learning), e.g. by evaluations. */
  onVerdict?: (event: BehaviorEvent, verdict: Verdict, userRisk: number) => void;
}

/** 'risk': decayed risk at the end of the stream (who is risky now); 'peak': highest risk reached (forensics on old logs). */
export type RankBy = 'risk' | 'peak';

export interface UserRisk {
  user: string;
  domain: string;
  /** Decayed risk at the end of the stream. */
  risk: number;
  /** The highest risk the user reached during the stream, and when (ms; null without alerts). */
  peakRisk: number;
  peakAt: number | null;
  /** Top reasons, strongest first; weight = the feature's decayed share of the risk. */
  reasons: Reason[];
  events: number;
  alerts: number;
  /** Time of the user's first alert (ms), or null. */
  firstAlert: number | null;
  lastSeen: number;
  machineAccount: boolean;
}

export interface UbaAlert {
  time: number;
  user: string;
  domain: string;
  host: string;
  source: string;
  action: string;
  recordId: string;
  score: number;
  reasons: Reason[];
}

export interface ScoreStreamResult {
  /** Ranked users, highest risk first. */
  users: UserRisk[];
  /** Events scored. */
  events: number;
  alerts: UbaAlert[];
  /** All alerts, including those beyond maxAlerts. */
  alertCount: number;
  /** Time the risks are given at (the latest event time), ms. */
  asOf: number;
  /** Users left out of the ranking as machine/service accounts. */
  machineAccountsExcluded: number;
}

/** Risk decayed over dt ms with the given half-life. */
export function decayRisk(risk: number, dt: number, halfLifeMs: number): number {
  return dt <= 0 ? risk : risk * 2 ** (-dt / halfLifeMs);
}

interface ReasonSum {
  weight: number;
  count: number;
  best: Reason;
}

/** One user's accumulated risk, as plain data (v8-serialisable; saved with the baselines). */
export interface UserState {
  user: string;
  domain: string;
  risk: number;
  time: number;
  peak: number;
  peakAt: number | null;
  reasons: Map<string, ReasonSum>;
  events: number;
  alerts: number;
  firstAlert: number | null;
  lastSeen: number;
  machineAccount: boolean;
}

/** Accumulates decayed per-user risk from verdicts. */
export class RiskAccumulator {
  readonly states = new Map<string, UserState>();

  constructor(
    readonly halfLifeMs = 86_400_000,
    readonly threshold = 5,
  ) {}

  private state(e: BehaviorEvent): UserState {
    let s = this.states.get(e.user);
    if (!s) {
      s = {
        user: e.user,
        domain: e.domain,
        risk: 0,
        time: e.time,
        peak: 0,
        peakAt: null,
        reasons: new Map(),
        events: 0,
        alerts: 0,
        firstAlert: null,
        lastSeen: e.time,
        machineAccount: e.machineAccount,
      };
      this.states.set(e.user, s);
    }
    return s;
  }

  private decayTo(s: UserState, time: number): void {
    if (time <= s.time) return;
    const f = 2 ** (-(time - s.time) / this.halfLifeMs);
    s.risk *= f;
    for (const r of s.reasons.values()) r.weight *= f;
    s.time = time;
  }

  /** Adds one scored event; returns true when it counts as an alert. */
  add(e: BehaviorEvent, verdict: Verdict): boolean {
    const s = this.state(e);
    s.events++;
    s.lastSeen = Math.max(s.lastSeen, e.time);
    if (e.domain) s.domain = e.domain;
    s.machineAccount = s.machineAccount || e.machineAccount;
    if (verdict.score < this.threshold) return false;
    this.decayTo(s, e.time);
    const f = e.time < s.time ? 2 ** (-(s.time - e.time) / this.halfLifeMs) : 1; // late event: already decayed
    s.risk += verdict.score * f;
    if (s.risk > s.peak) {
      s.peak = s.risk;
      s.peakAt = s.time;
    }
    s.alerts++;
    if (s.firstAlert === null || e.time < s.firstAlert) s.firstAlert = e.time;
    for (const r of verdict.reasons) {
      const sum = s.reasons.get(r.feature);
      if (!sum) s.reasons.set(r.feature, { weight: r.weight * f, count: 1, best: r });
      else {
        sum.weight += r.weight * f;
        sum.count++;
        if (r.weight > sum.best.weight) sum.best = r;
      }
    }
    return true;
  }

  exportState(): UserState[] {
    return [...this.states.values()];
  }

  importState(states: readonly UserState[]): void {
    this.states.clear();
    for (const s of states) this.states.set(s.user, s);
  }

  /** Current risk of one user at `time`. */
  riskOf(user: string, time: number): number {
    const s = this.states.get(user);
    return s ? decayRisk(s.risk, time - s.time, this.halfLifeMs) : 0;
  }

  /** Users ranked by risk at `asOf` (or by peak risk), highest first (ties: by name). */
  ranking(
    asOf: number,
    options: { includeMachineAccounts?: boolean; topReasons?: number; rankBy?: RankBy } = {},
  ): UserRisk[] {
    const top = options.topReasons ?? 5;
    const out: UserRisk[] = [];
    for (const s of this.states.values()) {
      if (s.machineAccount && !options.includeMachineAccounts) continue;
      const f = asOf > s.time ? 2 ** (-(asOf - s.time) / this.halfLifeMs) : 1;
      const reasons = [...s.reasons.entries()]
        .map(([feature, r]) => ({
          feature,
          detail: r.count > 1 ? `${r.best.detail} (and ${r.count - 1} more)` : r.best.detail,
          weight: r.weight * f,
        }))
        .sort((a, b) => b.weight - a.weight)
        .slice(0, top);
      out.push({
        user: s.user,
        domain: s.domain,
        risk: s.risk * f,
        peakRisk: s.peak,
        peakAt: s.peakAt,
        reasons,
        events: s.events,
        alerts: s.alerts,
        firstAlert: s.firstAlert,
        lastSeen: s.lastSeen,
        machineAccount: s.machineAccount,
      });
    }
    const key = options.rankBy === 'peak' ? (u: UserRisk) => u.peakRisk : (u: UserRisk) => u.risk;
    return out.sort((a, b) => key(b) - key(a) || (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  }
}

/** Test-then-train scoring of events one at a time; `result()` any time. */
export class UbaStream {
  readonly detector: UbaDetector;
  readonly risk: RiskAccumulator;
  readonly alerts: UbaAlert[] = [];
  alertCount = 0;
  events = 0;
  asOf = Number.NEGATIVE_INFINITY;
  private readonly maxAlerts: number;

  constructor(private readonly options: RiskOptions = {}) {
    this.detector = options.detector ?? new UbaDetector(options);
    this.risk =
      options.risk ??
      new RiskAccumulator(options.halfLifeMs ?? 86_400_000, options.riskThreshold ?? this.detector.options.threshold);
    this.maxAlerts = options.maxAlerts ?? 10_000;
  }

  push(e: BehaviorEvent): Verdict {
    const verdict = this.detector.score(e);
    this.events++;
    if (e.time > this.asOf) this.asOf = e.time;
    if (this.risk.add(e, verdict)) {
      this.alertCount++;
      if (this.alerts.length < this.maxAlerts) {
        this.alerts.push({
          time: e.time,
          user: e.user,
          domain: e.domain,
          host: e.host,
          source: e.source,
          action: e.action,
          recordId: e.recordId,
          score: verdict.score,
          reasons: verdict.reasons,
        });
      }
    }
    this.options.onVerdict?.(e, verdict, this.risk.riskOf(e.user, e.time));
    this.detector.learn(e);
    return verdict;
  }

  result(): ScoreStreamResult {
    const asOf = Number.isFinite(this.asOf) ? this.asOf : 0;
    const all = this.risk.ranking(asOf, {
      includeMachineAccounts: true,
      topReasons: this.options.topReasons,
      rankBy: this.options.rankBy,
    });
    const users = this.options.includeMachineAccounts ? all : all.filter((u) => !u.machineAccount);
    return {
      users,
      events: this.events,
      alerts: this.alerts,
      alertCount: this.alertCount,
      asOf,
      machineAccountsExcluded: all.length - users.length,
    };
  }
}

/** Scores a whole stream (sync or async iterable) and ranks its users by risk. */
export async function scoreStream(
  events: AsyncIterable<BehaviorEvent> | Iterable<BehaviorEvent>,
  options: RiskOptions = {},
): Promise<ScoreStreamResult> {
  const stream = new UbaStream(options);
  if (Symbol.asyncIterator in events) {
    for await (const e of events as AsyncIterable<BehaviorEvent>) stream.push(e);
  } else {
    for (const e of events as Iterable<BehaviorEvent>) stream.push(e);
  }
  return stream.result();
}

/** Synchronous scoreStream for in-memory arrays. */
export function scoreEvents(events: Iterable<BehaviorEvent>, options: RiskOptions = {}): ScoreStreamResult {
  const stream = new UbaStream(options);
  for (const e of events) stream.push(e);
  return stream.result();
}
