/**
 * `aegis attack inversion` end to end on synthetic PGM faces written to a temp folder: reports on
 * good input; exit code 2 with one message (and no report) on bad input.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { trainPaperVictim } from '../../src/attacks/inversion/paper-victims.js';
import { Rng } from '../../src/core/rng.js';
import { initRuntime } from '../../src/core/runtime.js';
import { loadImageFolderDataset } from '../../src/data/image-folder.js';
import { writePgm } from '../../src/data/pgm.js';
import { saveTfjsModel } from '../../src/models/tfjs-model.js';
import { runCli } from '../helpers/run-cli.js';

const SIDE = 16;
const SUBJECTS = 4;
let dir: string;
let faces: string;
let victim: string;

const run = runCli;

/** s1…s4, 8 images each: a smooth random prototype per subject plus noise, as 8-bit PGMs. */
function writeFaces(root: string): void {
  const rng = new Rng(3);
  for (let k = 1; k <= SUBJECTS; k++) {
    const coarse = rng.uniformArray(16, 30, 220);
    mkdirSync(join(root, `s${k}`), { recursive: true });
    for (let m = 1; m <= 8; m++) {
      const data = new Uint16Array(SIDE * SIDE);
      for (let p = 0; p < data.length; p++) {
        const base = coarse[((p >> 4) >> 2) * 4 + ((p & 15) >> 2)] as number;
        data[p] = Math.round(Math.min(255, Math.max(0, base + 25 * rng.normal())));
      }
      writePgm(join(root, `s${k}`, `${m}.pgm`), { width: SIDE, height: SIDE, maxval: 255, data });
    }
  }
}

function inversion(extra: string[], data = faces): string[] {
  return ['attack', 'inversion', '--model', victim, '--data', data, '--quiet', '--steps', '200', ...extra];
}

before(async () => {
  await initRuntime();
  dir = mkdtempSync(join(tmpdir(), 'aegis-inv-cli-'));
  faces = join(dir, 'faces');
  writeFaces(faces);
  const model = await trainPaperVictim('softmax', loadImageFolderDataset(faces), { seed: 1, epochs: 100 });
  victim = join(dir, 'victim');
  await saveTfjsModel(model, victim);
  model.dispose();
  const cut = join(dir, 'cut');
  writeFaces(cut);
  writeFileSync(join(cut, 's2', '3.pgm'), 'P5\n16 16\n255\n\x01\x02\x03');
});

describe('aegis attack inversion on good input', () => {
  test('white-box: report with identification accuracy, SSIM and reconstructions beside class means', async () => {
    const out = join(dir, 'wb');
    const { code, stderr, stdout } = await run(inversion(['--json', '--out', out, '--classes', 's1,s3,3']));
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout);
    const attack = report.attacks[0];
    assert.equal(attack.name, 'mi-face');
    assert.equal(attack.atlas, 'AML.T0024.001');
    assert.equal(attack.threatModel.access, 'gradients');
    const row = attack.rows[0];
    assert.equal(row.identificationAccuracy, 1);
    assert.ok(row.ssim > 0 && row.ssim <= 1, `ssim ${row.ssim}`);
    assert.equal(row.queries, 0);
    assert.equal(row.classes, 3);
    assert.deepEqual(attack.examples.labels, [0, 2, 3]);
    assert.deepEqual(attack.examples.shape, [SIDE, SIDE, 1]);
    assert.doesNotMatch(attack.threatModelText, /budgets|untargeted/, 'no evasion budgets in the threat model text');
    assert.equal(attack.examples.captions.adversarial, 'reconstruction');
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /mean training image \(left\) and the MI-Face reconstruction/);
    assert.match(html, /reconstruction → /);
    assert.doesNotMatch(html, /perturbation amplified|max \|δ\|/, 'no perturbation panel for inversion pairs');
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).attacks[0].rows, attack.rows);
  });

  test('zeroth-order: queries counted and within the per-class budget', async () => {
    const { code, stderr, stdout } = await run(
      inversion(['--json', '--gradient', 'zeroth-order', '--budget', '4100', '--directions', '20', '--classes', 'all']),
    );
    assert.equal(code, 0, stderr);
    const attack = JSON.parse(stdout).attacks[0];
    const row = attack.rows[0];
    assert.equal(attack.threatModel.access, 'scores');
    assert.equal(attack.threatModel.queryBudget, 4100);
    assert.ok(row.queries > 0 && row.queries <= 4100 * SUBJECTS, `${row.queries} queries`);
    assert.ok(row.identificationAccuracy >= 0.75, `identification ${row.identificationAccuracy}`);
  });
});

describe('aegis attack inversion rejects bad input with exit code 2 and one message', () => {
  const cases: [string, () => string[], RegExp][] = [
    [
      'zeroth-order with budget 0',
      () => inversion(['--gradient', 'zeroth-order', '--budget', '0']),
      /needs --budget > 0/,
    ],
    ['zeroth-order without budget', () => inversion(['--gradient', 'zeroth-order']), /needs --budget > 0/],
    [
      'budget too small for one step',
      () => inversion(['--gradient', 'zeroth-order', '--budget', '5']),
      /budget of 5 per class cannot pay for one zeroth-order step/,
    ],
    [
      'white-box against a scores-only model',
      () => inversion(['--access', 'scores']),
      /MI-Face with white-box gradients needs 'gradients' access.*only grants 'scores'/,
    ],
    [
      'zeroth-order against a labels-only model',
      () => inversion(['--access', 'labels', '--gradient', 'zeroth-order', '--budget', '1000']),
      /needs 'scores' access.*only grants 'labels'/,
    ],
    [
      'unknown class',
      () => inversion(['--classes', 's1,s99']),
      /--classes: unknown class 's99'.*4 classes \(s1, s2, s3, s4\)/,
    ],
    ['unknown attack', () => inversion(['--attack', 'gan-inversion']), /unknown inversion attack 'gan-inversion'/],
    [
      'unknown gradient source',
      () => inversion(['--gradient', 'magic']),
      /gradient source must be one of white-box, zeroth-order/,
    ],
    ['unknown process', () => inversion(['--process', 'blur']), /--process must be none or denoise-sharpen/],
    ['negative budget', () => inversion(['--budget', '-3']), /--budget takes a whole number ≥ 0/],
    ['truncated PGM in the data', () => inversion([], join(dir, 'cut')), /cut\/s2\/3\.pgm: truncated PGM file/],
    ['missing eval model', () => inversion(['--eval-model', join(dir, 'nope')]), /nope' does not exist/],
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
