/**
 * The defense matrix on a small MLP trained on bundled Fashion-MNIST: rows and columns, refused
 * cells for attacks the defended model does not grant, detector figures, clean-accuracy cost,
 * and the report it becomes.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { initRuntime, tf } from '../../src/core/runtime.js';
import { type Dataset, split } from '../../src/data/dataset.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { assessDefenses, type DefenseMatrix } from '../../src/defenses/assess.js';
import { matrixAttackResults, matrixDefenses } from '../../src/defenses/assess-report.js';
import { parseDefenseList, parseDefenseParams } from '../../src/defenses/registry.js';
import type { TfjsModel } from '../../src/models/tfjs-model.js';
import { trainClassifier } from '../../src/models/train-classifier.js';
import { buildReport, datasetSummary } from '../../src/report/build-report.js';
import { renderHtml } from '../../src/report/render-html.js';

let model: TfjsModel;
let calibration: Dataset;
let testData: Dataset;
let matrix: DefenseMatrix;

const DEFENSES = ['top-k', 'label-only', 'feature-squeezing', 'median-smoothing'];

describe('assessDefenses', () => {
  before(async () => {
    await initRuntime();
    const train = loadFashionMnist({ split: 'train', source: 'bundled', limit: 600 });
    ({ model } = await trainClassifier('mlp', train, { epochs: 4, seed: 3, progress: false }));
    const data = loadFashionMnist({ split: 'test', source: 'bundled', limit: 200 });
    [calibration, testData] = split(data, 0.4, new Rng(5));
    matrix = await assessDefenses({
      model,
      calibration,
      test: testData,
      defenses: DEFENSES.map((name) => ({ name })),
      attacks: ['fgsm', 'square'],
      epsilons: [0.1],
      norm: 'linf',
      seed: 1,
      steps: 40,
      limit: 100,
    });
  });

  test('has a row for none and each defense, and a cell per attack and budget', () => {
    assert.deepEqual(
      matrix.rows.map((r) => r.defense),
      ['none', ...DEFENSES],
    );
    assert.equal(matrix.examples, 100);
    for (const row of matrix.rows) {
      assert.deepEqual(
        row.cells.map((c) => `${c.attack}@${c.eps}`),
        ['fgsm@0.1', 'square@0.1'],
      );
    }
  });

  test('the undefended model loses accuracy to FGSM', () => {
    const none = matrix.rows[0];
    const fgsm = none?.cells[0];
    assert.equal(fgsm?.status, 'ok');
    assert.ok((fgsm?.accuracy ?? 1) < (none?.cleanAccuracy ?? 0) - 0.2, JSON.stringify(none));
    assert.ok((fgsm?.successRate ?? 0) > 0.3);
  });

  test('output hardening refuses the attacks that need more access, with the reason', () => {
    const labelOnly = matrix.rows.find((r) => r.defense === 'label-only');
    assert.equal(labelOnly?.access, 'labels');
    for (const cell of labelOnly?.cells ?? []) {
      assert.equal(cell.status, 'refused');
      assert.match(cell.reason ?? '', /needs '(gradients|scores)' access.*only 'labels'/);
      assert.equal(cell.accuracy, undefined);
    }
    const topK = matrix.rows.find((r) => r.defense === 'top-k');
    assert.equal(topK?.cells[0]?.status, 'refused');
    assert.equal(topK?.cells[1]?.status, 'ok'); // Square only needs scores
  });

  test('detector rows carry detection rate, false-positive rate and the calibrated threshold', () => {
    const fs = matrix.rows.find((r) => r.defense === 'feature-squeezing');
    assert.equal(fs?.kind, 'detector');
    assert.ok(Number.isFinite(fs?.threshold));
    assert.equal(fs?.targetFalsePositiveRate, 0.05);
    const fgsm = fs?.cells[0];
    assert.equal(fgsm?.status, 'ok');
    assert.ok(typeof fgsm?.detectionRate === 'number' && fgsm.detectionRate >= 0 && fgsm.detectionRate <= 1);
    assert.ok(typeof fgsm?.falsePositiveRate === 'number' && fgsm.falsePositiveRate <= 0.25);
    assert.ok((fgsm?.undetectedSuccessRate ?? 2) <= (fgsm?.successRate ?? 0));
    // Square is not crafted by the detection evaluation: robust accuracy only, with a reason.
    assert.equal(fs?.cells[1]?.detectionRate, undefined);
    assert.match(fs?.cells[1]?.reason ?? '', /robust accuracy only/);
  });

  test('clean-accuracy cost is the undefended accuracy minus the row’s', () => {
    const none = matrix.rows[0]?.cleanAccuracy ?? Number.NaN;
    for (const row of matrix.rows) assert.equal(row.cleanAccuracyCost, none - row.cleanAccuracy);
    // Wrappers that only change what is revealed keep the labels.
    assert.equal(matrix.rows.find((r) => r.defense === 'label-only')?.cleanAccuracyCost, 0);
  });

  test('becomes a valid report with a defenses section and an HTML matrix', async () => {
    const report = buildReport({
      model: model.info,
      dataset: datasetSummary(testData),
      cleanAccuracy: matrix.rows[0]?.cleanAccuracy ?? 0,
      seed: 1,
      backend: tf.getBackend(),
      attacks: matrixAttackResults(matrix, model.info.inputRange),
      defenses: matrixDefenses(matrix),
    });
    assert.equal(report.defenses?.length, 5);
    const fs = report.attacks.find((a) => a.name === 'feature-squeezing / fgsm');
    assert.deepEqual(
      fs?.mitigations?.map((m) => m.id),
      ['AML.M0015'],
    );
    assert.equal(fs?.atlas, 'AML.T0043.000');
    for (const key of ['cleanAccuracy', 'cleanAccuracyCost', 'accuracy', 'successRate', 'falsePositiveRate']) {
      assert.equal(typeof fs?.rows[0]?.[key], 'number', key);
    }
    assert.ok(!report.attacks.some((a) => a.name.startsWith('label-only')));
    const html = await renderHtml(report);
    assert.match(html, /Defense matrix/);
    assert.match(html, /fgsm@0\.1/);
  });

  test('bad names and missing data are input errors before anything runs', async () => {
    assert.throws(() => parseDefenseList('top-k,nope'), /unknown defense 'nope'; valid names: .*feature-squeezing/);
    assert.throws(() => parseDefenseList('top-k,top-k'), /twice/);
    assert.deepEqual(parseDefenseParams('k=3,renormalise=true'), { k: '3', renormalise: 'true' });
    assert.throws(() => parseDefenseParams('k'), AegisInputError);
    const base = { model, calibration, test: testData, epsilons: [0.1], norm: 'linf' as const, seed: 0 };
    await assert.rejects(assessDefenses({ ...base, defenses: [], attacks: ['nope'] }), /unknown evasion attack/);
    await assert.rejects(
      assessDefenses({ ...base, defenses: [{ name: 'pgd-at' }], attacks: ['fgsm'] }),
      /needs training data/,
    );
    await assert.rejects(
      assessDefenses({ ...base, defenses: [{ name: 'top-k' }], attacks: ['adaptive'] }),
      /targets a detector/,
    );
  });
});
