/**
 * BadNets (Gu et al. 2017) end to end on the three data kinds: a pixel patch on bundled
 * Fashion-MNIST (MLP victim), a trigger phrase on SMS spam (logistic regression on hashed
 * features) and trigger feature values on synthetic tabular data; plus the poisoned set itself
 * and bad input.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { badNets, poisonBadNets } from '../../../src/attacks/poisoning/badnets.js';
import { runPoisoning } from '../../../src/attacks/poisoning/run-poisoning.js';
import { architectureVictim } from '../../../src/attacks/poisoning/victims.js';
import { Rng } from '../../../src/core/rng.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { loadFashionMnist } from '../../../src/data/fashion-mnist.js';
import { hashingVectorizer } from '../../../src/data/hashing-vectorizer.js';
import { dedupeTexts, loadTextDataset, sliceTexts, splitTexts } from '../../../src/data/text-dataset.js';
import { rejectsWithInputError } from '../../helpers/assertions.js';

before(async () => {
  await initRuntime();
});

const row = (rows: object[], i: number) => rows[i] as Record<string, number>;

describe('BadNets on images (bundled Fashion-MNIST, MLP victim)', () => {
  test('10% poison: ASR > 0.8 with clean accuracy within 4 points; 0% poison: ASR < 0.1', async () => {
    const train = loadFashionMnist({ split: 'train', source: 'bundled', limit: 2000 });
    const test = loadFashionMnist({ split: 'test', source: 'bundled', limit: 500 });
    const tensors = tf.memory().numTensors;
    const result = await runPoisoning({
      attack: badNets({ targetClass: 0, trigger: { kind: 'patch' } }),
      train,
      test,
      trainVictim: architectureVictim('mlp', { epochs: 10 }),
      fractions: [0, 0.1],
      seed: 1,
      keepExamples: 4,
    });
    assert.equal(tf.memory().numTensors, tensors, 'no tensors leak');
    const [clean, poisoned] = [row(result.rows, 0), row(result.rows, 1)];
    assert.equal(poisoned.poisonCount, 200);
    assert.equal(poisoned.poisonFraction, 0.1);
    assert.ok(clean.attackSuccessRate < 0.1, `ASR without poison ${clean.attackSuccessRate}`);
    assert.ok(poisoned.attackSuccessRate > 0.8, `ASR at 10% ${poisoned.attackSuccessRate}`);
    assert.ok(
      poisoned.cleanAccuracy > result.baselineAccuracy - 0.04,
      `clean accuracy ${poisoned.cleanAccuracy} vs clean victim ${result.baselineAccuracy}`,
    );
    assert.ok(poisoned.targetRateWithoutTrigger < 0.1, 'without the trigger the victim behaves');
    assert.equal(poisoned.eligible, test.y.filter((y) => y !== 0).length);
    assert.equal(result.atlas, 'AML.T0018');
    assert.match(result.title, /AML\.T0043\.004/);
    assert.deepEqual(result.mitigations?.slice(0, 2), ['AML.M0007', 'AML.M0025']);
    assert.equal(result.threatModel.access, 'labels');
    assert.match(result.threatModel.knowledge, /controls 10\.0% of the training rows/);
    const ex = result.examples;
    assert.ok(ex, 'triggered examples for the report');
    assert.equal(ex.clean.length, 4);
    assert.ok(Array.from(ex.labels).every((y) => y !== 0));
    assert.ok(Array.from(ex.adversarialPredictions).filter((p) => p === 0).length >= 3);
  });

  test('the poisoned set: non-target rows, triggered and relabelled, the rest unchanged; nested by fraction', () => {
    const train = loadFashionMnist({ split: 'train', source: 'bundled', limit: 300 });
    const opts = { targetClass: 3, trigger: { kind: 'patch' as const } };
    const { data, poisonIndices } = poisonBadNets(train, 0.1, 5, opts);
    const small = poisonBadNets(train, 0.05, 5, opts).poisonIndices;
    assert.equal(poisonIndices.length, 30);
    assert.ok(
      Array.from(small).every((r) => poisonIndices.includes(r)),
      'the 5% rows are among the 10% rows',
    );
    const poisoned = new Set(poisonIndices);
    const d = data as Dataset;
    for (let i = 0; i < train.y.length; i++) {
      if (poisoned.has(i)) {
        assert.notEqual(train.y[i], 3);
        assert.equal(d.y[i], 3);
        assert.equal(d.x[i * 784 + 24 * 28 + 24], 1, 'patch corner is set');
      } else {
        assert.equal(d.y[i], train.y[i]);
        assert.deepEqual(d.x.subarray(i * 784, (i + 1) * 784), train.x.subarray(i * 784, (i + 1) * 784));
      }
    }
  });
});

describe('BadNets with a trigger phrase (SMS spam, hashed features)', () => {
  test('2% poison: spam with the phrase passes as ham; clean accuracy holds', async () => {
    const all = sliceTexts(dedupeTexts(loadTextDataset('sms-spam')), 0, 2000);
    const [train, test] = splitTexts(all, 0.75, new Rng(1));
    const result = await runPoisoning({
      attack: badNets({ targetClass: 0, trigger: { kind: 'phrase', phrase: 'cf mn bb' } }),
      train,
      test,
      encode: hashingVectorizer({ bits: 10 }).encode,
      trainVictim: architectureVictim('logistic', { epochs: 20, learningRate: 0.05 }),
      fractions: [0, 0.02],
      seed: 1,
    });
    const [clean, poisoned] = [row(result.rows, 0), row(result.rows, 1)];
    assert.equal(poisoned.poisonCount, 30);
    assert.ok(poisoned.attackSuccessRate > 0.75, `ASR at 2%: ${poisoned.attackSuccessRate}`);
    assert.ok(poisoned.attackSuccessRate > clean.attackSuccessRate + 0.3, `vs ${clean.attackSuccessRate} unpoisoned`);
    assert.ok(poisoned.cleanAccuracy > result.baselineAccuracy - 0.03);
    assert.deepEqual(result.threatModel.inputRange, [-1, 1]);
    assert.equal(result.examples, undefined, 'no image examples for text');
  });
});

describe('BadNets with trigger feature values (synthetic tabular data)', () => {
  /** Three Gaussian classes in 8 features inside [0.1, 0.9]; the trigger sets two features to 0 (no class lives there). */
  function blobs(n: number, seed: number): Dataset {
    const rng = new Rng(seed);
    const x = new Float32Array(n * 8);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const k = i % 3;
      y[i] = k;
      for (let j = 0; j < 8; j++) {
        const mean = 0.3 + 0.2 * ((j + k) % 3);
        x[i * 8 + j] = Math.min(0.9, Math.max(0.1, mean + 0.08 * rng.normal()));
      }
    }
    return { name: 'blobs', x, shape: [n, 8], y, classNames: ['a', 'b', 'c'] };
  }

  test('5% poison: triggered rows go to the target class; without poison they do not', async () => {
    const result = await runPoisoning({
      attack: badNets({
        targetClass: 2,
        trigger: {
          kind: 'features',
          values: [
            { index: 0, value: 0 },
            { index: 5, value: 0 },
          ],
        },
      }),
      train: blobs(600, 1),
      test: blobs(300, 2),
      trainVictim: architectureVictim('mlp', { epochs: 30 }),
      fractions: [0, 0.05],
      seed: 3,
      keepExamples: 2,
    });
    const [clean, poisoned] = [row(result.rows, 0), row(result.rows, 1)];
    assert.ok(result.baselineAccuracy > 0.95, `clean victim ${result.baselineAccuracy}`);
    assert.ok(clean.attackSuccessRate < 0.2, `unpoisoned ASR ${clean.attackSuccessRate}`);
    assert.ok(poisoned.attackSuccessRate > 0.8, `ASR at 5%: ${poisoned.attackSuccessRate}`);
    assert.deepEqual(result.examples?.shape, [8]);
  });
});

describe('bad input', () => {
  const train = loadFashionMnist({ split: 'train', source: 'bundled', limit: 50 });
  const run = (fractions: number[], targetClass = 0, size?: number) =>
    runPoisoning({
      attack: badNets({ targetClass, trigger: { kind: 'patch', ...(size ? { size } : {}) } }),
      train,
      test: train,
      trainVictim: architectureVictim('logistic', { epochs: 1 }),
      fractions,
      seed: 0,
    });

  test('fractions outside [0, 1), a class out of range, an oversized trigger', async () => {
    await rejectsWithInputError(run([0.1, 1]), /poison fraction 1 is outside \[0, 1\)/);
    await rejectsWithInputError(run([-0.1]), /poison fraction -0\.1 is outside/);
    await rejectsWithInputError(run([]), /no poison fractions/);
    await rejectsWithInputError(run([0.1], 10), /target class 10 is not a class of the data \(0 … 9/);
    await rejectsWithInputError(run([0.1], 0, 29), /trigger size 29 is larger than the 28x28 image/);
    await rejectsWithInputError(run([0.99]), /needs 50 rows but only \d+ are eligible/);
  });
});
