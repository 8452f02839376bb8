import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { initRuntime, tf } from '../../src/core/runtime.js';
import { recordAlert } from '../../src/gateway/alerts.js';
import { AuditLog } from '../../src/gateway/audit/audit-log.js';
import { parseGatewayConfig } from '../../src/gateway/config.js';
import { STORE_FILE, startGateway } from '../../src/gateway/server.js';
import { GATEWAY_MIGRATIONS } from '../../src/gateway/services.js';
import { buildSmallCnn } from '../../src/models/builders.js';
import { HttpModel } from '../../src/models/http-model.js';
import { loadOnnxModel, type OnnxModel } from '../../src/models/onnx-model.js';
import { loadTfjsModel, saveTfjsModel } from '../../src/models/tfjs-model.js';
import { openStore } from '../../src/store/store.js';
import {
  auditLogOf,
  CNN_PATH,
  createKeys,
  type GatewayFixture,
  gatewayFixture,
  TEST_NPZ,
  testImages,
} from '../helpers/gateway-fixture.js';
import { runCli } from '../helpers/run-cli.js';

const PREDICT = '/v1/models/cnn/predict';

let gw: GatewayFixture;
let cnn: OnnxModel;
let images: Awaited<ReturnType<typeof testImages>>;
/** The in-process model's probabilities on the first 8 test images. */
let expected: Float32Array;

before(async () => {
  await initRuntime();
  gw = await gatewayFixture();
  cnn = await loadOnnxModel(CNN_PATH);
  images = await testImages(8);
  const x = tf.tensor(images.flat.flat(), [8, 28, 28, 1]);
  const scores = await cnn.predictScores(x);
  expected = (await scores.data()) as Float32Array;
  tf.dispose([x, scores]);
});

after(async () => {
  await gw.close();
  await cnn.dispose();
});

function post(key: string, payload: unknown) {
  return gw.app.inject({ method: 'POST', url: PREDICT, headers: gw.auth(key), payload: payload as object });
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if ((row[j] as number) > (row[best] as number)) best = j;
  return best;
}

describe('POST /v1/models/:name/predict', () => {
  it('answers nested [n, 28, 28, 1] arrays with the in-process model’s labels and probabilities', async () => {
    const res = await post('full', { inputs: images.nested.slice(0, 4) });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.model, 'cnn');
    assert.equal(body.requestId, res.headers['x-request-id']);
    assert.equal(body.scores.length, 4);
    for (let i = 0; i < 4; i++) {
      const want = expected.subarray(i * 10, (i + 1) * 10);
      assert.equal(body.labels[i], argmax(want));
      for (let j = 0; j < 10; j++) assert.ok(Math.abs(body.scores[i][j] - (want[j] as number)) < 1e-6);
    }
    // The bundled CNN gets most of these right: the answer is a real prediction, not a constant.
    const correct = body.labels.filter((l: number, i: number) => l === images.labels[i]).length;
    assert.ok(correct >= 3, `only ${correct} of 4 correct`);
  });

  it('speaks the HttpModel protocol (flat rows + shape) with the same answer as nested arrays', async () => {
    const flat = await post('full', { inputs: images.flat.slice(0, 4), shape: [4, 28, 28, 1] });
    const nested = await post('full', { inputs: images.nested.slice(0, 4) });
    assert.equal(flat.statusCode, 200);
    assert.deepEqual(flat.json().scores, nested.json().scores);
    assert.deepEqual(flat.json().labels, nested.json().labels);
  });

  it('shapes the output per tier: top-k keeps 3 scores, rounded keeps 2 decimals, label drops scores', async () => {
    const payload = { inputs: images.flat, shape: [8, 28, 28, 1] };
    const full = (await post('full', payload)).json();
    const top = (await post('top', payload)).json();
    const rounded = (await post('rounded', payload)).json();
    const label = (await post('label', payload)).json();
    for (let i = 0; i < 8; i++) {
      const kept = top.scores[i].filter((v: number) => v > 0);
      assert.equal(kept.length, 3);
      const largest = [...full.scores[i]].sort((a: number, b: number) => b - a).slice(0, 3);
      assert.deepEqual(
        [...kept].sort((a: number, b: number) => b - a),
        largest,
      );
      for (const v of rounded.scores[i]) assert.equal(Math.round(v * 100) / 100, v, `${v} has more than 2 decimals`);
      assert.ok(JSON.stringify(rounded.scores[i]).length < 60, 'rounded scores print short');
    }
    assert.deepEqual(top.labels, full.labels);
    assert.deepEqual(label.labels, full.labels);
    assert.equal(label.scores, undefined);
  });

  it('answers a key whose tier is not configured with labels only (fail closed)', async () => {
    const res = await post('gold', { inputs: images.flat.slice(0, 2), shape: [2, 28, 28, 1] });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().scores, undefined);
    assert.equal(res.json().labels.length, 2);
  });

  it('records every request in the audit log before answering, with the decisions of each stage', async () => {
    const res = await post('top', { inputs: images.flat.slice(0, 2), shape: [2, 28, 28, 1] });
    const requestId = res.json().requestId;
    const audit = auditLogOf(gw);
    const entry = audit.list({ limit: 50 }).find((e) => e.requestId === requestId);
    assert.ok(entry, 'the 200 is in the audit log');
    assert.equal(entry.status, 200);
    assert.equal(entry.keyId, gw.keyIds.top);
    assert.equal(entry.model, 'cnn');
    assert.equal(entry.route, '/v1/models/:name/predict');
    assert.match(entry.inputDigest ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(entry.outputSummary, { rows: 2, labels: res.json().labels });
    assert.deepEqual(
      entry.decisions.map((d) => `${d.stage}:${d.outcome}`),
      ['auth:allowed', 'limits:allowed', 'validation:passed', 'model:served', 'output:top-3'],
    );
    assert.equal(audit.verify().ok, true);
  });
});

describe('GET /v1/models', () => {
  it('lists only the models the key may list, with the caller’s output mode and no file path', async () => {
    const full = await gw.app.inject({ method: 'GET', url: '/v1/models', headers: gw.auth('full') });
    assert.equal(full.statusCode, 200);
    assert.deepEqual(full.json().models, [
      {
        name: 'cnn',
        inputShape: [28, 28, 1],
        inputRange: [0, 1],
        numClasses: 10,
        inputs: ['tensor'],
        output: { mode: 'full' },
      },
    ]);
    assert.ok(!full.body.includes('fixtures') && !full.body.includes('.onnx'));
    const label = await gw.app.inject({ method: 'GET', url: '/v1/models', headers: gw.auth('label') });
    assert.deepEqual(label.json().models[0].output, { mode: 'label' });
    const top = await gw.app.inject({ method: 'GET', url: '/v1/models', headers: gw.auth('top') });
    assert.deepEqual(top.json().models[0].output, { mode: 'top-k', k: 3 });
    const other = await gw.app.inject({ method: 'GET', url: '/v1/models', headers: gw.auth('other-model') });
    assert.deepEqual(other.json().models, []);
    const none = await gw.app.inject({ method: 'GET', url: '/v1/models' });
    assert.equal(none.statusCode, 401);
  });
});

describe('operations endpoints', () => {
  it('GET /healthz needs no key', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  it('GET /readyz reports each component as ok or not-ready, and 503 when one is down', async () => {
    const ready = await gw.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'ok', checks: { models: 'ok', store: 'ok' } });
    const down = await gatewayFixture({}, { keys: [], services: { redisReady: async () => false } });
    try {
      const res = await down.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 503);
      assert.deepEqual(res.json(), { status: 'not-ready', checks: { models: 'ok', store: 'ok', redis: 'not-ready' } });
    } finally {
      await down.close();
    }
  });

  it('GET /metrics counts requests by route and status, rejections by stage, and never names a key', async () => {
    await gw.app.inject({ method: 'POST', url: PREDICT, payload: {} });
    const res = await gw.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /text\/plain/);
    assert.match(
      res.body,
      /aegis_gateway_requests_total\{route="\/v1\/models\/:name\/predict",method="POST",status="200"\} \d+/,
    );
    assert.match(res.body, /aegis_gateway_rejections_total\{stage="auth",code="unauthorized"\} [1-9]/);
    assert.match(
      res.body,
      /aegis_gateway_request_duration_seconds_bucket\{le="0.005",route="\/v1\/models\/:name\/predict"\}/,
    );
    assert.match(res.body, /aegis_gateway_examples_total\{model="cnn"\} [1-9]/);
    for (const id of Object.values(gw.keyIds)) assert.ok(!res.body.includes(id), 'a key id is a metric label');
    assert.ok(!res.body.includes('x-request-id'));
  });
});

describe('GET /v1/monitoring/:name', () => {
  it('returns the model’s monitor report and recent alerts to a key with the monitor scope', async () => {
    recordAlert(gw.services.db, {
      time: new Date().toISOString(),
      source: 'drift/ks',
      model: 'cnn',
      keyId: null,
      severity: 'warning',
      message: 'input drift',
      detail: { statistic: 0.4 },
    });
    const res = await gw.app.inject({ method: 'GET', url: '/v1/monitoring/cnn', headers: gw.auth('full') });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.model, 'cnn');
    assert.equal(body.monitoring.model, 'cnn');
    assert.ok(body.monitoring.examplesSeen > 0, 'the monitor saw the served examples');
    assert.equal(body.alerts[0].source, 'drift/ks');
  });

  it('compares against models.<name>.reference when given; a bad reference stops startup naming it', async () => {
    const withReference = await gatewayFixture({
      models: { cnn: { path: CNN_PATH, reference: `${TEST_NPZ}[0:100]` } },
    });
    try {
      const res = await withReference.app.inject({
        method: 'GET',
        url: '/v1/monitoring/cnn',
        headers: withReference.auth('full'),
      });
      const reference = res.json().monitoring.reference;
      assert.notEqual(reference.source, 'live');
      assert.equal(reference.examples, 100);
      assert.equal(reference.ready, true);
    } finally {
      await withReference.close();
    }
    await assert.rejects(
      gatewayFixture({ models: { cnn: { path: CNN_PATH, reference: `${TEST_NPZ}[0:999]` } } }, { keys: [] }),
      /models\.cnn\.reference: range \[0:999\] is outside/,
    );
  });

  it('refuses a key without the monitor scope (403) and an unknown model to a covering key (404)', async () => {
    const top = await gw.app.inject({ method: 'GET', url: '/v1/monitoring/cnn', headers: gw.auth('top') });
    assert.equal(top.statusCode, 403);
    const missing = await gw.app.inject({ method: 'GET', url: '/v1/monitoring/nope', headers: gw.auth('full') });
    assert.equal(missing.statusCode, 404);
  });
});

describe('JWT bearer tokens', () => {
  it('serves a token signed by a configured key with the scopes and tier of its claims', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aegis-serve-jwt-'));
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pem = join(dir, 'idp.pem');
    writeFileSync(pem, publicKey.export({ type: 'spki', format: 'pem' }));
    const jwtGateway = await gatewayFixture(
      { auth: { apiKeys: false, jwt: { keys: [pem], issuer: 'https://idp.test' } } },
      { keys: [] },
    );
    const token = (scope: string, issuer = 'https://idp.test') =>
      new SignJWT({ scope, aegis_tier: 'label' })
        .setProtectedHeader({ alg: 'EdDSA' })
        .setSubject('svc-1')
        .setIssuer(issuer)
        .setExpirationTime('5m')
        .sign(privateKey);
    try {
      const payload = { inputs: images.flat.slice(0, 2), shape: [2, 28, 28, 1] };
      const ok = await jwtGateway.app.inject({
        method: 'POST',
        url: PREDICT,
        headers: { authorization: `Bearer ${await token('predict:cnn')}` },
        payload,
      });
      assert.equal(ok.statusCode, 200);
      assert.deepEqual(Object.keys(ok.json()), ['labels', 'model', 'requestId'], 'aegis_tier label: no scores');
      const entry = auditLogOf(jwtGateway).list({ limit: 1 })[0];
      assert.equal(entry?.keyId, 'jwt:svc-1');
      const noScope = await jwtGateway.app.inject({
        method: 'POST',
        url: PREDICT,
        headers: { authorization: `Bearer ${await token('list:cnn')}` },
        payload,
      });
      assert.equal(noScope.statusCode, 403);
      const otherIssuer = await jwtGateway.app.inject({
        method: 'POST',
        url: PREDICT,
        headers: { authorization: `Bearer ${await token('predict:cnn', 'https://evil.test')}` },
        payload,
      });
      assert.equal(otherIssuer.statusCode, 401);
    } finally {
      await jwtGateway.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shutdown', () => {
  it('close() lets an in-flight request finish (and audits it), answers 503 to one arriving meanwhile', async () => {
    const drain = await gatewayFixture({ server: { shutdownGraceMs: 5000 } });
    await drain.app.listen({ host: '127.0.0.1', port: 0 });
    const address = drain.app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const body = JSON.stringify({ inputs: [images.flat[0]], shape: [1, 28, 28, 1] });
    const open = (text: string) => {
      const socket = connect(port, '127.0.0.1');
      let out = '';
      socket.on('data', (d) => {
        out += d.toString();
      });
      socket.on('error', () => {});
      const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(out)));
      socket.write(text);
      return { socket, answer };
    };
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // In flight: headers and half the body before shutdown begins.
    const inFlight = open(
      `POST ${PREDICT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${drain.keys.full}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 100)}`,
    );
    // Connected, headers not finished: its request arrives after shutdown began.
    const late = open(`GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${drain.keys.full}\r\n`);
    await pause(200);
    const closed = drain.stop();
    await pause(200);
    late.socket.write('\r\n');
    await pause(200);
    inFlight.socket.write(body.slice(100)); // write, not end: a half-close would abort the request
    const served = await inFlight.answer;
    assert.match(served, /^HTTP\/1\.1 200 OK/);
    const requestId = /"requestId":"([^"]+)"/.exec(served)?.[1];
    const refused = await late.answer;
    assert.match(refused, /^HTTP\/1\.1 503 /);
    assert.match(refused, /"code":"unavailable"/);
    assert.match(refused, /retry-after: 1/i);
    await closed;
    const db = openStore(join(drain.dir, STORE_FILE), GATEWAY_MIGRATIONS);
    try {
      const logged = new AuditLog(db).list({ limit: 10 }).map((e) => e.requestId);
      assert.ok(logged.includes(requestId as string), 'the drained 200 is in the audit log');
    } finally {
      db.close();
      rmSync(drain.dir, { recursive: true, force: true });
    }
  });
});

describe('an Aegis attack through the gateway', () => {
  it('aegis attack evasion --model http://gateway… runs with $AEGIS_API_KEY, and every query is audited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aegis-serve-attack-'));
    const { keys, ids } = createKeys(dir, [{ name: 'red-team', scopes: [{ model: 'cnn', actions: ['predict'] }] }]);
    const config = parseGatewayConfig({ server: { port: 0 }, dataDir: dir, models: { cnn: { path: CNN_PATH } } });
    const running = await startGateway(config);
    const saved = process.env.AEGIS_API_KEY;
    try {
      process.env.AEGIS_API_KEY = keys['red-team'];
      const run = await runCli([
        'attack',
        'evasion',
        '--model',
        `${running.url}/v1/models/cnn/predict`,
        '--access',
        'scores',
        '--input-shape',
        '28,28,1',
        '--num-classes',
        '10',
        '--data',
        TEST_NPZ,
        '--limit',
        '4',
        '--attack',
        'square',
        '--eps',
        '0.1',
        '--query-budget',
        '20',
        '--json',
        '--quiet',
      ]);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(run.stdout) as { attacks: unknown[]; clean: { size: number } };
      assert.equal(report.clean.size, 4);
      assert.ok(report.attacks.length > 0);
      const db = openStore(join(dir, STORE_FILE), GATEWAY_MIGRATIONS);
      try {
        const entries = new AuditLog(db).list({ keyId: ids['red-team'], limit: 1000 });
        assert.ok(entries.length >= 4, `${entries.length} audited requests`);
        assert.ok(entries.every((e) => e.status === 200));
      } finally {
        db.close();
      }
      process.env.AEGIS_API_KEY = 'aegis_000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro';
      const refused = await runCli([
        'attack',
        'evasion',
        '--model',
        `${running.url}/v1/models/cnn/predict`,
        '--access',
        'scores',
        '--input-shape',
        '28,28,1',
        '--num-classes',
        '10',
        '--data',
        TEST_NPZ,
        '--limit',
        '2',
        '--attack',
        'square',
        '--eps',
        '0.1',
        '--query-budget',
        '5',
        '--json',
        '--quiet',
      ]);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /HTTP 401/);
    } finally {
      if (saved === undefined) delete process.env.AEGIS_API_KEY;
      else process.env.AEGIS_API_KEY = saved;
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('serving', () => {
  it('serves a saved tfjs model directory next to an ONNX file, each with its own input shape', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aegis-serve-tfjs-'));
    try {
      const net = buildSmallCnn({ inputShape: [12, 12, 1], numClasses: 3, seed: 1 });
      await saveTfjsModel(net, join(dir, 'small'), { classNames: ['a', 'b', 'c'] });
      net.dispose();
      const local = await loadTfjsModel(join(dir, 'small'));
      const small = await gatewayFixture(
        { models: { cnn: { path: CNN_PATH }, small: { path: join(dir, 'small') } } },
        { keys: [{ name: 'k', scopes: [{ model: '*', actions: ['predict', 'list'] }] }] },
      );
      try {
        const rows = [Array.from({ length: 144 }, (_, i) => (i % 7) / 7)];
        const res = await small.app.inject({
          method: 'POST',
          url: '/v1/models/small/predict',
          headers: small.auth('k'),
          payload: { inputs: rows, shape: [1, 12, 12, 1] },
        });
        assert.equal(res.statusCode, 200);
        const x = tf.tensor(rows.flat(), [1, 12, 12, 1]);
        const scores = await local.predictScores(x);
        const want = (await scores.data()) as Float32Array;
        tf.dispose([x, scores]);
        res.json().scores[0].forEach((v: number, j: number) => {
          assert.ok(Math.abs(v - (want[j] as number)) < 1e-5);
        });
        const list = await small.app.inject({ method: 'GET', url: '/v1/models', headers: small.auth('k') });
        assert.deepEqual(
          list
            .json()
            .models.map((m: { name: string; inputShape: number[]; classNames?: string[] }) => [
              m.name,
              m.inputShape,
              m.classNames,
            ]),
          [
            ['cnn', [28, 28, 1], undefined],
            ['small', [12, 12, 1], ['a', 'b', 'c']],
          ],
        );
      } finally {
        local.dispose();
        await small.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('listens on port 0, and an Aegis HttpModel pointed at it predicts what the model predicts in-process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aegis-serve-http-'));
    const { keys } = createKeys(dir, [{ name: 'attacker', scopes: [{ model: 'cnn', actions: ['predict'] }] }]);
    const config = parseGatewayConfig({ server: { port: 0 }, dataDir: dir, models: { cnn: { path: CNN_PATH } } });
    const running = await startGateway(config);
    try {
      assert.match(running.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const remote = new HttpModel({
        url: `${running.url}/v1/models/cnn/predict`,
        access: 'scores',
        inputShape: [28, 28, 1],
        numClasses: 10,
        maxBatch: 3,
        headers: { authorization: `Bearer ${keys.attacker}` },
      });
      const x = tf.tensor(images.flat.flat(), [8, 28, 28, 1]);
      const labels = await remote.predictLabels(x);
      const scores = await remote.predictScores(x);
      const got = (await scores.data()) as Float32Array;
      tf.dispose([x, scores]);
      assert.deepEqual(
        Array.from(labels),
        Array.from({ length: 8 }, (_, i) => argmax(expected.subarray(i * 10, i * 10 + 10))),
      );
      for (let i = 0; i < got.length; i++) assert.ok(Math.abs((got[i] as number) - (expected[i] as number)) < 1e-6);
      assert.equal(remote.queries, 16);
    } finally {
      await running.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
