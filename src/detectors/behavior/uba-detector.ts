// Heard & Rubin-Delanchy 2016, "Network-wide anomaly detection via the Dirichlet process" (IEEE ISI): surprisal of a value under a Dirichlet-process predictive, new values weighted by the concentration over a base measure (here the peer group).
/**
 * User behaviour analytics: scores one authentication/activity event for novelty and rarity against
 * the user's and the peer group's baselines (baseline.ts), and names why.
 *
 * Categorical features (host, source, process, Kerberos service, logon type, hour of day, weekday,
 * action) are scored by their surprisal in bits. For a value x the user has seen c times out of n, with
 * the peer group's smoothed share p_g(x) as the base measure and concentration α:
 *     p_u(x) = (c + α·p_g(x)) / (n + α)                 (Dirichlet-process posterior predictive)
 *     s(x)   = min(−log2 p_u(x), −log2 p_g(x) + peerBonusBits)
 * — a value new to the user but common in the peer group costs only a little more than it costs the
 * group. Bits above `rarityBits` count (capped at `maxFeatureBits`), scaled by a warm-up factor that
 * grows from `coldWeight` to 1 over the user's first `warmupEvents` events, so a new user's first
 * events do not all alarm — the common "first-seen"/rarity practice of UEBA products, made explicit.
 *
 * Rules that need no baseline: failures then success (brute force / spraying success), repeated
 * failures, a burst of service tickets for services new to the user (Kerberoasting), and a burst of
 * activity (short-term rate vs the user's long-term EWMA rate). Explicit credentials (4648) and
 * privilege use (4672) are scored by the rarity of the action for this user and group, so an admin's
 * routine 4672 at every logon does not alarm.
 *
 * The event score is the sum of the reason weights (bits; scoreKind 'anomaly'); label 'anomalous' at
 * or above `threshold`.
 */
import type { Detector, Reason, Verdict } from '../detector.js';
import {
  type BaselineOptions,
  BehaviorBaselines,
  type CappedCounter,
  decay,
  hourOf,
  type Profile,
  SESSION_ACTIONS,
  weekdayOf,
} from './baseline.js';
import type { BehaviorEvent } from './event.js';

export interface UbaOptions extends BaselineOptions {
  /** Dirichlet-process concentration α (default 1). */
  concentration?: number;
  /** Surprisal below which a feature is routine, in bits (default 5 ≈ a 1-in-32 value). */
  rarityBits?: number;
  /** Cap on one feature's surprisal, in bits (default 12). */
  maxFeatureBits?: number;
  /** Extra bits charged when a value is new to the user but known to the peer group (default 2). */
  peerBonusBits?: number;
  /** Events before a user's novelty features count fully (default 20). */
  warmupEvents?: number;
  /** Share of the novelty weight a brand-new user already gets (default 0.2). */
  coldWeight?: number;
  /** Event score at or above which the label is 'anomalous' (default 5 bits). */
  threshold?: number;
  /** Window for failures-then-success and repeated failures (default 30 minutes). */
  failureWindowMs?: number;
  /** Failures in the window before a success that make it brute force (default 3). */
  minFailures?: number;
  /** Distinct other accounts that failed from a source, before a success from it, that make it a spray (default 3). */
  minSprayAccounts?: number;
  /** Window for the service-ticket burst (default 10 minutes). */
  ticketWindowMs?: number;
  /** Distinct new services requested in the window that make a Kerberoasting burst (default 5). */
  minTicketServices?: number;
  /** Short-term rate over long-term rate that makes a burst (default 10). */
  burstFactor?: number;
  /** Events in the short window (decayed count) before a burst can fire (default 20). */
  minBurstEvents?: number;
  /** History a user needs before bursts are judged (default 1 hour). */
  burstMinHistoryMs?: number;
}

interface Resolved {
  alpha: number;
  rarityBits: number;
  maxFeatureBits: number;
  peerBonusBits: number;
  warmupEvents: number;
  coldWeight: number;
  threshold: number;
  failureWindowMs: number;
  minFailures: number;
  minSprayAccounts: number;
  ticketWindowMs: number;
  minTicketServices: number;
  burstFactor: number;
  minBurstEvents: number;
  burstMinHistoryMs: number;
}

const LN2 = Math.LN2;

function fmtHour(h: number): string {
  return `${String(h).padStart(2, '0')}:00`;
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Smoothed share of `value` in a counter: (c + ½) / (n + ½·(distinct + 1)). */
export function peerShare(counter: CappedCounter | undefined, value: string): number {
  if (!counter || counter.total === 0) return 1;
  return (counter.get(value) + 0.5) / (counter.total + 0.5 * (counter.distinct + 1));
}

/** Surprisal in bits of a value seen `c` of `n` times by the user, with peer share pg (see the file comment). */
export function surprisalBits(c: number, n: number, pg: number, alpha: number, peerBonusBits: number): number {
  const pu = (c + alpha * pg) / (n + alpha);
  return Math.min(-Math.log2(pu), -Math.log2(pg) + peerBonusBits);
}

export class UbaDetector implements Detector<BehaviorEvent> {
  readonly name = 'uba-baseline';
  readonly scoreKind = 'anomaly' as const;
  readonly baselines: BehaviorBaselines;
  readonly options: Resolved;

  constructor(options: UbaOptions = {}) {
    this.baselines = new BehaviorBaselines(options);
    this.options = {
      alpha: options.concentration ?? 1,
      rarityBits: options.rarityBits ?? 5,
      maxFeatureBits: options.maxFeatureBits ?? 12,
      peerBonusBits: options.peerBonusBits ?? 2,
      warmupEvents: options.warmupEvents ?? 20,
      coldWeight: options.coldWeight ?? 0.2,
      threshold: options.threshold ?? 5,
      failureWindowMs: options.failureWindowMs ?? 30 * 60_000,
      minFailures: options.minFailures ?? 3,
      minSprayAccounts: options.minSprayAccounts ?? 3,
      ticketWindowMs: options.ticketWindowMs ?? 10 * 60_000,
      minTicketServices: options.minTicketServices ?? 5,
      burstFactor: options.burstFactor ?? 10,
      minBurstEvents: options.minBurstEvents ?? 20,
      burstMinHistoryMs: options.burstMinHistoryMs ?? 3_600_000,
    };
  }

  learn(event: BehaviorEvent): void {
    this.baselines.learn(event);
  }

  score(e: BehaviorEvent): Verdict {
    const o = this.options;
    const u = this.baselines.user(e.user);
    const g = this.baselines.peer(this.baselines.groupOf(e));
    const n = u?.events ?? 0;
    const warm = o.coldWeight + (1 - o.coldWeight) * Math.min(1, n / o.warmupEvents);
    const reasons: Reason[] = [];

    /** Novelty/rarity of one categorical value; pushes a reason when it is rarer than rarityBits. */
    const rarity = (
      feature: string,
      rareFeature: string,
      counter: (p: Profile) => CappedCounter,
      value: string,
      what: string,
    ): void => {
      if (!value) return;
      const uc = u ? counter(u) : undefined;
      const c = uc?.get(value) ?? 0;
      const total = uc?.total ?? 0;
      const pg = peerShare(g ? counter(g) : undefined, value);
      const bits = Math.min(o.maxFeatureBits, surprisalBits(c, total, pg, o.alpha, o.peerBonusBits));
      const w = (bits - o.rarityBits) * warm;
      if (w <= 0) return;
      const peerNote = g && pg > 0 ? `; peers: ${Math.round(pg * 1000) / 10}%` : '';
      reasons.push(
        c === 0
          ? { feature, detail: `${what} ${value} never seen for ${e.user} (${total} before${peerNote})`, weight: w }
          : { feature: rareFeature, detail: `${what} ${value} seen ${c} of ${total} times${peerNote}`, weight: w },
      );
    };

    if (e.action !== 'logoff' && e.action !== 'other') {
      const hostWhat = e.action === 'logon' ? 'first logon to host' : 'host';
      rarity('new-host', 'rare-host', (p) => p.hosts, e.host, hostWhat);
      rarity('new-source', 'rare-source', (p) => p.sources, e.source, 'source');
      if (e.action === 'process') rarity('new-process', 'rare-process', (p) => p.processes, e.detail, 'process');
      if (e.action === 'kerberos-service-ticket') {
        rarity('new-service', 'rare-service', (p) => p.services, e.detail, 'service ticket for');
      }
      if (e.action === 'logon' || e.action === 'logon-failure') {
        rarity('new-logon-type', 'rare-logon-type', (p) => p.logonTypes, e.detail, 'logon type');
      }
      if (SESSION_ACTIONS.has(e.action)) this.timeRarity(e, u, g, warm, reasons);
    }
    if (e.action === 'explicit-credentials' || e.action === 'privilege-use') {
      const c = u?.actions.get(e.action) ?? 0;
      const total = u?.actions.total ?? 0;
      const pg = peerShare(g?.actions, e.action);
      const bits = Math.min(o.maxFeatureBits, surprisalBits(c, total, pg, o.alpha, o.peerBonusBits));
      const w = (bits - o.rarityBits) * Math.max(warm, 0.5);
      const label = e.action === 'explicit-credentials' ? 'explicit credentials (4648)' : 'special privileges (4672)';
      if (w > 0) {
        reasons.push({
          feature: e.action,
          detail: `${label}${e.detail ? ` ${e.detail}` : ''}: ${c} of ${total} earlier events of ${e.user}`,
          weight: w,
        });
      }
    }
    if (u) this.ruleReasons(e, u, reasons);
    this.sprayReason(e, reasons);
    reasons.sort((a, b) => b.weight - a.weight);
    const score = reasons.reduce((s, r) => s + r.weight, 0);
    return { score, label: score >= o.threshold ? 'anomalous' : 'normal', reasons };
  }

  private timeRarity(e: BehaviorEvent, u: Profile | undefined, g: Profile | undefined, warm: number, out: Reason[]) {
    const o = this.options;
    const off = this.baselines.options.utcOffsetMs;
    const h = hourOf(e.time, off);
    // Neighbouring hours count half: activity at 08:55 makes 09:05 ordinary.
    const smooth = (hours: number[]): number => hours[h] + 0.5 * (hours[(h + 23) % 24] + hours[(h + 1) % 24]);
    const sum = (a: number[]): number => a.reduce((s, x) => s + x, 0);
    const gTotal = g ? sum(g.hours) : 0;
    const pgHour = gTotal > 0 ? (smooth(g?.hours ?? []) / 2 + 0.5) / (gTotal + 12) : 1 / 24;
    const uTotal = u ? sum(u.hours) : 0;
    const cHour = u ? smooth(u.hours) / 2 : 0;
    const hourBits = Math.min(o.maxFeatureBits, surprisalBits(cHour, uTotal, pgHour, o.alpha, o.peerBonusBits));
    const wh = (hourBits - o.rarityBits) * warm;
    if (wh > 0) {
      out.push(
        cHour === 0
          ? { feature: 'never-seen-hour', detail: `activity at ${fmtHour(h)}, never seen for ${e.user}`, weight: wh }
          : { feature: 'rare-hour', detail: `activity at ${fmtHour(h)}: ${cHour} of ${uTotal} sessions`, weight: wh },
      );
    }
    const d = weekdayOf(e.time, off);
    const gDays = g ? sum(g.weekdays) : 0;
    const pgDay = gDays > 0 ? ((g?.weekdays[d] ?? 0) + 0.5) / (gDays + 3.5) : 1 / 7;
    const cDay = u?.weekdays[d] ?? 0;
    const dayBits = Math.min(o.maxFeatureBits, surprisalBits(cDay, uTotal, pgDay, o.alpha, o.peerBonusBits));
    const wd = (dayBits - o.rarityBits) * warm;
    if (wd > 0) {
      out.push({
        feature: cDay === 0 ? 'never-seen-weekday' : 'rare-weekday',
        detail: `activity on a ${WEEKDAYS[d]}: ${cDay} of ${uTotal} sessions`,
        weight: wd,
      });
    }
  }

  /**
   * A successful logon from a source that just failed against several other accounts: the account
   * that logs on is the one working that source (password spraying, T1110.003), charged once per spray.
   */
  private sprayReason(e: BehaviorEvent, out: Reason[]): void {
    const o = this.options;
    if (!e.source || e.outcome === 'failure' || (e.action !== 'logon' && e.action !== 'explicit-credentials')) return;
    const s = this.baselines.source(e.source);
    if (!s || s.failures.length === 0) return;
    const since = e.time - o.failureWindowMs;
    const others = new Set<string>();
    let newest = Number.NEGATIVE_INFINITY;
    for (const f of s.failures) {
      if (f.time < since || f.time > e.time) continue;
      if (f.user !== e.user) others.add(f.user);
      newest = Math.max(newest, f.time);
    }
    if (others.size < o.minSprayAccounts) return;
    const charged = s.successes.get(e.user);
    if (charged !== undefined && charged >= newest) return; // already charged for this spray
    out.push({
      feature: 'password-spray-source',
      detail: `logon from ${e.source}, which failed against ${others.size} other accounts in ${Math.round(o.failureWindowMs / 60_000)} min`,
      weight: 3 + Math.log2(others.size),
    });
  }

  private ruleReasons(e: BehaviorEvent, u: Profile, out: Reason[]): void {
    const o = this.options;
    const since = e.time - o.failureWindowMs;
    let failures = 0;
    for (const t of u.recentFailures) if (t >= since && t <= e.time) failures++;
    const isFailure = e.action === 'logon-failure' || e.outcome === 'failure';
    if (!isFailure && (e.action === 'logon' || e.action === 'explicit-credentials') && failures >= o.minFailures) {
      out.push({
        feature: 'failures-then-success',
        detail: `successful logon after ${failures} failures in ${Math.round(o.failureWindowMs / 60_000)} min`,
        weight: 2 + Math.log2(failures),
      });
    }
    if (isFailure && failures + 1 >= o.minFailures + 2) {
      out.push({
        feature: 'repeated-failures',
        detail: `${failures + 1} failed logons in ${Math.round(o.failureWindowMs / 60_000)} min`,
        weight: Math.log2(failures + 1) - 1,
      });
    }
    if (e.action === 'kerberos-service-ticket' && e.detail && u.services.get(e.detail) === 0) {
      const tSince = e.time - o.ticketWindowMs;
      const services = new Set<string>([e.detail]);
      for (const r of u.recentNewTickets) if (r.time >= tSince && r.time <= e.time) services.add(r.service);
      const k = services.size;
      // Fire when the burst reaches the minimum and again each time it doubles, not on every ticket.
      const ratio = k / o.minTicketServices;
      if (k >= o.minTicketServices && Number.isInteger(Math.log2(ratio))) {
        out.push({
          feature: 'kerberos-ticket-burst',
          detail: `${k} service tickets for services new to ${e.user} in ${Math.round(o.ticketWindowMs / 60_000)} min`,
          weight: 3 + Math.log2(k),
        });
      }
    }
    const history = e.time - u.firstSeen;
    if (history >= o.burstMinHistoryMs) {
      const b = this.baselines.options;
      const dt = e.time - u.rateTime;
      const short = decay(u.shortCount, dt, b.shortHalfLifeMs) + 1;
      const long = decay(u.longCount, dt, b.longHalfLifeMs);
      // Rates in events per ms; the long rate is corrected for a history shorter than its time scale.
      const shortRate = (short * LN2) / b.shortHalfLifeMs;
      const longRate = (long * LN2) / b.longHalfLifeMs / (1 - 2 ** (-history / b.longHalfLifeMs));
      // Fire when the short-term count crosses minBurstEvents and again each time it doubles.
      const level = (x: number): number => (x < o.minBurstEvents ? -1 : Math.floor(Math.log2(x / o.minBurstEvents)));
      if (level(short) > level(short - 1) && shortRate >= o.burstFactor * longRate) {
        const factor = longRate > 0 ? shortRate / longRate : Number.POSITIVE_INFINITY;
        out.push({
          feature: 'activity-burst',
          detail: `${short.toFixed(0)} recent events, ${Number.isFinite(factor) ? factor.toFixed(0) : '∞'}× the usual rate`,
          weight: Math.min(o.maxFeatureBits, Math.log2(Math.max(factor, 2))) - 2,
        });
      }
    }
  }
}
