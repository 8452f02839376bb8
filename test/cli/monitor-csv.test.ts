/**
 * `aegis monitor` on CSV files: the current file is encoded with the reference's schema, features
 * only — drift compares inputs, so unlabelled production data and labels the reference never had
 * are fine, while a missing feature column, NaN, an empty file, a range outside it or a FIFO exit 2.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/run-cli.js';

let dir: string;
const file = (name: string) => join(dir, name);

function csv(name: string, header: string[], rows: (string | number)[][]): string {
  writeFileSync(file(name), `${[header.join(','), ...rows.map((r) => r.join(','))].join('\n')}\n`);
  return file(name);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-monitor-csv-'));
  const rows = (shift: number, label: (i: number) => string) =>
    Array.from({ length: 40 }, (_, i) => [((i * 7) % 40) / 40 + shift, ['tcp', 'udp'][i % 2] as string, label(i)]);
  csv(
    'ref.csv',
    ['bytes', 'proto', 'label'],
    rows(0, (i) => (i % 2 ? 'good' : 'bad')),
  );
  csv(
    'new-labels.csv',
    ['bytes', 'proto', 'label'],
    rows(0, () => 'never-seen'),
  );
  csv(
    'unlabelled.csv',
    ['bytes', 'proto'],
    rows(0, () => '').map((r) => r.slice(0, 2)),
  );
  csv(
    'shifted.csv',
    ['bytes', 'proto'],
    rows(5, () => '').map((r) => r.slice(0, 2)),
  );
  csv(
    'no-proto.csv',
    ['bytes', 'label'],
    rows(0, () => 'good').map((r) => [r[0] as number, r[2] as string]),
  );
  csv(
    'nan.csv',
    ['bytes', 'proto'],
    [
      ['NaN', 'tcp'],
      [0.1, 'udp'],
    ],
  );
  writeFileSync(file('header-only.csv'), 'bytes,proto\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const monitor = (current: string) => runCli(['monitor', '--reference', file('ref.csv'), '--current', current]);

test('a current file with labels the reference never had, or with no label column, is checked', async () => {
  for (const current of ['new-labels.csv', 'unlabelled.csv']) {
    const run = await monitor(file(current));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /no drift found/);
  }
  const shifted = await monitor(file('shifted.csv'));
  assert.equal(shifted.code, 1, shifted.stderr);
  assert.match(shifted.stdout, /drift found by/);
});

test('a missing feature column, NaN, a file without rows or a range outside it exit 2 naming it', async () => {
  const cases: [string, RegExp][] = [
    [file('no-proto.csv'), /no-proto\.csv: columns \[proto\] of the reference are missing from the CSV/],
    [file('nan.csv'), /nan\.csv: row 1 \(line 2\), column 'bytes': 'NaN' is not a finite number/],
    [file('header-only.csv'), /header-only\.csv: CSV has a header but no data rows/],
    [`${file('unlabelled.csv')}[0:100]`, /--current: range \[0:100\] is outside 'unlabelled\.csv' \(40 records\)/],
  ];
  for (const [current, pattern] of cases) {
    const run = await monitor(current);
    assert.equal(run.code, 2, `${current}: ${run.stdout}`);
    assert.match(run.stderr, pattern);
    assert.ok(!/\n\s+at /.test(run.stderr), 'no stack trace');
  }
});

test('a FIFO as --reference or --current exits 2 at once instead of blocking on the read', async () => {
  const fifo = file('fifo.csv');
  execFileSync('mkfifo', [fifo]);
  // Before the fix the read blocked the whole process: a late writer unblocks it so that the test fails instead of hanging.
  const writer = spawn('sh', ['-c', `sleep 5; while true; do printf 'a,label\\n1,x\\n' > '${fifo}'; done`], {
    stdio: 'ignore',
    detached: true,
  });
  try {
    for (const args of [
      ['--reference', fifo, '--current', file('ref.csv')],
      ['--reference', file('ref.csv'), '--current', fifo],
    ]) {
      const run = await runCli(['monitor', ...args]);
      assert.equal(run.code, 2, run.stdout);
      assert.match(run.stderr, /--(reference|current): '.*fifo\.csv' is not a regular file or a folder/);
    }
  } finally {
    if (writer.pid !== undefined) process.kill(-writer.pid, 'SIGKILL');
  }
});
