/** `aegis audit verify|show|head`: exit 0 intact, 1 tampered (the seq named), 2 bad input; anchors. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { filledStore } from '../gateway/audit/audit-fixture.js';
import { runCli } from '../helpers/run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'aegis-audit-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
/** A data dir whose store holds n entries; the db is closed so the CLI opens it like an operator would. */
function dataDir(n: number) {
  const dir = join(root, `d${++counter}`);
  const { db } = filledStore(dir, 'aegis.db', n);
  return {
    dir,
    sql: (text: string) => db.prepare(text).run(),
    close: () => db.close(),
  };
}

test('verify an intact log (exit 0), head prints SEQ:HASH, a truncated tail fails only against it', async () => {
  const d = dataDir(30);
  const ok = await runCli(['audit', 'verify', '--data-dir', d.dir]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^OK {2}.*aegis\.db: 30 rows/);
  const head = await runCli(['audit', 'head', '--data-dir', d.dir]);
  assert.equal(head.code, 0);
  assert.match(head.stdout, /^30:[0-9a-f]{64}\n$/);
  const anchor = head.stdout.trim();

  d.sql('DELETE FROM audit_log WHERE seq > 27');
  assert.equal((await runCli(['audit', 'verify', '--data-dir', d.dir])).code, 0, 'a shorter chain is still a chain');
  const cut = await runCli(['audit', 'verify', '--data-dir', d.dir, '--expect-head', anchor]);
  assert.equal(cut.code, 1);
  assert.match(cut.stdout, /^TAMPERED/);
  assert.match(cut.stdout, /seq 28 +deleted +the log ends at seq 27 but the saved anchor is seq 30/);
  const json = await runCli(['audit', 'verify', '--data-dir', d.dir, '--expect-head', anchor, '--json']);
  assert.equal(json.code, 1);
  const result = JSON.parse(json.stdout);
  assert.equal(result.ok, false);
  assert.equal(result.rows, 27);
  assert.deepEqual(result.anchor, { seq: 30, hash: anchor.slice(3), matches: false });
  d.close();
});

test('verify names the edited and deleted rows and exits 1', async () => {
  const d = dataDir(20);
  d.sql(`UPDATE audit_log SET record = json_set(record, '$.model', 'other') WHERE seq = 4`);
  d.sql('DELETE FROM audit_log WHERE seq = 11');
  const run = await runCli(['audit', 'verify', '--data-dir', d.dir]);
  assert.equal(run.code, 1);
  assert.match(run.stdout, /19 rows, 2 problems/);
  assert.match(run.stdout, /seq 4 +edited +the record does not match its hash/);
  assert.match(run.stdout, /seq 11 +deleted +row 11 is missing/);
  const json = JSON.parse((await runCli(['audit', 'verify', '--data-dir', d.dir, '--json'])).stdout);
  assert.deepEqual(
    json.problems.map((p: { seq: number; kind: string }) => [p.seq, p.kind]),
    [
      [4, 'edited'],
      [11, 'deleted'],
    ],
  );
  d.sql('DROP TABLE audit_log');
  const dropped = await runCli(['audit', 'verify', '--data-dir', d.dir]);
  assert.equal(dropped.code, 1);
  assert.match(dropped.stdout, /audit_log table was dropped/);
  d.close();
});

test('show lists entries newest first, filtered by key and model', async () => {
  const d = dataDir(12);
  const run = await runCli(['audit', 'show', '--data-dir', d.dir, '--limit', '2', '--key', 'key-1']);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^seq +time +status +key +model +request +latency +decisions$/);
  assert.match(
    lines[1],
    /^7 +2026-01-01T00:00:07\.000Z +200 +key-1 +mlp +POST \/v1\/models\/:name\/predict +0\.26 ms +auth:allowed/,
  );
  assert.match(lines[2], /^4 +\S+ +200 +key-1 +cnn /);
  const cnn = await runCli(['audit', 'show', '--data-dir', d.dir, '--key', 'key-1', '--model', 'cnn']);
  assert.deepEqual(
    cnn.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(' ')[0]),
    ['4'],
  );
  const json = JSON.parse((await runCli(['audit', 'show', '--data-dir', d.dir, '--json', '--limit', '3'])).stdout);
  assert.deepEqual(
    json.map((e: { seq: number }) => e.seq),
    [12, 11, 10],
  );
  assert.deepEqual(json[0].outputSummary, { rows: 1, labels: [2] });
  d.close();
});

test('an empty log: head is 0 and the genesis hash, and verifies against it', async () => {
  const d = dataDir(0);
  const head = await runCli(['audit', 'head', '--data-dir', d.dir]);
  assert.equal(head.stdout, `0:${'0'.repeat(64)}\n`);
  const run = await runCli(['audit', 'verify', '--data-dir', d.dir, '--expect-head', head.stdout.trim()]);
  assert.equal(run.code, 0, run.stdout);
  assert.match(run.stdout, /^OK {2}.*: 0 rows/);
  assert.equal(
    (await runCli(['audit', 'verify', '--data-dir', d.dir, '--expect-head', `1:${'a'.repeat(64)}`])).code,
    1,
  );
  d.close();
});

test('bad input exits 2 with one message', async () => {
  const d = dataDir(3);
  const anchor = await runCli(['audit', 'verify', '--data-dir', d.dir, '--expect-head', '3:abc']);
  assert.equal(anchor.code, 2);
  assert.match(anchor.stderr, /an audit anchor is SEQ:HASH/);
  const missing = await runCli(['audit', 'verify', '--data-dir', join(root, 'nowhere')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no store at '.*nowhere.*aegis\.db'/);
  const limit = await runCli(['audit', 'show', '--data-dir', d.dir, '--limit', '0']);
  assert.equal(limit.code, 2);
  assert.match(limit.stderr, /--limit takes a positive whole number/);
  d.close();
});
