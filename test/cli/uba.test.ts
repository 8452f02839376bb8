import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-uba-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURE = new URL('../fixtures/uba/otrf-purplesharp-sample.jsonl.gz', import.meta.url).pathname;

interface ScoreJson {
  users: { user: string; risk: number; reasons: { feature: string; detail: string; weight: number }[] }[];
  counts: Record<string, number>;
  events: number;
}

describe('aegis uba score', () => {
  it('--json ranks users by risk, highest first; the OTRF operator (pgustavo) is first', async () => {
    const run = await runCli(['uba', 'score', FIXTURE, '--json']);
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as ScoreJson;
    assert.deepEqual(doc.counts, { read: 250, parsed: 208, malformed: 0, ignored: 42, duplicates: 0, outOfOrder: 0 });
    assert.equal(doc.events, 208);
    assert.ok(doc.users.length >= 2);
    for (let i = 1; i < doc.users.length; i++) {
      assert.ok((doc.users[i - 1]?.risk ?? 0) >= (doc.users[i]?.risk ?? 0), 'sorted by risk, descending');
    }
    const top = doc.users[0];
    assert.equal(top?.user, 'pgustavo');
    assert.ok((top?.risk ?? 0) > 0);
    assert.ok((top?.reasons.length ?? 0) > 0, 'the top user comes with reasons');
    assert.ok(
      !doc.users.some((u) => ['system', 'mordordc', 'anonymous logon'].includes(u.user)),
      'machine accounts left out',
    );
  });

  it('--top limits the users; the table names the top user first; --report writes HTML and JSON', async () => {
    const json = await runCli(['uba', 'score', FIXTURE, '--json', '--top', '1']);
    assert.equal((JSON.parse(json.stdout) as ScoreJson).users.length, 1);
    const report = join(dir, 'out', 'uba.html');
    const table = await runCli(['uba', 'score', FIXTURE, '--top', '3', '--report', report]);
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout.trim().split('\n');
    assert.match(rows[0] as string, /user\s+risk\s+peak\s+reasons/);
    assert.match(rows[1] as string, /^\s*1\s+theshire\\pgustavo\s+\d/);
    assert.match(table.stderr, /208 events scored/);
    assert.ok(existsSync(report) && existsSync(join(dir, 'out', 'uba.json')));
    assert.match(readFileSync(report, 'utf8'), /<td>theshire\\pgustavo<\/td>/);
    const peak = JSON.parse((await runCli(['uba', 'score', FIXTURE, '--json', '--rank-by', 'peak'])).stdout) as {
      users: { user: string; risk: number; peakRisk: number }[];
    };
    assert.equal(peak.users[0]?.user, 'pgustavo');
    assert.ok(
      peak.users.every((u) => u.peakRisk >= u.risk - 1e-9),
      'peak is never below the final risk',
    );
  });

  it('reads auth.log with --year and a CSV side by side', async () => {
    const auth = join(dir, 'auth.log');
    writeFileSync(
      auth,
      [
        'Mar  3 10:15:01 bastion sshd[1]: Accepted password for alice from 10.0.0.5 port 1 ssh2',
        'Mar  3 10:16:01 bastion sshd[1]: Failed password for root from 203.0.113.9 port 2 ssh2',
        'garbage line',
      ].join('\n'),
    );
    const csv = join(dir, 'events.csv');
    writeFileSync(csv, 'user,time,host,source,action,outcome\nbob,2021-03-03T11:00:00Z,ws1,10.0.0.9,logon,success\n');
    const run = await runCli(['uba', 'score', auth, csv, '--year', '2021', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as ScoreJson;
    assert.deepEqual(doc.users.map((u) => u.user).sort(), ['alice', 'bob', 'root']);
    assert.equal(doc.counts.malformed, 1);
    const perFile = (
      JSON.parse(run.stdout) as { perFile: { path: string; format: string; counts: { malformed: number } }[] }
    ).perFile;
    assert.deepEqual(
      perFile.map((p) => [p.path, p.format, p.counts.malformed]),
      [
        [auth, 'auth-log', 1],
        [csv, 'csv', 0],
      ],
    );
  });

  it('exits 2 with one message for missing files and bad flags', async () => {
    const missing = await runCli(['uba', 'score', join(dir, 'nope.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /does not exist/);
    const format = await runCli(['uba', 'score', FIXTURE, '--format', 'evtx']);
    assert.equal(format.code, 2);
    assert.match(format.stderr, /--format takes/);
  });
});

describe('aegis uba ingest / users', () => {
  it('saves per-user risk and the run counts to the store; users lists them highest first', async () => {
    const store = join(dir, 'store.db');
    const ingest = await runCli(['uba', 'ingest', FIXTURE, '--store', store, '--json']);
    assert.equal(ingest.code, 0, ingest.stderr);
    const result = JSON.parse(ingest.stdout) as { users: number; counts: Record<string, number>; run: number };
    assert.ok(result.users >= 2);
    assert.equal(result.counts.parsed, 208);
    const users = await runCli(['uba', 'users', '--store', store, '--json']);
    assert.equal(users.code, 0, users.stderr);
    const listed = JSON.parse(users.stdout) as {
      users: { user: string; risk: number; reasons: unknown[] }[];
      total: number;
      lastIngest: { id: number; counts: Record<string, number> };
    };
    assert.equal(listed.total, result.users);
    assert.equal(listed.users[0]?.user, 'pgustavo');
    assert.ok((listed.users[0]?.risk ?? 0) > 0);
    assert.equal(listed.lastIngest.id, result.run);
    assert.equal(listed.lastIngest.counts.ignored, 42);
    const table = await runCli(['uba', 'users', '--store', store]);
    assert.match(table.stdout, /pgustavo/);
    assert.match(table.stderr, /last ingest \(run \d+\)/);
  });

  it('a second ingest continues from the saved baselines: two days ingested apart score as one stream', async () => {
    // Day 1: carol's routine (ws1 from 10.0.0.7, office hours). Day 2: the same, then a 3 a.m. logon to a new host.
    const header = 'user,time,host,source,action,outcome\n';
    const day = (d: number) =>
      Array.from(
        { length: 30 },
        (_, i) =>
          `carol,2021-03-0${d}T${String(9 + (i % 8)).padStart(2, '0')}:${String(i).padStart(2, '0')}:00Z,ws1,10.0.0.7,logon,success`,
      );
    const first = join(dir, 'day1.csv');
    const second = join(dir, 'day2.csv');
    writeFileSync(first, `${header}${day(1).join('\n')}\n`);
    writeFileSync(
      second,
      `${header}${[...day(2), 'carol,2021-03-03T03:00:00Z,db9,10.0.0.7,logon,success'].join('\n')}\n`,
    );
    const store = join(dir, 'continue.db');
    assert.equal((await runCli(['uba', 'ingest', first, '--store', store])).code, 0);
    const again = await runCli(['uba', 'ingest', second, '--store', store, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { continued: { users: number } | null }).continued?.users, 1);
    const stored = JSON.parse((await runCli(['uba', 'users', '--store', store, '--json'])).stdout) as ScoreJson;
    const whole = JSON.parse((await runCli(['uba', 'score', first, second, '--json'])).stdout) as ScoreJson;
    const carol = (doc: ScoreJson) => doc.users.find((u) => u.user === 'carol');
    assert.ok((carol(whole)?.risk ?? 0) > 0, 'the new host at 3 a.m. raises risk');
    assert.ok(Math.abs((carol(stored)?.risk ?? -1) - (carol(whole)?.risk ?? -2)) < 1e-9, 'same risk as one stream');
    // --fresh forgets day 1: day 2's first events are then a new user's, not a routine's.
    const fresh = await runCli(['uba', 'ingest', second, '--store', store, '--fresh', '--json']);
    assert.equal((JSON.parse(fresh.stdout) as { continued: unknown }).continued, null);
  });

  it('users on a store that does not exist exits 2', async () => {
    const run = await runCli(['uba', 'users', '--store', join(dir, 'absent.db')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /no store at/);
    assert.equal(existsSync(join(dir, 'absent.db')), false, 'not created by a read');
  });
});
