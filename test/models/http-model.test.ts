import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AccessError, AegisInputError } from '../../src/core/errors.js';
import { initRuntime, tf } from '../../src/core/runtime.js';
import { HttpModel, type HttpModelOptions, Semaphore } from '../../src/models/http-model.js';

/**
 * A toy remote model on 4 features: P(class 1) = first feature, so label = first feature > 0.5.
 * Paths pick a behaviour; the server records requests and the most requests in flight at once.
 */
const state = { requests: 0, inFlight: 0, maxInFlight: 0, failFirst: 0, shapes: [] as number[][] };
let server: Server;
let base = '';

function toyScores(rows: number[][]): number[][] {
  return rows.map((r) => [1 - (r[0] ?? 0), r[0] ?? 0]);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  state.requests++;
  state.inFlight++;
  state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { inputs: number[][]; shape: number[] };
  state.shapes.push(body.shape);
  const send = (status: number, payload: string, delayMs = 0) =>
    setTimeout(() => {
      state.inFlight--;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(payload);
    }, delayMs);
  const rows = body.inputs;
  switch (req.url) {
    case '/scores':
      return void send(200, JSON.stringify({ scores: toyScores(rows) }), 30);
    case '/labels':
      return void send(200, JSON.stringify({ labels: rows.map((r) => ((r[0] ?? 0) > 0.5 ? 1 : 0)) }));
    case '/flaky':
      if (state.requests <= state.failFirst) {
        return void send(state.requests % 2 ? 503 : 429, '{"error":"busy"}');
      }
      return void send(200, JSON.stringify({ scores: toyScores(rows) }));
    case '/always-500':
      return void send(500, 'internal error');
    case '/forbidden':
      return void send(403, '{"error":"bad api key"}');
    case '/slow':
      return void send(200, JSON.stringify({ scores: toyScores(rows) }), 400);
    case '/short':
      return void send(200, JSON.stringify({ scores: toyScores(rows).slice(1) }));
    case '/nan':
      return void send(200, JSON.stringify({ scores: toyScores(rows).map((r, i) => (i === 1 ? [Number.NaN, 1] : r)) }));
    case '/not-json':
      return void send(200, '<html>oops</html>');
    case '/bad-label':
      return void send(200, JSON.stringify({ labels: rows.map(() => 7) }));
    case '/custom':
      return void send(200, JSON.stringify({ probabilities: toyScores((body as unknown as { x: number[][] }).x) }));
    default:
      return void send(404, 'not found');
  }
}

function model(path: string, extra: Partial<HttpModelOptions> = {}): HttpModel {
  return new HttpModel({
    url: `${base}${path}`,
    access: 'scores',
    inputShape: [4],
    numClasses: 2,
    backoffMs: 1,
    ...extra,
  });
}

/** n rows whose first feature alternates 0.2 / 0.9 (labels 0 / 1). */
function inputs(n: number): tf.Tensor2D {
  const values = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) values[i * 4] = i % 2 ? 0.9 : 0.2;
  return tf.tensor2d(values, [n, 4]);
}

before(async () => {
  await initRuntime();
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  Object.assign(state, { requests: 0, inFlight: 0, maxInFlight: 0, failFirst: 0, shapes: [] });
});

describe('HttpModel', () => {
  it('returns scores in input order, splits batches and counts queries', async () => {
    const m = model('/scores', { maxBatch: 4 });
    const x = inputs(10);
    const scores = await m.predictScores(x);
    assert.deepEqual(scores.shape, [10, 2]);
    const values = Array.from(await scores.data());
    for (let i = 0; i < 10; i++) assert.ok(Math.abs((values[i * 2 + 1] ?? 0) - (i % 2 ? 0.9 : 0.2)) < 1e-6);
    assert.deepEqual(state.shapes.map((s) => s.join('x')).sort(), ['2x4', '4x4', '4x4']);
    assert.equal(m.queries, 10);
    assert.deepEqual(Array.from(await m.predictLabels(x)), [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    assert.equal(m.queries, 20);
    tf.dispose([x, scores]);
  });

  it('never has more than `concurrency` requests in flight', async () => {
    const x = inputs(40);
    const m = model('/scores', { maxBatch: 2, concurrency: 3 });
    await m.predictLabels(x);
    assert.equal(state.requests, 20);
    assert.ok(state.maxInFlight <= 3, `server saw ${state.maxInFlight} requests at once`);
    assert.ok(state.maxInFlight >= 2, 'requests did overlap');
    state.maxInFlight = 0;
    await model('/scores', { maxBatch: 2 }).predictLabels(x);
    assert.ok(state.maxInFlight <= 4, `default limit 4, server saw ${state.maxInFlight}`);
    x.dispose();
  });

  it('retries 503 and 429 with backoff, then succeeds', async () => {
    state.failFirst = 3;
    const m = model('/flaky', { retries: 3 });
    const x = inputs(6);
    assert.deepEqual(Array.from(await m.predictLabels(x)), [0, 1, 0, 1, 0, 1]);
    assert.equal(state.requests, 4);
    assert.equal(m.requests, 4);
    assert.equal(m.queries, 6, 'failed attempts are not answered queries');
    x.dispose();
  });

  it('gives up after the retries with an AegisInputError naming the endpoint', async () => {
    const x = inputs(2);
    await assert.rejects(model('/always-500', { retries: 2 }).predictLabels(x), (e: unknown) => {
      assert.ok(e instanceof AegisInputError);
      assert.match(e.message, /always-500 failed after 3 attempts: HTTP 500 internal error/);
      return true;
    });
    assert.equal(state.requests, 3);
    state.requests = 0;
    await assert.rejects(model('/forbidden').predictLabels(x), /answered HTTP 403 .*bad api key/);
    assert.equal(state.requests, 1, '4xx other than 429 is not retried');
    await assert.rejects(
      model('/slow', { retries: 1, timeoutMs: 50 }).predictLabels(x),
      /failed after 2 attempts: timed out after 50 ms/,
    );
    x.dispose();
  });

  it('retries network errors (connection refused)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const m = new HttpModel({
      url: `http://127.0.0.1:${port}/`,
      access: 'scores',
      inputShape: [4],
      numClasses: 2,
      retries: 2,
      backoffMs: 1,
    });
    const x = inputs(1);
    await assert.rejects(m.predictScores(x), /failed after 3 attempts: ECONNREFUSED/);
    assert.equal(m.requests, 3);
    assert.equal(m.queries, 0);
    x.dispose();
  });

  it('rejects malformed answers: wrong length, NaN, non-JSON, labels out of range', async () => {
    const x = inputs(3);
    await assert.rejects(
      model('/short').predictScores(x),
      /\/short sent a malformed answer: 2 score rows for 3 inputs/,
    );
    await assert.rejects(model('/nan').predictScores(x), /score null at row 1, class 0 is not a finite number/);
    await assert.rejects(model('/not-json').predictScores(x), /not-json answered with invalid JSON: <html>oops/);
    await assert.rejects(
      model('/bad-label', { access: 'labels' }).predictLabels(x),
      /label 7 of row 0 is not in \[0, 1\]/,
    );
    await assert.rejects(model('/labels').predictScores(x), /no 'scores' array/);
    assert.equal(state.requests, 5, 'malformed answers are not retried');
    x.dispose();
  });

  it('a labels-only endpoint grants labels, not scores; a scores endpoint can be used as labels-only', async () => {
    const x = inputs(4);
    const labelsOnly = model('/labels', { access: 'labels' });
    assert.deepEqual(Array.from(await labelsOnly.predictLabels(x)), [0, 1, 0, 1]);
    await assert.rejects(labelsOnly.predictScores(x), AccessError);
    assert.deepEqual(Array.from(await model('/scores', { access: 'labels' }).predictLabels(x)), [0, 1, 0, 1]);
    x.dispose();
  });

  it('supports other JSON field names and checks the input shape', async () => {
    const x = inputs(2);
    const m = model('/custom', { fields: { inputs: 'x', scores: 'probabilities' } });
    assert.deepEqual(Array.from(await m.predictLabels(x)), [0, 1]);
    const wrong = tf.zeros([2, 3]);
    await assert.rejects(m.predictLabels(wrong), /expects inputs of shape \[batch, 4\], got \[2,3\]/);
    assert.throws(() => model('/scores', { concurrency: 0 }), /concurrency must be an integer >= 1/);
    assert.throws(
      () => new HttpModel({ url: 'ftp://x', access: 'scores', inputShape: [4], numClasses: 2 }),
      /http\(s\)/,
    );
    tf.dispose([x, wrong]);
  });
});

describe('Semaphore', () => {
  it('admits at most max holders and serves waiters in order', async () => {
    const s = new Semaphore(2);
    const order: number[] = [];
    let active = 0;
    let peak = 0;
    await Promise.all(
      [0, 1, 2, 3, 4].map(async (i) => {
        await s.acquire();
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        order.push(i);
        active--;
        s.release();
      }),
    );
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
  });
});
