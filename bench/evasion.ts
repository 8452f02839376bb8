/**
 * FGSM and PGD speed and strength on the reference Fashion-MNIST CNN, as users get them: the
 * attacks' own run() from the evasion registry on the imported ONNX model, through both
 * gradient routes (ONNX Runtime fast path, pure tfjs). FGSM L-inf eps 0.1; PGD L-inf eps 0.1,
 * step 0.01, 40 steps, 1 random start; batch 100, seed 0. Rounds interleave the routes so
 * machine load hits them alike; prints one JSON line with medians. `…ImagesPerSecond` is examples
 * per wall-clock second of run() (what users wait for, including the clean and adversarial
 * predictions); `…GenerationImagesPerSecond` counts only the attack's own time (its rows'
 * `seconds`), which is what the PyTorch reference script times.
 * Usage: npx tsx bench/evasion.ts [--rounds 3] [--threads 1] [--routes onnxruntime,tfjs]
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { getEvasionAttack } from '../src/attacks/evasion/registry.js';
import { initRuntime, tf } from '../src/core/runtime.js';
import { makeThreatModel } from '../src/core/threat-model.js';
import { loadNpzDataset } from '../src/data/npz-dataset.js';
import type { Model } from '../src/models/model.js';
import { importOnnxModel } from '../src/models/onnx-import.js';
import { sharedPath } from '../test/helpers/shared-dir.js';

const BASELINE = sharedPath('baseline');
const FIXTURES = new URL('../test/fixtures/', import.meta.url).pathname;
/** PyTorch/ART figures on the 1000 baseline images (baseline/README.md), plus one point of slack. */
const TARGETS = { cleanAccuracy: 0.879, fgsmAccuracyAtMost: 0.142, pgdAccuracyAtMost: 0.075 };

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
    routes: { type: 'string', default: 'onnxruntime,tfjs' },
  },
});
const rounds = Number(values.rounds);
const threads = Number(values.threads);
const routes = String(values.routes).split(',') as ('onnxruntime' | 'tfjs')[];

const backend = await initRuntime();
const shared = existsSync(`${BASELINE}/fmnist_test1000.npz`) && existsSync(`${BASELINE}/fmnist_cnn.onnx`);
const modelPath = shared ? `${BASELINE}/fmnist_cnn.onnx` : `${FIXTURES}fmnist_cnn.onnx`;
const dataPath = shared ? `${BASELINE}/fmnist_test1000.npz` : `${FIXTURES}fmnist_test200.npz`;
const data = await loadNpzDataset(dataPath);
const x = tf.tensor(data.x, data.shape);
const batch = { x, y: data.y };
const n = data.y.length;

const models: Record<string, Model> = {};
for (const route of routes) {
  const model = await importOnnxModel(modelPath, {
    ortGradients: route === 'onnxruntime',
    ortGradientThreads: threads,
  });
  if (route === 'onnxruntime' && model.gradientRoute.engine !== 'onnxruntime') {
    throw new Error(`the ONNX Runtime route is unavailable: ${model.gradientRoute.reason}`);
  }
  models[route] = model;
}

const threat = makeThreatModel({ access: 'gradients', norm: 'linf', epsilons: [0.1] });
const fgsm = getEvasionAttack('fgsm');
const pgd = getEvasionAttack('pgd');

interface Sample {
  fgsmImagesPerSecond: number;
  pgd40ImagesPerSecond: number;
  fgsmGenerationImagesPerSecond: number;
  pgd40GenerationImagesPerSecond: number;
  fgsmAccuracy: number;
  pgdAccuracy: number;
}

async function measure(model: Model): Promise<Sample> {
  let t0 = performance.now();
  const f = await fgsm.run(model, batch, threat, { seed: 0, batchSize: 100, keepExamples: 0 });
  const fgsmSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const p = await pgd.run(model, batch, threat, {
    seed: 0,
    steps: 40,
    stepSize: 0.01,
    restarts: 1,
    batchSize: 100,
    keepExamples: 0,
  });
  const pgdSeconds = (performance.now() - t0) / 1000;
  return {
    fgsmImagesPerSecond: n / fgsmSeconds,
    pgd40ImagesPerSecond: n / pgdSeconds,
    fgsmGenerationImagesPerSecond: n / f.rows[0].seconds,
    pgd40GenerationImagesPerSecond: n / p.rows[0].seconds,
    fgsmAccuracy: f.rows[0].accuracy,
    pgdAccuracy: p.rows[0].accuracy,
  };
}

async function accuracy(model: Model): Promise<number> {
  const labels = await model.predictLabels(x);
  return labels.reduce((c, label, i) => c + (label === data.y[i] ? 1 : 0), 0) / n;
}

const samples: Record<string, Sample[]> = Object.fromEntries(routes.map((r) => [r, []]));
for (const route of routes) await measure(models[route]); // warm-up
for (let r = 0; r < rounds; r++) for (const route of routes) samples[route].push(await measure(models[route]));

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const summary: Record<string, Record<string, number>> = {};
for (const route of routes) {
  const s = samples[route];
  summary[route] = {
    cleanAccuracy: await accuracy(models[route]),
    fgsmImagesPerSecond: Math.round(median(s.map((v) => v.fgsmImagesPerSecond))),
    pgd40ImagesPerSecond: Math.round(median(s.map((v) => v.pgd40ImagesPerSecond))),
    fgsmGenerationImagesPerSecond: Math.round(median(s.map((v) => v.fgsmGenerationImagesPerSecond))),
    pgd40GenerationImagesPerSecond: Math.round(median(s.map((v) => v.pgd40GenerationImagesPerSecond))),
    fgsmAccuracy: s[0].fgsmAccuracy,
    pgdAccuracy: s[0].pgdAccuracy,
  };
}
const main = summary[routes[0]];
console.log(
  JSON.stringify({
    route: routes[0],
    ...main,
    model: modelPath,
    data: dataPath,
    images: n,
    ...(shared
      ? {}
      : { note: `${BASELINE} is absent: 200 fixture images, so accuracies are not comparable to the targets` }),
    backend,
    ortThreads: threads,
    rounds,
    routes: summary,
    targets: TARGETS,
    meetsTargets: shared
      ? Math.abs(main.cleanAccuracy - TARGETS.cleanAccuracy) < 5e-4 &&
        main.fgsmAccuracy <= TARGETS.fgsmAccuracyAtMost &&
        main.pgdAccuracy <= TARGETS.pgdAccuracyAtMost
      : null,
  }),
);
for (const model of Object.values(models)) await model.dispose();
x.dispose();
