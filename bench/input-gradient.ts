/**
 * White-box speed of the reference Fashion-MNIST CNN (Conv-ReLU-MaxPool ×2, Dense-ReLU, Dense),
 * imported from ONNX into tfjs on the wasm backend, batch 100: one forward pass (inference),
 * one cross-entropy input gradient by tfjs autodiff (what a PGD step costs), and PGD-40 images/s
 * (L-inf eps 0.1, step 0.01, one random start, through pgd.run) on that tfjs route — the model
 * is wrapped so that pgd.run cannot take a model-specific gradient shortcut (an imported model
 * may offer one through ONNX Runtime; `pgd40DefaultRoute` measures whatever route it picks, after
 * the rest).
 * With --profile, adds the milliseconds of every kernel in one gradient step (per kernel call,
 * the minimum over rounds; summed by kernel name). Rounds are interleaved so machine load hits
 * all measurements alike; prints medians as JSON.
 *
 * The machine has 2 cores, but tfjs-backend-wasm runs single-threaded under Node, so one core
 * does all the work (compare with PyTorch on 2 threads in /work/shared/baseline/README.md).
 *
 * Usage: npx tsx bench/input-gradient.ts [--model m.onnx] [--data d.npz] [--rounds 5] [--profile]
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { lossGradient, oneHotLabels } from '../src/attacks/evasion/loss-gradient.js';
import { pgd } from '../src/attacks/evasion/pgd.js';
import { initRuntime, tf } from '../src/core/runtime.js';
import { makeThreatModel } from '../src/core/threat-model.js';
import { loadNpzDataset } from '../src/data/npz-dataset.js';
import type { DifferentiableModel } from '../src/models/model.js';
import { importOnnxModel } from '../src/models/onnx-import.js';
import { sharedPath } from '../test/helpers/shared-dir.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    data: { type: 'string', default: 'test/fixtures/fmnist_test200.npz' },
    rounds: { type: 'string', default: '5' },
    profile: { type: 'boolean', default: false },
  },
});
const modelPath =
  args.model ??
  (existsSync(sharedPath('baseline', 'fmnist_cnn.onnx'))
    ? sharedPath('baseline', 'fmnist_cnn.onnx')
    : 'test/fixtures/fmnist_cnn.onnx');
const rounds = Number(args.rounds);
const batch = 100;
const reps = 10;

const backend = await initRuntime();
const model = await importOnnxModel(modelPath);
const data = await loadNpzDataset(args.data);
const labels = data.y.subarray(0, batch);
const x = tf.tensor(data.x.subarray(0, batch * (data.x.length / data.shape[0])), [batch, ...data.shape.slice(1)]);
const oneHot = oneHotLabels(labels, model.info.numClasses);
const gradient = lossGradient(model, oneHot);
const threat = makeThreatModel({ access: 'gradients', norm: 'linf', epsilons: [0.1] });
/** The model with nothing but the DifferentiableModel basics: gradients come from tfjs autodiff. */
const tfjsRoute: DifferentiableModel = {
  info: model.info,
  logits: (t) => model.logits(t),
  predictScores: (t) => model.predictScores(t),
  predictLabels: (t) => model.predictLabels(t),
  dispose: () => undefined,
};

async function pgdImagesPerSecond(m: DifferentiableModel): Promise<number> {
  const r = await pgd.run(m, { x, y: labels }, threat, { seed: 0, stepSize: 0.01, steps: 40, keepExamples: 0 });
  return batch / r.rows[0].seconds;
}

/** Milliseconds per call of f, averaged over `reps` calls ending in one download. */
function msPerCall(f: () => tf.Tensor): number {
  const t0 = performance.now();
  for (let i = 0; i < reps - 1; i++) tf.tidy(() => void f());
  tf.tidy(() => void f().dataSync());
  return (performance.now() - t0) / reps;
}

const measures: Record<string, () => Promise<number>> = {
  forwardMs: async () => msPerCall(() => model.logits(x)),
  inputGradientMs: async () => msPerCall(() => gradient(x)),
  pgd40ImagesPerSecond: () => pgdImagesPerSecond(tfjsRoute),
};

/** Per kernel call of one gradient step, the minimum over rounds; then summed by kernel name. */
async function kernelProfile(): Promise<Record<string, number>> {
  let calls: { name: string; ms: number }[] = [];
  for (let r = 0; r < rounds * 2; r++) {
    const info = await tf.profile(() => tf.tidy(() => void gradient(x).dataSync()));
    const ms = info.kernels.map((k) => ({ name: k.name, ms: k.kernelTimeMs as number }));
    calls = r === 0 ? ms : calls.map((c, i) => ({ name: c.name, ms: Math.min(c.ms, ms[i]?.ms ?? c.ms) }));
  }
  const byName: Record<string, number> = {};
  for (const c of calls) byName[c.name] = (byName[c.name] ?? 0) + c.ms;
  const sorted = Object.entries(byName).sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(sorted.map(([k, v]) => [k, Number(v.toFixed(2))]));
}

for (const run of Object.values(measures)) await run(); // warm-up: compile kernels, fill caches
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(measures).map((k) => [k, []]));
const tensorsBefore = tf.memory().numTensors;
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(measures)) samples[name].push(await run());
}
const tensorsAfter = tf.memory().numTensors;
const profile = args.profile ? await kernelProfile() : undefined;
// Last, and not interleaved: ONNX Runtime's worker threads spin after each run and would take
// the core that the single-threaded wasm backend needs.
samples.pgd40DefaultRoute = [];
for (let r = 0; r < rounds; r++) samples.pgd40DefaultRoute.push(await pgdImagesPerSecond(model));
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const round2 = (v: number) => Number(v.toFixed(2));
const result: Record<string, unknown> = {
  backend,
  model: modelPath,
  data: args.data,
  batch,
  rounds,
  ...Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, round2(median(v))])),
  min: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, round2(Math.min(...v))])),
  leakedTensors: tensorsAfter - tensorsBefore,
};
if (profile) result.gradientKernelMs = profile;
console.log(JSON.stringify(result));
oneHot.dispose();
x.dispose();
model.dispose();
