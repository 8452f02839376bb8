/**
 * `aegis poison detect` end to end on a few hundred bundled Fashion-MNIST rows (a victim it trains,
 * and a saved model), the cleaned .npz it writes, and its bad input (exit code 2, one message).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { initRuntime } from '../../src/core/runtime.js';
import { size } from '../../src/data/dataset.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { loadDataset } from '../../src/data/load-dataset.js';
import { buildMlp } from '../../src/models/builders.js';
import { saveTfjsModel, TfjsModel } from '../../src/models/tfjs-model.js';
import { runCli } from '../helpers/run-cli.js';

interface MethodJson {
  method: string;
  flaggedCount: number;
  perClass: number[];
  flagged: number[];
}

let dir: string;
const DATA = 'bundled:train[0:600]';

describe('aegis poison detect', () => {
  before(async () => {
    await initRuntime();
    dir = mkdtempSync(join(tmpdir(), 'aegis-poison-'));
  });

  test('trains a victim, reports flags per method and class, and writes the rest as .npz', async () => {
    const out = join(dir, 'clean.npz');
    const args = ['poison', 'detect', '--data', DATA, '--arch', 'mlp', '--epochs', '3', '--seed', '1'];
    const methods = ['--methods', 'spectral-signatures,label-consistency', '--label-representation', 'inputs'];
    const run = await runCli([...args, ...methods, '--json', '--write-clean', out]);
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as { data: { rows: number }; methods: MethodJson[]; clean: { kept: number } };
    assert.equal(doc.data.rows, 600);
    assert.deepEqual(
      doc.methods.map((m) => m.method),
      ['spectral-signatures', 'label-consistency'],
    );
    const train = loadFashionMnist({ split: 'train', source: 'bundled', limit: 600 });
    const classRows = new Array<number>(10).fill(0);
    for (const y of train.y) classRows[y]++;
    const spectral = doc.methods[0] as MethodJson;
    // The paper's budget: ceil(1.5 × 0.1 × class size) rows of every class.
    assert.deepEqual(
      spectral.perClass,
      classRows.map((m) => Math.ceil(0.15 * m - 1e-9)),
    );
    const union = new Set<number>();
    for (const m of doc.methods) {
      assert.equal(m.flagged.length, m.flaggedCount);
      assert.equal(
        m.perClass.reduce((a, b) => a + b, 0),
        m.flaggedCount,
      );
      for (const i of m.flagged) union.add(i);
    }
    const written = await loadDataset(out);
    assert.equal(size(written), 600 - union.size);
    assert.equal(doc.clean.kept, size(written));
    // The first kept row is row `first` of the original, unchanged.
    let first = 0;
    while (union.has(first)) first++;
    assert.deepEqual(
      Array.from(written.x.subarray(0, 784)),
      Array.from(train.x.subarray(first * 784, (first + 1) * 784)),
    );
    assert.equal(written.y[0], train.y[first]);

    const text = await runCli([...args, '--methods', 'spectral-signatures', '--quiet']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /spectral-signatures\s+\d+\s+\d+\.\d%/);
    assert.match(text.stdout, /flagged rows per class:/);
    assert.match(text.stdout, /9 Ankle boot\s+\d+\s+\d+/);
  });

  test('reads the representations of a saved model', async () => {
    const net = buildMlp({ inputShape: [28, 28, 1], numClasses: 10, hidden: [32, 16], seed: 3 });
    const modelDir = join(dir, 'model');
    await saveTfjsModel(new TfjsModel(net), modelDir);
    const run = await runCli([
      'poison',
      'detect',
      '--data',
      DATA,
      '--model',
      modelDir,
      '--methods',
      'activation-clustering',
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const doc = JSON.parse(run.stdout) as { model: string; methods: MethodJson[] };
    assert.equal(doc.methods.length, 1);
    assert.ok(doc.methods[0]?.flagged.every((i) => Number.isInteger(i) && i >= 0 && i < 600));
  });

  test('activation clustering by exclusionary reclassification retrains without each cluster', async () => {
    const run = await runCli([
      'poison',
      'detect',
      '--data',
      DATA,
      '--arch',
      'mlp',
      '--epochs',
      '3',
      '--methods',
      'activation-clustering',
      '--ac-criterion',
      'reclassification',
      '--reclassification-epochs',
      '1',
      '--reclassify',
      'separated',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /activation-clustering/);
    // Progress names each retraining: class, cluster and its size.
    assert.match(run.stderr, /exclusionary reclassification 1\/\d+: class \d, smaller cluster \(\d+ rows\)/);
  });

  test('bad input exits with code 2 and says what is wrong', async () => {
    const base = ['poison', 'detect', '--data', DATA, '--arch', 'mlp', '--epochs', '1'];
    const cases: [string[], RegExp][] = [
      [[...base, '--methods', 'spectral-signatures,strip'], /unknown poison detection method 'strip'/],
      [[...base, '--expected-fraction', '0.7'], /--expected-fraction takes a fraction in \(0, 0.5\], got '0.7'/],
      [[...base, '--expected-fraction', '0'], /--expected-fraction takes a fraction in \(0, 0.5\]/],
      [[...base, '--write-clean', join(dir, 'out.csv')], /--write-clean writes .npz files/],
      [[...base, '--label-method', 'vote'], /--label-method must be one of auto, knn, confident-learning/],
      [[...base, '--label-representation', 'pixels'], /--label-representation must be one of activations, inputs/],
      [[...base, '--arch', 'resnet'], /unknown architecture 'resnet'/],
      [
        [...base, '--ac-criterion', 'largest'],
        /--ac-criterion must be one of size, silhouette, both, either, reclassification, got 'largest'/,
      ],
      [[...base, '--reclassification-threshold', '0'], /--reclassification-threshold takes a positive number/],
      [[...base, '--reclassify', 'some'], /--reclassify must be one of all, separated, got 'some'/],
      [[...base, '--reclassification-epochs', '0'], /--reclassification-epochs takes a positive whole number/],
      [[...base, '--label-k', 'many'], /--label-k takes a positive whole number, got 'many'/],
      [[...base, '--label-rounds', '0'], /--label-rounds takes a positive whole number/],
      [['poison', 'detect', '--data', join(dir, 'missing.npz')], /no such file or directory/],
      [['poison', 'detect', '--data', 'bundled:train[0:600]', '--model', join(dir, 'nowhere')], /model/],
    ];
    for (const [args, pattern] of cases) {
      const run = await runCli(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, pattern);
    }
  });
});
