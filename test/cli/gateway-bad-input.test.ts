/**
 * Bad input to the gateway's commands that the other CLI tests do not cover: a data directory that
 * is a file, a host that does not resolve, an audit journal that cannot be read or holds records
 * with missing fields. Each is one message and exit 2 (or, for a damaged journal, verify's exit 1),
 * never a stack trace.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { serveConfig } from '../../src/cli/serve.js';
import { AegisInputError } from '../../src/core/errors.js';
import { JOURNAL_FILE } from '../../src/gateway/audit/audit-journal.js';
import { CNN_PATH, createKeys } from '../helpers/gateway-fixture.js';
import { runCli } from '../helpers/run-cli.js';

let dir: string;
let aFile: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-gw-bad-input-'));
  aFile = join(dir, 'a-file');
  writeFileSync(aFile, 'not a directory\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function assertOneMessage(run: { code: number; stderr: string; stdout: string }, pattern: RegExp): void {
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, pattern);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.ok(!/\n\s+at /.test(run.stderr), 'no stack trace');
}

test('serve: a --data-dir that is a file, or lies under one, exits 2 naming it', async () => {
  assertOneMessage(
    await runCli(['serve', '--model', `cnn=${CNN_PATH}`, '--port', '0', '--data-dir', aFile]),
    /data directory '.*a-file' cannot be used: it is a file, not a directory/,
  );
  assertOneMessage(
    await runCli(['serve', '--model', `cnn=${CNN_PATH}`, '--port', '0', '--data-dir', join(aFile, 'sub')]),
    /data directory '.*a-file\/sub' cannot be used: a part of the path is a file/,
  );
});

test('serve: a --host that does not resolve exits 2 naming it', async () => {
  assertOneMessage(
    await runCli([
      'serve',
      '--model',
      `cnn=${CNN_PATH}`,
      '--port',
      '0',
      '--host',
      'no-such-host.invalid',
      '--data-dir',
      join(dir, 'host'),
    ]),
    /cannot listen on no-such-host\.invalid:0: (ENOTFOUND|EAI_AGAIN|EAI_FAIL)/,
  );
});

test('keys create: a --data-dir that is a file exits 2 naming it', async () => {
  assertOneMessage(
    await runCli(['keys', 'create', '--data-dir', aFile, '--name', 'alice', '--models', 'cnn']),
    /data directory '.*a-file' cannot be used/,
  );
});

test('keys create: an empty --data-dir exits 2 saying so', async () => {
  assertOneMessage(
    await runCli(['keys', 'create', '--data-dir', '', '--name', 'alice', '--models', 'cnn']),
    /the data directory is an empty string/,
  );
});

test('audit verify/show and serve: an audit.journal that is a directory or a FIFO exits 2 naming it', async () => {
  const dirJournal = join(dir, 'journal-dir');
  mkdirSync(dirJournal);
  createKeys(dirJournal, []);
  mkdirSync(join(dirJournal, JOURNAL_FILE));
  const fifoJournal = join(dir, 'journal-fifo');
  mkdirSync(fifoJournal);
  createKeys(fifoJournal, []);
  execFileSync('mkfifo', [join(fifoJournal, JOURNAL_FILE)]);
  // Before the fix a FIFO blocked the read: a late writer unblocks it so that the test fails instead of hanging.
  const writer = spawn('sh', ['-c', `sleep 5; while true; do printf x > '${join(fifoJournal, JOURNAL_FILE)}'; done`], {
    stdio: 'ignore',
    detached: true,
  });
  try {
    for (const dataDir of [dirJournal, fifoJournal]) {
      for (const command of ['verify', 'show']) {
        assertOneMessage(
          await runCli(['audit', command, '--data-dir', dataDir]),
          /cannot read the audit journal '.*audit\.journal': not a regular file/,
        );
      }
      assertOneMessage(
        await runCli(['serve', '--model', `cnn=${CNN_PATH}`, '--port', '0', '--data-dir', dataDir]),
        /cannot read the audit journal '.*audit\.journal': not a regular file/,
      );
    }
  } finally {
    if (writer.pid !== undefined) process.kill(-writer.pid, 'SIGKILL');
  }
});

test('audit: a journal line missing fields is damage (verify exits 1 naming the line), and show lists the rest and says so', async () => {
  const dataDir = join(dir, 'journal-holes');
  mkdirSync(dataDir);
  createKeys(dataDir, []);
  const whole = {
    time: '2026-01-01T00:00:00.000Z',
    requestId: 'r-whole',
    keyId: null,
    model: null,
    method: 'GET',
    route: '/v1/models',
    status: 401,
    inputDigest: null,
    outputSummary: null,
    decisions: [{ stage: 'auth', outcome: 'denied' }],
    latencyMs: 0.5,
  };
  const lines = [
    { entry: whole },
    { entry: { requestId: 'r-holes', time: '2026-01-01T00:00:00Z', status: 200 } },
    { entry: { ...whole, requestId: 'r-decisions', decisions: 'nope' } },
    { entry: { ...whole, requestId: 'r-latency', latencyMs: 'slow' } },
  ];
  writeFileSync(join(dataDir, JOURNAL_FILE), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  const verify = await runCli(['audit', 'verify', '--data-dir', dataDir]);
  assert.equal(verify.code, 1, verify.stderr);
  assert.match(verify.stdout, /JOURNAL DAMAGED: 3 line\(s\) are not journal records \(line 2, 3, 4\)/);
  assert.match(verify.stdout, /journal: 1 answered request not yet folded/);
  const show = await runCli(['audit', 'show', '--data-dir', dataDir]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /pending .* 401 .* GET \/v1\/models/);
  assert.match(
    show.stderr,
    /audit\.journal has 3 damaged line\(s\), not shown \(line 2, 3, 4\); see aegis audit verify/,
  );
});

test('serve: --port takes digits only (an empty $PORT is not port 0), --data-dir no empty string', () => {
  for (const port of ['', ' ', '0x50', '1e3', '80.0', '-0']) {
    assert.throws(
      () => serveConfig({ model: [`cnn=${CNN_PATH}`], port }),
      (e: unknown) => e instanceof AegisInputError && /--port takes a whole number in \[0, 65535\]/.test(e.message),
      `--port '${port}'`,
    );
  }
  assert.equal(serveConfig({ model: [`cnn=${CNN_PATH}`], port: '8080' }).server.port, 8080);
  assert.throws(
    () => serveConfig({ model: [`cnn=${CNN_PATH}`], dataDir: '' }),
    (e: unknown) => e instanceof AegisInputError && /--data-dir takes a directory/.test(e.message),
  );
});

test('audit show: a --limit past 2^53 lists everything instead of failing in SQLite', async () => {
  const dataDir = join(dir, 'huge-limit');
  mkdirSync(dataDir);
  createKeys(dataDir, []);
  const run = await runCli(['audit', 'show', '--data-dir', dataDir, '--limit', '99999999999999999999']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'no audit entries\n');
});

test('serve: a model path or config that is a FIFO exits 2 at once instead of blocking on the read', async () => {
  const modelFifo = join(dir, 'fifo.onnx');
  const configFifo = join(dir, 'fifo.yaml');
  execFileSync('mkfifo', [modelFifo, configFifo]);
  // Before the fix the read blocked the whole process: a late writer unblocks it so that the test fails instead of hanging.
  const writer = spawn('sh', ['-c', `sleep 5; printf x > '${modelFifo}' & printf x > '${configFifo}'`], {
    stdio: 'ignore',
    detached: true,
  });
  try {
    assertOneMessage(
      await runCli(['serve', '--model', `cnn=${modelFifo}`, '--port', '0', '--data-dir', join(dir, 'fifo-data')]),
      /models\.cnn\.path: '.*fifo\.onnx' is not a regular file/,
    );
    assertOneMessage(
      await runCli(['serve', '--config', configFifo, '--port', '0']),
      /cannot read the gateway config '.*fifo\.yaml': not a regular file/,
    );
  } finally {
    if (writer.pid !== undefined) process.kill(-writer.pid, 'SIGKILL');
  }
});
