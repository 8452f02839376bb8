/**
 * Feature collision (Shafahi et al. 2018) in the paper's transfer-learning setting, scaled down: a
 * pretrained MLP is the frozen feature extractor, the victim fine-tunes only a new final layer on a
 * small two-class set (T-shirt vs shirt). Poisons keep their correct labels, collide with the target
 * in feature space, and flip some targets; without poisons none flips.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { craftCollisions, featureCollision } from '../../../src/attacks/poisoning/feature-collision.js';
import { FeatureExtractor } from '../../../src/attacks/poisoning/feature-extractor.js';
import { runPoisoning } from '../../../src/attacks/poisoning/run-poisoning.js';
import { transferVictim } from '../../../src/attacks/poisoning/victims.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { type Dataset, slice, take } from '../../../src/data/dataset.js';
import { loadFashionMnist } from '../../../src/data/fashion-mnist.js';
import { buildLogisticRegression } from '../../../src/models/builders.js';
import type { TfjsModel } from '../../../src/models/tfjs-model.js';
import { trainClassifier } from '../../../src/models/train-classifier.js';
import { rejectsWithInputError } from '../../helpers/assertions.js';

/** The rows of classes 0 (T-shirt/top) and 6 (Shirt), relabelled 0 and 1, at most n of them. */
function tshirtVsShirt(data: Dataset, n: number): Dataset {
  const rows: number[] = [];
  for (let i = 0; i < data.y.length && rows.length < n; i++) if (data.y[i] === 0 || data.y[i] === 6) rows.push(i);
  const part = take(data, rows);
  return { ...part, y: Int32Array.from(part.y, (y) => (y === 0 ? 0 : 1)), classNames: ['T-shirt/top', 'Shirt'] };
}

let pretrained: TfjsModel;
let extractor: FeatureExtractor;
const full = loadFashionMnist({ split: 'train', source: 'bundled' });
const train = tshirtVsShirt(slice(full, 2000), 100);
const testSet = tshirtVsShirt(loadFashionMnist({ split: 'test', source: 'bundled' }), 200);

before(async () => {
  await initRuntime();
  // The "public pretrained network": an MLP trained on other data (all ten classes).
  pretrained = (await trainClassifier('mlp', slice(full, 0, 2000), { epochs: 8, seed: 1, progress: false })).model;
  extractor = new FeatureExtractor(pretrained.network);
});

describe('feature collision', () => {
  test('poisons approach the target in feature space, stay in range, and stay nearer the base with a larger β', async () => {
    const bases = take(train, [0, 1]).x;
    const target = testSet.x.slice(784 * 5, 784 * 6);
    const loose = await craftCollisions(extractor, bases, target, { iterations: 100 });
    const tight = await craftCollisions(extractor, bases, target, { iterations: 100, beta0: 2000 });
    for (let i = 0; i < 2; i++) {
      assert.ok(loose.finalDistance[i]! < 0.2 * loose.initialDistance[i]!, `poison ${i} collides`);
    }
    assert.ok(loose.poisons.every((v) => v >= 0 && v <= 1));
    const moved = (p: Float32Array) => p.reduce((a, v, j) => a + (v - bases[j]!) ** 2, 0);
    assert.ok(moved(tight.poisons) < moved(loose.poisons), 'β pulls poisons toward their base images');
    assert.ok(tight.finalDistance[0]! > loose.finalDistance[0]!, '… at the cost of a looser collision');
    assert.equal(extractor.dim, 64);
  });

  test('clean-label poisons flip some targets to the base class; none flip without poison', async () => {
    const tensors = tf.memory().numTensors;
    const result = await runPoisoning({
      attack: featureCollision({ extractor, baseClass: 0, targets: 5 }),
      train,
      test: testSet,
      trainVictim: transferVictim(extractor, { epochs: 60, batchSize: 32 }),
      fractions: [0, 0.1],
      seed: 1,
      keepExamples: 3,
    });
    assert.equal(tf.memory().numTensors, tensors, 'no tensors leak');
    const [none, poisoned] = result.rows as Record<string, number>[];
    assert.equal(none!.trials, 5);
    assert.equal(none!.attackSuccessRate, 0, 'targets are images the clean victim gets right');
    assert.equal(poisoned!.poisonCount, 10);
    assert.ok(poisoned!.attackSuccessRate >= 0.2, `success on ${poisoned!.attackSuccessRate * 5} of 5 targets`);
    assert.ok(poisoned!.featureDistanceRatio! < 0.1, `feature distance ratio ${poisoned!.featureDistanceRatio}`);
    assert.ok(poisoned!.cleanAccuracy > result.baselineAccuracy - 0.1);
    assert.equal(result.threatModel.access, 'gradients');
    assert.equal(result.atlas, 'AML.T0020');
    assert.equal(result.examples?.captions?.adversarial, 'poison');
    assert.ok(
      Array.from(result.examples?.labels ?? []).every((y) => y === 0),
      'poisons carry their (correct) base label',
    );
  });

  test('labels stay correct: the poisoned set differs from the clean one in pixels of base rows only', async () => {
    const attack = featureCollision({ extractor, baseClass: 0, targets: 1, iterations: 20 });
    attack.check(train, testSet);
    const [trial] = await attack.craft(train, 0.05, 3, { test: testSet, baselinePredictions: testSet.y });
    const data = trial!.data as Dataset;
    assert.deepEqual(data.y, train.y);
    const changed = new Set<number>();
    for (let i = 0; i < data.x.length; i++) if (data.x[i] !== train.x[i]) changed.add(Math.floor(i / 784));
    assert.ok([...changed].every((r) => trial!.poisonIndices.includes(r) && train.y[r] === 0));
    assert.equal(trial!.poisonIndices.length, 5);
  });

  test('bad input: a network without a hidden layer, a class out of range, text data', async () => {
    const logistic = buildLogisticRegression({ inputShape: [28, 28, 1], numClasses: 10 });
    await rejectsWithInputError(
      Promise.resolve().then(() => new FeatureExtractor(logistic)),
      /no learned layer before its output layer/,
    );
    logistic.dispose();
    const attack = featureCollision({ extractor, baseClass: 4 });
    await rejectsWithInputError(
      Promise.resolve().then(() => attack.check(train, testSet)),
      /base \(target\) class 4 is not a class of the data/,
    );
    const text = { name: 't', texts: ['a'], y: new Int32Array(1), classNames: ['a', 'b'] };
    await rejectsWithInputError(
      Promise.resolve().then(() => featureCollision({ extractor, baseClass: 0 }).check(text, text)),
      /needs numeric \(image\) data/,
    );
  });
});
