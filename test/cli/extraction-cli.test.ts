/**
 * `aegis attack extraction` end to end: bad input exits 2 with one message and no report;
 * good runs write a report with fidelity rows, the curve and the transfer attack.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { initRuntime } from '../../src/core/runtime.js';
import { buildLogisticRegression } from '../../src/models/builders.js';
import { saveTfjsModel } from '../../src/models/tfjs-model.js';
import { runCli } from '../helpers/run-cli.js';

const MODEL = 'test/fixtures/fmnist_cnn.onnx';
const DATA = 'test/fixtures/fmnist_test200.npz';

let dir: string;
let logistic: string;

const run = runCli;

function extraction(extra: string[], model = MODEL): string[] {
  return ['attack', 'extraction', '--model', model, '--data', DATA, '--quiet', ...extra];
}

before(async () => {
  await initRuntime();
  dir = mkdtempSync(join(tmpdir(), 'aegis-extraction-'));
  logistic = join(dir, 'logistic');
  const network = buildLogisticRegression({
    inputShape: [28, 28, 1],
    numClasses: 10,
    seed: 3,
    name: 'victim-logistic',
  });
  await saveTfjsModel(network, logistic);
});

describe('aegis attack extraction rejects bad input with exit code 2 and one message', () => {
  const cases: [string, () => string[], RegExp][] = [
    [
      'budget of 0',
      () => extraction(['--transfer', 'bundled', '--budget', '0']),
      /--budget: 0 is not a positive whole number/,
    ],
    ['budget list with 0', () => extraction(['--transfer', 'bundled', '--budget', '100,0']), /--budget: 0 is not/],
    [
      'equation-solving against a labels-only victim',
      () => extraction(['--attack', 'equation-solving', '--access', 'labels']),
      /equation-solving.*needs 'scores' access.*only grants 'labels'/,
    ],
    [
      'knockoff without transfer data',
      () => extraction(['--budget', '100']),
      /knockoff: needs the attacker's own data.*--transfer/,
    ],
    [
      'jbda without transfer data',
      () => extraction(['--attack', 'jbda', '--budget', '100']),
      /jbda: needs .*--transfer/,
    ],
    ['missing transfer file', () => extraction(['--transfer', join(dir, 'nope.npz'), '--budget', '100']), /nope\.npz/],
    [
      'knockoff without a budget',
      () => extraction(['--transfer', 'bundled']),
      /knockoff needs a query budget \(--budget\)/,
    ],
    [
      'budget larger than the transfer set',
      () => extraction(['--transfer', 'bundled', '--budget', '5000', '--access', 'scores']),
      /5000 queries exceeds the 4000 examples/,
    ],
    ['unknown attack', () => extraction(['--attack', 'knockoff,steal']), /unknown extraction attack 'steal'/],
    [
      'unknown surrogate',
      () => extraction(['--surrogate-arch', 'resnet', '--budget', '9']),
      /unknown architecture 'resnet'/,
    ],
    [
      'unknown strategy',
      () => extraction(['--strategy', 'greedy', '--budget', '9']),
      /unknown knockoff strategy 'greedy'/,
    ],
    [
      'unknown transfer attack',
      () => extraction(['--transfer-attack', 'hsj', '--budget', '9']),
      /--transfer-attack must be/,
    ],
  ];
  for (const [name, args, message] of cases) {
    test(name, async () => {
      const out = join(dir, `out-${name.replace(/\W+/g, '-')}`);
      const { code, stderr } = await run([...args(), '--out', out]);
      assert.equal(code, 2, `exit code for ${name}; stderr: ${stderr}`);
      assert.match(stderr, message);
      assert.ok(!stderr.includes('    at '), `no stack trace for ${name}: ${stderr}`);
      assert.equal(existsSync(join(out, 'report.json')), false, 'no report for a failed run');
    });
  }
});

describe('aegis attack extraction on good input', () => {
  test('equation-solving recovers a saved logistic model exactly and reports it', async () => {
    const out = join(dir, 'es');
    const { code, stderr } = await run(
      extraction(
        ['--attack', 'equation-solving', '--budget', '785,1570', '--transfer-limit', '50', '--out', out],
        logistic,
      ),
    );
    assert.equal(code, 0, stderr);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const [es, transfer] = report.attacks;
    assert.equal(es.name, 'equation-solving');
    assert.equal(es.atlas, 'AML.T0024.002');
    assert.deepEqual(
      es.rows.map((r: { queries: number }) => r.queries),
      [785, 1570],
    );
    assert.ok(es.rows[1].maxParamError < 1e-4, `max parameter error ${es.rows[1].maxParamError}`);
    assert.equal(es.rows[1].fidelity, 1);
    assert.ok(es.rows[1].transferSuccessRate > 0.5, 'an exact copy transfers PGD almost perfectly');
    assert.equal(transfer.name, 'transfer-equation-solving');
    assert.equal(transfer.atlas, 'AML.T0043.002');
    assert.equal(transfer.rows[0].eps, 0.1);
    assert.ok(existsSync(join(out, 'report.html')));
  });

  test('knockoff against the ONNX CNN writes fidelity rows, a curve and a transfer attack', async () => {
    const out = join(dir, 'knockoff');
    const { code, stderr } = await run(
      extraction([
        '--access',
        'scores',
        '--transfer',
        'bundled',
        '--budget',
        '100,400',
        '--surrogate-arch',
        'mlp',
        '--epochs',
        '8',
        '--transfer-limit',
        '60',
        '--out',
        out,
      ]),
    );
    assert.equal(code, 0, stderr);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    const [knockoff, transfer] = report.attacks;
    assert.equal(knockoff.name, 'knockoff-random');
    assert.equal(knockoff.threatModel.access, 'scores');
    assert.deepEqual(
      knockoff.rows.map((r: { queries: number }) => r.queries),
      [100, 400],
    );
    assert.ok(knockoff.rows[1].fidelity > 0.5, `fidelity ${knockoff.rows[1].fidelity}`);
    assert.equal(knockoff.charts[0].series[0].points.length, 2);
    assert.equal(transfer.name, 'transfer-knockoff-random');
    assert.ok(transfer.rows[0].successRate > 0.1, `transfer success ${transfer.rows[0].successRate}`);
  });
});
