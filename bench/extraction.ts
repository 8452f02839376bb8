/**
 * Model extraction on the reference Fashion-MNIST CNN (../shared/baseline/fmnist_cnn.onnx, scores
 * through ONNX Runtime), plus exact recovery of a logistic-regression victim. Prints one JSON
 * document:
 *
 * - knockoff: KnockoffNets fidelity/accuracy at 1k, 5k and 20k queries, per strategy and
 *   surrogate architecture. Transfer set: the full Fashion-MNIST training set (Debian's
 *   dataset-fashion-mnist, 60k images) when installed, else the bundled 4000 training images
 *   plus flipped and shifted copies (20k). Fidelity on the 10k test images (never queried).
 * - jbda: substitute from 150 seed images, 6 rounds, λ 0.1, periodic τ 3.
 * - equationSolving: a logistic regression trained on the bundled images (d = 784, k = 10),
 *   recovered from d+1 and 2(d+1) random queries; also the same attack against the CNN.
 * - transfer: PGD L-inf eps 0.1 (40 steps, step 2.5·eps/40) crafted on each surrogate, success
 *   measured on the victim over the first 1000 test images (the baseline's images).
 *
 *   Chance baseline: the victim's error rate under random ±eps sign noise on the same images.
 *
 * Usage: npx tsx bench/extraction.ts [--epochs 10] [--budgets 1000,5000,20000]
 *   [--runs random:cnn,adaptive:cnn,random:mlp] [--no-jbda] [--no-equation]
 */
import { parseArgs } from 'node:util';
import { equationSolving } from '../src/attacks/extraction/equation-solving.js';
import type { ExtractionOutcome } from '../src/attacks/extraction/extraction-attack.js';
import { FidelityEvaluator } from '../src/attacks/extraction/fidelity.js';
import { jacobianAugmentation } from '../src/attacks/extraction/jbda.js';
import { type KnockoffStrategy, knockoffNets } from '../src/attacks/extraction/knockoff.js';
import { linearParametersOf } from '../src/attacks/extraction/linear-parameters.js';
import type { Architecture } from '../src/attacks/extraction/surrogate.js';
import { transferAttack } from '../src/attacks/extraction/transfer.js';
import { Rng } from '../src/core/rng.js';
import { initRuntime } from '../src/core/runtime.js';
import { type Dataset, featureSize, size, slice } from '../src/data/dataset.js';
import { isFullFashionMnistInstalled, loadFashionMnist } from '../src/data/fashion-mnist.js';
import { predictDataset } from '../src/models/evaluate.js';
import { loadOnnxModel } from '../src/models/onnx-model.js';
import { trainClassifier } from '../src/models/train-classifier.js';
import { sharedPath } from '../test/helpers/shared-dir.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '10' },
    budgets: { type: 'string', default: '1000,5000,20000' },
    runs: { type: 'string', default: 'random:cnn,adaptive:cnn,random:mlp' },
    'no-jbda': { type: 'boolean', default: false },
    'no-equation': { type: 'boolean', default: false },
    seed: { type: 'string', default: '0' },
  },
});
const epochs = Number(values.epochs);
const budgets = String(values.budgets).split(',').map(Number);
const seed = Number(values.seed);
const log = (msg: string) => process.stderr.write(`[extraction bench] ${msg}\n`);

const backend = await initRuntime();

/** Bundled training images, plus horizontally flipped and ±2-pixel shifted copies. */
function augmentedBundled(): Dataset {
  const base = loadFashionMnist({ split: 'train', source: 'bundled' });
  const n = size(base);
  const per = featureSize(base);
  const variants: ((r: number, c: number) => [number, number])[] = [
    (r, c) => [r, c],
    (r, c) => [r, 27 - c],
    (r, c) => [r, c - 2],
    (r, c) => [r, c + 2],
    (r, c) => [r - 2, c],
  ];
  const x = new Float32Array(n * variants.length * per);
  variants.forEach((map, v) => {
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < 28; r++) {
        for (let c = 0; c < 28; c++) {
          const [sr, sc] = map(r, c);
          const inside = sr >= 0 && sr < 28 && sc >= 0 && sc < 28;
          x[(v * n + i) * per + r * 28 + c] = inside ? (base.x[i * per + sr * 28 + sc] as number) : 0;
        }
      }
    }
  });
  const y = new Int32Array(n * variants.length);
  for (let v = 0; v < variants.length; v++) y.set(base.y, v * n);
  return { ...base, name: 'fashion-mnist-bundled-train-augmented', x, y, shape: [n * variants.length, 28, 28, 1] };
}

const full = isFullFashionMnistInstalled();
const transferSet = full ? loadFashionMnist({ split: 'train', source: 'full' }) : augmentedBundled();
const heldOut = loadFashionMnist({ split: 'test', source: full ? 'full' : 'bundled' });
const transferData = slice(heldOut, 0, 1000);
log(`transfer set ${transferSet.name} (${size(transferSet)}), held-out ${heldOut.name} (${size(heldOut)})`);

const victim = await loadOnnxModel(sharedPath('baseline', 'fmnist_cnn.onnx'));
const evaluator = await FidelityEvaluator.create(victim, heldOut);
const out: Record<string, unknown> = {
  backend,
  victim: victim.info.name,
  victimAccuracy: evaluator.victimAccuracy(),
  transferSet: { name: transferSet.name, size: size(transferSet), source: full ? 'debian-full' : 'bundled+augmented' },
  heldOut: { name: heldOut.name, size: size(heldOut) },
  epochs,
};

async function withTransfer(label: string, outcome: ExtractionOutcome) {
  const t0 = performance.now();
  const transfer = await transferAttack(outcome.surrogate, victim, transferData, {
    seed,
    epsilons: [0.1],
    limit: 1000,
    source: label,
  });
  outcome.surrogate.dispose();
  const row = transfer.rows[0];
  log(`${label}: transfer success ${row?.successRate.toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  return { rows: outcome.result.rows, threatModel: outcome.result.threatModel.knowledge, transfer: transfer.rows };
}

/** Chance baseline for transfer success: random corners of the same L-inf ball (eps 0.1). */
async function randomNoiseSuccess(): Promise<number> {
  const rng = new Rng(seed);
  const noisy = Float32Array.from(transferData.x, (v) => Math.min(1, Math.max(0, v + (rng.next() < 0.5 ? -0.1 : 0.1))));
  const clean = await predictDataset(victim, transferData);
  const adv = await predictDataset(victim, { ...transferData, x: noisy });
  let correct = 0;
  let fooled = 0;
  clean.forEach((label, i) => {
    if (label !== transferData.y[i]) return;
    correct++;
    if (adv[i] !== label) fooled++;
  });
  return fooled / correct;
}
out.randomNoiseSuccessAtEps0_1 = await randomNoiseSuccess();

const knockoff: Record<string, unknown> = {};
for (const run of String(values.runs).split(',').filter(Boolean)) {
  const [strategy, arch] = run.split(':') as [KnockoffStrategy, Architecture];
  log(`knockoff ${strategy} ${arch} at ${budgets.join(', ')} queries`);
  const outcome = await knockoffNets(victim, transferSet, evaluator, {
    budgets,
    strategy,
    seed,
    surrogate: arch,
    epochs,
    onProgress: (done, total) => {
      if (done % 5000 === 0 || done === total) log(`  ${done}/${total} queries`);
    },
  });
  log(`  rows ${JSON.stringify(outcome.result.rows)}`);
  knockoff[`${strategy}-${arch}`] = await withTransfer(`knockoff-${strategy}-${arch}`, outcome);
}
out.knockoff = knockoff;

if (!values['no-jbda']) {
  log('jbda cnn');
  const outcome = await jacobianAugmentation(victim, transferSet, evaluator, {
    budgets: [4800],
    seed,
    seedSize: 150,
    rounds: 6,
    lambda: 0.1,
    tau: 3,
    surrogate: 'cnn',
    epochs,
  });
  log(`  rows ${JSON.stringify(outcome.result.rows)}`);
  out.jbda = await withTransfer('jbda-cnn', outcome);
}

if (!values['no-equation']) {
  log('equation-solving on a logistic regression');
  const train = loadFashionMnist({ split: 'train', source: 'bundled' });
  const { model: logistic } = await trainClassifier('logistic', train, { epochs: 10, seed, progress: false });
  const logisticEval = await FidelityEvaluator.create(logistic, heldOut);
  const d = 784;
  const es = await equationSolving(logistic, logisticEval, {
    seed,
    budgets: [d + 1, 2 * (d + 1), 4 * (d + 1)],
    reference: linearParametersOf(logistic),
  });
  es.surrogate.dispose();
  out.equationSolvingLogistic = { victimAccuracy: logisticEval.victimAccuracy(), rows: es.result.rows };
  log(`  rows ${JSON.stringify(es.result.rows)}`);
  logistic.dispose();
  log('equation-solving against the CNN (not linear: an approximation only)');
  const cnn = await equationSolving(victim, evaluator, { seed, budgets: [d + 1, 4 * (d + 1)] });
  out.equationSolvingCnn = await withTransfer('equation-solving-cnn', cnn);
}

await victim.dispose();
process.stdout.write(`${JSON.stringify(out)}\n`);
