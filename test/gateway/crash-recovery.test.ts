/**
 * kill -9 under load: `aegis serve` (a child process, full pipeline: sqlite limits, extraction,
 * monitoring, audit in its default journal mode) is SIGKILLed while ~50 requests are in flight.
 * Afterwards `aegis audit verify` passes and every request that was answered 200 is in the audit
 * log or its journal (as pending) under its request id. The gateway restarted on the same data
 * directory folds the journal into the chain: then every answered 200 is a chained row, the key's
 * persisted query budget covers every one of them, and it serves again, extending the same chain.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { openStore } from '../../src/store/store.js';
import { CNN_PATH, testImages } from '../helpers/gateway-fixture.js';
import { runCli } from '../helpers/run-cli.js';
import { type ServedChild, serveChild } from '../helpers/serve-child.js';

const IN_FLIGHT = 50;
/** 200s to collect before the kill: enough that the kill lands mid-load, not at the start. */
const SERVED_BEFORE_KILL = 300;

let dir: string;
let dataDir: string;
let configPath: string;
let bodies: string[];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-crash-'));
  dataDir = join(dir, 'data');
  configPath = join(dir, 'aegis.yaml');
  writeFileSync(
    configPath,
    [
      'models:',
      `  cnn: {path: ${JSON.stringify(CNN_PATH)}}`,
      `dataDir: ${JSON.stringify(dataDir)}`,
      'limits:',
      '  store: sqlite',
      '  rate: {requests: 1000000, perSeconds: 1}',
      '  budget: {queries: 100000000}',
      // log: PRADA watches but never changes an answer, so the load is all 200s.
      'extraction: {enabled: true, action: log}',
      'monitoring: {enabled: true, windowSize: 200}',
      'audit: {enabled: true}',
      '',
    ].join('\n'),
  );
  const { flat } = await testImages(20);
  bodies = flat.map((row) => JSON.stringify({ inputs: [row], shape: [1, 28, 28, 1] }));
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** `aegis serve --config … --port 0` as a child process, once it is listening. */
function serve(): Promise<ServedChild> {
  return serveChild(['--config', configPath, '--port', '0', '--log-level', 'error']);
}

function predict(url: string, key: string, body: string): Promise<Response> {
  return fetch(`${url}/v1/models/cnn/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body,
  });
}

interface LoadOutcome {
  /** Request ids of every answer whose status line said 200 (from x-request-id, so a body cut by the kill counts too). */
  ok: Set<string>;
  otherStatuses: Map<number, number>;
  /** Requests (or answer bodies) cut at the transport by the kill. */
  failed: number;
}

/**
 * `IN_FLIGHT` loops each sending requests back to back until the server dies; `onServed` sees the
 * running count of 200s (the caller kills the server from there).
 */
async function load(url: string, key: string, onServed: (n: number) => void): Promise<LoadOutcome> {
  const outcome: LoadOutcome = { ok: new Set(), otherStatuses: new Map(), failed: 0 };
  let stop = false;
  const worker = async (w: number) => {
    for (let i = 0; !stop; i++) {
      let res: Response;
      try {
        res = await predict(url, key, bodies[(w + i) % bodies.length] as string);
      } catch {
        outcome.failed++;
        stop = true;
        return;
      }
      const id = res.headers.get('x-request-id');
      if (res.status === 200) {
        assert.ok(id, 'a 200 without x-request-id');
        outcome.ok.add(id);
        onServed(outcome.ok.size);
      } else {
        outcome.otherStatuses.set(res.status, (outcome.otherStatuses.get(res.status) ?? 0) + 1);
      }
      try {
        const body = (await res.json()) as { requestId?: string; error?: { requestId?: string } };
        assert.equal(body.requestId ?? body.error?.requestId, id);
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        // The body was cut by the kill; the status line and request id had already arrived.
        outcome.failed++;
        stop = true;
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
  return outcome;
}

/** Request id → status of every audited request; `chainedOnly`: rows of the hash chain, not journal entries. */
async function auditedRequestIds(chainedOnly = false): Promise<Map<string, number>> {
  const show = await runCli(['audit', 'show', '--data-dir', dataDir, '--limit', '1000000', '--json']);
  assert.equal(show.code, 0, show.stderr);
  const entries = JSON.parse(show.stdout) as { requestId: string; status: number; pending?: true }[];
  return new Map(entries.filter((e) => !chainedOnly || !e.pending).map((e) => [e.requestId, e.status]));
}

function budgetSpent(keyId: string): unknown {
  const store = openStore(join(dataDir, 'aegis.db'), []);
  try {
    return store.prepare('SELECT points FROM gateway_limits WHERE key = ?').pluck().get(`budget:cnn:${keyId}`);
  } finally {
    store.close();
  }
}

it('kill -9 mid-load: the audit chain verifies, every 200 is logged, and the restarted gateway serves', async () => {
  const created = await runCli(['keys', 'create', '--data-dir', dataDir, '--name', 'loader', '--models', 'cnn']);
  assert.equal(created.code, 0, created.stderr);
  const key = /aegis_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/.exec(created.stdout)?.[0];
  assert.ok(key, created.stdout);

  const first = await serve();
  let killed = false;
  const outcome = await load(first.url, key, (n) => {
    if (n >= SERVED_BEFORE_KILL && !killed) {
      killed = true;
      first.child.kill('SIGKILL');
    }
  });
  const exit = await first.exit;
  assert.equal(exit.signal, 'SIGKILL', `the server was not killed: ${JSON.stringify(exit)}\n${first.stderr()}`);
  assert.ok(outcome.ok.size >= SERVED_BEFORE_KILL, `${outcome.ok.size} 200s`);
  assert.ok(outcome.failed > 0, 'the kill should have cut requests in flight');
  assert.deepEqual([...outcome.otherStatuses], [], 'every answered request was a 200');

  const verify = await runCli(['audit', 'verify', '--data-dir', dataDir]);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  assert.match(verify.stdout, /^OK /);

  const audited = await auditedRequestIds();
  const missing = [...outcome.ok].filter((id) => audited.get(id) !== 200);
  assert.deepEqual(missing, [], `${missing.length} of ${outcome.ok.size} answered 200s are not logged as 200`);

  // Restart on the same data directory: the journal is folded into the chain, with the budget charges.
  const second = await serve();
  try {
    const chained = await auditedRequestIds(true);
    const unchained = [...outcome.ok].filter((id) => chained.get(id) !== 200);
    assert.deepEqual(unchained, [], `${unchained.length} answered 200s are not in the chain after the restart`);
    const folded = await runCli(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(folded.code, 0, folded.stdout + folded.stderr);
    const keyId = key.slice('aegis_'.length, 'aegis_'.length + 12);
    const spent = budgetSpent(keyId);
    assert.equal(typeof spent, 'number');
    assert.ok(
      (spent as number) >= outcome.ok.size,
      `budget spent ${spent}, but ${outcome.ok.size} requests were answered`,
    );

    const res = await predict(second.url, key, bodies[0] as string);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { labels: number[]; requestId: string };
    assert.equal(body.labels.length, 1);
    const again = await runCli(['audit', 'verify', '--data-dir', dataDir]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal((await auditedRequestIds()).get(body.requestId), 200);
  } finally {
    second.child.kill('SIGTERM');
  }
  const stopped = await second.exit;
  assert.equal(stopped.code, 0, second.stderr());
});
