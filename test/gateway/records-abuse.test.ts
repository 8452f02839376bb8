/**
 * The records body form (models trained on CSV data) under abuse: field names and values the
 * caller controls must not come back at any length, prototype-ish names are plain unknown fields,
 * and records mixed with arrays are refused by path. A tiny tabular model is trained here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type GatewayFixture, gatewayFixture } from '../helpers/gateway-fixture.js';
import { runCli } from '../helpers/run-cli.js';

const URL_ = '/v1/models/tab/predict';
const GOOD = { age: 30, proto: 'tcp', bytes: 100 };

let dir: string;
let gw: GatewayFixture;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-records-'));
  const protos = ['tcp', 'udp', 'icmp'];
  const rows = Array.from(
    { length: 60 },
    (_, i) => `${20 + ((i * 7) % 50)},${protos[i % 3]},${(i * 131) % 1000},${i % 2 ? 'good' : 'bad'}`,
  );
  writeFileSync(join(dir, 'flows.csv'), `age,proto,bytes,label\n${rows.join('\n')}\n`);
  const out = join(dir, 'tab');
  const trained = await runCli([
    'train',
    '--data',
    join(dir, 'flows.csv'),
    '--label-column',
    'label',
    '--arch',
    'logistic',
    '--epochs',
    '1',
    '--out',
    out,
  ]);
  assert.equal(trained.code, 0, trained.stderr);
  gw = await gatewayFixture({ models: { tab: { path: out } } });
});
after(async () => {
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(payload: string) {
  const res = await gw.app.inject({
    method: 'POST',
    url: URL_,
    headers: { ...gw.auth('full'), 'content-type': 'application/json' },
    payload,
  });
  return { status: res.statusCode, body: res.body, json: JSON.parse(res.body) };
}

describe('records', () => {
  it('are served when well-formed', async () => {
    const res = await post(JSON.stringify({ inputs: [GOOD] }));
    assert.equal(res.status, 200, res.body);
  });

  it('an unknown field named with 100 KB comes back clipped, not whole', async () => {
    const res = await post(JSON.stringify({ inputs: [{ ...GOOD, ['k'.repeat(100_000)]: 1 }] }));
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'invalid_input');
    assert.ok(res.body.length < 2000, `answer of ${res.body.length} bytes`);
    assert.match(res.json.error.issues[0].path, /^inputs\[0\]\.k+…$/);
  });

  it('__proto__, constructor and toString are unknown fields; a record beside an array is refused by path', async () => {
    for (const name of ['__proto__', 'constructor', 'toString']) {
      const res = await post(`{"inputs":[{"age":30,"proto":"tcp","bytes":100,"${name}":{"x":1}}]}`);
      assert.equal(res.status, 400, res.body);
      assert.equal(res.json.error.issues[0].path, `inputs[0].${name}`);
    }
    const mixed = await post(JSON.stringify({ inputs: [GOOD, [1, 2, 3]] }));
    assert.equal(mixed.status, 400);
    assert.equal(mixed.json.error.issues[0].path, 'inputs[1]');
  });
});
