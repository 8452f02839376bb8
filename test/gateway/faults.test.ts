import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initRuntime } from '../../src/core/runtime.js';
import { ApiKeyStore } from '../../src/gateway/auth/api-keys.js';
import type { ServedModel } from '../../src/gateway/model-registry.js';
import { STORE_FILE } from '../../src/gateway/server.js';
import { GATEWAY_MIGRATIONS } from '../../src/gateway/services.js';
import { openStore } from '../../src/store/store.js';
import {
  auditLogOf,
  CNN_PATH,
  DEFAULT_KEYS,
  type GatewayFixture,
  gatewayFixture,
  testImages,
} from '../helpers/gateway-fixture.js';

const PREDICT = '/v1/models/cnn/predict';
const BODY_LIMIT = 64 * 1024;
const MAX_BATCH = 4;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let gw: GatewayFixture;
let port: number;
let image: number[];
/** Every error answer seen, checked for leaks at the end. */
const errorBodies: string[] = [];

before(async () => {
  await initRuntime();
  gw = await gatewayFixture(
    { server: { bodyLimitBytes: BODY_LIMIT, maxBatch: MAX_BATCH, requestTimeoutMs: 500 } },
    { keys: [...DEFAULT_KEYS, { name: 'revoked', scopes: [{ model: '*', actions: ['predict'] }] }] },
  );
  await gw.app.listen({ host: '127.0.0.1', port: 0 });
  const address = gw.app.server.address();
  port = typeof address === 'object' && address ? address.port : 0;
  image = (await testImages(1)).flat[0] as number[];
});

after(() => gw.close());

/** A request with its path sent exactly as written (no URL normalisation, unlike fetch). */
function send(method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const answer = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() };
        if (answer.status >= 400) errorBodies.push(answer.body);
        resolve(answer);
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function predict(payload: unknown, key = 'full', path = PREDICT): Promise<Answer> {
  return send(
    'POST',
    path,
    { 'content-type': 'application/json', authorization: `Bearer ${gw.keys[key]}` },
    typeof payload === 'string' ? payload : JSON.stringify(payload),
  );
}

/** Writes `text` on a raw socket and collects whatever comes back until the server closes (or `waitMs`). */
function rawExchange(text: string, waitMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (d) => {
      out += d.toString();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.write(text);
  });
}

function issuesOf(answer: Answer): { path: string; message: string }[] {
  return JSON.parse(answer.body).error.issues ?? [];
}

function codeOf(answer: Answer): string {
  return JSON.parse(answer.body).error.code;
}

function nested(rows: number[][]): number[][][][] {
  return rows.map((row) =>
    Array.from({ length: 28 }, (_, h) => Array.from({ length: 28 }, (_, w) => [row[h * 28 + w] as number])),
  );
}

describe('malformed bodies → 400', () => {
  it('refuses JSON that does not parse, including NaN literals', async () => {
    for (const body of ['{"inputs": [[0.1, 0.2]', '{inputs: 1}', '{"inputs": [[NaN]], "shape": [1, 784]}', '']) {
      const res = await predict(body);
      assert.equal(res.status, 400, body);
      assert.equal(codeOf(res), 'bad_request');
    }
  });

  it('names the exact path of a wrong shape', async () => {
    const short = nested([image]);
    short[0]?.[3]?.pop();
    const res = await predict({ inputs: short });
    assert.equal(res.status, 400);
    assert.equal(codeOf(res), 'invalid_input');
    assert.deepEqual(
      issuesOf(res).map((i) => i.path),
      ['inputs[0][3]'],
    );
    const flat = await predict({ inputs: [image.slice(0, 783)], shape: [1, 28, 28, 1] });
    assert.deepEqual(
      issuesOf(flat).map((i) => i.path),
      ['inputs[0]'],
    );
    const shape = await predict({ inputs: [image], shape: [1, 784] });
    assert.deepEqual(issuesOf(shape)[0], {
      path: 'shape',
      message: "expected [1, 28, 28, 1] (examples, then the model's input shape), got [1, 784]",
    });
    const scalar = await predict({ inputs: 7 });
    assert.equal(issuesOf(scalar)[0]?.path, 'inputs');
    const notObject = await predict([1, 2, 3]);
    assert.equal(issuesOf(notObject)[0]?.path, '(body)');
    const unknownField = await predict({ inputs: [image], shape: [1, 28, 28, 1], extra: true });
    assert.deepEqual(issuesOf(unknownField), [{ path: 'extra', message: 'unknown field' }]);
  });

  it('refuses strings, null, infinities and out-of-range values with their paths', async () => {
    const row = [...image] as unknown[];
    row[0] = 'INFINITY';
    row[3] = 'NaN';
    row[10] = null;
    row[20] = 1.5;
    row[30] = -0.1;
    // 1e400 is valid JSON and parses to Infinity.
    const res = await predict(JSON.stringify({ inputs: [row], shape: [1, 28, 28, 1] }).replace('"INFINITY"', '1e400'));
    assert.equal(res.status, 400);
    const issues = issuesOf(res);
    assert.deepEqual(
      issues.map((i) => i.path),
      ['inputs[0][0]', 'inputs[0][3]', 'inputs[0][10]', 'inputs[0][20]', 'inputs[0][30]'],
    );
    assert.match(issues[0]?.message ?? '', /got Infinity/);
    assert.match(issues[1]?.message ?? '', /got the string "NaN"/);
    assert.match(issues[2]?.message ?? '', /got null/);
    assert.match(issues[3]?.message ?? '', /in \[0, 1\], got 1\.5/);
  });

  it('refuses an empty batch and a batch over server.maxBatch', async () => {
    const empty = await predict({ inputs: [], shape: [0, 28, 28, 1] });
    assert.equal(empty.status, 400);
    assert.deepEqual(issuesOf(empty), [{ path: 'inputs', message: 'expected at least 1 example, got 0' }]);
    const big = await predict({ inputs: Array(MAX_BATCH + 1).fill(image), shape: [MAX_BATCH + 1, 28, 28, 1] });
    assert.equal(big.status, 400);
    assert.deepEqual(issuesOf(big), [
      { path: 'inputs', message: `expected at most ${MAX_BATCH} examples, got ${MAX_BATCH + 1}` },
    ]);
    const ok = await predict({ inputs: Array(MAX_BATCH).fill(image), shape: [MAX_BATCH, 28, 28, 1] });
    assert.equal(ok.status, 200);
  });
});

describe('transport faults', () => {
  it('answers a body over bodyLimitBytes with 413, declared or chunked', async () => {
    const huge = JSON.stringify({ inputs: Array(20).fill(image), shape: [20, 28, 28, 1] });
    assert.ok(huge.length > BODY_LIMIT);
    const declared = await predict(huge);
    assert.equal(declared.status, 413);
    assert.equal(codeOf(declared), 'payload_too_large');
    const chunked = await send(
      'POST',
      PREDICT,
      { 'content-type': 'application/json', authorization: `Bearer ${gw.keys.full}`, 'transfer-encoding': 'chunked' },
      huge,
    );
    assert.equal(chunked.status, 413);
  });

  it('answers an unsupported content type with 415', async () => {
    const auth = { authorization: `Bearer ${gw.keys.full}` };
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await send('POST', PREDICT, { ...auth, 'content-type': type }, 'inputs=1');
      assert.equal(res.status, 415, type);
      assert.equal(codeOf(res), 'unsupported_media_type');
    }
    const untyped = await send('POST', PREDICT, auth, '{"inputs": []}');
    assert.equal(untyped.status, 415);
  });

  it('answers 408 to a client that sends headers and then stalls', async () => {
    const answer = await rawExchange(`POST ${PREDICT} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`);
    assert.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.match(answer, /"code":"request_timeout"/);
  });

  it('answers 408 to a body that stops arriving, and the audit log records the 408', async () => {
    const answer = await rawExchange(
      `POST ${PREDICT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${gw.keys.label}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"inputs": [[0.1, ',
    );
    assert.match(answer, /^HTTP\/1\.1 408 /);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const entries = auditLogOf(gw).list({ keyId: gw.keyIds.label, limit: 5 });
    assert.equal(entries[0]?.status, 408);
    assert.deepEqual(entries[0]?.outputSummary, { error: 'request_timeout' });
  });
});

describe('credentials → 401, one answer for every kind of bad key', () => {
  it('refuses missing, malformed, forged, unknown and revoked keys alike', async () => {
    const real = gw.keys.full as string;
    const forged = `${real.slice(0, -4)}${real.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const unknownId = `aegis_000000000000_${real.slice(-43)}`;
    const db = openStore(join(gw.dir, STORE_FILE), GATEWAY_MIGRATIONS);
    try {
      assert.equal(new ApiKeyStore(db).revoke('revoked'), true);
    } finally {
      db.close();
    }
    const cases: [string, Record<string, string>][] = [
      ['missing', {}],
      ['empty bearer', { authorization: 'Bearer ' }],
      ['basic auth', { authorization: `Basic ${Buffer.from(`u:${real}`).toString('base64')}` }],
      ['garbage', { authorization: 'Bearer not-a-key' }],
      ['forged secret', { authorization: `Bearer ${forged}` }],
      ['unknown id', { 'x-api-key': unknownId }],
      ['revoked', { authorization: `Bearer ${gw.keys.revoked}` }],
      ['jwt without jwt config', { authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln' }],
      ['two credentials', { authorization: `Bearer ${real}`, 'x-api-key': real }],
    ];
    const messages = new Set<string>();
    for (const [what, headers] of cases) {
      const res = await send(
        'POST',
        PREDICT,
        { 'content-type': 'application/json', ...headers },
        JSON.stringify({ inputs: [image], shape: [1, 28, 28, 1] }),
      );
      assert.equal(res.status, 401, what);
      const error = JSON.parse(res.body).error;
      assert.equal(error.code, 'unauthorized');
      messages.add(error.message);
    }
    assert.equal(messages.size, 1, 'every bad credential gets the same message');
    const good = await send(
      'POST',
      PREDICT,
      { 'content-type': 'application/json', 'x-api-key': real },
      JSON.stringify({ inputs: [image], shape: [1, 28, 28, 1] }),
    );
    assert.equal(good.status, 200);
  });
});

describe('path tricks on model names → 400/404, never a file', () => {
  it('refuses traversal, encoded slashes and dots, odd and very long names', async () => {
    const tricks: [string, number][] = [
      ['/v1/models/..%2F..%2Fetc%2Fpasswd/predict', 400],
      ['/v1/models/..%2f..%2fetc/predict', 400],
      ['/v1/models/%2e%2e/predict', 400],
      ['/v1/models/%2E%2E%2F%2E%2E%2Fetc/predict', 400],
      ['/v1/models/..%5C..%5Cwindows/predict', 400],
      ['/v1/models/a%2Fb/predict', 400],
      ['/v1/models/.hidden/predict', 400],
      ['/v1/models/cnn%00.onnx/predict', 400],
      ['/v1/models/c%20n%20n/predict', 400],
      ['/v1/models/%ZZ/predict', 400],
      [`/v1/models/${'a'.repeat(65)}/predict`, 400],
      [`/v1/models/${'a'.repeat(5000)}/predict`, 400],
      ['/v1/models/../../etc/passwd', 404],
      ['/v1/models/cnn/../../../etc/passwd', 404],
      // A valid name that is a real file next to the served model: looked up among served names only.
      ['/v1/models/fmnist_cnn.onnx/predict', 404],
      [`/v1/models/${encodeURIComponent(CNN_PATH)}/predict`, 400],
    ];
    for (const [path, status] of tricks) {
      const res = await predict({ inputs: [image], shape: [1, 28, 28, 1] }, 'full', path);
      assert.equal(res.status, status, path.slice(0, 80));
      assert.ok(!res.body.includes('etc') && !res.body.includes('passwd') && !res.body.includes('fixtures'));
    }
  });

  it('answers 403, not 404, to a key not scoped for a name, whether or not it is served (no enumeration)', async () => {
    const served = await predict({ inputs: [image], shape: [1, 28, 28, 1] }, 'other-model');
    const missing = await predict(
      { inputs: [image], shape: [1, 28, 28, 1] },
      'other-model',
      '/v1/models/ghost/predict',
    );
    assert.equal(served.status, 403);
    assert.equal(missing.status, 403);
    assert.equal(JSON.parse(served.body).error.message, JSON.parse(missing.body).error.message);
    // 'other-model' covers the name 'other', which is not served: 404.
    const covered = await predict(
      { inputs: [image], shape: [1, 28, 28, 1] },
      'other-model',
      '/v1/models/other/predict',
    );
    assert.equal(covered.status, 404);
  });
});

describe('error bodies', () => {
  it('turn a model failure into 500 internal without its message, path or stack', async () => {
    const served = gw.registry.get('cnn') as ServedModel & { predict: ServedModel['predict'] };
    const real = served.predict;
    (served as { predict: ServedModel['predict'] }).predict = async () => {
      throw new Error(`ONNX Runtime cannot run '${CNN_PATH}': out of memory`);
    };
    try {
      const res = await predict({ inputs: [image], shape: [1, 28, 28, 1] });
      assert.equal(res.status, 500);
      assert.deepEqual(JSON.parse(res.body).error.code, 'internal');
      assert.equal(JSON.parse(res.body).error.message, 'internal error');
    } finally {
      (served as { predict: ServedModel['predict'] }).predict = real;
    }
  });

  it('never carry a path, a stack or key material, and always have the same shape', () => {
    assert.ok(errorBodies.length > 30, `${errorBodies.length} error answers seen`);
    const secrets = Object.values(gw.keys).map((k) => k.slice(-43));
    for (const body of errorBodies) {
      const parsed = JSON.parse(body);
      assert.deepEqual(Object.keys(parsed), ['error']);
      for (const key of Object.keys(parsed.error)) {
        assert.ok(['code', 'message', 'requestId', 'issues', 'omitted'].includes(key), key);
      }
      assert.ok(!body.includes('/work') && !body.includes(CNN_PATH) && !body.includes('.onnx'), body);
      assert.ok(!/\bat .*\(.*:\d+:\d+\)/.test(body) && !body.includes('Error:'), body);
      for (const secret of secrets) assert.ok(!body.includes(secret), 'a key secret leaked');
      assert.ok(!/scrypt|sqlite|hash/i.test(body), body);
    }
  });
});
