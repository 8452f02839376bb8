/**
 * A model trained on CSV data keeps its fitted schema (aegis.json) and the CLI reuses it
 * when attacking with new CSV rows — even rows whose categories or ranges differ.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { runCli } from '../helpers/run-cli.js';

let dir: string;

const run = runCli;

/** Flows: bytes and duration separate the classes; protocol is a categorical column. */
function flows(n: number, seed: number, protocols: string[]): string {
  const rng = new Rng(seed);
  const lines = ['duration,bytes,protocol,label'];
  for (let i = 0; i < n; i++) {
    const attack = i % 2 === 1;
    const duration = (attack ? 8 : 2) + rng.normal();
    const bytes = (attack ? 9000 : 3000) + 800 * rng.normal();
    lines.push(
      `${duration.toFixed(3)},${bytes.toFixed(0)},${protocols[i % protocols.length]},${attack ? 'attack' : 'normal'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-csv-'));
  writeFileSync(join(dir, 'train.csv'), flows(400, 1, ['tcp', 'udp', 'icmp']));
  // Test rows see only one protocol: a schema fitted on them would have fewer columns.
  writeFileSync(join(dir, 'test.csv'), flows(60, 2, ['udp']));
});

describe('CSV models keep their schema', () => {
  test('train on CSV, then attack with differently distributed CSV rows', async () => {
    const model = join(dir, 'model');
    const trained = await run([
      'train',
      '--data',
      join(dir, 'train.csv'),
      '--arch',
      'logistic',
      '--epochs',
      '30',
      '--out',
      model,
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const meta = JSON.parse(readFileSync(join(model, 'aegis.json'), 'utf8'));
    assert.ok(meta.tabular, 'the fitted schema is saved with the model');
    assert.deepEqual(meta.inputShape, [5], 'two numeric columns + three one-hot protocol columns');

    const out = join(dir, 'report');
    const attacked = await run([
      'attack',
      'evasion',
      '--model',
      model,
      '--data',
      join(dir, 'test.csv'),
      '--attack',
      'fgsm,pgd',
      '--eps',
      '0.05,0.3',
      '--quiet',
      '--out',
      out,
    ]);
    assert.equal(attacked.code, 0, attacked.stderr);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.ok(report.clean.accuracy > 0.9, `clean accuracy ${report.clean.accuracy}`);
    const pgd = report.attacks.find((a: { name: string }) => a.name === 'pgd');
    assert.ok(pgd.rows[1].accuracy < report.clean.accuracy - 0.3, 'a 0.3 budget on scaled features flips many flows');
  });
});
