import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isInputError } from '../../../src/core/errors.js';
import { parseGatewayConfig } from '../../../src/gateway/config.js';
import { createLimits, LIMIT_MIGRATIONS, type Limits } from '../../../src/gateway/limits/limits.js';
import type { Alert } from '../../../src/gateway/types.js';
import { openStore, type StoreDatabase } from '../../../src/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-limits-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Setup {
  rate?: { requests: number; perSeconds: number };
  budget?: { queries: number; perSeconds: number };
  throttle?: { requests: number; perSeconds: number };
}

function config(store: 'memory' | 'sqlite', s: Setup) {
  return parseGatewayConfig({
    models: { cnn: { path: 'cnn.onnx' } },
    limits: {
      store,
      rate: s.rate ?? { requests: 1000, perSeconds: 1 },
      budget: s.budget ?? { queries: 1000, perSeconds: 3600 },
    },
    extraction: { throttle: s.throttle ?? { requests: 1, perSeconds: 10 } },
  });
}

let dbCount = 0;
async function open(store: 'memory' | 'sqlite', s: Setup, path?: string) {
  const db: StoreDatabase = openStore(path ?? join(dir, `limits-${dbCount++}.db`), LIMIT_MIGRATIONS);
  const alerts: Alert[] = [];
  const limits: Limits = await createLimits(config(store, s), { db, onAlert: (a) => alerts.push(a) });
  return {
    limits,
    alerts,
    db,
    async close() {
      await limits.close();
      db.close();
    },
  };
}

for (const store of ['memory', 'sqlite'] as const) {
  describe(`limits (${store})`, () => {
    test('the rate is exceeded after N requests, with a Retry-After in whole seconds', async () => {
      const { limits, close } = await open(store, { rate: { requests: 3, perSeconds: 1 } });
      for (let i = 0; i < 3; i++) assert.equal((await limits.consume('key-a', 'cnn', 1)).allowed, true);
      const refused = await limits.consume('key-a', 'cnn', 1);
      assert.deepEqual(refused, { allowed: false, reason: 'rate', retryAfterSeconds: 1 });
      // Per key and per model.
      assert.equal((await limits.consume('key-b', 'cnn', 1)).allowed, true);
      assert.equal((await limits.consume('key-a', 'other', 1)).allowed, true);
      await sleep(1100);
      assert.equal((await limits.consume('key-a', 'cnn', 1)).allowed, true, 'a new window admits again');
      await close();
    });

    test('Retry-After is the rest of the window, rounded up', async () => {
      const { limits, close } = await open(store, { rate: { requests: 1, perSeconds: 30 } });
      await limits.consume('k', 'cnn', 1);
      const refused = await limits.consume('k', 'cnn', 1);
      assert.equal(refused.allowed, false);
      if (!refused.allowed) {
        assert.ok(Number.isInteger(refused.retryAfterSeconds));
        assert.ok(refused.retryAfterSeconds >= 29 && refused.retryAfterSeconds <= 30, `${refused.retryAfterSeconds}`);
      }
      await close();
    });

    test('the budget counts examples, refuses an over-large batch whole and alerts once', async () => {
      const { limits, alerts, close } = await open(store, { budget: { queries: 10, perSeconds: 3600 } });
      assert.deepEqual(await limits.consume('k', 'cnn', 4), { allowed: true, remainingBudget: 6 });
      assert.deepEqual(await limits.consume('k', 'cnn', 4), { allowed: true, remainingBudget: 2 });
      const refused = await limits.consume('k', 'cnn', 3);
      assert.equal(refused.allowed, false);
      if (!refused.allowed) {
        assert.equal(refused.reason, 'budget');
        assert.ok(refused.retryAfterSeconds > 3500 && refused.retryAfterSeconds <= 3600);
      }
      assert.equal((await limits.budget('k', 'cnn')).used, 8, 'nothing of the refused batch was spent');
      assert.deepEqual(await limits.consume('k', 'cnn', 2), { allowed: true, remainingBudget: 0 });
      const none = await limits.consume('k', 'cnn', 1);
      assert.equal(none.allowed === false && none.reason, 'budget');
      const budget = await limits.budget('k', 'cnn');
      assert.equal(budget.used, 10);
      assert.equal(budget.limit, 10);
      assert.ok(budget.resetsInSeconds > 3500 && budget.resetsInSeconds <= 3600);

      assert.equal(alerts.length, 1, 'two refusals, one alert');
      const [alert] = alerts;
      assert.equal(alert.source, 'query-budget');
      assert.equal(alert.severity, 'warning');
      assert.equal(alert.keyId, 'k');
      assert.equal(alert.model, 'cnn');
      assert.equal(alert.detail.limit, 10);
      assert.equal(alert.detail.requested, 3);
      assert.equal(alert.detail.usedBeforeRequest, 8);
      // Another key has its own budget and its own alert.
      assert.equal((await limits.consume('other', 'cnn', 10)).allowed, true);
      assert.equal((await limits.consume('other', 'cnn', 1)).allowed, false);
      assert.equal(alerts.length, 2);
      assert.equal(alerts[1].keyId, 'other');
      await close();
    });

    test('a batch larger than the whole budget is refused and spends nothing', async () => {
      const { limits, close } = await open(store, { budget: { queries: 5, perSeconds: 3600 } });
      const refused = await limits.consume('k', 'cnn', 6);
      assert.equal(refused.allowed === false && refused.reason, 'budget');
      assert.equal((await limits.budget('k', 'cnn')).used, 0);
      assert.deepEqual(await limits.consume('k', 'cnn', 5), { allowed: true, remainingBudget: 0 });
      await close();
    });

    test('concurrent requests never spend more than the budget', async () => {
      const { limits, close } = await open(store, { budget: { queries: 25, perSeconds: 3600 } });
      const sizes = Array.from({ length: 30 }, (_, i) => 1 + (i % 3));
      const verdicts = await Promise.all(sizes.map((n) => limits.consume('k', 'cnn', n)));
      const spent = verdicts.reduce((s, v, i) => s + (v.allowed ? sizes[i] : 0), 0);
      assert.ok(spent <= 25, `spent ${spent}`);
      assert.equal((await limits.budget('k', 'cnn')).used, spent);
      await close();
    });

    test('the default 30-day budget holds between requests (longer than a Node timer)', async () => {
      const { limits, close } = await open(store, { budget: { queries: 3, perSeconds: 30 * 24 * 3600 } });
      for (let i = 0; i < 3; i++) {
        assert.equal((await limits.consume('k', 'cnn', 1)).allowed, true);
        await sleep(5);
      }
      const refused = await limits.consume('k', 'cnn', 1);
      assert.equal(refused.allowed === false && refused.reason, 'budget');
      if (!refused.allowed) assert.ok(refused.retryAfterSeconds > 29 * 24 * 3600);
      await close();
    });

    test('a throttled client gets the stricter extraction.throttle rate', async () => {
      const { limits, close } = await open(store, {
        rate: { requests: 100, perSeconds: 60 },
        throttle: { requests: 2, perSeconds: 10 },
      });
      assert.equal((await limits.consume('k', 'cnn', 1, { throttled: true })).allowed, true);
      assert.equal((await limits.consume('k', 'cnn', 1, { throttled: true })).allowed, true);
      const refused = await limits.consume('k', 'cnn', 1, { throttled: true });
      assert.equal(refused.allowed === false && refused.reason, 'rate');
      if (!refused.allowed) assert.ok(refused.retryAfterSeconds >= 9 && refused.retryAfterSeconds <= 10);
      assert.equal((await limits.consume('k2', 'cnn', 1, { throttled: false })).allowed, true);
      await close();
    });

    test('a fresh key has used nothing; a non-positive or fractional example count is an input error', async () => {
      const { limits, close } = await open(store, { budget: { queries: 7, perSeconds: 600 } });
      assert.deepEqual(await limits.budget('new', 'cnn'), { used: 0, limit: 7, resetsInSeconds: 600 });
      for (const n of [0, -1, 1.5, Number.NaN]) {
        await assert.rejects(
          limits.consume('k', 'cnn', n),
          (e) => isInputError(e) && /positive whole number/.test(e.message),
        );
      }
      await close();
    });
  });
}

test('sqlite: budgets and the alert marker persist across a restart', async () => {
  const path = join(dir, 'restart.db');
  const s = { budget: { queries: 10, perSeconds: 3600 } };
  const first = await open('sqlite', s, path);
  assert.deepEqual(await first.limits.consume('k', 'cnn', 7), { allowed: true, remainingBudget: 3 });
  assert.equal((await first.limits.consume('k', 'cnn', 4)).allowed, false);
  assert.equal(first.alerts.length, 1);
  await first.close();

  const second = await open('sqlite', s, path);
  assert.equal((await second.limits.budget('k', 'cnn')).used, 7);
  assert.equal((await second.limits.consume('k', 'cnn', 4)).allowed, false);
  assert.equal(second.alerts.length, 0, 'already alerted this period, before the restart');
  assert.deepEqual(await second.limits.consume('k', 'cnn', 3), { allowed: true, remainingBudget: 0 });
  await second.close();

  const memory = await open('memory', s, path);
  assert.equal((await memory.limits.budget('k', 'cnn')).used, 0, 'the memory store starts afresh');
  await memory.close();
});

test('sqlite with deferred writes: spends stay in memory until write(), undo() keeps them pending, close() writes', async () => {
  const path = join(dir, 'deferred.db');
  const s = { budget: { queries: 10, perSeconds: 3600 } };
  const stored = (db: StoreDatabase) =>
    db.prepare("SELECT points FROM gateway_limits WHERE key = 'budget:cnn:k'").pluck().get() as number | undefined;
  const first = await open('sqlite', s, path);
  const writes = first.limits.deferWrites?.();
  assert.ok(writes, 'the sqlite store can defer its writes');
  assert.deepEqual(await first.limits.consume('k', 'cnn', 3), { allowed: true, remainingBudget: 7 });
  assert.equal(stored(first.db), undefined, 'nothing written before write()');
  assert.equal((await first.limits.budget('k', 'cnn')).used, 3, 'memory is the truth meanwhile');
  // A transaction that rolls back after write(): the spend is pending again, and written by the next one.
  assert.throws(() =>
    first.db
      .transaction(() => {
        writes.write();
        throw new Error('audit append failed');
      })
      .immediate(),
  );
  writes.undo();
  assert.equal(stored(first.db), undefined);
  first.db.transaction(() => writes.write()).immediate();
  assert.equal(stored(first.db), 3);
  first.db.transaction(() => writes.write()).immediate();
  assert.equal(stored(first.db), 3, 'written once');
  // A refused batch is refunded in memory: nothing of it reaches the table.
  assert.equal((await first.limits.consume('k', 'cnn', 8)).allowed, false);
  assert.deepEqual(await first.limits.consume('k', 'cnn', 2), { allowed: true, remainingBudget: 5 });
  await first.close();

  const second = await open('sqlite', s, path);
  assert.equal((await second.limits.budget('k', 'cnn')).used, 5, 'close() wrote what was pending');
  assert.equal(stored(second.db), 5);
  // Without deferWrites every consume writes through.
  await second.limits.consume('k', 'cnn', 1);
  assert.equal(stored(second.db), 6);
  await second.close();
});

test('an alert sink that throws does not turn a refusal into an error', async () => {
  const db = openStore(':memory:', LIMIT_MIGRATIONS);
  const limits = await createLimits(config('memory', { budget: { queries: 1, perSeconds: 60 } }), {
    db,
    onAlert: () => {
      throw new Error('alerts table gone');
    },
  });
  await limits.consume('k', 'cnn', 1);
  const refused = await limits.consume('k', 'cnn', 1);
  assert.equal(refused.allowed === false && refused.reason, 'budget');
  await limits.close();
  db.close();
});
