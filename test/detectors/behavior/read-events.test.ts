import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { AegisInputError } from '../../../src/core/errors.js';
import {
  collectEvents,
  detectFormat,
  type EventFormat,
  RecentSet,
  readEvents,
} from '../../../src/detectors/behavior/read-events.js';
import { sharedPath, skipUnlessShared } from '../../helpers/shared-dir.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-uba-read-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const FIXTURE = new URL('../../fixtures/uba/otrf-purplesharp-sample.jsonl.gz', import.meta.url).pathname;

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function jsonl(records: object[]): string {
  return `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
}

const T0 = Date.UTC(2024, 0, 10, 9);
const minute = 60_000;

describe('readEvents: formats', () => {
  it('streams the bundled OTRF sample (.gz): 208 modelled events, 42 other event types ignored', async () => {
    const formats: EventFormat[] = [];
    const { events, counts } = await collectEvents([FIXTURE], { onFile: (_p, f) => formats.push(f) });
    assert.deepEqual(formats, ['windows-json']);
    assert.deepEqual(counts, { read: 250, parsed: 208, malformed: 0, ignored: 42, duplicates: 0, outOfOrder: 0 });
    assert.equal(events.length, 208);
    // The password spray: 7 failed logons (4625) on WORKSTATION5 and 7 failed NTLM validations (4776) on the DC.
    const failures = events.filter((e) => e.action === 'logon-failure');
    assert.equal(failures.length, 14);
    assert.deepEqual(new Set(failures.map((e) => e.host)), new Set(['workstation5', 'mordordc']));
    const tickets = events.filter((e) => e.action === 'kerberos-service-ticket' && e.user === 'pgustavo');
    assert.equal(tickets.length, 14);
    assert.ok(tickets.every((e) => e.source === '172.18.39.5'));
  });

  it('detects gzip by its magic bytes, not its name, and the format per file', async () => {
    const auth = file(
      'auth.txt',
      gzipSync('Mar  3 10:15:01 bastion sshd[1]: Accepted password for alice from 10.0.0.5 port 1 ssh2\n'),
    );
    const csv = file('events.dat', 'user,time,host,action,outcome\nbob,2024-01-10T09:00:00Z,h1,logon,success\n');
    const generic = file('events.log', jsonl([{ user: 'carol', time: T0, action: 'logon' }]));
    const formats: string[] = [];
    const perFile: [string, number][] = [];
    const { events, counts } = await collectEvents([auth, csv, generic], {
      year: 2024,
      onFile: (_p, f) => formats.push(f),
      onFileDone: (p, _f, c) => perFile.push([p, c.parsed]),
    });
    assert.deepEqual(perFile, [
      [auth, 1],
      [csv, 1],
      [generic, 1],
    ]);
    assert.deepEqual(formats, ['auth-log', 'csv', 'jsonl']);
    assert.deepEqual(
      events.map((e) => e.user),
      ['alice', 'bob', 'carol'],
    );
    assert.equal(counts.read, 3, 'the CSV header is not a record');
  });

  it('honours a forced format', async () => {
    const path = file('forced.txt', '{"user":"dave","time":1704877200,"EventID":"not-windows"}\n');
    assert.equal(detectFormat('{"user":"dave","time":1704877200,"EventID":"x"}'), 'windows-json');
    const { events } = await collectEvents([path], { format: 'jsonl' });
    assert.deepEqual(
      events.map((e) => e.user),
      ['dave'],
    );
  });

  it('takes the year of yearless syslog from the file modification time, across a Dec → Jan rollover', async () => {
    const path = file(
      'rollover.log',
      [
        'Dec 31 23:59:00 h sshd[1]: Accepted password for a from 10.0.0.1 port 1 ssh2',
        'Jan  1 00:01:00 h sshd[1]: Accepted password for a from 10.0.0.1 port 2 ssh2',
      ].join('\n'),
    );
    const mtime = new Date(Date.UTC(2025, 0, 1, 0, 2));
    utimesSync(path, mtime, mtime);
    const { events } = await collectEvents([path]);
    assert.deepEqual(
      events.map((e) => new Date(e.time).toISOString()),
      ['2024-12-31T23:59:00.000Z', '2025-01-01T00:01:00.000Z'],
    );
  });
});

describe('readEvents: bad input is counted, never thrown', () => {
  it('counts malformed lines, skips blank ones, and drops over-long lines without keeping them', async () => {
    const long = JSON.stringify({ user: 'x', time: T0, junk: 'z'.repeat(5000) });
    const path = file(
      'mixed.jsonl',
      [
        JSON.stringify({ user: 'a', time: T0, action: 'logon' }),
        '',
        '{"user": "b", "time": ',
        'not json at all',
        JSON.stringify({ time: T0 }),
        long,
        JSON.stringify({ user: 'c', time: T0 + 1000, action: 'logon' }),
      ].join('\r\n'),
    );
    const { events, counts } = await collectEvents([path], { maxLineBytes: 1000 });
    assert.deepEqual(
      events.map((e) => e.user),
      ['a', 'c'],
    );
    assert.deepEqual(counts, { read: 6, parsed: 2, malformed: 4, ignored: 0, duplicates: 0, outOfOrder: 0 });
  });

  it('counts events stamped in the far past or the future as malformed (broken clocks)', async () => {
    const path = file(
      'clocks.jsonl',
      jsonl([
        { user: 'a', host: 'h', time: T0 },
        { user: 'a', host: 'h', time: 5 }, // epoch 5 s: 1970
        { user: 'a', host: 'h', time: '2099-01-01T00:00:00Z' },
        { user: 'a', host: 'h', time: T0 + minute },
      ]),
    );
    const { events, counts } = await collectEvents([path]);
    assert.deepEqual(
      events.map((e) => e.time),
      [T0, T0 + minute],
    );
    assert.equal(counts.malformed, 2);
    assert.equal(counts.outOfOrder, 0, 'the future event did not become the host clock');
  });

  it('drops duplicate deliveries (same record id) across files', async () => {
    const lines = jsonl([
      { user: 'a', time: T0, id: '1' },
      { user: 'a', time: T0 + 1000, id: '2' },
      { user: 'b', time: T0 + 2000, id: '3' },
    ]);
    const first = file('dup1.jsonl', lines);
    const second = file('dup2.jsonl', lines);
    const { events, counts } = await collectEvents([first, second]);
    assert.equal(events.length, 3);
    assert.equal(counts.duplicates, 3);
    assert.equal(counts.read, 6);
  });

  it('yields events older than the skew but counts them out of order, per host', async () => {
    const path = file(
      'order.jsonl',
      jsonl([
        { user: 'a', host: 'h1', time: T0 },
        { user: 'a', host: 'h1', time: T0 + 10 * minute },
        { user: 'a', host: 'h1', time: T0 + 6 * minute }, // 4 min behind: within the 5 min skew
        { user: 'a', host: 'h1', time: T0 + 1 * minute }, // 9 min behind: out of order
        { user: 'b', host: 'h2', time: T0 }, // another host's clock: fine
      ]),
    );
    const { events, counts } = await collectEvents([path]);
    assert.equal(events.length, 5, 'out-of-order events are still yielded');
    assert.equal(counts.outOfOrder, 1);
    const strict = await collectEvents([path], { skewMs: 0 });
    assert.equal(strict.counts.outOfOrder, 2);
  });

  it('keeps what a truncated gzip held, then counts one malformed and warns', async () => {
    const records = Array.from({ length: 2000 }, (_, i) => ({ user: `u${i % 7}`, time: T0 + i * 1000, id: String(i) }));
    const whole = gzipSync(jsonl(records));
    const path = file('cut.jsonl.gz', whole.subarray(0, Math.floor(whole.length * 0.6)));
    const warnings: string[] = [];
    const { events, counts } = await collectEvents([path], { onWarning: (w) => warnings.push(w) });
    assert.ok(events.length > 100 && events.length < 2000, `read ${events.length} events before the cut`);
    // The cut itself, plus the half line before it when the cut falls mid-line.
    assert.ok(counts.malformed >= 1 && counts.malformed <= 2, `malformed ${counts.malformed}`);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /cut\.jsonl\.gz.*ended early/);
  });

  it('throws AegisInputError for missing files, directories, binary .evtx, JSON arrays and unknown formats', async () => {
    const drain = async (paths: string[]) => {
      for await (const _ of readEvents(paths));
    };
    await assert.rejects(
      drain([join(dir, 'nope.json')]),
      (e) => e instanceof AegisInputError && /does not exist/.test(e.message),
    );
    await assert.rejects(drain([dir]), (e) => e instanceof AegisInputError && /not a file/.test(e.message));
    const evtx = file('x.evtx', Buffer.concat([Buffer.from('ElfFile\0'), Buffer.alloc(100)]));
    await assert.rejects(drain([evtx]), (e) => e instanceof AegisInputError && /evtx_dump/.test(e.message));
    const array = file('array.json', '[\n  {"EventID": 4624}\n]\n');
    await assert.rejects(drain([array]), (e) => e instanceof AegisInputError && /jq -c/.test(e.message));
    const pretty = file('pretty.json', '{\n  "user": "a",\n  "time": 1\n}\n');
    await assert.rejects(
      drain([pretty]),
      (e) => e instanceof AegisInputError && /one JSON object per line/.test(e.message),
    );
    const weird = file('weird.txt', 'hello world\n');
    await assert.rejects(drain([weird]), (e) => e instanceof AegisInputError && /--format/.test(e.message));
  });

  it('reads an empty file as no events', async () => {
    const { events, counts } = await collectEvents([file('empty.jsonl', '\n\n')]);
    assert.equal(events.length, 0);
    assert.equal(counts.read, 0);
  });
});

describe('readEvents: huge files stream with bounded memory', () => {
  it('streams 200k lines; the dedup set forgets ids beyond its capacity', async () => {
    const path = join(dir, 'big.jsonl');
    const out = createWriteStream(path);
    const n = 200_000;
    const line = (i: number, id: number) =>
      `{"user":"u${i % 5000}","host":"h${i % 50}","time":${T0 + i * 100},"action":"logon","outcome":"success","id":"${id}"}\n`;
    for (let from = 0; from < n; from += 10_000) {
      const chunk: string[] = [];
      for (let i = from; i < from + 10_000; i++) {
        // Every 1000th line re-delivers the line 100 before it (caught as a duplicate); the last 10
        // replay the first 10 exactly, ~200k records later: beyond a 50k-id memory, so not caught
        // as duplicates, but far behind their hosts' clocks, so counted out of order.
        chunk.push(i >= n - 10 ? line(i - (n - 10), i - (n - 10)) : line(i, i % 1000 === 999 ? i - 100 : i));
      }
      if (!out.write(chunk.join(''))) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    let count = 0;
    const counts = { read: 0, parsed: 0, malformed: 0, ignored: 0, duplicates: 0, outOfOrder: 0 };
    for await (const _ of readEvents([path], { dedupCapacity: 50_000, counts })) count++;
    assert.equal(counts.read, n);
    assert.equal(counts.duplicates, 199);
    assert.equal(count, n - 199);
    assert.equal(counts.parsed, count);
    assert.equal(counts.outOfOrder, 10);
  });

  it('RecentSet keeps at most its capacity, oldest forgotten first', () => {
    const set = new RecentSet(3);
    for (const k of ['a', 'b', 'c', 'd']) assert.equal(set.seen(k), false);
    assert.equal(set.size, 3);
    assert.equal(set.seen('a'), false, 'a was forgotten');
    assert.equal(set.seen('d'), true);
  });
});

describe('readEvents on evtx-attack-samples (GPL, read from ../shared only)', () => {
  const rel = ['datasets', 'evtx-attack-samples', 'evtx_attack_samples.jsonl.gz'];
  it('parses the python-evtx export with no malformed records', { skip: skipUnlessShared(...rel) }, async () => {
    const { events, counts } = await collectEvents([sharedPath(...rel)]);
    assert.equal(counts.read, 8255);
    assert.equal(counts.malformed, 0);
    assert.equal(counts.parsed + counts.ignored + counts.duplicates, 8255);
    // README counts: 4624 ×87, 4648 ×7, 4768 ×11 in the whole set.
    assert.equal(events.filter((e) => e.rawType === '4624').length, 87);
    assert.equal(events.filter((e) => e.rawType === '4648').length, 7);
    assert.equal(events.filter((e) => e.rawType === '4768').length, 11);
  });
});
