/**
 * Rate limits and query budgets per API key and model (rate-limiter-flexible), the gateway's
 * `limits` stage. A request costs 1 point of the rate (config.limits.rate) and n points of the
 * budget (config.limits.budget, n = examples in the batch); a client that extraction detection
 * throttles also spends 1 point of the stricter config.extraction.throttle rate.
 *
 * Where counters live is limitsStore(config): memory (one process), sqlite (budgets in the
 * shared store, persisting across restarts) or redis (shared by every replica). See
 * docs/gateway-limits.md.
 *
 * A batch larger than what is left of the budget is refused whole: the budget is consumed
 * atomically in the store and refunded when that overshot, so concurrent requests — even on
 * other replicas — can never spend more than the budget (a race can only refuse one spuriously).
 */
import { RateLimiterRes } from 'rate-limiter-flexible';
import { AegisInputError } from '../../core/errors.js';
import type { Migration, StoreDatabase } from '../../store/store.js';
import { type GatewayConfig, limitsStore } from '../config.js';
import type { Alert } from '../types.js';
import type { Counter, DeferredWrites, LimitCounters, LimitWindows } from './counters.js';
import { createMemoryCounters } from './memory-backend.js';
import { createRedisCounters } from './redis-backend.js';
import { createSqliteCounters, SQLITE_LIMIT_MIGRATIONS } from './sqlite-backend.js';

/** The budget counters' table (used by the sqlite store; harmless otherwise). */
export const LIMIT_MIGRATIONS: readonly Migration[] = SQLITE_LIMIT_MIGRATIONS;

export type { DeferredWrites } from './counters.js';

export type LimitVerdict =
  | { allowed: true; remainingBudget: number }
  | { allowed: false; reason: 'rate' | 'budget'; retryAfterSeconds: number };

export interface Limits {
  consume(
    principalId: string,
    model: string,
    examples: number,
    options?: { throttled?: boolean },
  ): Promise<LimitVerdict>;
  budget(principalId: string, model: string): Promise<{ used: number; limit: number; resetsInSeconds: number }>;
  close(): Promise<void>;
  /**
   * The sqlite store only (undefined otherwise): from now on budget changes are written by the
   * returned DeferredWrites, inside the caller's transaction (the gateway's audit batch), instead
   * of one write per request.
   */
  deferWrites?(): DeferredWrites | undefined;
  /**
   * The sqlite store only: spends these budgets again, unconditionally (requests answered before a
   * crash whose budget writes died with the process; the audit journal's recovery calls it).
   */
  recharge?(charges: readonly { keyId: string; model: string; points: number }[]): Promise<void>;
}

/**
 * The limits store could not be asked (Redis unreachable, SQLite busy past its timeout). Limits
 * fail closed: the request must not be served. Serve it as 503 with `Retry-After: retryAfterSeconds`.
 */
export class LimitsUnavailableError extends Error {
  readonly statusCode = 503;
  readonly retryAfterSeconds = 1;
  constructor(cause: unknown) {
    super('rate limits are temporarily unavailable', { cause });
    this.name = 'LimitsUnavailableError';
  }
}

/** Refunding a refused batch right at a period's end would credit the next period; within this of the end, skip it. */
const NO_REFUND_WITHIN_MS = 1000;

export async function createLimits(
  config: GatewayConfig,
  deps: { db: StoreDatabase; onAlert: (a: Alert) => void },
): Promise<Limits> {
  const windows: LimitWindows = {
    rate: config.limits.rate,
    throttle: config.extraction.throttle,
    budget: config.limits.budget,
  };
  const store = limitsStore(config);
  let counters: LimitCounters;
  if (store === 'memory') counters = createMemoryCounters(windows);
  else if (store === 'sqlite') counters = createSqliteCounters(windows, deps.db);
  else {
    if (!config.redis) throw new AegisInputError("limits.store: 'redis' needs a redis: {url} section");
    counters = await createRedisCounters(windows, config.redis);
  }
  return new CounterLimits(counters, windows, deps.onAlert);
}

/** Retry-After in whole seconds, at least 1. */
export function retryAfterSeconds(msBeforeNext: number): number {
  return Math.max(1, Math.ceil(msBeforeNext / 1000));
}

/** Model names hold no ':' (MODEL_NAME_PATTERN), so 'model:principal' never collides. */
function counterKey(principalId: string, model: string): string {
  return `${model}:${principalId}`;
}

/** A refusal (RateLimiterRes) or a store failure (anything else, rethrown as LimitsUnavailableError). */
function refusal(error: unknown): RateLimiterRes {
  if (error instanceof RateLimiterRes) return error;
  throw new LimitsUnavailableError(error);
}

class CounterLimits implements Limits {
  constructor(
    private readonly counters: LimitCounters,
    private readonly windows: LimitWindows,
    private readonly onAlert: (a: Alert) => void,
  ) {}

  async consume(
    principalId: string,
    model: string,
    examples: number,
    options?: { throttled?: boolean },
  ): Promise<LimitVerdict> {
    if (!Number.isInteger(examples) || examples < 1) {
      throw new AegisInputError(`limits: a request must count a positive whole number of examples, got ${examples}`);
    }
    const key = counterKey(principalId, model);
    const rate = await this.spendOne(this.counters.rate, key);
    if (rate) return rate;
    if (options?.throttled) {
      const throttled = await this.spendOne(this.counters.throttle, key);
      if (throttled) return throttled;
    }
    try {
      const res = await this.counters.budget.consume(key, examples);
      return { allowed: true, remainingBudget: res.remainingPoints };
    } catch (error) {
      const res = refusal(error);
      if (res.msBeforeNext > NO_REFUND_WITHIN_MS) {
        // Refused whole: give the n points back. If the refund itself fails, the client loses them (fail closed).
        await this.counters.budget.reward(key, examples).catch(() => undefined);
      }
      await this.alertOnce(principalId, model, examples, res);
      return { allowed: false, reason: 'budget', retryAfterSeconds: retryAfterSeconds(res.msBeforeNext) };
    }
  }

  async budget(principalId: string, model: string): Promise<{ used: number; limit: number; resetsInSeconds: number }> {
    const limit = this.windows.budget.queries;
    let res: RateLimiterRes | null;
    try {
      res = await this.counters.budget.get(counterKey(principalId, model));
    } catch (error) {
      throw new LimitsUnavailableError(error);
    }
    if (!res || res.msBeforeNext <= 0) return { used: 0, limit, resetsInSeconds: this.windows.budget.perSeconds };
    return {
      used: Math.min(Math.max(res.consumedPoints, 0), limit),
      limit,
      resetsInSeconds: retryAfterSeconds(res.msBeforeNext),
    };
  }

  close(): Promise<void> {
    return this.counters.close();
  }

  deferWrites(): DeferredWrites | undefined {
    return this.counters.deferWrites?.();
  }

  async recharge(charges: readonly { keyId: string; model: string; points: number }[]): Promise<void> {
    // Memory budgets start over with the process and Redis ones were spent in Redis: only sqlite's need it.
    if (!this.counters.deferWrites) return;
    for (const c of charges) {
      // Over the budget is fine here: the requests were answered; the refusal only reports it.
      await this.counters.budget.consume(counterKey(c.keyId, c.model), c.points).catch((error: unknown) => {
        if (!(error instanceof RateLimiterRes)) throw error;
      });
    }
  }

  /** Spends one request on a rate counter; a refusal verdict, or null when allowed. */
  private async spendOne(counter: Counter, key: string): Promise<LimitVerdict | null> {
    try {
      await counter.consume(key, 1);
      return null;
    } catch (error) {
      const res = refusal(error);
      return { allowed: false, reason: 'rate', retryAfterSeconds: retryAfterSeconds(res.msBeforeNext) };
    }
  }

  /** One alert per key, model and budget period, across replicas when the marker lives in Redis. */
  private async alertOnce(principalId: string, model: string, requested: number, res: RateLimiterRes): Promise<void> {
    const resetsInSeconds = retryAfterSeconds(res.msBeforeNext);
    try {
      await this.counters.budgetAlert.consume(counterKey(principalId, model), 1, { customDuration: resetsInSeconds });
    } catch (error) {
      // Already alerted this period. A store error falls through: better a duplicate alert than none.
      if (error instanceof RateLimiterRes) return;
    }
    const { queries, perSeconds } = this.windows.budget;
    const alert: Alert = {
      time: new Date().toISOString(),
      source: 'query-budget',
      model,
      keyId: principalId,
      severity: 'warning',
      message: `key ${principalId} reached its query budget for model ${model} (${queries} examples per ${perSeconds} s)`,
      detail: {
        limit: queries,
        perSeconds,
        usedBeforeRequest: Math.max(res.consumedPoints - requested, 0),
        requested,
        resetsInSeconds,
      },
    };
    try {
      this.onAlert(alert);
    } catch {
      // A failing alert sink must not turn a budget refusal (429) into a server error.
    }
  }
}
