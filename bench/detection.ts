/**
 * Adversarial-input detection on the small CNN (src/models/builders.ts) trained on Fashion-MNIST:
 * detection rate at 5% false positives for FGSM, PGD-40, C&W L2 and the adaptive attack
 * (adaptive-attack.ts), for feature squeezing (Xu et al. 2018) and the Mahalanobis detector
 * (Lee et al. 2018), plus ROC AUCs and the measured false-positive rate on held-out clean data.
 *
 * Data: the full set (60,000 train / 10,000 test) when /usr/share/datasets/fashion-mnist is
 * installed, else the bundled subset (4,000 / 1,000). Calibration: the first 1,000 test images
 * (bundled: 500); held-out evaluation: the next --held-out images. The model is trained on the
 * training split (Adam 1e-3, batch 64, --epochs), which is also what Mahalanobis fits on. The
 * non-adaptive adversarial examples are crafted once against the undefended model and scored by
 * every detector; the adaptive attack is run against each detector separately.
 *
 * Usage: npx tsx bench/detection.ts [--data auto|full|bundled] [--epochs 3] [--held-out 500]
 *        [--eps 0.1,0.2] [--pgd-steps 40] [--adaptive-steps 100] [--cw-steps 100] [--model-dir DIR] [--seed 0]
 * Prints one JSON document on stdout; progress on stderr.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { perturbationNorms } from '../src/attacks/evasion/budget-rows.js';
import { initRuntime, type tf } from '../src/core/runtime.js';
import { slice, toTensor } from '../src/data/dataset.js';
import { isFullFashionMnistInstalled, loadFashionMnist } from '../src/data/fashion-mnist.js';
import { craftAdaptive } from '../src/defenses/detection/adaptive-attack.js';
import { craftAdversarial, type DetectionAttack } from '../src/defenses/detection/adversarial-examples.js';
import { flaggedRate } from '../src/defenses/detection/calibration.js';
import { type DetectorModel, scoreDataset } from '../src/defenses/detection/detecting-model.js';
import {
  type CleanReference,
  cleanReference,
  measureAdversarial,
} from '../src/defenses/detection/evaluate-detection.js';
import { featureSqueezingModel, squeezersFor } from '../src/defenses/detection/feature-squeezing.js';
import { mahalanobisModel } from '../src/defenses/detection/mahalanobis.js';
import { evaluateAccuracy } from '../src/models/evaluate.js';
import { loadTfjsModel, saveTfjsModel, type TfjsModel } from '../src/models/tfjs-model.js';
import { trainClassifier } from '../src/models/train-classifier.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: 'auto' },
    epochs: { type: 'string', default: '3' },
    'held-out': { type: 'string', default: '500' },
    eps: { type: 'string', default: '0.1,0.2' },
    'pgd-steps': { type: 'string', default: '40' },
    'adaptive-steps': { type: 'string', default: '100' },
    'cw-steps': { type: 'string', default: '100' },
    'model-dir': { type: 'string' },
    seed: { type: 'string', default: '0' },
  },
});
const full = values.data === 'full' || (values.data === 'auto' && isFullFashionMnistInstalled());
const epochs = Number(values.epochs);
const heldOutSize = Number(values['held-out']);
const epsList = String(values.eps).split(',').map(Number);
const pgdSteps = Number(values['pgd-steps']);
const adaptiveSteps = Number(values['adaptive-steps']);
const cwSteps = Number(values['cw-steps']);
const seed = Number(values.seed);
const log = (text: string) => process.stderr.write(`${text}\n`);
const t0 = performance.now();
const elapsed = () => Math.round((performance.now() - t0) / 1000);

const backend = await initRuntime();
const source = full ? 'full' : 'bundled';
const train = loadFashionMnist({ split: 'train', source });
const test = loadFashionMnist({ split: 'test', source });
const calibrationSize = full ? 1000 : 500;
const calibration = slice(test, 0, calibrationSize);
const heldOut = slice(test, calibrationSize, calibrationSize + heldOutSize);

async function getModel(): Promise<{ model: TfjsModel; trainSeconds: number | null }> {
  const dir = values['model-dir'];
  if (dir && existsSync(`${dir}/aegis.json`)) return { model: await loadTfjsModel(dir), trainSeconds: null };
  log(`training the small CNN on ${train.name} (${epochs} epochs)…`);
  const start = performance.now();
  const { model } = await trainClassifier('cnn', train, { epochs, seed, batchSize: 64, progress: false });
  const trainSeconds = (performance.now() - start) / 1000;
  if (dir) await saveTfjsModel(model, dir);
  return { model, trainSeconds };
}

const { model, trainSeconds } = await getModel();
const accuracy = { heldOut: await evaluateAccuracy(model, heldOut), test: await evaluateAccuracy(model, test) };
log(`[${elapsed()} s] model ready: accuracy ${accuracy.test.toFixed(4)} on ${test.name}`);

interface Guard {
  name: string;
  settings: Record<string, unknown>;
  build: () => Promise<DetectorModel>;
}
const guards: Guard[] = [
  {
    name: 'feature-squeezing',
    settings: { squeezers: ['bit-depth-1', 'median-2x2'], note: "Xu et al.'s MNIST joint detector (the default)" },
    build: () => featureSqueezingModel(model, calibration),
  },
  {
    name: 'feature-squeezing',
    settings: { squeezers: ['bit-depth-2'], note: 'params {bits: 2, median: 0}' },
    build: () => featureSqueezingModel(model, calibration, { squeezers: squeezersFor(model.info, 2, 0) }),
  },
  {
    name: 'mahalanobis',
    settings: { layer: 'penultimate', shrinkage: 0.01, noise: 0, note: 'the default' },
    build: () => mahalanobisModel(model, { train, calibration }),
  },
  {
    name: 'mahalanobis',
    settings: { layer: 2, shrinkage: 0.01, noise: 0, note: 'first conv block after max-pooling, channel means' },
    build: () => mahalanobisModel(model, { train, calibration }, { layer: 2 }),
  },
];

const x = toTensor(heldOut);
const data = { x, y: heldOut.y };
const detectors: Array<{
  guard: Guard;
  model: DetectorModel;
  clean: CleanReference;
  calibrationFpr: number;
  rows: Record<string, unknown>[];
  /** Per L-inf budget: inputs some attack (FGSM, PGD, adaptive) got through undetected. */
  bypassedByAny: Map<number, Uint8Array>;
}> = [];
for (const guard of guards) {
  const guarded = await guard.build();
  const calibrationScores = await scoreDataset(guarded.detector.scorer, calibration);
  detectors.push({
    guard,
    model: guarded,
    clean: await cleanReference(guarded, x),
    calibrationFpr: flaggedRate(calibrationScores, guarded.detector.threshold),
    rows: [],
    bypassedByAny: new Map(),
  });
}
log(`[${elapsed()} s] ${detectors.length} detectors calibrated`);

async function scoreAll(
  attack: string,
  eps: number,
  xAdv: tf.Tensor,
  seconds: number,
  only?: (typeof detectors)[number],
) {
  for (const d of only ? [only] : detectors) {
    const m = await measureAdversarial(d.model, data.y, xAdv, d.clean);
    if (Number.isFinite(eps)) {
      // Per input: did this attack turn a correctly classified input into an unflagged misclassification?
      const predicted = await d.model.predictLabels(xAdv);
      const { flagged } = await d.model.detector.detect(xAdv);
      const union = d.bypassedByAny.get(eps) ?? new Uint8Array(predicted.length);
      predicted.forEach((p, j) => {
        if (d.clean.predictions[j] === data.y[j] && p !== data.y[j] && !flagged[j]) union[j] = 1;
      });
      d.bypassedByAny.set(eps, union);
    }
    d.rows.push({ attack, eps: Number.isFinite(eps) ? eps : 'unbounded', ...m, attackSeconds: Math.round(seconds) });
    log(
      `  ${d.guard.name} ${JSON.stringify(d.guard.settings.squeezers ?? d.guard.settings.layer)} ${attack} ${eps}: ` +
        `detection ${m.detectionRate?.toFixed(3)} AUC ${m.auc?.toFixed(3)} (successful ${m.successful}/${m.cleanCorrect})`,
    );
  }
}

const attacks: Record<string, unknown>[] = [];
const plain: Array<{ attack: DetectionAttack; eps: number; steps?: number }> = [
  ...epsList.map((eps) => ({ attack: 'fgsm' as const, eps })),
  ...epsList.map((eps) => ({ attack: 'pgd' as const, eps, steps: pgdSteps })),
  { attack: 'cw', eps: Number.POSITIVE_INFINITY, steps: cwSteps },
];
for (const [i, run] of plain.entries()) {
  const start = performance.now();
  const xAdv = await craftAdversarial(model, x, data.y, run.attack, { ...run, seed: seed + i });
  const seconds = (performance.now() - start) / 1000;
  const cleanPredictions = await model.predictLabels(x);
  const adv = await model.predictLabels(xAdv);
  const norms = perturbationNorms(x, xAdv, run.attack === 'cw' ? 'l2' : 'linf');
  let correct = 0;
  let successful = 0;
  let sizeSum = 0;
  for (let j = 0; j < adv.length; j++) {
    if (cleanPredictions[j] !== data.y[j]) continue;
    correct++;
    if (adv[j] === data.y[j]) continue;
    successful++;
    sizeSum += norms[j] ?? 0;
  }
  const successRate = correct ? successful / correct : 0;
  attacks.push({
    attack: run.attack,
    eps: Number.isFinite(run.eps) ? run.eps : 'unbounded',
    norm: run.attack === 'cw' ? 'l2' : 'linf',
    steps: run.steps,
    accuracyUnderAttack: adv.filter((p, j) => p === data.y[j]).length / adv.length,
    successRate,
    meanPerturbationOfSuccesses: successful ? sizeSum / successful : 0,
    seconds: Math.round(seconds),
  });
  log(`[${elapsed()} s] ${run.attack} eps ${run.eps}: success ${successRate.toFixed(3)}`);
  await scoreAll(run.attack, run.eps, xAdv, seconds);
  xAdv.dispose();
}

for (const d of detectors) {
  for (const [i, eps] of epsList.entries()) {
    const start = performance.now();
    const xAdv = await craftAdaptive(d.model, x, data.y, { eps, steps: adaptiveSteps, seed: seed + 100 + i });
    await scoreAll('adaptive', eps, xAdv, (performance.now() - start) / 1000, d);
    xAdv.dispose();
  }
  log(`[${elapsed()} s] adaptive attack on ${d.guard.name} done`);
}

const published = {
  featureSqueezing:
    'Xu, Evans & Qi 2018 (NDSS), joint detectors with thresholds set for at most 5% false positives on legitimate examples, detection measured on successful adversarial examples: ~98% overall on MNIST (1-bit depth + 2x2 median), ~85% on CIFAR-10 and ImageNet (their Table IV has the per-attack figures: FGSM, BIM, C&W, DeepFool, JSMA). Non-adaptive attacks only; He, Wei, Chen, Carlini & Song 2017 bypass it adaptively.',
  mahalanobis:
    'Lee, Lee, Lee & Shin 2018 (NeurIPS) report high AUROC on CIFAR-10/100 and SVHN ResNets with a feature ensemble over all layers whose weights are fit on adversarial or noisy validation data, plus input pre-processing; the single-layer, attack-agnostic form here is weaker by design.',
  adaptive:
    'Carlini & Wagner 2017 (AISec) bypass ten detectors with attacks that include the detector in the loss; Tramèr, Carlini, Brendel & Madry 2020 (NeurIPS) make the same point for 13 defenses.',
};

console.log(
  JSON.stringify(
    {
      benchmark: 'detection',
      backend,
      data: {
        train: train.name,
        trainSize: train.y.length,
        calibration: calibration.y.length,
        heldOut: heldOut.y.length,
      },
      model: { architecture: 'small-cnn', epochs, trainSeconds, accuracy },
      settings: { targetFpr: 0.05, epsilons: epsList, pgdSteps, adaptiveSteps, cwSteps, seed },
      attacks,
      detectors: detectors.map((d) => ({
        detector: d.guard.name,
        settings: d.guard.settings,
        threshold: d.model.detector.threshold,
        calibrationFpr: d.calibrationFpr,
        heldOutFpr: flaggedRate(d.clean.scores, d.model.detector.threshold),
        cleanAccuracyCost: 0,
        rows: d.rows,
        // The honest summary per budget: of the correctly classified inputs, the share that the
        // strongest of FGSM, PGD and the adaptive attack (per input) turns into an undetected misclassification.
        undetectedSuccessAnyAttack: Object.fromEntries(
          [...d.bypassedByAny].map(([eps, union]) => {
            const correct = d.clean.predictions.filter((p, j) => p === data.y[j]).length;
            return [eps, union.reduce((a, b) => a + b, 0) / correct];
          }),
        ),
      })),
      published,
      seconds: elapsed(),
    },
    null,
    2,
  ),
);
x.dispose();
