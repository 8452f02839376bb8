/**
 * `aegis monitor` end to end (in-process): exit 0 when the current data matches the reference, 1 when a detector
 * finds drift, 2 on bad input; JSON and text output; NPZ (labelled or not), NPY, CSV and bundled data specs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Rng } from '../../src/core/rng.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { writeNpyFile } from '../../src/data/npy.js';
import { writeNpzFile } from '../../src/data/npz.js';
import { runCli } from '../helpers/run-cli.js';

const CNN = join(new URL('../fixtures/', import.meta.url).pathname, 'fmnist_cnn.onnx');
const D = 784;
let dir: string;
let bright: string;
let brightNpy: string;
let firstClasses: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-monitor-cli-'));
  const test = loadFashionMnist({ split: 'test', source: 'bundled' });
  const cur = test.x.slice(500 * D).map((v) => Math.min(1, v + 0.2));
  bright = join(dir, 'bright.npz'); // inputs only, no labels: fine for drift checks
  writeNpzFile(bright, { x: { dtype: 'float32', shape: [500, 28, 28, 1], data: cur } });
  brightNpy = join(dir, 'bright.npy');
  writeNpyFile(brightNpy, { dtype: 'float32', shape: [500, 1, 28, 28], data: cur }); // NCHW order is the same for 1 channel
  // Only classes 0–4 of test images 500–999: a label-distribution shift with in-distribution images.
  const keep: number[] = [];
  for (let i = 500; i < 1000; i++) if ((test.y[i] as number) < 5) keep.push(i);
  const x = new Float32Array(keep.length * D);
  keep.forEach((i, r) => {
    x.set(test.x.subarray(i * D, (i + 1) * D), r * D);
  });
  firstClasses = join(dir, 'classes0-4.npz');
  writeNpzFile(firstClasses, {
    x: { dtype: 'float32', shape: [keep.length, 28, 28, 1], data: x },
    y: { dtype: 'int32', shape: [keep.length], data: Int32Array.from(keep, (i) => test.y[i] as number) },
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const REF = 'bundled:test[0:500]';

describe('aegis monitor', () => {
  test('finds no drift between two clean halves of the test images (exit 0)', async () => {
    const run = await runCli(['monitor', '--reference', REF, '--current', 'bundled:test[500:1000]']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /reference: .*\(500 examples, 784 features\)/);
    assert.match(run.stdout, /ks +ok +D=.*Bonferroni over 784 features/);
    assert.match(run.stdout, /model: +none \(input drift only\)/);
    assert.match(run.stdout, /no drift found/);
  });

  test('flags brighter images in an unlabelled .npz (exit 1, JSON)', async () => {
    const run = await runCli(['monitor', '--reference', REF, '--current', bright, '--json']);
    assert.equal(run.code, 1, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.drift, true);
    assert.deepEqual(doc.detectors, ['ks', 'psi', 'mmd']);
    assert.equal(doc.current.examples, 500);
    assert.equal(doc.windows.length, 1);
    assert.equal(doc.report.windowsEvaluated, 1);
    assert.equal(doc.model, null);
    const ks = doc.windows[0].results.find((r: { detector: string }) => r.detector === 'ks');
    assert.equal(ks.threshold, 0.01 / 784);
    assert.ok(ks.pValue < ks.threshold);
  });

  test('reads .npy arrays (NCHW turned NHWC) and tests the current data in windows', async () => {
    const run = await runCli(['monitor', '--reference', REF, '--current', `${brightNpy}[0:450]`, '--window', '200']);
    assert.equal(run.code, 1, run.stderr);
    // 450 examples: windows of 200, 200 and a tail of 50.
    assert.match(run.stdout, /window 1 \(examples 0–199\)/);
    assert.match(run.stdout, /window 3 \(examples 400–449\)/);
    assert.match(run.stdout, /drift found by ks, psi, mmd/);
  });

  test('with --model, flags a label-distribution shift by χ² on the predicted labels', async () => {
    const run = await runCli(['monitor', '--reference', REF, '--current', firstClasses, '--model', CNN, '--json']);
    assert.equal(run.code, 1, run.stderr);
    const doc = JSON.parse(run.stdout);
    assert.equal(doc.model.numClasses, 10);
    assert.ok(doc.detectors.includes('chi-square'), doc.detectors);
    const chi = doc.report.detectors['chi-square'].last;
    assert.ok(chi.pValue < 1e-10, `p ${chi.pValue}`);
    // Predicted classes 5–9 are (nearly) absent from the current window.
    const counts: number[] = chi.detail.currentCounts;
    assert.ok(counts.slice(5).reduce((a, b) => a + b, 0) < counts.reduce((a, b) => a + b, 0) * 0.1);
  });

  test('compares tabular CSV files with the reference encoding', async () => {
    const rng = new Rng(4);
    const csv = (shift: number) =>
      [
        'a,b,label',
        ...Array.from(
          { length: 300 },
          (_, i) => `${rng.normal().toFixed(4)},${(rng.normal() + shift).toFixed(4)},${i % 2}`,
        ),
      ].join('\n');
    const ref = join(dir, 'ref.csv');
    const same = join(dir, 'same.csv');
    const shifted = join(dir, 'shifted.csv');
    writeFileSync(ref, csv(0));
    writeFileSync(same, csv(0));
    writeFileSync(shifted, csv(1));
    const clean = await runCli(['monitor', '--reference', ref, '--current', same, '--json']);
    assert.equal(clean.code, 0, clean.stderr);
    assert.equal(JSON.parse(clean.stdout).report.detectors.mmd.last.detail.embedding, 'features');
    const run = await runCli(['monitor', '--reference', ref, '--current', shifted, '--json']);
    assert.equal(run.code, 1, run.stderr);
    const ks = JSON.parse(run.stdout).report.detectors.ks.last;
    assert.equal(ks.detail.features, 2);
    assert.equal(ks.detail.topFeatures[0].feature, 1); // column b
  });

  test('rejects bad input with exit 2 and one clear message', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--current', join(dir, 'ref.csv')],
        /--current: examples of .* have shape \[2\] but those of --reference .* have \[28,28,1\]/,
      ],
      [['--current', join(dir, 'missing.npz')], /no such file/],
      [['--current', bright, '--window', '0'], /--window takes a positive whole number/],
      [['--current', bright, '--alpha', '2'], /--alpha takes a number in \(0, 1\)/],
      [['--current', bright, '--embedding', 'pca'], /--embedding must be one of/],
      [['--current', `${bright}[600:700]`], /range \[600:700\] is outside/],
      [['--current', bright, '--model', join(dir, 'nope.onnx')], /does not exist/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(['monitor', '--reference', REF, ...args]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stdout}`);
      assert.match(run.stderr, message);
    }
  });
});
