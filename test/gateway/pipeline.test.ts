import assert from 'node:assert/strict';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { initRuntime, tf } from '../../src/core/runtime.js';
import { listAlerts } from '../../src/gateway/alerts.js';
import { AuditLog } from '../../src/gateway/audit/audit-log.js';
import type {
  ExtractionService,
  LimitsService,
  LimitVerdict,
  MonitorService,
} from '../../src/gateway/pipeline/services.js';
import { auditLogOf, type GatewayFixture, gatewayFixture, TEST_NPZ, testImages } from '../helpers/gateway-fixture.js';
import { redisSkipReason } from '../helpers/redis.js';

const PREDICT = '/v1/models/cnn/predict';
let images: Awaited<ReturnType<typeof testImages>>;

before(async () => {
  await initRuntime();
  images = await testImages(16);
});

function rows(n: number, from = 0) {
  return { inputs: images.flat.slice(from, from + n), shape: [n, 28, 28, 1] };
}

function post(gw: GatewayFixture, key: string | null, payload: unknown, headers: Record<string, string> = {}) {
  return gw.app.inject({
    method: 'POST',
    url: PREDICT,
    headers: { 'content-type': 'application/json', ...(key ? gw.auth(key) : {}), ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

function stagesOf(gw: GatewayFixture, requestId: string): string[] {
  const entry = auditLogOf(gw)
    .list({ limit: 200 })
    .find((e) => e.requestId === requestId);
  assert.ok(entry, `request ${requestId} is in the audit log`);
  return entry.decisions.map((d) => `${d.stage}:${d.outcome}`);
}

const afterReply = () => new Promise((resolve) => setImmediate(resolve));

describe('stage order: auth → limits → input schema', () => {
  let gw: GatewayFixture;
  before(async () => {
    gw = await gatewayFixture({ limits: { store: 'memory', rate: { requests: 2, perSeconds: 60 } } });
  });
  after(() => gw.close());

  it('refuses a missing key (401) before reading a malformed or oversized body', async () => {
    const bad = await post(gw, null, '{"inputs": [[[');
    assert.equal(bad.statusCode, 401);
    const huge = await gw.app.inject({
      method: 'POST',
      url: PREDICT,
      headers: { 'content-type': 'application/json' },
      payload: 'x'.repeat(gw.config.server.bodyLimitBytes + 10),
    });
    assert.equal(huge.statusCode, 401);
  });

  it('refuses a key without the scope (403) before looking at the body', async () => {
    const res = await post(gw, 'list-only', '{"inputs": "nonsense"}');
    assert.equal(res.statusCode, 403);
    assert.deepEqual(stagesOf(gw, res.json().error.requestId), ['auth:denied']);
  });

  it('applies the rate limit (429 + Retry-After) before validating the inputs', async () => {
    assert.equal((await post(gw, 'full', rows(1))).statusCode, 200);
    assert.equal((await post(gw, 'full', { inputs: 'not an array' })).statusCode, 400);
    const limited = await post(gw, 'full', { inputs: 'not an array' });
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().error.code, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.deepEqual(stagesOf(gw, limited.json().error.requestId), ['auth:allowed', 'limits:rate_limited']);
    // Another key has its own counter.
    assert.equal((await post(gw, 'top', rows(1))).statusCode, 200);
  });
});

describe('query budget', () => {
  it('answers 429 budget_exhausted with Retry-After once a key has spent its examples, and raises one alert', async () => {
    const gw = await gatewayFixture({ limits: { store: 'sqlite', budget: { queries: 5, perSeconds: 3600 } } });
    try {
      assert.equal((await post(gw, 'full', rows(3))).statusCode, 200);
      const spent = await post(gw, 'full', rows(3));
      assert.equal(spent.statusCode, 429);
      assert.equal(spent.json().error.code, 'budget_exhausted');
      assert.ok(Number(spent.headers['retry-after']) > 60);
      // The refused batch was not charged: 2 examples are still left.
      assert.equal((await post(gw, 'full', rows(2))).statusCode, 200);
      assert.equal((await post(gw, 'full', rows(1))).statusCode, 429);
      const alerts = listAlerts(gw.services.db, { source: 'query-budget' });
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0]?.keyId, gw.keyIds.full);
      const monitoring = await gw.app.inject({ method: 'GET', url: '/v1/monitoring/cnn', headers: gw.auth('full') });
      assert.equal(monitoring.json().alerts[0].source, 'query-budget');
      const metrics = await gw.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /aegis_gateway_alerts_total\{source="query-budget",severity="warning"\} 1/);
      assert.match(metrics.body, /aegis_gateway_rejections_total\{stage="limits",code="budget_exhausted"\} 2/);
    } finally {
      await gw.close();
    }
  });
});

describe('extraction status and after-reply observers', () => {
  it('refuses a blocked client with 403 blocked, and sends a throttled one to the stricter limiter', async () => {
    let status: 'ok' | 'throttled' | 'blocked' = 'blocked';
    const consumed: { throttled: boolean }[] = [];
    const extraction: ExtractionService = { status: () => status, observe: () => {} };
    const limits: LimitsService = {
      async consume(_id, _model, _n, options): Promise<LimitVerdict> {
        consumed.push({ throttled: options?.throttled === true });
        return { allowed: true, remainingBudget: 100 };
      },
      async close() {},
    };
    const gw = await gatewayFixture({}, { services: { extraction, limits } });
    try {
      const blocked = await post(gw, 'full', rows(1));
      assert.equal(blocked.statusCode, 403);
      assert.equal(blocked.json().error.code, 'blocked');
      assert.deepEqual(consumed, []);
      assert.deepEqual(stagesOf(gw, blocked.json().error.requestId), ['auth:allowed', 'extraction:blocked']);
      status = 'throttled';
      const throttled = await post(gw, 'full', rows(1));
      assert.equal(throttled.statusCode, 200);
      assert.deepEqual(consumed, [{ throttled: true }]);
      status = 'ok';
      await post(gw, 'full', rows(1));
      assert.deepEqual(consumed, [{ throttled: true }, { throttled: false }]);
    } finally {
      await gw.close();
    }
  });

  it('gives extraction detection and the drift monitor what was served, after the reply', async () => {
    const seen: { who: string; rows: number; rowSize: number; labels: number[] }[] = [];
    const monitored: { rows: number; scores: number[] }[] = [];
    const extraction: ExtractionService = {
      status: () => 'ok',
      observe: (who, model, r, rowSize, labels) => {
        assert.equal(model, 'cnn');
        seen.push({ who, rows: r.length / rowSize, rowSize, labels: Array.from(labels) });
      },
    };
    const monitor: MonitorService = {
      observe: (r, rowSize, scores, k) => {
        assert.equal(k, 10);
        monitored.push({ rows: r.length / rowSize, scores: Array.from(scores.subarray(0, 10)) });
      },
      report: () => ({}),
    };
    const gw = await gatewayFixture({}, { services: { extraction, monitors: new Map([['cnn', monitor]]) } });
    try {
      const res = await post(gw, 'label', rows(3));
      await afterReply();
      assert.deepEqual(seen, [{ who: gw.keyIds.label, rows: 3, rowSize: 784, labels: res.json().labels }]);
      assert.equal(monitored.length, 1);
      assert.equal(monitored[0]?.rows, 3);
      // The monitor sees the model's probabilities even when the caller only gets labels.
      assert.ok(Math.abs((monitored[0]?.scores.reduce((a, b) => a + b, 0) ?? 0) - 1) < 1e-5);
      await post(gw, 'label', { inputs: 'bad' });
      await afterReply();
      assert.equal(seen.length, 1, 'refused requests are not observed');
    } finally {
      await gw.close();
    }
  });

  it('monitoring.sampleRate feeds the drift monitor a deterministic share of the served requests', async () => {
    let monitored = 0;
    let observed = 0;
    const monitor: MonitorService = {
      observe: () => {
        monitored++;
      },
      report: () => ({}),
    };
    const extraction: ExtractionService = {
      status: () => 'ok',
      observe: () => {
        observed++;
      },
    };
    const gw = await gatewayFixture(
      { monitoring: { sampleRate: 0.25 } },
      { services: { extraction, monitors: new Map([['cnn', monitor]]) } },
    );
    try {
      for (let i = 0; i < 12; i++) {
        assert.equal((await post(gw, 'full', rows(1, i))).statusCode, 200);
        await afterReply();
      }
      assert.equal(monitored, 3, 'every 4th request, starting with the first');
      assert.equal(observed, 12, 'extraction detection still sees every request');
    } finally {
      await gw.close();
    }
  });

  it('blocks a client once PRADA raises its alarm (real ExtractionMonitor, action block)', async () => {
    const gw = await gatewayFixture({ extraction: { action: 'block', minQueries: 20, threshold: 0.95 } });
    try {
      // Synthetic queries around one image, each a small step from the last: the minimum
      // distances bunch up near zero, far from the normal shape of natural queries.
      const base = images.flat[0] as number[];
      let answered = 0;
      let blocked = false;
      for (let i = 0; i < 200 && !blocked; i++) {
        const row = base.map((v, j) => Math.min(1, Math.max(0, v + (j === i % 784 ? 0.01 * (1 + (i % 5)) : 0))));
        const res = await post(gw, 'full', { inputs: [row], shape: [1, 28, 28, 1] });
        await afterReply();
        if (res.statusCode === 403) {
          assert.equal(res.json().error.code, 'blocked');
          blocked = true;
        } else {
          assert.equal(res.statusCode, 200);
          answered++;
        }
      }
      assert.ok(blocked, 'PRADA blocked the client');
      assert.ok(answered >= 20, `blocked after ${answered} answers, before minQueries`);
      const alerts = listAlerts(gw.services.db, { source: 'prada' });
      assert.equal(alerts[0]?.keyId, gw.keyIds.full);
      // Another key is unaffected.
      assert.equal((await post(gw, 'top', rows(1))).statusCode, 200);
    } finally {
      await gw.close();
    }
  });
});

describe('adversarial-input detector (feature squeezing calibrated at startup)', () => {
  const detector = (action: 'reject' | 'log') => ({
    models: {
      cnn: {
        path: new URL('../fixtures/fmnist_cnn.onnx', import.meta.url).pathname,
        detector: {
          kind: 'feature-squeezing',
          calibration: `${TEST_NPZ}[100:200]`,
          targetFalsePositiveRate: 0.05,
          action,
        },
      },
    },
  });
  /**
   * Images squashed to mid-grey with a ±0.02 checkerboard: 1-bit squeezing turns them into a
   * different picture, so the model's answer jumps (held-out images 0–7: 4 flagged at 5% FPR).
   */
  function noisy(n: number) {
    return images.flat.slice(0, n).map((row) => row.map((v, j) => 0.5 + (v - 0.5) * 0.1 + (j % 2 ? 0.02 : -0.02)));
  }

  it('rejects flagged inputs with 422 naming the rows, and serves clean ones', async () => {
    const gw = await gatewayFixture(detector('reject'));
    try {
      const clean = await post(gw, 'full', rows(4, 2));
      assert.equal(clean.statusCode, 200);
      assert.deepEqual(stagesOf(gw, clean.json().requestId).slice(0, 4), [
        'auth:allowed',
        'limits:allowed',
        'validation:passed',
        'detector:passed',
      ]);
      const adv = await post(gw, 'full', { inputs: noisy(8), shape: [8, 28, 28, 1] });
      assert.equal(adv.statusCode, 422);
      const error = adv.json().error;
      assert.equal(error.code, 'adversarial_input');
      assert.ok(error.issues.length >= 3, `${error.issues.length} of 8 grey images flagged`);
      for (const issue of error.issues) assert.match(issue.path, /^inputs\[\d\]$/);
      assert.ok(!adv.body.includes('score'), 'no detector score is disclosed');
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) await post(gw, 'full', rows(2, i));
      await post(gw, 'full', { inputs: noisy(2), shape: [2, 28, 28, 1] });
      assert.equal(tf.memory().numTensors, before, 'tensors leak per request');
    } finally {
      await gw.close();
    }
  });

  it('with action log, serves flagged inputs and marks them in the audit log', async () => {
    const gw = await gatewayFixture(detector('log'));
    try {
      const res = await post(gw, 'full', { inputs: noisy(8), shape: [8, 28, 28, 1] });
      assert.equal(res.statusCode, 200);
      const flagged = stagesOf(gw, res.json().requestId).find((d) => d.startsWith('detector:'));
      assert.equal(flagged, 'detector:flagged');
    } finally {
      await gw.close();
    }
  });
});

describe('with Redis (limits shared by replicas)', async () => {
  const url = process.env.AEGIS_TEST_REDIS_URL;
  const skip = await redisSkipReason(url);

  it('is ready while Redis answers; while it is down, /readyz says so and predictions fail closed with 503', {
    skip,
  }, async () => {
    // A TCP relay in front of the test Redis, so this test can cut "Redis" without touching the real one.
    const target = new URL(url as string);
    const sockets = new Set<Socket>();
    const relay = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const port = (relay.address() as AddressInfo).port;
    const gw = await gatewayFixture({
      limits: { store: 'redis' },
      redis: { url: `redis://127.0.0.1:${port}`, keyPrefix: `aegis-pipeline-test-${process.pid}-${Date.now()}` },
    });
    try {
      const ready = await gw.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 200);
      assert.equal(ready.json().checks.redis, 'ok');
      assert.equal((await post(gw, 'full', rows(1))).statusCode, 200);

      relay.close();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const down = await gw.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(down.statusCode, 503);
      assert.deepEqual(down.json(), { status: 'not-ready', checks: { models: 'ok', store: 'ok', redis: 'not-ready' } });
      const refused = await post(gw, 'full', rows(1));
      assert.equal(refused.statusCode, 503);
      assert.equal(refused.json().error.code, 'unavailable');
      assert.equal(refused.headers['retry-after'], '1');
      assert.ok(!refused.body.includes(String(port)), 'no Redis address in the answer');

      // Redis back: the gateway recovers by itself (ioredis reconnects within its 2 s backoff).
      await new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve));
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        status = (await post(gw, 'full', rows(1))).statusCode;
      }
      assert.equal(status, 200);
      assert.equal((await gw.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    } finally {
      relay.close();
      for (const s of sockets) s.destroy();
      await gw.close();
    }
  });
});

describe('audit', () => {
  it('logs every request, refused or served, as one chain that verifies; every 200 is in it', async () => {
    const gw = await gatewayFixture({ server: { maxBatch: 4 } });
    try {
      const statuses: number[] = [];
      const ids: string[] = [];
      const send = async (key: string | null, payload: unknown) => {
        const res = await post(gw, key, payload);
        statuses.push(res.statusCode);
        ids.push(res.headers['x-request-id'] as string);
      };
      await send('full', rows(2));
      await send(null, rows(1));
      await send('other-model', rows(1));
      await send('full', rows(5));
      await send('full', '{"inputs": [');
      await send('label', rows(1));
      await gw.app.inject({ method: 'GET', url: '/v1/models', headers: gw.auth('full') });
      await gw.app.inject({ method: 'GET', url: '/healthz' });
      assert.deepEqual(statuses, [200, 401, 403, 400, 400, 200]);
      const audit = auditLogOf(gw);
      const entries = audit.list({ limit: 100 }).reverse();
      assert.deepEqual(
        entries.map((e) => e.status),
        [200, 401, 403, 400, 400, 200, 200],
        'health checks are not audited; API calls are',
      );
      assert.deepEqual(
        entries.slice(0, 6).map((e) => e.requestId),
        ids,
      );
      assert.equal(entries[1]?.keyId, null);
      assert.equal(entries[3]?.outputSummary?.error, 'invalid_input');
      assert.equal(audit.verify().ok, true);
    } finally {
      await gw.close();
    }
  });

  it('commits concurrent requests together, each in the chain; one failing entry costs only its own request', async () => {
    let inBatch = 0;
    let failKey: string | null = null;
    let log: AuditLog | undefined;
    const gw: GatewayFixture = await gatewayFixture(
      {},
      {
        services: {
          audit: {
            append(entry) {
              log ??= new AuditLog(gw.services.db);
              if (gw.services.db.inTransaction) inBatch++;
              if (entry.keyId === failKey) throw new Error('disk full');
              return log.append(entry);
            },
          },
        },
      },
    );
    try {
      const answers = await Promise.all(
        Array.from({ length: 24 }, (_, i) => post(gw, i % 2 ? 'full' : 'top', rows(1, i % 16))),
      );
      assert.deepEqual(new Set(answers.map((a) => a.statusCode)), new Set([200]));
      assert.ok(inBatch > 0, 'some entries were committed together');
      const logged = new Set((log as AuditLog).list({ limit: 100 }).map((e) => e.requestId));
      for (const a of answers) assert.ok(logged.has(a.json().requestId));
      failKey = gw.keyIds.label as string;
      const mixed = await Promise.all(
        Array.from({ length: 12 }, (_, i) => post(gw, ['full', 'label', 'top'][i % 3] as string, rows(1, i))),
      );
      assert.deepEqual(
        mixed.map((a) => a.statusCode),
        Array.from({ length: 12 }, (_, i) => (i % 3 === 1 ? 500 : 200)),
      );
      const entries = (log as AuditLog).list({ limit: 100 });
      assert.equal(entries.length, 24 + 8, 'a rolled-back batch leaves no duplicates');
      assert.equal((log as AuditLog).verify().ok, true);
    } finally {
      await gw.close();
    }
  });

  it('journal mode (the default): an answer whose entry cannot be journaled is withheld (500)', async () => {
    const gw = await gatewayFixture();
    try {
      assert.ok(gw.services.auditJournal, 'audit.mode journal is the default');
      const served = await post(gw, 'full', rows(1));
      assert.equal(served.statusCode, 200);
      gw.services.auditJournal.close(); // the journal's file is gone from under the gateway
      const res = await post(gw, 'full', rows(1));
      assert.equal(res.statusCode, 500);
      assert.equal(res.json().error.code, 'internal');
      assert.ok(!res.body.includes('labels'));
      assert.equal(auditLogOf(gw).loggedRequestIds([served.json().requestId]).size, 1, 'the served one was folded');
    } finally {
      await gw.close();
    }
  });

  it('answers 500 without the prediction when the audit log cannot take the entry', async () => {
    let fail = true;
    const gw = await gatewayFixture(
      {},
      {
        services: {
          audit: {
            append: () => {
              if (fail) throw new Error('SQLITE_FULL: database or disk is full');
              return { seq: 1, hash: 'x' };
            },
          },
        },
      },
    );
    try {
      const res = await post(gw, 'full', rows(1));
      assert.equal(res.statusCode, 500);
      assert.deepEqual(Object.keys(res.json()), ['error']);
      assert.equal(res.json().error.code, 'internal');
      assert.ok(!res.body.includes('SQLITE') && !res.body.includes('labels'));
      fail = false;
      assert.equal((await post(gw, 'full', rows(1))).statusCode, 200);
    } finally {
      await gw.close();
    }
  });
});
