/**
 * BadNets on Fashion-MNIST and the poison detectors that should undo it. For each poison fraction
 * (default 1%, 5%, 10%): BadNets (src/attacks/poisoning/badnets.ts, its default 3x3 checkerboard
 * trigger, all-to-one into class 0) poisons the training set, the small CNN (reference recipe:
 * Adam 1e-3, batch 64) is trained on it, and its clean accuracy and attack success rate are
 * measured on the test set; then each detector flags rows, and the CNN is retrained — same recipe,
 * same seed — without them. Runs through runPoisoning's afterVictim hook with defendAgainstPoison,
 * the path `aegis attack poisoning --defenses` takes. Prints one JSON document.
 *
 * `--mode all-to-all`: BadNets' all-to-all variant (y → y + 1), where every class receives poison from
 * one source class — the setting of the detection papers.
 *
 * Spectral signatures gets the paper's budget: ε = the largest poisoned share of a class (Tran et
 * al. set ε to the number of poisons; capped at 0.5), removing 1.5ε of every class.
 *
 * Data: the full Fashion-MNIST (Debian's dataset-fashion-mnist) when installed — the first
 * --rows training images and the whole 10k test set — else the bundled subset (4000 / 1000).
 * Activation clustering's criterion: `--ac-criterion` (default both: size and silhouette), or
 * `reclassification` — Chen et al.'s exclusionary reclassification, one retraining without each
 * cluster of each class (`--reclassify all`, or only classes with a `separated` split), l/p < T
 * (`--reclassification-threshold`, default 1) flags the cluster; `--reclassification-epochs` caps
 * the epochs of those retrainings (default: the victim's).
 *
 * Usage: npx tsx bench/poison-detection.ts [--rows 20000] [--epochs 5] [--fractions 0.01,0.05,0.1]
 *   [--methods spectral-signatures,activation-clustering,label-consistency] [--label-method auto]
 *   [--label-representation activations] [--label-rounds 1] [--label-k 10] [--reduction pca] [--seed 0] [--target 0] [--mode all-to-one]
 *   [--ac-criterion both] [--reclassify all] [--reclassification-threshold 1] [--reclassification-epochs N]
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { badNets } from '../src/attacks/poisoning/badnets.js';
import { countFor, pickRows } from '../src/attacks/poisoning/poison-rows.js';
import type { PoisoningAttack } from '../src/attacks/poisoning/poisoning-attack.js';
import { runPoisoning } from '../src/attacks/poisoning/run-poisoning.js';
import { applyTrigger, type Trigger } from '../src/attacks/poisoning/triggers.js';
import { architectureVictim } from '../src/attacks/poisoning/victims.js';
import { Rng } from '../src/core/rng.js';
import { initRuntime } from '../src/core/runtime.js';
import { type Dataset, size, slice } from '../src/data/dataset.js';
import { DEBIAN_FASHION_MNIST_DIR, loadFashionMnist } from '../src/data/fashion-mnist.js';
import {
  type ActivationClusteringOptions,
  resolveClusteringOptions,
} from '../src/defenses/poison/activation-clustering.js';
import { parsePoisonDetectors } from '../src/defenses/poison/registry.js';
import { defendAgainstPoison, type PoisonDefenseRow } from '../src/defenses/poison/run-poison-defense.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '20000' },
    epochs: { type: 'string', default: '5' },
    fractions: { type: 'string', default: '0.01,0.05,0.1' },
    methods: { type: 'string', default: 'spectral-signatures,activation-clustering,label-consistency' },
    'label-method': { type: 'string', default: 'auto' },
    'label-representation': { type: 'string', default: 'activations' },
    'label-rounds': { type: 'string', default: '1' },
    'label-k': { type: 'string', default: '10' },
    reduction: { type: 'string', default: 'pca' },
    seed: { type: 'string', default: '0' },
    target: { type: 'string', default: '0' },
    mode: { type: 'string', default: 'all-to-one' },
    'ac-criterion': { type: 'string', default: 'both' },
    reclassify: { type: 'string', default: 'all' },
    'reclassification-threshold': { type: 'string', default: '1' },
    'reclassification-epochs': { type: 'string' },
  },
});
const mode = String(values.mode);
if (mode !== 'all-to-one' && mode !== 'all-to-all') throw new Error(`--mode all-to-one|all-to-all, got ${mode}`);
const seed = Number(values.seed);
const epochs = Number(values.epochs);
const target = Number(values.target);
const fractions = String(values.fractions).split(',').map(Number);
const methods = parsePoisonDetectors(String(values.methods));
const log = (text: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);

const backend = await initRuntime();
const full = existsSync(DEBIAN_FASHION_MNIST_DIR);
const source = full ? 'full' : 'bundled';
const allTrain = loadFashionMnist({ split: 'train', source });
const train = slice(allTrain, 0, Math.min(Number(values.rows), size(allTrain)));
const test = loadFashionMnist({ split: 'test', source });
const trainVictim = architectureVictim('cnn', { epochs });
const activationClustering: ActivationClusteringOptions = {
  reduction: values.reduction as 'pca',
  criterion: values['ac-criterion'] as 'both',
  reclassify: values.reclassify as 'all',
  reclassificationThreshold: Number(values['reclassification-threshold']),
};
resolveClusteringOptions(activationClustering);
const reclassificationEpochs =
  values['reclassification-epochs'] === undefined ? epochs : Number(values['reclassification-epochs']);
const reclassificationTrainer = architectureVictim('cnn', { epochs: reclassificationEpochs });
const trigger = { kind: 'patch' as const };
const started = performance.now();

/**
 * BadNets' all-to-all attack (Gu et al. 2017, MNIST): `fraction` of all rows get the trigger and
 * label (y + 1) mod K; success = a triggered test image of class y classified as y + 1. Each class
 * receives poison from one source class — the setting in which Tran et al. and Chen et al. evaluated.
 */
function allToAll(trig: Trigger): PoisoningAttack {
  const next = (y: number, k: number) => (y + 1) % k;
  return {
    name: 'badnets-all-to-all',
    title: 'BadNets all-to-all backdoor',
    citation: 'Gu, Dolan-Gavitt & Garg 2017, arXiv:1708.06733',
    atlas: 'AML.T0018',
    access: 'labels',
    mitigations: ['AML.M0007'],
    knowledge: (f) => `controls ${(100 * f).toFixed(1)}% of the training rows`,
    check: () => undefined,
    async craft(data, fraction, craftSeed) {
      const d = data as Dataset;
      const k = d.classNames.length;
      const rng = new Rng(craftSeed);
      const all = Array.from({ length: d.y.length }, (_, i) => i);
      const chosen = pickRows(all, countFor(fraction, all.length), new Rng(rng.fork()), 'all-to-all');
      const triggered = applyTrigger(d, trig, { indices: chosen });
      const y = Int32Array.from(d.y);
      for (const r of chosen) y[r] = next(y[r] as number, k);
      return [
        {
          data: { ...triggered, y },
          poisonIndices: chosen,
          async measure({ test: t, predict }) {
            const td = t as Dataset;
            const predicted = await predict(applyTrigger(td, trig));
            let hits = 0;
            predicted.forEach((p, i) => {
              if (p === next(td.y[i] as number, k)) hits++;
            });
            return { hits, eligible: td.y.length };
          },
        },
      ];
    },
  };
}

const defenses = new Map<number, { targetShare: number; epsilon: number; rows: PoisonDefenseRow[] }>();
const result = await runPoisoning({
  attack: mode === 'all-to-one' ? badNets({ targetClass: target, trigger }) : allToAll(trigger),
  train,
  test,
  trainVictim,
  fractions,
  seed,
  keepExamples: 0,
  onProgress: (done, total) => log(`victims trained: ${done}/${total}`),
  afterVictim: async (ctx) => {
    const poisonCount = ctx.poisoned.poisonIndices.length;
    // The largest poisoned share of any class (the target class for all-to-one).
    const k = ctx.poisoned.train.classNames.length;
    const rowsOf = new Array<number>(k).fill(0);
    const poisonOf = new Array<number>(k).fill(0);
    for (const y of ctx.poisoned.train.y) rowsOf[y]++;
    for (const i of ctx.poisoned.poisonIndices) poisonOf[ctx.poisoned.train.y[i] as number]++;
    const targetShare = Math.max(...poisonOf.map((p, c) => p / Math.max(1, rowsOf[c] as number)));
    const epsilon = Math.min(0.5, targetShare);
    log(`fraction ${ctx.fraction}: ${poisonCount} poisons, at most ${(100 * targetShare).toFixed(1)}% of a class`);
    const rows = await defendAgainstPoison({
      poisoned: ctx.poisoned,
      trainVictim: ctx.trainVictim,
      evaluate: ctx.measure,
      detectors: methods,
      expectedPoisonFraction: epsilon,
      seed: ctx.seed,
      poisonedModel: ctx.victim,
      detectorOptions: {
        labelConsistency: {
          method: values['label-method'] as 'auto',
          representation: values['label-representation'] as 'activations',
          rounds: Number(values['label-rounds']),
          k: Number(values['label-k']),
        },
        activationClustering,
      },
      reclassificationTrainer,
      onProgress: (m) => log(`  ${m}`),
    });
    for (const r of rows) {
      log(
        `  ${r.method}: recall ${r.recall.toFixed(3)} precision ${r.precision.toFixed(3)} flagged ${r.flaggedCount}` +
          ` → clean ${r.cleanAccuracy.toFixed(4)} ASR ${r.attackSuccessRate.toFixed(4)} (${r.seconds.toFixed(0)} s)`,
      );
    }
    defenses.set(ctx.fraction, { targetShare, epsilon, rows });
    return {};
  },
});

const round = (x: number) => Number(x.toFixed(4));
console.log(
  JSON.stringify(
    {
      backend,
      data: { source, trainRows: size(train), testRows: size(test) },
      victim: { arch: 'small cnn (conv16-pool-conv32-pool-dense64)', epochs, batchSize: 64, learningRate: 1e-3 },
      attack: {
        name: mode === 'all-to-one' ? 'badnets' : 'badnets all-to-all (y → y+1)',
        ...(mode === 'all-to-one' ? { targetClass: target } : {}),
        trigger: 'default 3x3 checkerboard, one pixel in from the bottom-right',
      },
      labelConsistency: {
        method: values['label-method'],
        representation: values['label-representation'],
        rounds: Number(values['label-rounds']),
        k: Number(values['label-k']),
      },
      activationClustering: {
        ...activationClustering,
        ...(activationClustering.criterion === 'reclassification' ? { reclassificationEpochs } : {}),
      },
      cleanBaselineAccuracy: round(result.baselineAccuracy),
      rows: result.rows.map((row, i) => {
        const d = defenses.get(fractions[i] as number);
        return {
          poisonFraction: row.poisonFraction,
          poisonCount: row.poisonCount,
          largestClassShare: d && round(d.targetShare),
          spectralEpsilon: d && round(d.epsilon),
          cleanAccuracy: round(row.cleanAccuracy),
          attackSuccessRate: round(row.attackSuccessRate),
          targetRateWithoutTrigger:
            row.targetRateWithoutTrigger !== undefined ? round(row.targetRateWithoutTrigger) : undefined,
          defenses: d?.rows.map((r) => ({
            method: r.method,
            recall: round(r.recall),
            precision: round(r.precision),
            flaggedCount: r.flaggedCount,
            flaggedFraction: round(r.flaggedFraction),
            cleanAccuracy: round(r.cleanAccuracy),
            attackSuccessRate: round(r.attackSuccessRate),
            detectionSeconds: round(r.detectionSeconds),
            seconds: round(r.seconds),
          })),
        };
      }),
      seconds: round((performance.now() - started) / 1000),
    },
    null,
    2,
  ),
);
