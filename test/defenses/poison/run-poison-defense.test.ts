import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { applyTrigger } from '../../../src/attacks/poisoning/triggers.js';
import { AegisInputError } from '../../../src/core/errors.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { take } from '../../../src/data/dataset.js';
import { loadFashionMnist } from '../../../src/data/fashion-mnist.js';
import {
  createPoisonDetector,
  POISON_DETECTOR_NAMES,
  parsePoisonDetectors,
} from '../../../src/defenses/poison/registry.js';
import { defendAgainstPoison } from '../../../src/defenses/poison/run-poison-defense.js';
import { predictDataset } from '../../../src/models/evaluate.js';
import type { Model } from '../../../src/models/model.js';
import { cleanTrain, mlpVictim, plantBackdoor, SOURCE, TARGET, TRIGGER } from './fixtures.js';

describe('poison detector registry', () => {
  it('parses CLI names in order, without repeats, and rejects unknown ones', () => {
    assert.deepEqual(parsePoisonDetectors('Spectral-Signatures, activation-clustering,spectral-signatures'), [
      'spectral-signatures',
      'activation-clustering',
    ]);
    assert.deepEqual(parsePoisonDetectors([...POISON_DETECTOR_NAMES]), [...POISON_DETECTOR_NAMES]);
    assert.throws(
      () => parsePoisonDetectors('spectral-signatures,strip'),
      (e: unknown) =>
        e instanceof AegisInputError && /unknown poison detection method 'strip'; choose from/.test(e.message),
    );
    assert.throws(() => parsePoisonDetectors(' , '), /no poison detection method given/);
    for (const name of POISON_DETECTOR_NAMES) assert.equal(createPoisonDetector(name).name, name);
  });
});

describe('defendAgainstPoison', () => {
  before(async () => {
    await initRuntime();
  });

  it('removing what the detectors flag and retraining takes the backdoor out', async () => {
    const poisoned = plantBackdoor(cleanTrain(2000), 40);
    const test = loadFashionMnist({ split: 'test', source: 'bundled' });
    const sources = Array.from(test.y.keys()).filter((i) => test.y[i] === SOURCE);
    const triggered = applyTrigger(take(test, sources), TRIGGER);
    const evaluate = async (model: Model) => {
      const clean = await predictDataset(model, test);
      const onTrigger = await predictDataset(model, triggered);
      return {
        cleanAccuracy: clean.filter((p, i) => p === test.y[i]).length / clean.length,
        attackSuccessRate: onTrigger.filter((p) => p === TARGET).length / onTrigger.length,
      };
    };
    const trainVictim = mlpVictim(20);
    const victim = await trainVictim(poisoned.train, 0);
    try {
      const undefended = await evaluate(victim);
      assert.ok(undefended.attackSuccessRate >= 0.8, `backdoor ASR ${undefended.attackSuccessRate}`);
      const tensors = tf.memory().numTensors;
      const rows = await defendAgainstPoison({
        poisoned,
        trainVictim,
        evaluate,
        detectors: ['spectral-signatures', 'activation-clustering'],
        expectedPoisonFraction: 0.2,
        seed: 0,
        poisonedModel: victim,
        detectorOptions: { activationClustering: { sizeThreshold: 0.3, silhouetteThreshold: 0.5 } },
      });
      assert.equal(tf.memory().numTensors, tensors, 'no tensors leaked; the given victim is not disposed');
      assert.deepEqual(
        rows.map((r) => r.method),
        ['spectral-signatures', 'activation-clustering'],
      );
      for (const r of rows) {
        assert.ok(r.recall === 1, `${r.method} recall ${r.recall}`);
        assert.ok(r.attackSuccessRate <= 0.1, `${r.method}: ASR after retraining ${r.attackSuccessRate}`);
        assert.ok(r.cleanAccuracy >= undefended.cleanAccuracy - 0.05, `${r.method}: clean accuracy ${r.cleanAccuracy}`);
        assert.ok(r.seconds >= r.detectionSeconds && r.detectionSeconds > 0);
      }
    } finally {
      victim.dispose();
    }
  });

  it('rejects unknown detectors before training anything', async () => {
    let trained = 0;
    await assert.rejects(
      defendAgainstPoison({
        poisoned: plantBackdoor(cleanTrain(100), 5),
        trainVictim: async (train, seed) => {
          trained++;
          return mlpVictim(1)(train, seed);
        },
        evaluate: async () => ({ cleanAccuracy: 0, attackSuccessRate: 0 }),
        detectors: ['neural-cleanse'],
        seed: 0,
      }),
      /unknown poison detection method 'neural-cleanse'/,
    );
    assert.equal(trained, 0);
  });
});
