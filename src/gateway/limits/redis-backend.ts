/**
 * The 'redis' limits store: every counter in Redis (RateLimiterRedis, one atomic Lua INCRBY+TTL
 * per consume) so several gateway replicas share one rate and one budget per key and model.
 *
 * Redis down → fail closed, fast. The client keeps no offline queue and retries nothing, and
 * the limiters refuse as soon as the connection is not ready, so a request gets an error in
 * microseconds rather than waiting for a reconnect; Limits turns it into LimitsUnavailableError
 * (503). There is no in-memory insurance limiter on purpose: a local fallback would hand every
 * client a fresh budget on every replica for as long as Redis is unreachable, which is what an
 * extraction attacker able to disturb Redis would want. ioredis reconnects in the background
 * (backoff capped at 2 s) and limits resume where Redis left them.
 */
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { AegisInputError } from '../../core/errors.js';
import type { Counter, LimitCounters, LimitWindows } from './counters.js';

export interface RedisLimitsOptions {
  url: string;
  keyPrefix: string;
  /** Give up connecting at startup after this long (default 3 s). */
  connectTimeoutMs?: number;
  /** A command with no reply after this long fails (default 1 s). */
  commandTimeoutMs?: number;
}

/** The URL without its password, for messages. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/)([^@/]*)@/, (_m, scheme: string, auth: string) =>
    auth.includes(':') ? `${scheme}${auth.slice(0, auth.indexOf(':'))}:***@` : `${scheme}***@`,
  );
}

/** Connects (failing startup with a clear message when Redis does not answer) and builds the four counters. */
export async function createRedisCounters(windows: LimitWindows, opts: RedisLimitsOptions): Promise<LimitCounters> {
  const client = new Redis(opts.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: opts.connectTimeoutMs ?? 3000,
    commandTimeout: opts.commandTimeoutMs ?? 1000,
    retryStrategy: (times) => Math.min(times * 100, 2000),
    connectionName: 'aegis-limits',
  });
  // Connection errors surface per request as LimitsUnavailableError; without a listener ioredis prints them all.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new AegisInputError(
      `limits: cannot reach Redis at ${redactRedisUrl(opts.url)} (redis.url): ${(error as Error).message}`,
      { cause: error },
    );
  }
  const limiter = (points: number, duration: number, name: string): Counter =>
    new RateLimiterRedis({
      storeClient: client,
      rejectIfRedisNotReady: true,
      points,
      duration,
      keyPrefix: `${opts.keyPrefix}:limits:${name}`,
    });
  const { rate, throttle, budget } = windows;
  return {
    rate: limiter(rate.requests, rate.perSeconds, 'rate'),
    throttle: limiter(throttle.requests, throttle.perSeconds, 'throttle'),
    budget: limiter(budget.queries, budget.perSeconds, 'budget'),
    budgetAlert: limiter(1, budget.perSeconds, 'budget-alert'),
    async close() {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}
