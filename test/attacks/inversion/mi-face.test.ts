/**
 * MI-Face on a synthetic face problem: 5 classes of 16×16 "faces" (fixed smooth random prototypes
 * plus noise), a softmax-regression victim trained as Fredrikson et al. did, and a separately
 * trained MLP as the evaluation classifier.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { classMeans } from '../../../src/attacks/inversion/evaluate.js';
import { whiteBoxOracle, zerothOrderOracle } from '../../../src/attacks/inversion/gradient-source.js';
import { miFace } from '../../../src/attacks/inversion/mi-face.js';
import { trainPaperVictim } from '../../../src/attacks/inversion/paper-victims.js';
import { invertClasses, runInversion } from '../../../src/attacks/inversion/run-inversion.js';
import { ssim } from '../../../src/attacks/inversion/ssim.js';
import { AccessError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import type { Dataset } from '../../../src/data/dataset.js';
import type { Model } from '../../../src/models/model.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import { trainClassifier } from '../../../src/models/train-classifier.js';

const SIDE = 16;
const CLASSES = 5;

/** Smooth random prototypes (4×4 blocks of uniform grey, 2×2 box-blurred) and noisy copies. */
function syntheticFaces(perClass: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const prototypes = Array.from({ length: CLASSES }, () => {
    const coarse = rng.uniformArray(16, 0.1, 0.9);
    const img = new Float32Array(SIDE * SIDE);
    for (let r = 0; r < SIDE; r++) for (let c = 0; c < SIDE; c++) img[r * SIDE + c] = coarse[(r >> 2) * 4 + (c >> 2)]!;
    return img;
  });
  const x = new Float32Array(CLASSES * perClass * SIDE * SIDE);
  const y = new Int32Array(CLASSES * perClass);
  for (let k = 0; k < CLASSES; k++) {
    for (let m = 0; m < perClass; m++) {
      const i = k * perClass + m;
      y[i] = k;
      for (let p = 0; p < SIDE * SIDE; p++) {
        x[i * SIDE * SIDE + p] = Math.min(1, Math.max(0, prototypes[k]![p]! + 0.1 * rng.normal()));
      }
    }
  }
  return {
    name: 'synthetic-faces',
    x,
    y,
    shape: [CLASSES * perClass, SIDE, SIDE, 1],
    classNames: Array.from({ length: CLASSES }, (_, k) => `s${k + 1}`),
  };
}

let train: Dataset;
let victim: Model;
let evaluator: Model;
let means: Float32Array[];

before(async () => {
  await initRuntime();
  train = syntheticFaces(20, 1);
  means = classMeans(train);
  victim = await trainPaperVictim('softmax', train, { seed: 2, epochs: 100 });
  evaluator = (await trainClassifier('mlp', train, { seed: 99, epochs: 30, progress: false })).model;
});

after(() => {
  victim.dispose();
  evaluator.dispose();
});

/** Each reconstruction is closer (SSIM) to its own class mean than to any other class mean. */
function assertOwnMeanClosest(reconstructions: Float32Array[]): void {
  reconstructions.forEach((r, k) => {
    const scores = means.map((m) => ssim(r, m, SIDE, SIDE));
    const best = scores.indexOf(Math.max(...scores));
    assert.equal(best, k, `class ${k}: SSIM to the class means ${scores.map((s) => s.toFixed(3))}`);
  });
}

describe('MI-Face (Fredrikson et al. 2015)', () => {
  test('white-box: reconstructions are identified and resemble their own class mean', async () => {
    const before = tf.memory().numTensors;
    const result = await runInversion(victim, train, { gradient: 'white-box', seed: 0, evaluator, steps: 300 });
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    const row = result.rows[0]!;
    assert.equal(row.identificationAccuracy, 1);
    assert.equal(row.queries, 0);
    assert.ok(row.meanConfidence > 0.9, `confidence ${row.meanConfidence}`);
    assertOwnMeanClosest(result.run.results.map((r) => r.x));
    assert.equal(result.atlas, 'AML.T0024.001');
    assert.equal(result.threatModel.access, 'gradients');
    assert.equal(result.examples.clean.length, CLASSES);
    for (const r of result.run.results) for (const v of r.x) assert.ok(v >= 0 && v <= 1);
  });

  test('zeroth-order: works from scores only, every query counted and within budget', async () => {
    const budget = 41 * 150;
    const scoresOnly = new QueryCountingModel(victim, 'scores');
    const result = await runInversion(scoresOnly, train, {
      gradient: 'zeroth-order',
      budget,
      directions: 20,
      seed: 0,
      evaluator,
      steps: 1000,
    });
    const row = result.rows[0]!;
    assert.equal(row.identificationAccuracy, 1);
    assert.equal(row.queries, scoresOnly.queries, 'queries reported = queries the model saw');
    assert.ok(row.queries > 0 && row.queries <= budget * CLASSES, `${row.queries} queries`);
    assert.equal(result.threatModel.queryBudget, budget);
    assertOwnMeanClosest(result.run.results.map((r) => r.x));
  });

  test('one oracle never exceeds its budget; same seed gives the same reconstruction', async () => {
    const run = async (seed: number) => {
      const oracle = zerothOrderOracle(victim, 2, { budget: 1000, directions: 10, seed });
      const res = await miFace(oracle, SIDE * SIDE, { steps: 500 });
      return { res, queries: oracle.queries };
    };
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    assert.ok(a.queries <= 1000 && a.queries > 1000 - 21, `${a.queries}`);
    assert.equal(a.res.stoppedBy, 'budget');
    assert.deepEqual(a.res.x, b.res.x);
    assert.notDeepEqual(a.res.x, c.res.x);
    const w1 = await invertClasses(victim, { gradient: 'white-box', seed: 1, classes: [3], steps: 50 });
    const w2 = await invertClasses(victim, { gradient: 'white-box', seed: 1, classes: [3], steps: 50 });
    assert.deepEqual(w1.results[0]!.x, w2.results[0]!.x);
  });

  test('stopping rules: confidence threshold and α', async () => {
    const low = await miFace(whiteBoxOracle(victim, 0), SIDE * SIDE, { confidence: 0.5, steps: 1000 });
    assert.equal(low.stoppedBy, 'confidence');
    assert.ok(1 - low.cost >= 0.5);
    const short = await miFace(whiteBoxOracle(victim, 0), SIDE * SIDE, { steps: 3 });
    assert.equal(short.stoppedBy, 'steps');
    assert.equal(short.iterations, 3);
    const processed = await miFace(whiteBoxOracle(victim, 1), SIDE * SIDE, {
      steps: 100,
      process: 'denoise-sharpen',
      imageShape: [SIDE, SIDE, 1],
    });
    assert.ok(processed.cost < 1 - 1 / CLASSES, 'PROCESS variant still raises the confidence');
  });

  test('access and budget errors', async () => {
    const scoresOnly = new QueryCountingModel(victim, 'scores');
    await assert.rejects(
      invertClasses(scoresOnly, { gradient: 'white-box', seed: 0 }),
      (e: unknown) => e instanceof AccessError && /needs 'gradients' access/.test(e.message),
    );
    const labelsOnly = new QueryCountingModel(victim, 'labels');
    await assert.rejects(
      invertClasses(labelsOnly, { gradient: 'zeroth-order', seed: 0, budget: 1000 }),
      (e: unknown) => e instanceof AccessError && /needs 'scores' access/.test(e.message),
    );
    await assert.rejects(invertClasses(victim, { gradient: 'zeroth-order', seed: 0 }), /needs a query budget > 0/);
    await assert.rejects(
      invertClasses(victim, { gradient: 'zeroth-order', seed: 0, budget: 10, directions: 50 }),
      /budget of 10 per class cannot pay for one zeroth-order step/,
    );
    await assert.rejects(invertClasses(victim, { gradient: 'white-box', seed: 0, classes: [7] }), /class 7 is not one/);
  });
});
