/**
 * Abuse cases beyond test/gateway/faults.test.ts: a key revoked by an operator while a client is
 * using it (on a kept-alive connection, and under concurrent load) gets 401 from its next request;
 * a key without the scope gets a byte-for-byte identical 403 (headers and audit entry too) whether
 * or not the model exists, on every route that names a model; slowloris clients (headers or body
 * dripped a few bytes at a time) do not stop other clients being served, and are cut with 408.
 */
import assert from 'node:assert/strict';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { initRuntime } from '../../src/core/runtime.js';
import { FORBIDDEN_MESSAGE, UNAUTHORIZED_MESSAGE } from '../../src/gateway/errors.js';
import {
  auditLogOf,
  DEFAULT_KEYS,
  type GatewayFixture,
  gatewayFixture,
  testImages,
} from '../helpers/gateway-fixture.js';
import { runCli } from '../helpers/run-cli.js';

const PREDICT = '/v1/models/cnn/predict';
const REQUEST_TIMEOUT_MS = 4000;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The request went out on a connection that had already carried one. */
  reused: boolean;
}

let gw: GatewayFixture;
let port: number;
let body: string;

before(async () => {
  await initRuntime();
  gw = await gatewayFixture(
    { server: { requestTimeoutMs: REQUEST_TIMEOUT_MS } },
    {
      keys: [
        ...DEFAULT_KEYS,
        { name: 'session', scopes: [{ model: 'cnn', actions: ['predict'] }] },
        { name: 'crowd', scopes: [{ model: 'cnn', actions: ['predict'] }] },
      ],
    },
  );
  await gw.app.listen({ host: '127.0.0.1', port: 0 });
  const address = gw.app.server.address();
  port = typeof address === 'object' && address ? address.port : 0;
  body = JSON.stringify({ inputs: [(await testImages(1)).flat[0]], shape: [1, 28, 28, 1] });
});

after(() => gw.close());

function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  payload?: string,
  agent?: Agent,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
          reused: req.reusedSocket,
        }),
      );
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

function predictAs(key: string, agent?: Agent, headers?: Record<string, string>): Promise<Answer> {
  return send(
    'POST',
    PREDICT,
    { 'content-type': 'application/json', ...(headers ?? { authorization: `Bearer ${key}` }) },
    body,
    agent,
  );
}

function errorOf(answer: Answer): { code: string; message: string; requestId: string } {
  return JSON.parse(answer.body).error;
}

async function revoke(name: string): Promise<void> {
  // As an operator would: another process-like client of the store, not the gateway's own connection.
  const run = await runCli(['keys', 'revoke', name, '--data-dir', gw.dir]);
  assert.equal(run.code, 0, run.stderr);
}

describe('a key revoked mid-session', () => {
  it('gets 401 on its next request, on the same kept-alive connection, while other keys are still served', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const key = gw.keys.session as string;
      const first = await predictAs(key, agent);
      const second = await predictAs(key, agent);
      assert.equal(first.status, 200);
      assert.equal(second.status, 200);
      assert.equal(second.reused, true, 'the session should run on one kept-alive connection');

      await revoke('session');

      const bearer = await predictAs(key, agent);
      assert.equal(bearer.reused, true);
      assert.equal(bearer.status, 401);
      assert.equal(errorOf(bearer).code, 'unauthorized');
      assert.equal(errorOf(bearer).message, UNAUTHORIZED_MESSAGE);
      const header = await predictAs(key, agent, { 'x-api-key': key });
      assert.equal(header.status, 401);
      assert.equal(header.body.includes(key.slice(6, 18)), false, 'the answer must not echo the key id');
      // The same connection still serves a valid key.
      const other = await predictAs(gw.keys.full as string, agent);
      assert.equal(other.reused, true);
      assert.equal(other.status, 200);

      // The refusals are audited as unauthenticated: no key id, no model call.
      const entry = auditLogOf(gw)
        .list({ limit: 50 })
        .find((e) => e.requestId === errorOf(bearer).requestId);
      assert.ok(entry, 'the 401 is in the audit log');
      assert.equal(entry.status, 401);
      assert.equal(entry.keyId, null);
      assert.deepEqual(
        entry.decisions.map((d) => d.stage),
        ['auth'],
      );
    } finally {
      agent.destroy();
    }
  });

  it('under concurrent load: every request sent after the revocation returned is refused', async () => {
    const key = gw.keys.crowd as string;
    let revoked = false;
    const beforeRevoke: number[] = [];
    const afterRevoke: number[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const sentAfter = revoked;
        const res = await predictAs(key);
        (sentAfter ? afterRevoke : beforeRevoke).push(res.status);
        if (sentAfter && afterRevoke.length >= 40) stop = true;
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    while (beforeRevoke.length < 40) await new Promise((r) => setTimeout(r, 10));
    const answeredBeforeRevoking = [...beforeRevoke];
    await revoke('crowd');
    revoked = true;
    await Promise.all(workers);
    // Requests in flight while the key was being revoked may go either way; none answered before it was refused.
    assert.deepEqual([...new Set(answeredBeforeRevoking)], [200]);
    assert.ok(afterRevoke.length >= 40);
    assert.deepEqual([...new Set(afterRevoke)], [401]);
  });
});

describe('403 reveals nothing about which models exist', () => {
  /** The answer with what differs per request (request id, date) taken out. */
  function comparable(answer: Answer) {
    const headers = { ...answer.headers };
    delete headers['x-request-id'];
    delete headers.date;
    const parsed = JSON.parse(answer.body);
    delete parsed.error.requestId;
    return { status: answer.status, headers, body: parsed };
  }

  async function pair(keyName: string, method: string, served: string, missing: string, payload?: string) {
    const headers: Record<string, string> = { authorization: `Bearer ${gw.keys[keyName]}` };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const a = await send(method, served, headers, payload);
    const b = await send(method, missing, headers, payload);
    return [a, b] as const;
  }

  it('answers identically (status, headers, body, audit entry) for a served and an unknown model', async () => {
    assert.ok(gw.registry.get('cnn'));
    assert.equal(gw.registry.get('ghost'), undefined);
    const cases = [
      // A key for another model only.
      ['other-model', 'POST', PREDICT, '/v1/models/ghost/predict', body],
      // A key for this model but not this action (list only).
      ['list-only', 'POST', PREDICT, '/v1/models/ghost/predict', body],
      // A key for every model without the monitor action.
      ['top', 'GET', '/v1/monitoring/cnn', '/v1/monitoring/ghost', undefined],
      ['list-only', 'GET', '/v1/monitoring/cnn', '/v1/monitoring/ghost', undefined],
    ] as const;
    for (const [keyName, method, served, missing, payload] of cases) {
      const what = `${keyName} ${method} ${served}`;
      const [a, b] = await pair(keyName, method, served, missing, payload);
      assert.equal(a.status, 403, what);
      assert.equal(errorOf(a).code, 'forbidden', what);
      assert.equal(errorOf(a).message, FORBIDDEN_MESSAGE, what);
      assert.deepEqual(comparable(a), comparable(b), what);
      const entries = auditLogOf(gw).list({ keyId: gw.keyIds[keyName], limit: 10 });
      const [ea, eb] = [errorOf(a).requestId, errorOf(b).requestId].map((id) => {
        const e = entries.find((x) => x.requestId === id);
        assert.ok(e, `${what}: audited`);
        return { model: e.model, status: e.status, decisions: e.decisions, route: e.route, out: e.outputSummary };
      });
      assert.deepEqual(ea, eb, `${what}: the audit entries differ`);
      assert.equal(ea?.model, null, `${what}: a refused name is not recorded as a model`);
    }
  });
});

describe('slowloris', () => {
  interface Slow {
    socket: Socket;
    received: string;
    closed: boolean;
    closedBy: Promise<void>;
  }

  /** A connection that sends `start`, then `drip` every 200 ms, never finishing the request. */
  function slowClient(start: string, drip: string): Promise<Slow> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let timer: NodeJS.Timeout | undefined;
      const slow: Slow = { socket, received: '', closed: false, closedBy: Promise.resolve() };
      slow.closedBy = new Promise((done) => {
        socket.on('close', () => {
          clearInterval(timer);
          slow.closed = true;
          done();
        });
      });
      socket.on('data', (d) => {
        slow.received += d.toString();
      });
      socket.on('error', () => {});
      socket.once('connect', () => {
        socket.write(start);
        timer = setInterval(() => {
          if (!socket.destroyed) socket.write(drip);
        }, 200);
        resolve(slow);
      });
      socket.once('error', reject);
    });
  }

  it('keeps serving other clients while 60 connections drip headers or bodies, then cuts those with 408', async () => {
    const key = gw.keys.full as string;
    const slow: Slow[] = [];
    for (let i = 0; i < 30; i++) {
      slow.push(await slowClient(`POST ${PREDICT} HTTP/1.1\r\nHost: x\r\n`, `X-Drip-${i}: a\r\n`));
      slow.push(
        await slowClient(
          `POST ${PREDICT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n` +
            'Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"inputs": [[',
          '0.1, ',
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 300));

    const answers = await Promise.all(Array.from({ length: 30 }, () => predictAs(gw.keys.rounded as string)));
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [200]);
    const stillOpen = slow.filter((s) => !s.closed).length;
    assert.equal(stillOpen, slow.length, 'the slow clients were still connected while the others were served');

    // The slow ones are cut at the deadline instead of holding their connections forever.
    await Promise.race([
      Promise.all(slow.map((s) => s.closedBy)),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('slow clients still connected')), 10 * REQUEST_TIMEOUT_MS).unref(),
      ),
    ]);
    for (const s of slow) assert.match(s.received, /^HTTP\/1\.1 408 /, s.received.slice(0, 80));
    const later = await predictAs(gw.keys.rounded as string);
    assert.equal(later.status, 200);
  });
});
