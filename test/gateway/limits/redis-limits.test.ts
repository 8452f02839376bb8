/**
 * Limits shared through Redis. Needs a Redis named by AEGIS_TEST_REDIS_URL (.ci/run starts one);
 * skips with the reason otherwise. Every run uses its own key prefix and deletes its keys.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { isInputError } from '../../../src/core/errors.js';
import { parseGatewayConfig } from '../../../src/gateway/config.js';
import { createLimits, LIMIT_MIGRATIONS, LimitsUnavailableError } from '../../../src/gateway/limits/limits.js';
import type { Alert } from '../../../src/gateway/types.js';
import { openStore } from '../../../src/store/store.js';
import { redisSkipReason } from '../../helpers/redis.js';

const url = process.env.AEGIS_TEST_REDIS_URL;
const skip = await redisSkipReason(url);
const prefix = `aegis-test-${process.pid}-${Date.now()}`;
const db = openStore(':memory:', LIMIT_MIGRATIONS);

function config(redisUrl: string, s: { rate?: object; budget?: object }) {
  return parseGatewayConfig({
    models: { cnn: { path: 'cnn.onnx' } },
    limits: {
      rate: s.rate ?? { requests: 1000, perSeconds: 1 },
      budget: s.budget ?? { queries: 1000, perSeconds: 3600 },
    },
    redis: { url: redisUrl, keyPrefix: prefix },
  });
}

/** Two gateway-like Limits instances, each with its own Redis connection, and their alerts. */
async function pair(s: { rate?: object; budget?: object }) {
  const alerts: Alert[] = [];
  const onAlert = (a: Alert) => alerts.push(a);
  const a = await createLimits(config(url!, s), { db, onAlert });
  const b = await createLimits(config(url!, s), { db, onAlert });
  return { a, b, alerts, close: () => Promise.all([a.close(), b.close()]) };
}

describe('limits (redis)', { skip }, () => {
  after(async () => {
    const client = new Redis(url!);
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length) await client.del(...keys);
    await client.quit();
    db.close();
  });

  test('two instances share one budget (examples, refusals whole, one alert)', async () => {
    const { a, b, alerts, close } = await pair({ budget: { queries: 10, perSeconds: 3600 } });
    assert.deepEqual(await a.consume('k1', 'cnn', 3), { allowed: true, remainingBudget: 7 });
    assert.deepEqual(await b.consume('k1', 'cnn', 3), { allowed: true, remainingBudget: 4 });
    assert.deepEqual(await a.consume('k1', 'cnn', 3), { allowed: true, remainingBudget: 1 });
    const refused = await b.consume('k1', 'cnn', 3);
    assert.equal(refused.allowed === false && refused.reason, 'budget');
    if (!refused.allowed) assert.ok(refused.retryAfterSeconds > 3500 && refused.retryAfterSeconds <= 3600);
    assert.equal((await a.budget('k1', 'cnn')).used, 9, 'the refused batch was refunded');
    assert.deepEqual(await b.consume('k1', 'cnn', 1), { allowed: true, remainingBudget: 0 });
    assert.equal((await a.consume('k1', 'cnn', 1)).allowed, false);
    assert.equal(alerts.length, 1, 'one alert for the period, whichever replica refused');
    assert.equal(alerts[0].source, 'query-budget');
    assert.equal(alerts[0].keyId, 'k1');
    await close();
  });

  test('two instances share one rate', async () => {
    const { a, b, close } = await pair({ rate: { requests: 4, perSeconds: 30 } });
    const verdicts = [];
    for (let i = 0; i < 8; i++) verdicts.push(await (i % 2 ? b : a).consume('k2', 'cnn', 1));
    assert.equal(verdicts.filter((v) => v.allowed).length, 4);
    const last = verdicts[7];
    assert.equal(last.allowed === false && last.reason, 'rate');
    await close();
  });

  test('concurrent requests on both instances never spend more than the budget', async () => {
    const { a, b, close } = await pair({ budget: { queries: 25, perSeconds: 3600 } });
    const sizes = Array.from({ length: 40 }, (_, i) => 1 + (i % 3));
    const verdicts = await Promise.all(sizes.map((n, i) => (i % 2 ? b : a).consume('k3', 'cnn', n)));
    const spent = verdicts.reduce((s, v, i) => s + (v.allowed ? sizes[i] : 0), 0);
    assert.ok(spent <= 25, `spent ${spent}`);
    assert.equal((await a.budget('k3', 'cnn')).used, spent, 'every refused batch was refunded');
    await close();
  });

  test('Redis going away fails closed (LimitsUnavailableError) and limits resume when it is back', async () => {
    const target = new URL(url!);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    const port = await proxy.start(0);
    const proxied = new URL(url!);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(port);
    const limits = await createLimits(config(proxied.toString(), { budget: { queries: 10, perSeconds: 3600 } }), {
      db,
      onAlert: () => {},
    });
    assert.equal((await limits.consume('k4', 'cnn', 4)).allowed, true);

    await proxy.stop();
    await assert.rejects(limits.consume('k4', 'cnn', 1), LimitsUnavailableError);
    await assert.rejects(limits.budget('k4', 'cnn'), LimitsUnavailableError);

    await proxy.start(port);
    let verdict = null;
    for (let i = 0; i < 50 && verdict === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      verdict = await limits.consume('k4', 'cnn', 6).catch((e) => {
        if (e instanceof LimitsUnavailableError) return null;
        throw e;
      });
    }
    assert.deepEqual(verdict, { allowed: true, remainingBudget: 0 }, 'the 4 spent before the outage still count');
    await limits.close();
    await proxy.stop();
  });

  test('an unreachable Redis at startup is a clear error that hides the password', async () => {
    const closed = await freePort();
    await assert.rejects(
      createLimits(config(`redis://user:s3cret@127.0.0.1:${closed}`, {}), { db, onAlert: () => {} }),
      (e) => {
        assert.ok(isInputError(e));
        assert.match(e.message, /cannot reach Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1/);
        assert.doesNotMatch(e.message, /s3cret/);
        return true;
      },
    );
  });
});

/** A TCP relay in front of Redis that the test can take down and bring back on the same port. */
class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  start(port: number): Promise<number> {
    const server = createServer((client) => {
      const upstream = tcpConnect(this.port, this.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = null;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
