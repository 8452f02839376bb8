/**
 * Bad input through the CLI: each case gets one clear message on stderr and exit code 2,
 * and nothing is written to --out.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeIdx } from '../../src/data/idx.js';
import { writeNpzFile } from '../../src/data/npz.js';
import { runCli } from '../helpers/run-cli.js';

const MODEL = 'test/fixtures/fmnist_cnn.onnx';
const DATA = 'test/fixtures/fmnist_test200.npz';

let dir: string;

/** Runs the CLI in-process and captures stderr. */
const run = runCli;

function evasion(extra: string[], data = DATA, model = MODEL): string[] {
  return ['attack', 'evasion', '--model', model, '--data', data, '--limit', '5', '--quiet', ...extra];
}

function images(n: number, fill: (i: number) => number): Float32Array {
  const x = new Float32Array(n * 28 * 28);
  for (let i = 0; i < x.length; i++) x[i] = fill(i);
  return x;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-cli-'));
  const labels = (values: number[]) => ({
    dtype: 'int64' as const,
    shape: [values.length],
    data: BigInt64Array.from(values.map(BigInt)),
  });
  writeNpzFile(join(dir, 'nan.npz'), {
    x: { dtype: 'float32', shape: [2, 1, 28, 28], data: images(2, (i) => (i === 100 ? Number.NaN : 0.5)) },
    y: labels([0, 1]),
  });
  writeNpzFile(join(dir, 'inf.npz'), {
    x: { dtype: 'float32', shape: [2, 1, 28, 28], data: images(2, (i) => (i === 7 ? Number.POSITIVE_INFINITY : 0.5)) },
    y: labels([0, 1]),
  });
  writeNpzFile(join(dir, 'bad-labels.npz'), {
    x: { dtype: 'float32', shape: [2, 1, 28, 28], data: images(2, () => 0.5) },
    y: labels([3, 12]),
  });
  writeNpzFile(join(dir, 'wrong-shape.npz'), {
    x: { dtype: 'float32', shape: [2, 1, 20, 20], data: new Float32Array(2 * 400) },
    y: labels([0, 1]),
  });
  const idx = encodeIdx({ dtype: 'uint8', shape: [3, 28, 28], data: new Uint8Array(3 * 784) });
  writeFileSync(join(dir, 'cut-images-idx3-ubyte'), idx.subarray(0, 500));
  writeFileSync(join(dir, 'cut-labels-idx1-ubyte'), encodeIdx({ dtype: 'uint8', shape: [3], data: new Uint8Array(3) }));
  const npz = readFileSync(DATA);
  writeFileSync(join(dir, 'cut.npz'), npz.subarray(0, Math.floor(npz.length / 2)));
  const onnx = readFileSync(MODEL);
  writeFileSync(join(dir, 'cut.onnx'), onnx.subarray(0, Math.floor(onnx.length / 3)));
  writeFileSync(join(dir, 'garbage.onnx'), 'this is not a model');
  copyFileSync(MODEL, join(dir, 'model.onnx'));
});

after(() => {
  // Temporary files live under the OS temp folder; nothing else to clean.
});

describe('aegis CLI rejects bad input with exit code 2 and one message', () => {
  const cases: [string, () => string[], RegExp][] = [
    ['unknown attack name', () => evasion(['--attack', 'fgsm,nosuch']), /unknown evasion attack 'nosuch'.*fgsm, pgd/],
    ['eps outside the input domain', () => evasion(['--eps', '0.1,1.5']), /eps 1\.5 is outside the input domain/],
    ['negative eps', () => evasion(['--eps', '-0.1']), /--eps: -0\.1 is negative/],
    ['eps that is not a number', () => evasion(['--eps', '0.1,abc']), /--eps takes a comma-separated list of numbers/],
    ['unknown norm', () => evasion(['--norm', 'l3']), /--norm must be one of linf, l2/],
    ['attack that does not support the norm', () => evasion(['--attack', 'cw', '--norm', 'linf']), /supports l2 only/],
    ['NaN in the data', () => evasion([], join(dir, 'nan.npz')), /NaN .*not finite|not finite/],
    ['Infinity in the data', () => evasion([], join(dir, 'inf.npz')), /Infinity.*not finite/],
    [
      'labels out of range',
      () => evasion([], join(dir, 'bad-labels.npz')),
      /label 12 of example 1 is outside .*\[0, 9\]/,
    ],
    ['wrong example shape', () => evasion([], join(dir, 'wrong-shape.npz')), /shape \[20,20,1\].*expects \[28,28,1\]/],
    [
      'truncated IDX file',
      () => evasion([], join(dir, 'cut-images-idx3-ubyte')),
      /cut-images-idx3-ubyte.*(truncated|short|bytes)/i,
    ],
    ['truncated NPZ file', () => evasion([], join(dir, 'cut.npz')), /cut\.npz/],
    ['truncated ONNX file', () => evasion([], DATA, join(dir, 'cut.onnx')), /cut\.onnx/],
    ['garbage ONNX file', () => evasion([], DATA, join(dir, 'garbage.onnx')), /garbage\.onnx/],
    ['missing model', () => evasion([], DATA, join(dir, 'nope.onnx')), /nope\.onnx' does not exist/],
    ['missing data', () => evasion([], join(dir, 'nope.npz')), /nope\.npz/],
    [
      'gradients from a labels-only view',
      () => evasion(['--attack', 'pgd', '--access', 'labels']),
      /needs 'gradients' access/,
    ],
    ['unknown access level', () => evasion(['--access', 'root']), /--access must be one of/],
    ['unknown option', () => [...evasion([]), '--frobnicate'], /unknown option '--frobnicate'/],
    [
      'non-numeric limit',
      () => ['attack', 'evasion', '--model', MODEL, '--data', DATA, '--limit', 'ten'],
      /--limit takes a positive whole number/,
    ],
    [
      'unknown architecture',
      () => ['train', '--arch', 'transformer', '--out', join(dir, 'm')],
      /unknown architecture 'transformer'/,
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

describe('aegis CLI on good input', () => {
  test('attack evasion writes a report and exits 0', async () => {
    const out = join(dir, 'good');
    const { code, stderr } = await run(evasion(['--attack', 'fgsm', '--eps', '0.1', '--out', out]));
    assert.equal(code, 0, stderr);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.equal(report.schema, 'aegis.report/1');
    assert.equal(report.attacks[0].name, 'fgsm');
    assert.equal(report.attacks[0].atlas, 'AML.T0043.000');
    assert.match(report.model.sha256, /^[0-9a-f]{64}$/);
    assert.ok(report.attacks[0].rows[0].accuracy < report.clean.accuracy, 'FGSM lowers accuracy');
    assert.ok(existsSync(join(out, 'report.html')));
  });

  test('--help exits 0', async () => {
    assert.equal((await run(['attack', 'evasion', '--help'])).code, 0);
  });
});
