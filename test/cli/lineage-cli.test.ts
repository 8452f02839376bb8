/** `aegis lineage …` end to end: exit codes 0 (identical), 1 (differs), 2 (bad input), and the graph. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../helpers/run-cli.js';

let dir: string;
let store: string;
const rows = Array.from({ length: 12 }, (_, i) => `${i},"msg ${i}",${i % 2}`);
const csv = (r: string[]) => `id,text,label\n${r.join('\n')}\n`;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-lineage-cli-'));
  store = join(dir, 'store', 'aegis.db');
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'train.csv'), csv(rows));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('record, verify identical (exit 0), change a row (exit 1, the record named), JSON output', async () => {
  const manifest = join(dir, 'train.lineage.json');
  const rec = await runCli([
    'lineage',
    'record',
    join(dir, 'data'),
    '--name',
    'mail',
    '--source',
    'https://example.org/mail',
    '--transform',
    'dedupe',
    '--transform',
    'sample=fraction:0.5,seed:7',
    '--out',
    manifest,
    '--store',
    store,
    '--json',
  ]);
  assert.equal(rec.code, 0, rec.stderr);
  const out = JSON.parse(rec.stdout);
  assert.equal(out.records, 12);
  assert.match(out.merkleRoot, /^[0-9a-f]{64}$/);

  const same = await runCli(['lineage', 'verify', manifest]);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /^OK {2}mail/);

  writeFileSync(join(dir, 'data', 'train.csv'), csv(rows.map((r, i) => (i === 4 ? '4,"msg 4 (poisoned)",1' : r))));
  const differs = await runCli(['lineage', 'verify', manifest]);
  assert.equal(differs.code, 1);
  assert.match(differs.stdout, /^DIFFERS/);
  assert.match(differs.stdout, /changed {2}train\.csv/);
  assert.match(differs.stdout, /changed: 1\n {6}\S+ {2}#4 /);
  const json = await runCli(['lineage', 'verify', manifest, '--json']);
  assert.equal(json.code, 1);
  const result = JSON.parse(json.stdout);
  assert.equal(result.identical, false);
  assert.equal(result.files.changed[0].records.diff.changed.items[0].index, 4);
  writeFileSync(join(dir, 'data', 'train.csv'), csv(rows));
});

test('show prints source → transforms → dataset → model after link; --json lists nodes and edges', async () => {
  const manifest = join(dir, 'train.lineage.json');
  const model = join(dir, 'model.onnx');
  writeFileSync(model, 'model bytes');
  const link = await runCli(['lineage', 'link', '--model', model, '--dataset', manifest, '--store', store]);
  assert.equal(link.code, 0, link.stderr);
  const show = await runCli(['lineage', 'show', 'mail', '--store', store]);
  assert.equal(show.code, 0, show.stderr);
  const lines = show.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^source {2}https:\/\/example\.org\/mail/);
  assert.match(lines[1] ?? '', /^└─ transform {2}dedupe/);
  assert.match(lines[2] ?? '', /^ {3}└─ transform {2}sample \(fraction=0\.5, seed=7\)/);
  assert.match(lines[3] ?? '', /^ {6}└─ dataset {2}mail {2}1 files, 12 records/);
  assert.match(lines[4] ?? '', /^ {9}└─ model {2}model \(onnx\)/);
  const json = JSON.parse((await runCli(['lineage', 'show', '--store', store, '--json'])).stdout);
  assert.deepEqual(json.nodes.map((n: { kind: string }) => n.kind).sort(), [
    'dataset',
    'model',
    'source',
    'transform',
    'transform',
  ]);
  assert.equal(json.edges.length, 4);
});

test('bad input exits 2 with one message: malformed manifest, missing dataset, bad flags, unknown node', async () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ schema: 'aegis.lineage/1', name: 'x' }));
  const cases: [string[], RegExp][] = [
    [['lineage', 'verify', bad], /invalid lineage manifest: field '(source|dataset|files)/],
    [['lineage', 'verify', join(dir, 'train.lineage.json'), join(dir, 'gone')], /dataset '.*gone' does not exist/],
    [['lineage', 'record', join(dir, 'missing')], /dataset '.*missing' does not exist/],
    [
      ['lineage', 'record', join(dir, 'data'), '--out', join(dir, 'x.json'), '--transform', 'scale=factor'],
      /parameter 'factor' is not key:value/,
    ],
    [
      ['lineage', 'verify', join(dir, 'train.lineage.json'), '--max-list', '0'],
      /--max-list takes a positive whole number/,
    ],
    [['lineage', 'show', 'nope', '--store', store], /no lineage node is named 'nope'/],
    [
      [
        'lineage',
        'link',
        '--model',
        join(dir, 'nomodel'),
        '--dataset',
        join(dir, 'train.lineage.json'),
        '--store',
        store,
      ],
      /model '.*nomodel' does not exist/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const run = await runCli(args);
    assert.equal(run.code, 2, `${args.join(' ')} → ${run.code}: ${run.stderr}`);
    assert.match(run.stderr, pattern);
  }
});

test('aegis train --lineage records dataset → model in the store', async () => {
  const data = join(dir, 'fm');
  const manifest = join(dir, 'fm.lineage.json');
  const trainStore = join(dir, 'train-store.db');
  const rec = await runCli(['lineage', 'record', 'data/fashion-mnist', '--out', manifest, '--store', trainStore]);
  assert.equal(rec.code, 0, rec.stderr);
  const train = await runCli([
    'train',
    '--arch',
    'logistic',
    '--limit',
    '64',
    '--epochs',
    '1',
    '--validation',
    '0',
    '--out',
    join(data, 'model'),
    '--lineage',
    manifest,
    '--store',
    trainStore,
  ]);
  assert.equal(train.code, 0, train.stderr);
  assert.match(train.stdout, /lineage: dataset fashion-mnist → model/);
  const show = await runCli(['lineage', 'show', 'fashion-mnist', '--store', trainStore]);
  assert.match(show.stdout, /source {2}https:\/\/github\.com\/zalandoresearch\/fashion-mnist/);
  assert.match(show.stdout, /└─ model {2}model \(tfjs\)/);
  const badTrain = await runCli(['train', '--out', join(dir, 'never'), '--lineage', join(dir, 'bad.json')]);
  assert.equal(badTrain.code, 2);
  assert.match(badTrain.stderr, /invalid lineage manifest/);
});
