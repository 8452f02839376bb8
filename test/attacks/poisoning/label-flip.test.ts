/**
 * Label flipping: the poisoned sets (how many rows, which labels), the pair parser, and victims
 * trained on flipped labels: targeted flips raise source→target confusion, random flips lower
 * accuracy, measured against a victim trained on clean labels.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  checkFlipPairs,
  flipPairs,
  flipRandom,
  labelFlip,
  parseFlipPairs,
} from '../../../src/attacks/poisoning/label-flip.js';
import { runPoisoning } from '../../../src/attacks/poisoning/run-poisoning.js';
import { architectureVictim } from '../../../src/attacks/poisoning/victims.js';
import { initRuntime } from '../../../src/core/runtime.js';
import { loadFashionMnist } from '../../../src/data/fashion-mnist.js';
import { rejectsWithInputError } from '../../helpers/assertions.js';

before(async () => {
  await initRuntime();
});

const fails = (fn: () => unknown, pattern: RegExp) => rejectsWithInputError(Promise.resolve().then(fn), pattern);

describe('poisoned label sets', () => {
  const train = loadFashionMnist({ split: 'train', source: 'bundled', limit: 1000 });

  test('random: the chosen rows all get a different label, spread over the other classes; inputs untouched', () => {
    const { data, poisonIndices } = flipRandom(train, 0.3, 7);
    assert.equal(poisonIndices.length, 300);
    const chosen = new Set(poisonIndices);
    const seen = new Set<string>();
    for (let i = 0; i < train.y.length; i++) {
      if (chosen.has(i)) {
        assert.notEqual(data.y[i], train.y[i], `row ${i} keeps its label`);
        seen.add(`${train.y[i]}>${data.y[i]}`);
      } else assert.equal(data.y[i], train.y[i]);
    }
    assert.ok(seen.size > 50, `flips cover many class pairs (${seen.size} of 90)`);
    assert.deepEqual((data as typeof train).x, train.x);
    assert.deepEqual(flipRandom(train, 0.3, 7).data.y, data.y, 'same seed, same flips');
  });

  test('targeted: that share of each source class is relabelled, nothing else', () => {
    const sources = [3, 7].map((c) => train.y.filter((y) => y === c).length);
    const { data, poisonIndices } = flipPairs(
      train,
      [
        [3, 5],
        [7, 1],
      ],
      0.5,
      1,
    );
    assert.equal(poisonIndices.length, Math.round(sources[0]! / 2) + Math.round(sources[1]! / 2));
    for (let i = 0; i < train.y.length; i++) {
      if (data.y[i] === train.y[i]) continue;
      assert.ok(
        (train.y[i] === 3 && data.y[i] === 5) || (train.y[i] === 7 && data.y[i] === 1),
        `row ${i}: ${train.y[i]}→${data.y[i]}`,
      );
    }
  });

  test('pairs parse as source:target; bad pairs are input errors', async () => {
    assert.deepEqual(parseFlipPairs('3:5, 7:1'), [
      [3, 5],
      [7, 1],
    ]);
    await fails(() => parseFlipPairs('3-5'), /must be written source:target/);
    await fails(() => checkFlipPairs([[3, 3]], train.classNames), /flips a class to itself/);
    await fails(() => checkFlipPairs([[3, 12]], train.classNames), /target class 12 is not a class/);
    await fails(
      () =>
        checkFlipPairs(
          [
            [3, 5],
            [3, 1],
          ],
          train.classNames,
        ),
      /source class 3 appears in two pairs/,
    );
  });
});

describe('victims trained on flipped labels (bundled Fashion-MNIST)', () => {
  const train = loadFashionMnist({ split: 'train', source: 'bundled', limit: 1500 });
  const testSet = loadFashionMnist({ split: 'test', source: 'bundled', limit: 500 });

  test('targeted 7→9 (sneaker → ankle boot): confusion rises far above the clean victim’s', async () => {
    const result = await runPoisoning({
      attack: labelFlip({ mode: 'targeted', pairs: [[7, 9]] }),
      train,
      test: testSet,
      trainVictim: architectureVictim('logistic', { epochs: 15 }),
      fractions: [0, 0.6],
      seed: 2,
    });
    const [none, flipped] = result.rows as Record<string, number>[];
    assert.equal(flipped!.sourceFraction, 0.6);
    assert.ok(flipped!.poisonFraction < 0.1, 'only sneaker rows are flipped');
    assert.equal(none!.attackSuccessRate, none!.baselineConfusion, 'no flips: the clean victim’s confusion');
    assert.ok(
      flipped!.attackSuccessRate > flipped!.baselineConfusion! + 0.3,
      `7→9 confusion ${flipped!.attackSuccessRate} vs ${flipped!.baselineConfusion} clean`,
    );
    const sourceShare = testSet.y.filter((y) => y === 7).length / testSet.y.length;
    assert.ok(flipped!.accuracyDrop < sourceShare + 0.02, 'the damage stays within the source class');
    assert.equal(result.attack, 'label-flip-targeted');
    assert.equal(result.atlas, 'AML.T0020');
  });

  test('random flips of 40% of the rows: accuracy drops and the victim loses rows the clean one got right', async () => {
    const result = await runPoisoning({
      attack: labelFlip({ mode: 'random' }),
      train,
      test: testSet,
      trainVictim: architectureVictim('mlp', { epochs: 20 }),
      fractions: [0.4],
      seed: 2,
    });
    const row = result.rows[0] as Record<string, number>;
    assert.equal(row.poisonCount, 600);
    assert.ok(row.accuracyDrop > 0.03, `accuracy drop ${row.accuracyDrop}`);
    assert.ok(row.attackSuccessRate >= row.accuracyDrop, 'induced errors cover at least the net drop');
    assert.equal(row.cleanBaselineAccuracy, result.baselineAccuracy);
  });
});
