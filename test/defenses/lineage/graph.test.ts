import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { lineageGraph, openLineageStore, recordManifestInGraph } from '../../../src/defenses/lineage/graph.js';
import { linkModelToDataset } from '../../../src/defenses/lineage/link.js';
import { recordDataset } from '../../../src/defenses/lineage/record.js';
import { renderLineageTree } from '../../../src/defenses/lineage/render-graph.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-lineage-graph-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function chain() {
  mkdirSync(join(dir, 'raw'), { recursive: true });
  mkdirSync(join(dir, 'clean'), { recursive: true });
  writeFileSync(join(dir, 'raw', 'mail.csv'), 'text,label\nhello,ham\nwin now,spam\nwin now,spam\n');
  writeFileSync(join(dir, 'clean', 'mail.csv'), 'text,label\nhello,ham\nwin now,spam\n');
  const raw = await recordDataset(join(dir, 'raw'), {
    out: join(dir, 'raw.json'),
    name: 'mail-raw',
    source: 'https://example.org/mail.zip',
  });
  const clean = await recordDataset(join(dir, 'clean'), {
    out: join(dir, 'clean.json'),
    name: 'mail-clean',
    source: 'https://example.org/mail.zip',
    transforms: [
      { name: 'dedupe', params: {} },
      { name: 'lowercase', params: { columns: 'text' } },
    ],
    parents: [raw.manifestPath],
  });
  return { raw, clean };
}

test('recording manifests builds source → transforms → dataset with parent edges; idempotent', async () => {
  const { raw, clean } = await chain();
  assert.deepEqual(clean.manifest.parents, [
    { digest: raw.digest, name: 'mail-raw', merkleRoot: raw.manifest.merkleRoot },
  ]);
  const db = openLineageStore(':memory:');
  recordManifestInGraph(db, raw.manifest, raw.digest, raw.manifestPath);
  recordManifestInGraph(db, clean.manifest, clean.digest, clean.manifestPath);
  recordManifestInGraph(db, clean.manifest, clean.digest, clean.manifestPath); // again: no duplicates
  const graph = lineageGraph(db);
  const kinds = graph.nodes.map((n) => `${n.kind}:${n.name}`).sort();
  assert.deepEqual(kinds, [
    'dataset:mail-clean',
    'dataset:mail-raw',
    'source:https://example.org/mail.zip',
    'transform:dedupe',
    'transform:lowercase',
  ]);
  const name = (id: number) => graph.nodes.find((n) => n.id === id)?.name;
  const edges = graph.edges.map((e) => `${name(e.from)} -${e.relation}-> ${name(e.to)}`).sort();
  assert.deepEqual(edges, [
    'dedupe -then-> lowercase',
    'https://example.org/mail.zip -feeds-> dedupe',
    'https://example.org/mail.zip -produces-> mail-raw',
    'lowercase -produces-> mail-clean',
    'mail-raw -feeds-> dedupe',
  ]);
  const dataset = graph.nodes.find((n) => n.name === 'mail-clean');
  assert.equal(dataset?.attrs.merkleRoot, clean.manifest.merkleRoot);
  assert.equal(dataset?.manifestPath, clean.manifestPath);
  db.close();
});

test('a parent known only by digest is a placeholder until its own manifest is recorded', async () => {
  const { raw, clean } = await chain();
  const db = openLineageStore(':memory:');
  recordManifestInGraph(db, clean.manifest, clean.digest, clean.manifestPath);
  const before = lineageGraph(db).nodes.find((n) => n.digest === raw.digest);
  assert.equal(before?.attrs.placeholder, true);
  recordManifestInGraph(db, raw.manifest, raw.digest, raw.manifestPath);
  recordManifestInGraph(db, clean.manifest, clean.digest, clean.manifestPath); // must not demote it again
  const afterRecord = lineageGraph(db).nodes.find((n) => n.digest === raw.digest);
  assert.equal(afterRecord?.attrs.placeholder, undefined);
  assert.equal(afterRecord?.manifestPath, raw.manifestPath);
  db.close();
});

test('linking a model adds dataset → model; show by name prints the chain as an indented tree', async () => {
  const { raw, clean } = await chain();
  const modelFile = join(dir, 'filter.onnx');
  writeFileSync(modelFile, 'not really onnx, but a file with a digest');
  const db = openLineageStore(join(dir, 'store', 'aegis.db'));
  recordManifestInGraph(db, raw.manifest, raw.digest, raw.manifestPath);
  const { model } = await linkModelToDataset(db, clean.manifestPath, modelFile);
  assert.equal(model.kind, 'model');
  assert.equal(model.name, 'filter');
  assert.equal(model.attrs.format, 'onnx');
  const sub = lineageGraph(db, 'filter');
  const text = renderLineageTree(sub);
  const lines = text.trimEnd().split('\n');
  const order = [
    'source  https://example.org/mail.zip',
    'dataset  mail-raw',
    'transform  dedupe',
    'transform  lowercase (columns=text)',
    'dataset  mail-clean',
    'model  filter (onnx)',
  ];
  const positions = order.map((s) => lines.findIndex((l) => l.includes(s)));
  assert.ok(
    positions.every((p) => p >= 0),
    `every step of the chain is shown:\n${text}`,
  );
  assert.match(text, /└─ model {2}filter \(onnx\)/);
  // The model sits under mail-clean, which sits under lowercase.
  const indent = (s: string) => (lines.find((l) => l.includes(s)) ?? '').search(/[a-z]/);
  assert.ok(indent('model  filter') > indent('dataset  mail-clean'));
  assert.ok(indent('dataset  mail-clean') > indent('transform  lowercase'));
  // A digest prefix finds the same node; an unknown name is an input error.
  assert.ok(lineageGraph(db, model.digest.slice(0, 10)).nodes.some((n) => n.id === model.id));
  assert.throws(() => lineageGraph(db, 'no-such-thing'), AegisInputError);
  db.close();
});
