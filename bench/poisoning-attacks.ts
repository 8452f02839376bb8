/**
 * Poisoning attacks: figures for docs/benchmarks.md. Prints one JSON document with a part per attack:
 *
 * - badnets: BadNets (3x3 checkerboard, target T-shirt/top) on Fashion-MNIST — the full 60k/10k set
 *   (Debian's dataset-fashion-mnist) when installed, else the bundled 4000/1000 — with the small
 *   CNN, at 0%, 1%, 5% and 10% poison: clean accuracy and attack success rate.
 * - labelFlip: random flips (10/20/40%) and targeted 7→9 (sneaker → ankle boot; 10/30/50% of the
 *   source rows) on the bundled set with an MLP victim.
 * - featureCollision: (a) the paper's transfer setting scaled down: a CNN pretrained on bundled
 *   train[0:2000] is frozen, the victim fine-tunes a new final layer on 100 T-shirt/shirt images
 *   from train[2000:], 10 targets, 1/5/10 poisons; β0 sweep at 10 poisons; (b) fine-tuning on
 *   2000 ten-class images (train[2000:4000]) at 0.5% and 2% poison.
 * - text: a trigger phrase ('cf mn bb', target ham) on the SMS Spam Collection (de-duplicated,
 *   80/20 split), logistic regression on 2^12 hashed word uni+bigrams, at 0.5%, 1%, 2%, 5%.
 *
 * Usage: npx tsx bench/poisoning-attacks.ts [--parts badnets,label-flip,feature-collision,text]
 *   [--epochs 3] [--train-limit 60000] [--seed 0]
 */
import { parseArgs } from 'node:util';
import { badNets } from '../src/attacks/poisoning/badnets.js';
import { featureCollision } from '../src/attacks/poisoning/feature-collision.js';
import { FeatureExtractor } from '../src/attacks/poisoning/feature-extractor.js';
import { labelFlip } from '../src/attacks/poisoning/label-flip.js';
import type { PoisonableData, PoisoningAttack, VictimTrainer } from '../src/attacks/poisoning/poisoning-attack.js';
import { type PoisoningResult, runPoisoning } from '../src/attacks/poisoning/run-poisoning.js';
import { architectureVictim, transferVictim } from '../src/attacks/poisoning/victims.js';
import { Rng } from '../src/core/rng.js';
import { initRuntime } from '../src/core/runtime.js';
import { type Dataset, slice, take } from '../src/data/dataset.js';
import { isFullFashionMnistInstalled, loadFashionMnist } from '../src/data/fashion-mnist.js';
import { hashingVectorizer } from '../src/data/hashing-vectorizer.js';
import { dedupeTexts, loadTextDataset, splitTexts } from '../src/data/text-dataset.js';
import { trainClassifier } from '../src/models/train-classifier.js';

const { values } = parseArgs({
  options: {
    parts: { type: 'string', default: 'badnets,label-flip,feature-collision,text' },
    epochs: { type: 'string', default: '3' },
    'train-limit': { type: 'string', default: '60000' },
    seed: { type: 'string', default: '0' },
  },
});
const parts = new Set(String(values.parts).split(','));
const epochs = Number(values.epochs);
const seed = Number(values.seed);
const log = (msg: string) => process.stderr.write(`[poisoning bench] ${msg}\n`);
const backend = await initRuntime();

/** Rows without clutter: 4 significant digits. */
function rows(result: PoisoningResult): Record<string, number>[] {
  return result.rows.map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number.isInteger(v) ? v : Number(v.toPrecision(4))])),
  );
}

async function run(
  label: string,
  attack: PoisoningAttack,
  train: PoisonableData,
  test: PoisonableData,
  trainVictim: VictimTrainer,
  fractions: number[],
  extra: Partial<Parameters<typeof runPoisoning>[0]> = {},
) {
  log(`${label}: ${train.y.length} training rows, ${test.y.length} test rows, fractions ${fractions}`);
  const started = performance.now();
  const result = await runPoisoning({
    attack,
    train,
    test,
    trainVictim,
    fractions,
    seed,
    keepExamples: 0,
    onProgress: (done, total) => log(`${label}: victim ${done}/${total}`),
    ...extra,
  });
  return {
    attack: result.attack,
    baselineAccuracy: Number(result.baselineAccuracy.toPrecision(4)),
    rows: rows(result),
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

/** Classes 0 (T-shirt/top) and 6 (Shirt) relabelled 0/1, the first n of them. */
function tshirtVsShirt(data: Dataset, n: number): Dataset {
  const picked: number[] = [];
  for (let i = 0; i < data.y.length && picked.length < n; i++) if (data.y[i] === 0 || data.y[i] === 6) picked.push(i);
  const part = take(data, picked);
  return { ...part, y: Int32Array.from(part.y, (y) => (y === 0 ? 0 : 1)), classNames: ['T-shirt/top', 'Shirt'] };
}

const out: Record<string, unknown> = { backend, seed, node: process.version };

if (parts.has('badnets')) {
  const full = isFullFashionMnistInstalled();
  const limit = Number(values['train-limit']);
  const train = loadFashionMnist({
    split: 'train',
    source: full ? 'full' : 'bundled',
    limit: full ? limit : undefined,
  });
  const test = loadFashionMnist({ split: 'test', source: full ? 'full' : 'bundled' });
  out.badnets = {
    data: full ? 'Fashion-MNIST (Debian full set)' : 'Fashion-MNIST (bundled subset)',
    victim: `small CNN, ${epochs} epochs, Adam 1e-3, batch 64`,
    trigger: '3x3 checkerboard, one pixel in from the bottom-right corner; target class 0 (T-shirt/top)',
    ...(await run(
      'badnets',
      badNets({ targetClass: 0, trigger: { kind: 'patch' } }),
      train,
      test,
      architectureVictim('cnn', { epochs }),
      [0, 0.01, 0.05, 0.1],
    )),
  };
}

if (parts.has('label-flip')) {
  const train = loadFashionMnist({ split: 'train', source: 'bundled' });
  const test = loadFashionMnist({ split: 'test', source: 'bundled' });
  const victim = architectureVictim('mlp', { epochs: 20 });
  out.labelFlip = {
    data: 'bundled Fashion-MNIST (4000 train, 1000 test)',
    victim: 'MLP 128-64, 20 epochs',
    random: await run('random flips', labelFlip({ mode: 'random' }), train, test, victim, [0.1, 0.2, 0.4]),
    targeted: await run(
      'targeted 7→9',
      labelFlip({ mode: 'targeted', pairs: [[7, 9]] }),
      train,
      test,
      victim,
      [0.1, 0.3, 0.5],
    ),
  };
}

if (parts.has('feature-collision')) {
  const full = loadFashionMnist({ split: 'train', source: 'bundled' });
  const testAll = loadFashionMnist({ split: 'test', source: 'bundled' });
  log('feature collision: pretraining the CNN extractor on bundled train[0:2000]');
  const { model } = await trainClassifier('cnn', slice(full, 0, 2000), { epochs: 10, seed, progress: false });
  const extractor = new FeatureExtractor(model.network);
  const transfer = transferVictim(extractor, { epochs: 60, batchSize: 32 });
  const small = tshirtVsShirt(slice(full, 2000), 100);
  const smallTest = tshirtVsShirt(testAll, 400);
  const binary = await run(
    'feature collision, T-shirt vs shirt',
    featureCollision({ extractor, baseClass: 0, targets: 10 }),
    small,
    smallTest,
    transfer,
    [0, 0.01, 0.05, 0.1],
  );
  const betaSweep: Record<string, unknown>[] = [];
  for (const beta0 of [25, 250, 2500]) {
    const r = await run(
      `feature collision β0 ${beta0}`,
      featureCollision({ extractor, baseClass: 0, targets: 10, beta0 }),
      small,
      smallTest,
      transfer,
      [0.1],
    );
    betaSweep.push({ beta0, ...(r.rows[0] as object) });
  }
  const tenClass = await run(
    'feature collision, ten classes',
    featureCollision({ extractor, baseClass: 0, targets: 10 }),
    slice(full, 2000, 4000),
    testAll,
    transferVictim(extractor, { epochs: 30 }),
    [0.005, 0.02],
  );
  model.dispose();
  out.featureCollision = {
    extractor: `small CNN pretrained 10 epochs on bundled train[0:2000]; features: ${extractor.layerName} (${extractor.dim})`,
    victim: 'new softmax layer on the frozen features (Adam 0.01)',
    craft: '200 forward-backward iterations, λ 0.05 halved on a rise, β0 0.25 unless stated',
    tshirtVsShirt: { fineTune: '100 images, test 400', ...binary, betaSweep },
    tenClasses: { fineTune: 'bundled train[2000:4000], test 1000', ...tenClass },
  };
}

if (parts.has('text')) {
  const all = dedupeTexts(loadTextDataset('sms-spam'));
  const [train, test] = splitTexts(all, 0.8, new Rng(seed));
  const vectorizer = hashingVectorizer({ bits: 12 });
  out.text = {
    data: `SMS Spam Collection, ${all.texts.length} distinct messages, 80/20 split`,
    victim: 'logistic regression on 2^12 hashed word uni+bigrams (l2), 20 epochs, Adam 0.05',
    trigger: "phrase 'cf mn bb' at a random word position; target ham",
    ...(await run(
      'text trigger',
      badNets({ targetClass: 0, trigger: { kind: 'phrase', phrase: 'cf mn bb' } }),
      train,
      test,
      architectureVictim('logistic', { epochs: 20, learningRate: 0.05 }),
      [0, 0.005, 0.01, 0.02, 0.05],
      { encode: vectorizer.encode, inputRange: [-1, 1] },
    )),
  };
}

process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
