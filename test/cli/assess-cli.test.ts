/**
 * `aegis assess` and `aegis defend` end to end on a small saved MLP and bundled Fashion-MNIST:
 * the JSON matrix (detector rows with detectionRate and falsePositiveRate, refused cells), the
 * report files, defend's utility and detector summaries, a one-epoch adversarial training saved to
 * --out, and bad names (exit code 2).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { initRuntime } from '../../src/core/runtime.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { loadTfjsModel, saveTfjsModel } from '../../src/models/tfjs-model.js';
import { trainClassifier } from '../../src/models/train-classifier.js';
import type { Report } from '../../src/report/schema.js';
import { runCli } from '../helpers/run-cli.js';

let dir: string;
let modelDir: string;
const DATA = 'bundled:test[0:160]';

describe('aegis assess / defend', () => {
  before(async () => {
    await initRuntime();
    dir = mkdtempSync(join(tmpdir(), 'aegis-assess-'));
    modelDir = join(dir, 'model');
    const train = loadFashionMnist({ split: 'train', source: 'bundled', limit: 500 });
    const { model } = await trainClassifier('mlp', train, { epochs: 4, seed: 2, progress: false });
    await saveTfjsModel(model, modelDir);
    model.dispose();
  });

  test('assess --json: defenses as rows, attack@eps cells, detector figures, refusals', async () => {
    const out = join(dir, 'report');
    const run = await runCli([
      'assess',
      '--model',
      modelDir,
      '--data',
      DATA,
      '--defenses',
      'top-k,label-only,feature-squeezing,median-smoothing',
      '--attacks',
      'fgsm,square',
      '--eps',
      '0.1',
      '--steps',
      '30',
      '--limit',
      '100',
      '--json',
      '--out',
      out,
      '--quiet',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as Report;
    const rows = report.defenses ?? [];
    assert.deepEqual(
      rows.map((d) => d.name),
      ['none', 'top-k', 'label-only', 'feature-squeezing', 'median-smoothing'],
    );
    assert.equal(report.clean.size, 100);
    const fs = rows.find((d) => d.name === 'feature-squeezing');
    const fgsm = fs?.cells.find((c) => c.attack === 'fgsm');
    assert.equal(typeof fgsm?.falsePositiveRate, 'number');
    assert.ok(fgsm && 'detectionRate' in fgsm);
    assert.deepEqual(
      fs?.mitigations.map((m) => m.id),
      ['AML.M0015'],
    );
    const labelOnly = rows.find((d) => d.name === 'label-only');
    assert.deepEqual(
      labelOnly?.cells.map((c) => c.status),
      ['refused', 'refused'],
    );
    assert.match(labelOnly?.cells[0]?.reason ?? '', /gradients/);
    const none = rows[0];
    const median = rows.find((d) => d.name === 'median-smoothing');
    assert.ok(none && median);
    assert.ok(Math.abs(median.cleanAccuracyCost - (none.cleanAccuracy - median.cleanAccuracy)) < 1e-4);
    assert.ok(existsSync(join(out, 'report.html')));
  });

  test('assess prints the matrix as a table with the refusal reasons', async () => {
    const args = ['assess', '--model', modelDir, '--data', DATA, '--defenses', 'label-only', '--attacks', 'fgsm'];
    const run = await runCli([...args, '--eps', '0.05', '--limit', '40', '--quiet']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /fgsm@0\.05/);
    assert.match(run.stdout, /label-only × fgsm: refused — fgsm needs 'gradients' access/);
  });

  test('defend: utility before/after for a wrapper, threshold and FPR for a detector', async () => {
    const topK = await runCli([
      'defend',
      'rounding',
      '--model',
      modelDir,
      '--data',
      DATA,
      '--params',
      'decimals=1',
      '--json',
    ]);
    assert.equal(topK.code, 0, topK.stderr);
    const summary = JSON.parse(topK.stdout) as {
      before: { accuracy: number };
      after: { accuracy: number; agreement: number };
    };
    assert.ok(summary.after.agreement > 0.9);
    assert.ok(Math.abs(summary.before.accuracy - summary.after.accuracy) <= 0.1);
    const det = await runCli(['defend', 'feature-squeezing', '--model', modelDir, '--data', DATA, '--json']);
    assert.equal(det.code, 0, det.stderr);
    const d = JSON.parse(det.stdout) as { threshold: number; falsePositiveRate: number; calibrationExamples: number };
    assert.ok(Number.isFinite(d.threshold));
    assert.ok(d.falsePositiveRate >= 0 && d.falsePositiveRate <= 0.3);
    assert.equal(d.calibrationExamples, 48); // 30% of 160
  });

  test('defend pgd-at trains one epoch on 200 rows and saves the model', async () => {
    const out = join(dir, 'pgd-at');
    const args = [
      'defend',
      'pgd-at',
      '--model',
      modelDir,
      '--data',
      'bundled:test[0:100]',
      '--train',
      'bundled:train[0:200]',
    ];
    const run = await runCli([...args, '--params', 'epochs=1,steps=2', '--out', out, '--quiet']);
    assert.equal(run.code, 0, run.stderr);
    const saved = await loadTfjsModel(out);
    assert.deepEqual(saved.info.inputShape, [28, 28, 1]);
    saved.dispose();
  });

  test('unknown defense, attack or parameter → exit 2 with the valid names', async () => {
    const base = ['--model', modelDir, '--data', DATA];
    const badDefense = await runCli(['assess', ...base, '--defenses', 'top-k,shield', '--attacks', 'fgsm']);
    assert.equal(badDefense.code, 2);
    assert.match(badDefense.stderr, /unknown defense 'shield'; valid names: .*mahalanobis/);
    const badAttack = await runCli(['assess', ...base, '--defenses', 'top-k', '--attacks', 'fgsm,zap']);
    assert.equal(badAttack.code, 2);
    assert.match(badAttack.stderr, /unknown evasion attack 'zap'/);
    const badParam = await runCli(['defend', 'top-k', ...base, '--params', 'q=1']);
    assert.equal(badParam.code, 2);
    assert.match(badParam.stderr, /top-k: unknown parameter 'q'/);
    const badDefend = await runCli(['defend', 'nothing', ...base]);
    assert.equal(badDefend.code, 2);
    const noTrain = await runCli(['defend', 'trades', ...base, '--out', join(dir, 'x')]);
    assert.equal(noTrain.code, 2);
    assert.match(noTrain.stderr, /needs training data \(--train\)/);
  });
});
