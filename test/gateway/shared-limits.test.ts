/**
 * The shared-limit test of issue 6: two `aegis serve` processes (two replicas, each with its own
 * data directory holding the same key, as a store copied to a second host would) behind one
 * Redis. One key's query budget is spent across both: requests sent alternately to the two are
 * served until the budget is gone, then both answer 429 budget_exhausted — the total served is
 * the budget, not twice it — and exactly one query-budget alert is raised between them.
 *
 * Needs AEGIS_TEST_REDIS_URL (.ci/run starts a Redis and sets it); skips with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { listAlerts } from '../../src/gateway/alerts.js';
import { openStore } from '../../src/store/store.js';
import { redisSkipReason } from '../helpers/redis.js';
import { runCli } from '../helpers/run-cli.js';
import { REPO_ROOT, type ServedChild, serveChild, stopChild } from '../helpers/serve-child.js';

const CNN_PATH = join(REPO_ROOT, 'test', 'fixtures', 'fmnist_cnn.onnx');
const BUDGET = 12;

const url = process.env.AEGIS_TEST_REDIS_URL;
const skip = await redisSkipReason(url);
const prefix = `aegis-shared-test-${process.pid}-${Date.now()}`;

/** `aegis serve --config F --port 0 --data-dir D`, once it is listening. */
function serve(configPath: string, dataDir: string): Promise<ServedChild> {
  return serveChild(['--config', configPath, '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'], 90_000);
}

describe('two gateway processes share one Redis', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'aegis-shared-limits-'));
  const gateways: ServedChild[] = [];

  after(async () => {
    await Promise.all(gateways.map((g) => stopChild(g)));
    const client = new Redis(url!);
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length) await client.del(...keys);
    await client.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  test("one key's query budget is spent across both replicas", { timeout: 240_000 }, async () => {
    const configPath = join(dir, 'aegis.yaml');
    writeFileSync(
      configPath,
      [
        `dataDir: ${JSON.stringify(join(dir, 'a'))}`,
        'models:',
        `  cnn: {path: ${JSON.stringify(CNN_PATH)}}`,
        'limits:',
        '  store: redis',
        '  rate: {requests: 1000, perSeconds: 1}',
        `  budget: {queries: ${BUDGET}, perSeconds: 3600}`,
        `redis: {url: ${JSON.stringify(url)}, keyPrefix: ${JSON.stringify(prefix)}}`,
        'extraction: {enabled: false}',
        'monitoring: {enabled: false}',
        '',
      ].join('\n'),
    );
    // The key is made once, then the store is copied to the second replica's data directory.
    const dirA = join(dir, 'a');
    const dirB = join(dir, 'b');
    const created = await runCli([
      'keys',
      'create',
      '--data-dir',
      dirA,
      '--name',
      'shared',
      '--models',
      'cnn',
      '--json',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const { key } = JSON.parse(created.stdout) as { key: string };
    mkdirSync(dirB);
    copyFileSync(join(dirA, 'aegis.db'), join(dirB, 'aegis.db'));

    gateways.push(...(await Promise.all([serve(configPath, dirA), serve(configPath, dirB)])));
    assert.notEqual(gateways[0].url, gateways[1].url);

    const image = Array.from({ length: 28 * 28 }, (_, i) => (i % 29) / 29);
    const predict = (g: ServedChild) =>
      fetch(`${g.url}/v1/models/cnn/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify({ inputs: [image], shape: [1, 28, 28, 1] }),
      });

    const served = [0, 0];
    let refused: Response | null = null;
    for (let i = 0; i < 3 * BUDGET && refused === null; i++) {
      const res = await predict(gateways[i % 2]);
      if (res.status === 200) {
        served[i % 2]++;
        await res.arrayBuffer();
      } else refused = res;
    }
    assert.ok(refused, 'the budget was never exhausted');
    assert.equal(refused.status, 429);
    const body = (await refused.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'budget_exhausted');
    assert.ok(Number(refused.headers.get('retry-after')) > 3500);
    assert.equal(served[0] + served[1], BUDGET, `served ${served.join(' + ')}: the budget is one, not one per replica`);
    assert.deepEqual(served, [BUDGET / 2, BUDGET / 2], 'both replicas served their share');
    // The other replica refuses too.
    for (const g of gateways) {
      const res = await predict(g);
      assert.equal(res.status, 429);
      await res.arrayBuffer();
    }

    await Promise.all(gateways.map((g) => stopChild(g)));
    const alerts = [dirA, dirB].flatMap((d) => {
      const db = openStore(join(d, 'aegis.db'));
      try {
        return listAlerts(db, { source: 'query-budget' });
      } finally {
        db.close();
      }
    });
    assert.equal(alerts.length, 1, 'one query-budget alert between the two replicas');
    assert.equal(alerts[0].model, 'cnn');
  });
});
