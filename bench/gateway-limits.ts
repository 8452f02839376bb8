/**
 * Cost of the gateway's limits stage: Limits.consume (rate + query budget per key and model)
 * on each store — memory, sqlite (the shared store file, WAL, synchronous FULL as the store opens
 * it and NORMAL), redis (loopback) — sequentially (one request at a time: per-call latency) and
 * with 64 requests in flight (throughput), plus the refused path (budget spent: consume, refund,
 * alert marker). Prints one JSON document on stdout.
 *
 * Usage: npx tsx bench/gateway-limits.ts [--ops 5000] [--keys 100] [--redis redis://127.0.0.1:6379]
 *   (--redis defaults to $AEGIS_TEST_REDIS_URL; without either the redis rows are skipped)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { parseGatewayConfig } from '../src/gateway/config.js';
import { createLimits, LIMIT_MIGRATIONS, type Limits } from '../src/gateway/limits/limits.js';
import { openStore, type StoreDatabase } from '../src/store/store.js';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '5000' },
    keys: { type: 'string', default: '100' },
    redis: { type: 'string', default: process.env.AEGIS_TEST_REDIS_URL ?? '' },
  },
});
const ops = Number(values.ops);
const keys = Number(values.keys);
const redisUrl = String(values.redis);
const dir = mkdtempSync(join(tmpdir(), 'aegis-bench-limits-'));
const prefix = `aegis-bench-${process.pid}`;

interface Setup {
  name: string;
  store: 'memory' | 'sqlite' | 'redis';
  synchronous?: 'FULL' | 'NORMAL';
}

function config(store: Setup['store'], queries: number) {
  return parseGatewayConfig({
    models: { cnn: { path: 'cnn.onnx' } },
    limits: { store, rate: { requests: 1_000_000_000, perSeconds: 3600 }, budget: { queries, perSeconds: 3600 } },
    redis: redisUrl ? { url: redisUrl, keyPrefix: `${prefix}-${Math.random().toString(36).slice(2)}` } : undefined,
  });
}

async function open(setup: Setup, queries: number): Promise<{ limits: Limits; db: StoreDatabase }> {
  const db = openStore(join(dir, `${setup.name}-${queries}.db`), LIMIT_MIGRATIONS);
  if (setup.synchronous) db.pragma(`synchronous = ${setup.synchronous}`);
  const limits = await createLimits(config(setup.store, queries), { db, onAlert: () => {} });
  return { limits, db };
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function sequential(limits: Limits, n: number, expectAllowed: boolean) {
  const times = new Float64Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    const v = await limits.consume(`key-${i % keys}`, 'cnn', 1);
    times[i] = performance.now() - s;
    if (v.allowed !== expectAllowed) throw new Error(`unexpected verdict ${JSON.stringify(v)}`);
  }
  const total = performance.now() - t0;
  times.sort();
  return {
    opsPerSecond: Math.round((n / total) * 1000),
    meanMicros: round((total / n) * 1000),
    p50Micros: round(quantile(times, 0.5) * 1000),
    p99Micros: round(quantile(times, 0.99) * 1000),
  };
}

async function concurrent(limits: Limits, n: number, inFlight: number) {
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const v = await limits.consume(`key-${i % keys}`, 'cnn', 1);
      if (!v.allowed) throw new Error('unexpected refusal');
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { inFlight, opsPerSecond: Math.round((n / (performance.now() - t0)) * 1000) };
}

async function measure(setup: Setup) {
  // Scale the work to the store so slow ones do not take minutes.
  const n = setup.store === 'memory' ? ops * 10 : ops;
  let { limits, db } = await open(setup, 1_000_000_000);
  await sequential(limits, Math.min(n, 2000), true); // warm-up
  const allowed = await sequential(limits, n, true);
  const inFlight = await concurrent(limits, n, 64);
  await limits.close();
  db.close();
  // Refused path: every key's budget of 1 already spent.
  ({ limits, db } = await open(setup, 1));
  for (let k = 0; k < keys; k++) await limits.consume(`key-${k}`, 'cnn', 1);
  const refused = await sequential(limits, Math.min(n, 5000), false);
  await limits.close();
  db.close();
  return { store: setup.name, allowedSequential: allowed, allowedConcurrent: inFlight, refusedSequential: refused };
}

const setups: Setup[] = [
  { name: 'memory', store: 'memory' },
  { name: 'sqlite (synchronous FULL)', store: 'sqlite', synchronous: 'FULL' },
  { name: 'sqlite (synchronous NORMAL)', store: 'sqlite', synchronous: 'NORMAL' },
];
const skipped: string[] = [];
if (redisUrl) setups.push({ name: 'redis (loopback)', store: 'redis' });
else skipped.push('redis: pass --redis URL or set AEGIS_TEST_REDIS_URL');

const results = [];
for (const setup of setups) {
  process.stderr.write(`measuring ${setup.name}…\n`);
  results.push(await measure(setup));
}
if (redisUrl) {
  const client = new Redis(redisUrl);
  const stale = await client.keys(`${prefix}-*`);
  if (stale.length) await client.del(...stale);
  await client.quit();
}
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify(
    {
      bench: 'gateway-limits',
      node: process.version,
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      loadAverage: loadavg().map((x) => round(x)),
      ops,
      keys,
      note: 'one consume = rate (1 point) + budget (1 example) for one key and model; refused = budget spent',
      results,
      skipped,
    },
    null,
    2,
  ),
);
