/**
 * Output hardening on the bundled Fashion-MNIST subset: what top-k, rounding, label-only and
 * reverse sigmoid cost in utility and buy against extraction and membership inference. Prints one
 * JSON document.
 *
 * - Victim: the small CNN (buildSmallCnn, the reference architecture) trained 30 epochs, batch 64,
 *   Adam 1e-3 on the first 1000 bundled training images (the membership bench's target, so it
 *   leaks membership); cached in .cache/output-hardening/.
 * - Utility and fidelity: the 1000 bundled test images (never queried by the extraction attacks).
 * - KnockoffNets (random) at 1000 and 5000 queries, small-CNN surrogate, 10 epochs per checkpoint;
 *   transfer set: bundled training images 1000–3999 and their horizontal flips (6000, unlabeled).
 * - Equation-solving against a logistic regression trained 10 epochs on the 4000 bundled training
 *   images, wrapped by the same defense; d+1 = 785 and 2(d+1) queries.
 * - Membership (members = the 1000 training images, non-members = the 1000 test images): loss and
 *   confidence thresholds, the returned-score attacks, label-only augmentation, and LiRA online and
 *   offline with N shadow CNNs of the victim's recipe answered through each defense.
 *
 * Usage: npx tsx bench/output-hardening.ts [--shadows 8] [--workers 2] [--budgets 1000,5000]
 *   [--epochs 10] [--defenses none,top-k,top-1,rounding,label-only,reverse-sigmoid] [--seed 0]
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initRuntime } from '../src/core/runtime.js';
import { type Dataset, featureSize, size, slice } from '../src/data/dataset.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import {
  type DefenseMeasurement,
  evaluateOutputDefenses,
  type MembershipCheck,
  type OutputDefenseChoice,
} from '../src/defenses/output/evaluate-output-defense.js';
import { labelOnlyDefense } from '../src/defenses/output/label-only.js';
import { reverseSigmoidDefense, reverseSigmoidSafeConfidence } from '../src/defenses/output/reverse-sigmoid.js';
import { roundingDefense } from '../src/defenses/output/rounding.js';
import { topKDefense } from '../src/defenses/output/top-k.js';
import { labelsAndConfidences } from '../src/defenses/output/utility.js';
import { buildSmallCnn } from '../src/models/builders.js';
import { evaluateAccuracy } from '../src/models/evaluate.js';
import { loadTfjsModel, saveTfjsModel, TfjsModel } from '../src/models/tfjs-model.js';
import { trainModel } from '../src/models/train.js';
import { trainClassifier } from '../src/models/train-classifier.js';

const { values } = parseArgs({
  options: {
    shadows: { type: 'string', default: '8' },
    workers: { type: 'string', default: '2' },
    budgets: { type: 'string', default: '1000,5000' },
    epochs: { type: 'string', default: '10' },
    defenses: { type: 'string', default: 'none,top-k,top-1,rounding,label-only,reverse-sigmoid' },
    seed: { type: 'string', default: '0' },
  },
});
const seed = Number(values.seed);
const shadows = Number(values.shadows);
const budgets = String(values.budgets).split(',').map(Number);
const log = (msg: string) =>
  process.stderr.write(`[output-hardening ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const CHOICES: Record<string, OutputDefenseChoice> = {
  none: {},
  'top-k': { defense: topKDefense },
  'top-1': { defense: topKDefense, params: { k: 1 } },
  rounding: { defense: roundingDefense },
  'label-only': { defense: labelOnlyDefense },
  'reverse-sigmoid': { defense: reverseSigmoidDefense },
};
const choices = String(values.defenses)
  .split(',')
  .map((name) => {
    const choice = CHOICES[name];
    if (!choice) throw new Error(`unknown defense '${name}'; choose from ${Object.keys(CHOICES).join(', ')}`);
    return choice;
  });

const backend = await initRuntime();
const train = loadFashionMnist({ split: 'train', source: 'bundled' });
const test = loadFashionMnist({ split: 'test', source: 'bundled' });
const members = slice(train, 0, 1000);

/** Images and their horizontal mirror images (labels kept but never used by the attacks). */
function withFlips(data: Dataset): Dataset {
  const n = size(data);
  const per = featureSize(data);
  const x = new Float32Array(2 * n * per);
  x.set(data.x);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < 28; r++) {
      for (let c = 0; c < 28; c++) x[(n + i) * per + r * 28 + c] = data.x[i * per + r * 28 + (27 - c)] as number;
    }
  }
  const y = new Int32Array(2 * n);
  y.set(data.y);
  y.set(data.y, n);
  return { ...data, name: `${data.name}+flips`, x, y, shape: [2 * n, ...data.shape.slice(1)] };
}

async function cachedModel(
  name: string,
  train: () => Promise<TfjsModel>,
): Promise<{ model: TfjsModel; seconds: number }> {
  const dir = join('.cache', 'output-hardening', `${name}-seed${seed}`);
  if (existsSync(join(dir, 'model.json'))) return { model: await loadTfjsModel(dir), seconds: 0 };
  const start = performance.now();
  const model = await train();
  const seconds = (performance.now() - start) / 1000;
  await saveTfjsModel(model, dir);
  return { model, seconds };
}

log('victim: small CNN, 30 epochs, batch 64, first 1000 training images');
const victim = await cachedModel('victim-cnn', async () => {
  const net = buildSmallCnn({ seed });
  await trainModel(net, members, { epochs: 30, batchSize: 64, learningRate: 1e-3, seed, progress: false });
  return new TfjsModel(net, { name: 'small-cnn-30ep', classNames: train.classNames });
});
log('logistic victim: 10 epochs on the 4000 training images');
const logistic = await cachedModel('victim-logistic', async () => {
  const { model } = await trainClassifier('logistic', train, { epochs: 10, seed, progress: false });
  return model;
});

const membershipAttacks: MembershipCheck[] = ['threshold', 'returned-score', 'label-only'];
if (shadows > 0) membershipAttacks.push('lira');
const start = performance.now();
const evaluation = await evaluateOutputDefenses(victim.model, choices, {
  seed,
  test,
  extraction: {
    transfer: withFlips(slice(train, 1000, 4000)),
    budgets,
    surrogate: 'cnn',
    epochs: Number(values.epochs),
  },
  equationSolving: { victim: logistic.model, budgets: [785, 1570] },
  membership: {
    data: { members, nonMembers: test },
    attacks: membershipAttacks,
    lira: { shadows, spec: { arch: 'cnn', epochs: 30, batchSize: 64 }, workers: Number(values.workers) },
  },
  onProgress: log,
});

type Row = Record<string, number>;
function lastRow(m: DefenseMeasurement, attack: string): Row | undefined {
  const result = m.attacks.find((a) => a.attack === attack)?.result;
  return result?.rows[result.rows.length - 1] as Row | undefined;
}

function summary(m: DefenseMeasurement) {
  const extraction: Record<string, unknown> = {};
  const membership: Record<string, unknown> = {};
  for (const outcome of m.attacks) {
    const target = outcome.family === 'extraction' ? extraction : membership;
    if (outcome.refused) {
      target[outcome.attack] = { refused: outcome.refused };
      continue;
    }
    const rows = (outcome.result?.rows ?? []) as Row[];
    target[outcome.attack] =
      outcome.family === 'extraction'
        ? rows.map((r) => ({
            queries: r.queries,
            fidelity: r.fidelity,
            accuracy: r.accuracy,
            maxParamError: r.maxParamError,
          }))
        : { auc: rows[0]?.auc, tprAt1pctFpr: rows[0]?.tprAt1pctFpr, tprAt0_1pctFpr: rows[0]?.tprAt0_1pctFpr };
  }
  const aucs = m.attacks.flatMap((a) =>
    a.family === 'membership' && a.result ? [(a.result.rows[0] as Row).auc as number] : [],
  );
  return {
    defense: m.defense,
    params: m.params,
    model: m.model,
    access: m.access,
    utility: m.utility,
    extraction,
    membership,
    bestMembershipAuc: Math.max(...aucs),
    knockoffFidelity: Object.fromEntries(
      ((m.attacks.find((a) => a.attack === 'knockoff-random')?.result?.rows ?? []) as Row[]).map((r) => [
        r.queries,
        r.fidelity,
      ]),
    ),
    equationSolvingFidelity: lastRow(m, 'equation-solving')?.fidelity ?? null,
    seconds: m.seconds,
  };
}

// How often reverse sigmoid's guarantee applies: test images whose top probability is below p*.
const safe = reverseSigmoidSafeConfidence(1, 0.1);
const { confidences } = await labelsAndConfidences(victim.model, test);
const belowSafe = confidences.filter((c) => c < safe).length / confidences.length;

process.stdout.write(
  `${JSON.stringify(
    {
      backend,
      node: process.version,
      seed,
      victim: {
        recipe: 'small CNN, 30 epochs, batch 64, Adam 1e-3, first 1000 bundled training images',
        trainSeconds: victim.seconds,
        memberAccuracy: await evaluateAccuracy(victim.model, members),
        testAccuracy: await evaluateAccuracy(victim.model, test),
      },
      logisticVictim: {
        recipe: 'logistic regression, 10 epochs, 4000 bundled training images',
        testAccuracy: await evaluateAccuracy(logistic.model, test),
      },
      settings: {
        budgets,
        surrogateEpochs: Number(values.epochs),
        shadows,
        transfer: 'bundled train 1000–3999 + flips (6000)',
      },
      reverseSigmoid: { beta: 1, gamma: 0.1, safeConfidence: safe, testFractionBelowSafe: belowSafe },
      defenses: evaluation.measurements.map(summary),
      seconds: (performance.now() - start) / 1000,
    },
    null,
    2,
  )}\n`,
);
