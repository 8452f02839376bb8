import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import { makeThreatModel } from '../../src/core/threat-model.js';
import {
  buildReport,
  reportToJson,
  roundSignificant,
  validateReport,
  writeReport,
} from '../../src/report/build-report.js';
import { CLASS_NAMES, evasionResult, imagePairs, reportInput, SHA } from './fixtures.js';

const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function sampleReport() {
  return buildReport(
    reportInput([evasionResult('fgsm', 'gradients', imagePairs(4, 8, 8, 1, 0.1)), evasionResult('square', 'scores')]),
  );
}

/** Runs fn, expecting an AegisInputError whose message matches `pattern`. */
function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AegisInputError, `expected AegisInputError, got ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('buildReport', () => {
  it('produces a valid aegis.report/1 document with model, clean accuracy and rows', () => {
    const report = sampleReport();
    const json = JSON.parse(reportToJson(report));
    assert.deepEqual(validateReport(json), json);
    assert.equal(json.schema, 'aegis.report/1');
    assert.deepEqual(json.tool, { name: 'aegis', version: pkg.version });
    assert.equal(json.createdAt, '2025-01-02T03:04:05.000Z');
    assert.equal(json.seed, 7);
    assert.equal(json.runtime.backend, 'wasm');
    assert.equal(json.model.sha256, SHA);
    assert.equal(json.model.access, 'gradients');
    assert.deepEqual(json.dataset.classNames, CLASS_NAMES);
    assert.equal(json.clean.accuracy, 0.91235); // 5 significant digits
    assert.equal(json.clean.size, 100);
    assert.deepEqual(
      json.attacks.map((a: { name: string; atlas: string; atlasName: string }) => [a.name, a.atlas, a.atlasName]),
      [
        ['fgsm', 'AML.T0043.000', 'White-Box Optimization'],
        ['square', 'AML.T0043.001', 'Black-Box Optimization'],
      ],
    );
    const square = json.attacks[1];
    assert.equal(square.threatModel.access, 'scores');
    assert.equal(square.threatModel.queryBudget, 1000);
    assert.match(square.threatModelText, /black-box with class scores.*1000 queries/);
    assert.equal(square.rows.length, 3);
    for (const key of ['eps', 'accuracy', 'successRate', 'meanPerturbation', 'queries', 'seconds']) {
      assert.equal(typeof square.rows[0][key], 'number', key);
    }
    assert.deepEqual(square.rows[1], {
      eps: 0.1,
      accuracy: 0.57654,
      successRate: 0.42346,
      meanPerturbation: 0.098765,
      queries: 24690,
      seconds: 2.4691,
    });
    assert.equal(json.attacks[0].rows[0].gradients, 1);
    assert.equal(square.examples, undefined);
  });

  it('keeps example pixels to 3 decimals with their labels and predictions', () => {
    const ex = sampleReport().attacks[0].examples;
    assert.ok(ex);
    assert.deepEqual(ex.shape, [8, 8, 1]);
    assert.equal(ex.clean.length, 4);
    assert.equal(ex.adversarial[0].length, 64);
    for (const v of [...ex.clean.flat(), ...ex.adversarial.flat()]) assert.equal(v, Math.round(v * 1000) / 1000);
    assert.equal(ex.clean[0][1], 0.063); // 1/16 = 0.0625 → 0.063
    assert.deepEqual(ex.labels, [0, 1, 2, 3]);
    assert.deepEqual(ex.adversarialPredictions, [2, 3, 0, 1]);
  });

  it('rounds to significant digits but keeps integers exact', () => {
    assert.equal(roundSignificant(123456789), 123456789);
    assert.equal(roundSignificant(0.000123456789), 0.00012346);
    assert.equal(roundSignificant(12.3456789), 12.346);
  });

  it('accepts other attack families with their own row metrics and charts', () => {
    const report = buildReport({
      ...reportInput([]),
      attacks: [
        {
          attack: 'shadow-mia',
          title: 'Shadow-model membership inference',
          citation: 'Shokri et al., Membership Inference Attacks against ML Models (S&P 2017)',
          atlas: 'AML.T0024.000',
          threatModel: makeThreatModel({ access: 'scores' }),
          rows: [{ auc: 0.7123456, tprAt1Fpr: 0.05 }],
          charts: [
            {
              title: 'ROC',
              xTitle: 'FPR',
              yTitle: 'TPR',
              series: [
                {
                  name: 'shadow',
                  points: [
                    { x: 0.001, y: 0.01 },
                    { x: 1, y: 1 },
                  ],
                },
              ],
              logX: true,
              logY: true,
            },
          ],
        },
      ],
    });
    const back = validateReport(JSON.parse(reportToJson(report)));
    assert.equal(back.attacks[0].atlasName, 'Infer Training Data Membership');
    assert.deepEqual(back.attacks[0].rows, [{ auc: 0.71235, tprAt1Fpr: 0.05 }]);
    assert.equal(back.attacks[0].charts?.[0].series[0].points.length, 2);
  });

  it('throws for an unknown ATLAS technique id', () => {
    const bad = { ...evasionResult('fgsm', 'gradients'), atlas: 'AML.T0043.042' };
    rejects(() => buildReport(reportInput([bad])), /unknown MITRE ATLAS technique 'AML\.T0043\.042'/);
  });

  it('refuses NaN metrics', () => {
    const result = evasionResult('fgsm', 'gradients');
    result.rows[2].accuracy = Number.NaN;
    rejects(() => buildReport(reportInput([result])), /attacks\.0\.rows\.2\.accuracy/);
  });
});

describe('validateReport', () => {
  it('rejects a document without schema', () => {
    const json = JSON.parse(reportToJson(sampleReport()));
    delete json.schema;
    rejects(() => validateReport(json), /invalid report: schema/);
    rejects(() => validateReport({ ...json, schema: 'aegis.report/2' }), /schema/);
  });

  it('rejects a row missing eps when the threat model sets budgets', () => {
    const json = JSON.parse(reportToJson(sampleReport()));
    delete json.attacks[1].rows[1].eps;
    rejects(() => validateReport(json), /attacks\.1\.rows\.1\.eps: missing/);
  });

  it('rejects examples whose sizes disagree with their shape', () => {
    const json = JSON.parse(reportToJson(sampleReport()));
    json.attacks[0].examples.adversarial[3].pop();
    rejects(
      () => validateReport(json),
      /attacks\.0\.examples\.adversarial\.3: has 63 values, shape \[8,8,1\] needs 64/,
    );
    const json2 = JSON.parse(reportToJson(sampleReport()));
    json2.attacks[0].examples.labels.pop();
    rejects(() => validateReport(json2), /examples\.labels: has 3 entries/);
  });

  it('rejects non-objects, bad ATLAS ids and string metrics', () => {
    rejects(() => validateReport(null), /invalid report/);
    const json = JSON.parse(reportToJson(sampleReport()));
    json.attacks[0].atlas = 'T0043';
    rejects(() => validateReport(json), /attacks\.0\.atlas: must be a MITRE ATLAS technique id/);
    const json2 = JSON.parse(reportToJson(sampleReport()));
    json2.attacks[0].rows[0].accuracy = '0.5';
    rejects(() => validateReport(json2), /attacks\.0\.rows\.0\.accuracy/);
  });

  it('tolerates extra keys from newer writers', () => {
    const json = JSON.parse(reportToJson(sampleReport()));
    json.attacks[0].rows[0].auc = 0.5;
    json.attacks[0].notes = 'extra';
    json.extra = { anything: true };
    const back = validateReport(json);
    assert.equal(back.attacks[0].rows[0].auc, 0.5);
  });
});

describe('writeReport', () => {
  it('writes report.json and report.html into a new directory', async () => {
    const base = await mkdtemp(join(tmpdir(), 'aegis-report-'));
    try {
      const dir = join(base, 'nested', 'out');
      const paths = await writeReport(dir, sampleReport());
      assert.equal(paths.json, join(dir, 'report.json'));
      const text = await readFile(paths.json, 'utf8');
      const json = validateReport(JSON.parse(text));
      assert.equal(json.model.sha256, SHA);
      // Number arrays stay on one line: 4 examples × 2 images, not 512 lines of pixels.
      assert.ok(text.split('\n').length < 200, `${text.split('\n').length} lines`);
      const html = await readFile(paths.html, 'utf8');
      assert.match(html, /^<!doctype html>/);
      assert.match(html, /<svg/);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
