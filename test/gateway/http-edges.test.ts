/**
 * HTTP edge cases the other gateway tests leave out: ambiguous credentials (two Authorization
 * headers, which Node would silently reduce to the first), a charset other than UTF-8, and a
 * compressed body. Each gets the documented status and the `{"error": {code, message, requestId}}`
 * shape, and is in the audit log.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { auditLogOf, type GatewayFixture, gatewayFixture, testImages } from '../helpers/gateway-fixture.js';

const PREDICT = '/v1/models/cnn/predict';

let gw: GatewayFixture;
let port: number;
let body: string;

before(async () => {
  gw = await gatewayFixture();
  await gw.app.listen({ host: '127.0.0.1', port: 0 });
  port = (gw.app.server.address() as { port: number }).port;
  const { flat } = await testImages(1);
  body = JSON.stringify({ inputs: flat, shape: [1, 28, 28, 1] });
});
after(() => gw.close());

/** Sends raw request bytes (header lines as given, repeated ones too) and resolves with status and body. */
function rawRequest(head: string[], payload: string | Buffer = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    socket.on('data', (d) => {
      out += d.toString();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(out)?.[1]);
      resolve({ status, body: out.slice(out.indexOf('\r\n\r\n') + 4) });
    });
    socket.write(`${[...head, 'Host: 127.0.0.1', 'Connection: close'].join('\r\n')}\r\n\r\n`);
    socket.write(payload);
  });
}

function assertError(answer: { status: number; body: string }, status: number, code: string): string {
  assert.equal(answer.status, status, answer.body);
  const parsed = JSON.parse(answer.body) as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(parsed.error).sort(), ['code', 'message', 'requestId']);
  assert.equal(parsed.error.code, code);
  return parsed.error.requestId as string;
}

describe('two Authorization headers', () => {
  it('are refused with 401 whichever one is valid (Node would use only the first)', async () => {
    const key = gw.keys.full as string;
    for (const [first, second] of [
      [key, 'forged'],
      ['forged', key],
      [key, key],
    ]) {
      const answer = await rawRequest([
        'GET /v1/models HTTP/1.1',
        `Authorization: Bearer ${first}`,
        `Authorization: Bearer ${second}`,
      ]);
      const requestId = assertError(answer, 401, 'unauthorized');
      assert.ok(!answer.body.includes(key));
      const entry = auditLogOf(gw)
        .list({ limit: 5 })
        .find((e) => e.requestId === requestId);
      assert.equal(entry?.status, 401);
      assert.equal(entry?.keyId, null);
    }
  });

  it('while one Authorization header is still served', async () => {
    const answer = await rawRequest(['GET /v1/models HTTP/1.1', `Authorization: Bearer ${gw.keys.full}`]);
    assert.equal(answer.status, 200, answer.body);
  });
});

describe('request bodies that are not UTF-8 JSON', () => {
  const post = (contentType: string, extra: Record<string, string> = {}, payload: string | Buffer = body) =>
    gw.app.inject({
      method: 'POST',
      url: PREDICT,
      headers: { ...gw.auth('full'), 'content-type': contentType, ...extra },
      payload,
    });

  it('a charset other than UTF-8 is 415', async () => {
    for (const type of ['application/json; charset=latin1', 'application/json;charset="utf-16"']) {
      const res = await post(type);
      assertError({ status: res.statusCode, body: res.body }, 415, 'unsupported_media_type');
      assert.match(res.body, /UTF-8/);
    }
  });

  it('UTF-8 in any spelling, or no charset, is served', async () => {
    for (const type of [
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset="UTF-8"',
      'application/json;charset=utf8',
      'APPLICATION/JSON',
    ]) {
      const res = await post(type);
      assert.equal(res.statusCode, 200, `${type}: ${res.body}`);
    }
  });

  it('a Content-Encoding (a gzipped body) is 415, not "not valid JSON"', async () => {
    const res = await post('application/json', { 'content-encoding': 'gzip' }, gzipSync(body));
    assertError({ status: res.statusCode, body: res.body }, 415, 'unsupported_media_type');
    assert.match(res.body, /uncompressed/);
    const identity = await post('application/json', { 'content-encoding': 'identity' });
    assert.equal(identity.statusCode, 200, identity.body);
  });
});

describe('a Transfer-Encoding other than chunked', () => {
  it('is 415 (Node would hand over the still-compressed bytes as the body)', async () => {
    const gz = gzipSync(body);
    const chunked = Buffer.concat([Buffer.from(`${gz.length.toString(16)}\r\n`), gz, Buffer.from('\r\n0\r\n\r\n')]);
    const answer = await rawRequest(
      [
        'POST /v1/models/cnn/predict HTTP/1.1',
        `Authorization: Bearer ${gw.keys.full}`,
        'Content-Type: application/json',
        'Transfer-Encoding: gzip, chunked',
      ],
      chunked,
    );
    assertError(answer, 415, 'unsupported_media_type');
    assert.match(answer.body, /chunked/);
  });
});

describe('URLs fastify refuses before routing (bad percent-encoding, an over-long name)', () => {
  const urls = ['/v1/models/%E0%A4%A/predict', '/v1/monitoring/%C0%AE%C0%AE', `/v1/models/${'a'.repeat(3000)}/predict`];

  async function assertAudited(fixture: GatewayFixture): Promise<void> {
    for (const url of urls) {
      const res = await fixture.app.inject({
        method: 'POST',
        url,
        headers: { ...fixture.auth('full'), 'content-type': 'application/json' },
        payload: '{}',
      });
      const requestId = assertError({ status: res.statusCode, body: res.body }, 400, 'bad_request');
      assert.equal(res.headers['x-request-id'], requestId, 'the request id header, as on every answer');
      assert.ok(!res.body.includes('%') && !res.body.includes('aaaa'), 'the URL is not echoed');
      const entry = auditLogOf(fixture)
        .list({ limit: 20 })
        .find((e) => e.requestId === requestId);
      assert.ok(entry, `${url.slice(0, 40)}: in the audit log`);
      assert.equal(entry.status, 400);
      assert.equal(entry.route, 'unmatched');
      assert.deepEqual(entry.outputSummary, { error: 'bad_request' });
    }
  }

  it('are answered in the error shape with x-request-id, and audited (journal mode)', async () => {
    await assertAudited(gw);
  });

  it('and audited in commit mode too', async () => {
    const commit = await gatewayFixture({ audit: { mode: 'commit' } });
    try {
      await assertAudited(commit);
      assert.equal(auditLogOf(commit).verify().ok, true, 'the chain stays intact');
    } finally {
      await commit.close();
    }
  });

  it('outside /v1 they get the error shape and request id, and are not audited (like /healthz)', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/%E0%A4%A' });
    const requestId = assertError({ status: res.statusCode, body: res.body }, 400, 'bad_request');
    assert.equal(res.headers['x-request-id'], requestId);
    assert.equal(
      auditLogOf(gw)
        .list({ limit: 50 })
        .some((e) => e.requestId === requestId),
      false,
    );
  });
});
