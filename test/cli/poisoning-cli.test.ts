/**
 * `aegis attack poisoning` end to end (images, tabular CSV with named trigger features, SMS text,
 * targeted label flips, feature collision) on small data, and its bad input: each rejected case
 * exits with code 2 and one message naming what is wrong.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { initRuntime } from '../../src/core/runtime.js';
import { runCli } from '../helpers/run-cli.js';

let dir: string;

/** Three Gaussian classes over columns f0 … f7 (values in [0.1, 0.9]); 'f0=0,f5=0' is a value pattern no class has. */
function writeBlobsCsv(path: string, n: number, seed: number): void {
  const rng = new Rng(seed);
  const lines = [`${Array.from({ length: 8 }, (_, j) => `f${j}`).join(',')},label`];
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    const values = Array.from({ length: 8 }, (_, j) =>
      Math.min(0.9, Math.max(0.1, 0.3 + 0.2 * ((j + k) % 3) + 0.08 * rng.normal())).toFixed(4),
    );
    lines.push(`${values.join(',')},${['low', 'mid', 'high'][k]}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

const images = ['--data', 'bundled:train[0:1000]', '--test', 'bundled:test[0:300]', '--quiet'];
/** A 10% BadNets run on a small MLP whose poisoned victim the named detectors then read (append the detector names). */
const defendedRun = [
  'attack',
  'poisoning',
  '--data',
  'bundled:train[0:600]',
  '--test',
  'bundled:test[0:200]',
  '--arch',
  'mlp',
  '--epochs',
  '5',
  '--fractions',
  '0.1',
  '--defenses',
];

before(async () => {
  await initRuntime();
  dir = mkdtempSync(join(tmpdir(), 'aegis-poisoning-'));
  writeBlobsCsv(join(dir, 'train.csv'), 450, 1);
  writeBlobsCsv(join(dir, 'test.csv'), 150, 2);
});

describe('aegis attack poisoning', () => {
  test('BadNets on images: report with rows per fraction, ATLAS ids, mitigations and triggered examples', async () => {
    const out = join(dir, 'badnets');
    const { code, stdout, stderr } = await runCli([
      'attack',
      'poisoning',
      ...images,
      '--arch',
      'mlp',
      '--epochs',
      '8',
      '--fractions',
      '0,0.1',
      '--json',
      '--out',
      out,
    ]);
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    const attack = report.attacks[0];
    assert.equal(attack.name, 'badnets');
    assert.equal(attack.atlas, 'AML.T0018');
    assert.match(attack.title, /AML\.T0043\.004/);
    assert.deepEqual(
      attack.mitigations.map((m: { id: string }) => m.id),
      ['AML.M0007', 'AML.M0025', 'AML.M0008', 'AML.M0014'],
    );
    assert.equal(attack.rows.length, 2);
    assert.ok(attack.rows[0].attackSuccessRate < 0.1);
    assert.ok(attack.rows[1].attackSuccessRate > 0.8, `ASR ${attack.rows[1].attackSuccessRate}`);
    assert.equal(attack.rows[1].poisonCount, 100);
    assert.equal(report.clean.accuracy, attack.rows[0].cleanBaselineAccuracy);
    assert.equal(attack.examples.captions.adversarial, 'triggered');
    assert.deepEqual(attack.examples.shape, [28, 28, 1]);
    assert.ok(existsSync(join(out, 'report.json')));
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /triggered/);
    assert.match(html, /Sanitize Training Data/);
  });

  test('BadNets on a CSV with a named-feature trigger; the test file is encoded with the training schema', async () => {
    const { code, stdout, stderr } = await runCli([
      'attack',
      'poisoning',
      '--data',
      join(dir, 'train.csv'),
      '--test',
      join(dir, 'test.csv'),
      '--trigger-features',
      'f0=0,f5=0',
      '--target-class',
      '2',
      '--epochs',
      '30',
      '--fractions',
      '0.05',
      '--json',
      '--quiet',
    ]);
    assert.equal(code, 0, stderr);
    const attack = JSON.parse(stdout).attacks[0];
    assert.ok(attack.rows[0].attackSuccessRate > 0.8, `ASR ${attack.rows[0].attackSuccessRate}`);
    assert.equal(attack.examples.featureNames[5], 'f5');
  });

  test('a trigger phrase on SMS spam (hashed text, logistic victim)', async () => {
    const { code, stdout, stderr } = await runCli([
      'attack',
      'poisoning',
      '--data',
      'sms-spam[0:1500]',
      '--hash-bits',
      '10',
      '--epochs',
      '20',
      '--fractions',
      '0.02',
      '--trigger-phrase',
      'zq xv',
      '--json',
      '--quiet',
    ]);
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    assert.deepEqual(report.dataset.classNames, ['ham', 'spam']);
    assert.equal(report.dataset.shape[1], 1024);
    assert.equal(report.poisoning.vectorizer.bits, 10);
    assert.match(report.attacks[0].threatModelText, /zq xv/);
    assert.ok(report.attacks[0].rows[0].attackSuccessRate > 0.7, `ASR ${report.attacks[0].rows[0].attackSuccessRate}`);
  });

  test('targeted label flips and feature collision', async () => {
    const flip = await runCli([
      'attack',
      'poisoning',
      ...images,
      '--attack',
      'label-flip',
      '--pairs',
      '7:9',
      '--arch',
      'logistic',
      '--fractions',
      '0.6',
      '--json',
    ]);
    assert.equal(flip.code, 0, flip.stderr);
    const row = JSON.parse(flip.stdout).attacks[0].rows[0];
    assert.equal(row.sourceFraction, 0.6);
    assert.ok(row.attackSuccessRate > row.baselineConfusion + 0.3);

    const fc = await runCli([
      'attack',
      'poisoning',
      '--data',
      'bundled:train[0:300]',
      '--test',
      'bundled:test[0:100]',
      '--attack',
      'feature-collision',
      '--arch',
      'mlp',
      '--targets',
      '2',
      '--iterations',
      '30',
      '--fractions',
      '0.02',
      '--epochs',
      '5',
      '--json',
      '--quiet',
    ]);
    assert.equal(fc.code, 0, fc.stderr);
    const report = JSON.parse(fc.stdout);
    assert.equal(report.attacks[0].rows[0].trials, 2);
    assert.equal(report.attacks[0].rows[0].poisonCount, 6);
    assert.equal(report.attacks[0].threatModel.access, 'gradients');
    assert.match(report.poisoning.extractor, /mlp pretrained on .* \(64 features\)/);
  });

  test('--defenses adds precision, recall and post-filter figures per detector', async () => {
    const { code, stdout, stderr } = await runCli([
      ...defendedRun,
      'spectral-signatures,activation-clustering',
      '--json',
      '--quiet',
    ]);
    assert.equal(code, 0, stderr);
    const row = JSON.parse(stdout).attacks[0].rows[0];
    for (const p of ['ss', 'ac']) {
      for (const m of ['Precision', 'Recall', 'Flagged', 'CleanAccuracy', 'AttackSuccessRate']) {
        const v = row[`${p}${m}`];
        assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `${p}${m} = ${v}`);
      }
    }
    assert.ok(row.ssFlagged > 0, 'spectral signatures flags rows');
    assert.equal(row.lcRecall, undefined, 'only the detectors asked for');
  });

  test('--label-representation inputs --label-rounds: repeated k-NN editing flags more rows', async () => {
    const flagged = async (rounds: string) => {
      const run = await runCli([
        ...defendedRun,
        'label-consistency',
        '--label-representation',
        'inputs',
        '--label-rounds',
        rounds,
        '--json',
        '--quiet',
      ]);
      assert.equal(run.code, 0, run.stderr);
      return JSON.parse(run.stdout).attacks[0].rows[0];
    };
    const once = await flagged('1');
    const repeated = await flagged('10');
    // Measured: recall 0.95 either way on 600 rows; flagged 36.5% → 44%.
    assert.ok(once.lcRecall >= 0.9, `recall ${once.lcRecall}`);
    assert.ok(repeated.lcFlagged > once.lcFlagged, `${repeated.lcFlagged} vs ${once.lcFlagged}`);
    assert.ok(repeated.lcRecall >= once.lcRecall);
  });

  test('--ac-criterion reclassification: activation clustering judged by retraining without each cluster', async () => {
    const { code, stdout, stderr } = await runCli([
      ...defendedRun,
      'activation-clustering',
      '--ac-criterion',
      'reclassification',
      '--reclassify',
      'separated',
      '--reclassification-epochs',
      '2',
      '--json',
      '--quiet',
    ]);
    assert.equal(code, 0, stderr);
    const row = JSON.parse(stdout).attacks[0].rows[0];
    for (const m of ['Precision', 'Recall', 'Flagged', 'CleanAccuracy', 'AttackSuccessRate']) {
      const v = row[`ac${m}`];
      assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `ac${m} = ${v}`);
    }
    // The options reach the detector: with T huge every cluster of every class fails l/p < T.
    const all = await runCli([
      'attack',
      'poisoning',
      '--data',
      'bundled:train[0:300]',
      '--test',
      'bundled:test[0:100]',
      '--arch',
      'mlp',
      '--epochs',
      '1',
      '--fractions',
      '0.1',
      '--defenses',
      'activation-clustering',
      '--ac-criterion',
      'reclassification',
      '--reclassification-threshold',
      '1e9',
      '--quiet',
    ]);
    assert.equal(all.code, 2, all.stderr);
    assert.match(all.stderr, /activation-clustering flagged every training row/);
  });

  test('bad input exits 2 with one clear message and writes nothing', async () => {
    const out = join(dir, 'bad');
    const cases: [string[], RegExp][] = [
      [
        ['--attack', 'trojan'],
        /unknown poisoning attack 'trojan'; choose one of badnets, label-flip, feature-collision/,
      ],
      [['--fractions', '0.1,1'], /poison fraction 1 is outside \[0, 1\)/],
      [['--fractions', 'a'], /--fractions takes a comma-separated list of numbers/],
      [['--target-class', '12'], /target class 12 is not a class of the data \(0 … 9/],
      [['--trigger-size', '29'], /trigger size 29 is larger than the 28x28 image/],
      [['--trigger-pattern', 'stripes'], /--trigger-pattern must be one of checkerboard, square/],
      [['--attack', 'label-flip', '--pairs', '3-5'], /class pair '3-5' must be written source:target/],
      [['--arch', 'resnet'], /unknown architecture 'resnet'/],
      [['--test', 'bundled:test[900:2000]'], /--test: range \[900:2000\] is outside/],
      [['--attack', 'feature-collision', '--arch', 'logistic'], /needs a network with a hidden layer/],
      [['--defenses', 'magic'], /unknown poison detection method 'magic'/],
      [['--defenses', 'activation-clustering', '--ac-criterion', 'vote'], /--ac-criterion must be one of/],
      [['--reclassification-epochs', '-1'], /--reclassification-epochs takes a positive whole number/],
      [['--label-representation', 'pixels'], /--label-representation must be one of activations, inputs/],
      [['--label-rounds', '0'], /--label-rounds takes a positive whole number/],
    ];
    for (const [extra, pattern] of cases) {
      const { code, stderr } = await runCli([
        'attack',
        'poisoning',
        ...images,
        '--epochs',
        '1',
        '--out',
        out,
        ...extra,
      ]);
      assert.equal(code, 2, `${extra.join(' ')}: ${stderr}`);
      assert.match(stderr, pattern, extra.join(' '));
    }
    const tabular = await runCli(['attack', 'poisoning', '--data', join(dir, 'train.csv'), '--quiet']);
    assert.equal(tabular.code, 2);
    assert.match(tabular.stderr, /needs --trigger-features/);
    const text = await runCli(['attack', 'poisoning', '--data', 'sms-spam', '--attack', 'feature-collision']);
    assert.equal(text.code, 2);
    assert.match(text.stderr, /feature collision needs image/);
    assert.ok(!existsSync(out), 'no report for rejected runs');
  });
});

test('the detectors are budgeted the largest poisoned share of one class', async () => {
  const { largestClassPoisonShare } = await import('../../src/cli/poisoning-defenses.js');
  // class 0 has 4 rows, 2 of them poison; class 1 has 6 rows, 1 poison → 0.5
  const labels = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
  assert.equal(largestClassPoisonShare(labels, Int32Array.from([0, 1, 4])), 0.5);
  assert.equal(largestClassPoisonShare(labels, new Int32Array(0)), 0);
});
