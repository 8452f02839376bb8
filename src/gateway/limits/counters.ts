/**
 * The counters a Limits instance needs, whatever the backend: a request rate, a stricter rate for
 * throttled clients, a query budget (examples per period) and a one-point "alert once per period"
 * marker. Each is a rate-limiter-flexible limiter (or the in-memory stand-in below), used through
 * the small `Counter` surface: consume resolves with the new count and rejects with a
 * RateLimiterRes when the limit is exceeded, or with an Error when the store failed.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface Counter {
  consume(key: string, points: number, options?: { customDuration?: number }): Promise<RateLimiterRes>;
  reward(key: string, points: number): Promise<RateLimiterRes>;
  get(key: string): Promise<RateLimiterRes | null>;
}

export interface LimitCounters {
  /** config.limits.rate: 1 point per request. */
  rate: Counter;
  /** config.extraction.throttle: 1 point per request from a throttled client. */
  throttle: Counter;
  /** config.limits.budget: 1 point per example. */
  budget: Counter;
  /** 1 point; consumed with customDuration = the rest of the budget period, so it admits one alert per period. */
  budgetAlert: Counter;
  /** Stops timers and disconnects (writing what is pending); never closes the shared store database. */
  close(): Promise<void>;
  /** Stores that write per consume (sqlite) can batch instead: see DeferredWrites. */
  deferWrites?(): DeferredWrites;
}

/**
 * Budget changes held in memory until the caller writes them inside its own (IMMEDIATE)
 * transaction: `write()` before that transaction commits, `undo()` if it rolled back (the changes
 * stay pending for the next write). The caller must write before answering any request whose
 * budget it consumed.
 */
export interface DeferredWrites {
  write(): void;
  undo(): void;
}

/** Longest setTimeout Node honours (2^31 − 1 ms ≈ 24.8 days); longer ones fire after 1 ms. */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export interface CounterOptions {
  points: number;
  /** Window length in seconds; also the longest customDuration the counter will be asked for. */
  duration: number;
  keyPrefix: string;
}

/**
 * An in-memory counter. RateLimiterMemory expires each key with a setTimeout of the window
 * length, which Node clamps to 1 ms past ~24.8 days (the default 30-day budget would reset on
 * every request; upstream documents the limit). Longer windows use LongWindowMemoryCounter.
 */
export function memoryCounter(opts: CounterOptions): Counter & { close(): void } {
  if (opts.duration <= MAX_TIMER_SECONDS) {
    const limiter = new RateLimiterMemory(opts);
    return Object.assign(limiter, { close() {} });
  }
  return new LongWindowMemoryCounter(opts);
}

/** Fixed windows in a Map with lazy expiry (checked on access) and a periodic sweep instead of one timer per key. */
export class LongWindowMemoryCounter implements Counter {
  private readonly entries = new Map<string, { points: number; expiresAt: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly opts: CounterOptions,
    sweepEveryMs = 10 * 60 * 1000,
  ) {
    this.sweeper = setInterval(() => this.sweep(), sweepEveryMs).unref();
  }

  consume(key: string, points: number, options?: { customDuration?: number }): Promise<RateLimiterRes> {
    const res = this.add(key, points, options?.customDuration);
    return res.consumedPoints > this.opts.points ? Promise.reject(res) : Promise.resolve(res);
  }

  reward(key: string, points: number): Promise<RateLimiterRes> {
    return Promise.resolve(this.add(key, -points));
  }

  get(key: string): Promise<RateLimiterRes | null> {
    const now = Date.now();
    const entry = this.entries.get(key);
    if (!entry || entry.expiresAt <= now) return Promise.resolve(null);
    return Promise.resolve(this.res(entry.points, entry.expiresAt - now, false));
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private add(key: string, points: number, customDuration?: number): RateLimiterRes {
    const now = Date.now();
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > now) {
      entry.points += points;
      return this.res(entry.points, entry.expiresAt - now, false);
    }
    const ms = (customDuration !== undefined && customDuration > 0 ? customDuration : this.opts.duration) * 1000;
    this.entries.set(key, { points, expiresAt: now + ms });
    return this.res(points, ms, true);
  }

  private res(consumed: number, msBeforeNext: number, first: boolean): RateLimiterRes {
    return new RateLimiterRes(Math.max(this.opts.points - consumed, 0), msBeforeNext, consumed, first);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}

export interface RateWindow {
  requests: number;
  perSeconds: number;
}

export interface BudgetWindow {
  queries: number;
  perSeconds: number;
}

/** The three windows from the config: limits.rate, extraction.throttle, limits.budget. */
export interface LimitWindows {
  rate: RateWindow;
  throttle: RateWindow;
  budget: BudgetWindow;
}
