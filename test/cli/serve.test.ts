/**
 * `aegis serve` as users run it: a child process that prints its URL on stdout, logs JSON on
 * stderr, serves keys made by `aegis keys create`, and on SIGTERM/SIGINT lets an in-flight request
 * finish before exiting 0. Bad flags and configs exit 2 in-process, naming what is wrong.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { serveConfig } from '../../src/cli/serve.js';
import { runCli } from '../helpers/run-cli.js';
import { REPO_ROOT, serveChild } from '../helpers/serve-child.js';

const CNN = join(REPO_ROOT, 'test', 'fixtures', 'fmnist_cnn.onnx');
const ROW = Array.from({ length: 784 }, (_, i) => (i % 28) / 28);
const BODY = JSON.stringify({ inputs: [ROW], shape: [1, 28, 28, 1] });

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-serve-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function createKey(dataDir: string, name: string): Promise<string> {
  const run = await runCli(['keys', 'create', '--data-dir', dataDir, '--name', name, '--models', 'cnn']);
  assert.equal(run.code, 0, run.stderr);
  const key = /aegis_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/.exec(run.stdout)?.[0];
  assert.ok(key, run.stdout);
  return key;
}

/** Sends the headers and half the body now, the rest when `finish()` is called; resolves with the raw answer. */
function slowPredict(url: string, key: string): { finish(): void; answer: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const half = Math.floor(BODY.length / 2);
  socket.write(
    `POST /v1/models/cnn/predict HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${key}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\nConnection: close\r\n\r\n` +
      BODY.slice(0, half),
  );
  let out = '';
  socket.on('data', (d) => {
    out += d.toString();
  });
  const answer = new Promise<string>((resolveAnswer) => {
    socket.on('close', () => resolveAnswer(out));
    socket.on('error', () => resolveAnswer(out));
  });
  // write, not end: a half-closed socket makes Node abort the request (httpAllowHalfOpen is false).
  return { finish: () => socket.write(BODY.slice(half)), answer };
}

describe('aegis serve (child process)', () => {
  it('quick form: serves a key made by aegis keys create; SIGTERM drains the in-flight request and exits 0', async () => {
    const dataDir = join(dir, 'quick');
    const key = await createKey(dataDir, 'alice');
    const served = await serveChild(['--model', `cnn=${CNN}`, '--port', '0', '--data-dir', dataDir]);
    try {
      const res = await fetch(`${served.url}/v1/models/cnn/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: BODY,
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { labels: number[]; scores: number[][]; requestId: string };
      assert.equal(body.labels.length, 1);
      assert.equal(body.scores[0]?.length, 10);

      const slow = slowPredict(served.url, key);
      await new Promise((r) => setTimeout(r, 300));
      served.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      // Stopped accepting: a new connection is refused while the old request is still open.
      await assert.rejects(fetch(`${served.url}/healthz`));
      slow.finish();
      const answer = await slow.answer;
      assert.match(answer, /^HTTP\/1\.1 200 OK/);
      assert.match(answer, /"labels":\[\d\]/);
      assert.equal((await served.exit).code, 0);

      assert.equal(served.stdout().trim().split('\n').length, 1, 'stdout carries only the listening line');
      const logs = served
        .stderr()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const request = logs.find((l) => l.msg === 'request' && l.reqId === body.requestId);
      assert.ok(request, 'one JSON log line per request, with its id');
      assert.equal(request.status, 200);
      assert.ok(!served.stderr().includes(key.slice(-43)), 'a key secret reached the log');
    } finally {
      served.child.kill('SIGKILL');
    }
  });

  it('--config aegis.yaml (paths relative to the file, --port overriding it); SIGINT exits 0', async () => {
    const configDir = join(dir, 'conf');
    const dataDir = join(configDir, 'data');
    const key = await createKey(dataDir, 'bob');
    copyFileSync(CNN, join(dir, 'model.onnx'));
    writeFileSync(
      join(configDir, 'aegis.yaml'),
      [
        'server:',
        '  port: 1',
        'dataDir: data',
        'models:',
        '  cnn:',
        '    path: ../model.onnx',
        'tiers:',
        '  default: {output: label}',
        '',
      ].join('\n'),
    );
    const served = await serveChild(['--config', join(configDir, 'aegis.yaml'), '--port', '0', '--log-level', 'warn']);
    try {
      const ready = await fetch(`${served.url}/readyz`);
      assert.equal(ready.status, 200);
      const res = await fetch(`${served.url}/v1/models/cnn/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: BODY,
      });
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys((await res.json()) as object), ['labels', 'model', 'requestId']);
      served.child.kill('SIGINT');
      assert.equal((await served.exit).code, 0);
      assert.equal(served.stderr().trim(), '', 'warn level: nothing to say');
    } finally {
      served.child.kill('SIGKILL');
    }
  });
});

describe('aegis serve: bad flags and configs exit 2', () => {
  it('names the problem', async () => {
    const badYaml = join(dir, 'bad.yaml');
    writeFileSync(badYaml, 'models:\n  cnn: {path: x.onnx}\nlimits:\n  rate: {requests: -1}\n');
    const cases: [string[], RegExp][] = [
      [[], /--config aegis\.yaml, or at least one --model/],
      [['--model', 'cnn'], /--model takes name=path/],
      [['--model', '../x=a.onnx'], /'\.\.\/x' is not a valid model name/],
      [['--model', `cnn=${CNN}`, '--model', `cnn=${CNN}`], /'cnn' is given twice/],
      [['--model', `cnn=${CNN}`, '--port', '99999'], /--port takes a whole number/],
      [['--config', badYaml], /limits\.rate\.requests/],
      [['--config', join(dir, 'missing.yaml')], /cannot read the gateway config/],
      [['--config', badYaml, '--model', `cnn=${CNN}`], /cannot be combined/],
      [
        ['--model', `cnn=${join(dir, 'none.onnx')}`, '--port', '0', '--data-dir', join(dir, 'd2')],
        /models\.cnn\.path: .* does not exist/,
      ],
      [['--model', `cnn=${CNN}`, '--log-level', 'loud'], /--log-level must be one of/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(['serve', ...args]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
  });

  it('exits 2 when the port is taken, and releases the store it opened', async () => {
    const taken = createServer();
    await new Promise<void>((resolveListen) => taken.listen(0, '127.0.0.1', resolveListen));
    const port = (taken.address() as AddressInfo).port;
    try {
      const dataDir = join(dir, 'taken');
      const run = await runCli(['serve', '--model', `cnn=${CNN}`, '--port', String(port), '--data-dir', dataDir]);
      assert.equal(run.code, 2);
      assert.equal(run.stderr, `aegis: cannot listen on 127.0.0.1:${port}: EADDRINUSE\n`);
      assert.equal(run.stdout, '');
      // The store was closed: the keys command can use it at once.
      await createKey(dataDir, 'after');
    } finally {
      taken.close();
    }
  });

  it('builds the quick-form config with absolute paths and the defaults', () => {
    const config = serveConfig({ model: ['cnn=test/fixtures/fmnist_cnn.onnx'], port: '0', dataDir: 'store' });
    assert.equal(config.models.cnn?.path, resolve('test/fixtures/fmnist_cnn.onnx'));
    assert.equal(config.dataDir, resolve('store'));
    assert.equal(config.server.port, 0);
    assert.equal(config.server.host, '127.0.0.1');
    assert.deepEqual(config.tiers, { default: { output: 'full' } });
  });
});
