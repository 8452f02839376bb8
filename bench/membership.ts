/**
 * Membership inference on the target of ../shared/baseline/README.md: the reference small CNN
 * trained 30 epochs, batch 64, Adam 1e-3 on the first 1000 bundled Fashion-MNIST training images;
 * members = those 1000, non-members = the first 1000 test images. Reports the loss threshold
 * (reference: AUC 0.5626, TPR at 1% FPR 0.014), LiRA online/offline with N shadow CNNs of the
 * same recipe, each on a random half of the 2000 candidates (so 1000 images each, like the
 * target), 10 augmented queries per record, and the label-only augmentation attack. Optionally
 * Shokri's shadow attack (shadow data = bundled training images 1000–3999) and a more overfit
 * target (100 epochs, batch 16), and a worker-count measurement. Prints one JSON document.
 * Usage: npx tsx bench/membership.ts [--parts main,overfit,shokri,workers] [--shadows 16]
 *        [--workers 2] [--overfit-shadows 8]
 */
import { parseArgs } from 'node:util';
import { labelOnlyAttack } from '../src/attacks/membership/label-only.js';
import { liraAttacks } from '../src/attacks/membership/lira.js';
import type { MembershipData, MembershipResult } from '../src/attacks/membership/membership-attack.js';
import { shadowAttack } from '../src/attacks/membership/shadow-attack.js';
import { type ShadowSpec, trainShadows } from '../src/attacks/membership/shadow-training.js';
import { MembershipTarget } from '../src/attacks/membership/target.js';
import { thresholdAttacks } from '../src/attacks/membership/threshold.js';
import { Rng } from '../src/core/rng.js';
import { initRuntime } from '../src/core/runtime.js';
import { type Dataset, slice } from '../src/data/dataset.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { buildSmallCnn } from '../src/models/builders.js';
import { evaluateAccuracy } from '../src/models/evaluate.js';
import { TfjsModel } from '../src/models/tfjs-model.js';
import { trainModel } from '../src/models/train.js';

const { values } = parseArgs({
  options: {
    parts: { type: 'string', default: 'main,shokri,overfit' },
    shadows: { type: 'string', default: '16' },
    'overfit-shadows': { type: 'string', default: '8' },
    'shokri-shadows': { type: 'string', default: '4' },
    workers: { type: 'string', default: '2' },
    seed: { type: 'string', default: '0' },
    'worker-epochs': { type: 'string', default: '10' },
  },
});
const parts = String(values.parts).split(',');
const shadows = Number(values.shadows);
const workers = Number(values.workers);
const seed = Number(values.seed);
const workerEpochs = Number(values['worker-epochs']);

const backend = await initRuntime();
const train = loadFashionMnist({ split: 'train', source: 'bundled' });
const test = loadFashionMnist({ split: 'test', source: 'bundled' });
const data: MembershipData = { members: slice(train, 0, 1000), nonMembers: slice(test, 0, 1000) };
const log = (text: string) => process.stderr.write(`${text}\n`);
const progress = (task: string) => {
  let last = 0;
  return (done: number, total: number) => {
    if (done === total || performance.now() - last > 15000) {
      last = performance.now();
      log(`  ${task}: ${done}/${total} epochs`);
    }
  };
};

async function trainTarget(epochs: number, batchSize: number): Promise<{ model: TfjsModel; seconds: number }> {
  const start = performance.now();
  const net = buildSmallCnn({ seed });
  await trainModel(net, data.members, { epochs, batchSize, learningRate: 1e-3, seed, progress: false });
  return {
    model: new TfjsModel(net, { name: `small-cnn-${epochs}ep-b${batchSize}` }),
    seconds: (performance.now() - start) / 1000,
  };
}

function summary(r: MembershipResult) {
  const row = r.rows[0];
  return { attack: r.attack, ...row, mostExposed: r.exposed.slice(0, 5).map((e) => e.index) };
}

async function attackTarget(model: TfjsModel, spec: ShadowSpec, n: number, withLabelOnly: boolean) {
  const accuracy = {
    members: await evaluateAccuracy(model, data.members),
    nonMembers: await evaluateAccuracy(model, data.nonMembers),
  };
  const target = new MembershipTarget(model, 'scores');
  const [loss, confidence] = await thresholdAttacks(target, data);
  log(`  loss threshold: AUC ${loss.rows[0]?.auc}`);
  const results = [loss, confidence];
  if (withLabelOnly) results.push(await labelOnlyAttack(new MembershipTarget(model, 'labels'), data, { seed }));
  log(`  LiRA: ${n} shadows × ${spec.epochs} epochs, ${workers} workers`);
  results.push(...(await liraAttacks(target, data, { shadows: n, spec, seed, workers, onProgress: progress('lira') })));
  return { accuracy, attacks: results.map(summary) };
}

const out: Record<string, unknown> = { backend, node: process.version, seed, workers };

if (parts.includes('workers')) {
  // Throughput of shadow training with 1 and 2 worker threads: 4 CNN shadows × --worker-epochs × 1000 images (worker start-up included).
  const spec: ShadowSpec = { arch: 'cnn', epochs: workerEpochs, batchSize: 64 };
  const pool = { x: data.members.x, y: data.members.y, shape: [28, 28, 1], numClasses: 10 };
  const rng = new Rng(1);
  const jobs = [0, 1, 2, 3].map(() => ({ indices: rng.permutation(1000), seed: rng.fork() & 0x7fffffff }));
  const queries = { x: data.nonMembers.x.subarray(0, 784 * 10), augmentations: [{ flip: false, dx: 0, dy: 0 }] };
  const timing: Record<string, number> = {};
  for (const w of [1, 2, 1, 2]) {
    const start = performance.now();
    await trainShadows({ spec, pool, queries, jobs, workers: w });
    const samplesPerSecond = (jobs.length * workerEpochs * 1000) / ((performance.now() - start) / 1000);
    timing[`workers${w}`] = Math.max(timing[`workers${w}`] ?? 0, Math.round(samplesPerSecond));
    log(`  ${w} worker(s): ${Math.round(samplesPerSecond)} samples/s`);
  }
  out.shadowTrainingSamplesPerSecond = timing;
}

if (parts.includes('main')) {
  log('target: small CNN, 30 epochs, batch 64, first 1000 training images');
  const { model, seconds } = await trainTarget(30, 64);
  const spec: ShadowSpec = { arch: 'cnn', epochs: 30, batchSize: 64 };
  out.main = {
    recipe: '30 epochs, batch 64, Adam 1e-3',
    trainSeconds: seconds,
    ...(await attackTarget(model, spec, shadows, true)),
  };
  if (parts.includes('shokri')) {
    const n = Number(values['shokri-shadows']);
    log(`Shokri shadow attack: ${n} shadows on bundled training images 1000–3999`);
    const shadowData: Dataset = slice(train, 1000, 4000);
    const result = await shadowAttack(new MembershipTarget(model, 'scores'), data, {
      shadows: n,
      spec,
      shadowData,
      shadowTrainSize: 1000,
      seed,
      workers,
      onProgress: progress('shadow'),
    });
    (out.main as Record<string, unknown>).shokri = summary(result);
  }
  model.dispose();
}

if (parts.includes('overfit')) {
  log('overfit target: small CNN, 100 epochs, batch 16');
  const { model, seconds } = await trainTarget(100, 16);
  const n = Number(values['overfit-shadows']);
  const spec: ShadowSpec = { arch: 'cnn', epochs: 100, batchSize: 16 };
  out.overfit = {
    recipe: '100 epochs, batch 16, Adam 1e-3',
    trainSeconds: seconds,
    ...(await attackTarget(model, spec, n, true)),
  };
  model.dispose();
}

console.log(JSON.stringify(out, null, 2));
