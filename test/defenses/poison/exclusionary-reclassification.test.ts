import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { PoisonedTrainingSet } from '../../../src/attacks/poisoning/poisoning-attack.js';
import { AegisInputError } from '../../../src/core/errors.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { take } from '../../../src/data/dataset.js';
import { activationClustering, clusterClasses } from '../../../src/defenses/poison/activation-clustering.js';
import { penultimateActivations } from '../../../src/defenses/poison/activations.js';
import { evaluateDetection } from '../../../src/defenses/poison/evaluate-detection.js';
import {
  clusterWithReclassification,
  judgeReclassification,
  reclassifyCluster,
} from '../../../src/defenses/poison/exclusionary-reclassification.js';
import { detectPoison } from '../../../src/defenses/poison/run-poison-defense.js';
import type { Model } from '../../../src/models/model.js';
import { cleanTrain, mlpVictim, plantBackdoor, SOURCE, syntheticRepresentations, TARGET } from './fixtures.js';

/**
 * The majority-poison case: 1200 bundled images, the target class (Ankle boot) cut to 30 clean
 * rows, then 60 Trousers with the trigger relabelled Ankle boot — two thirds of the class is poison,
 * so activation clustering's smaller cluster is the clean one.
 */
function majorityPoison(): PoisonedTrainingSet {
  const all = cleanTrain(1200);
  let boots = 0;
  const keep = Array.from(all.y.keys()).filter((i) => all.y[i] !== TARGET || boots++ < 30);
  return plantBackdoor(take(all, keep), 60);
}

async function checkMajorityPoison({ train, poisonIndices }: PoisonedTrainingSet, victim: Model): Promise<void> {
  const n = train.y.length;
  const { features, dim } = await penultimateActivations(victim, train);
  const input = { features, dim, labels: train.y, numClasses: 10, seed: 0 };
  const classes = clusterClasses(input);
  const target = classes[TARGET];
  assert.ok(target);
  const isPoison = new Uint8Array(n);
  for (const i of poisonIndices) isPoison[i] = 1;
  // The premise: the poisons are the larger cluster, which the size criterion never suspects.
  assert.ok(
    target.largerCluster.every((i) => isPoison[i] === 1),
    'larger cluster = the poisons',
  );
  assert.equal(target.largerCluster.length, 60);
  assert.equal(
    activationClustering()
      .detect(input)
      .flagged.filter((i) => isPoison[i]).length,
    0,
  );

  const tensors = tf.memory().numTensors;
  const trainModel = mlpVictim(5);
  // Retrained without the poison cluster, the model sends it back to Trouser.
  const poison = await reclassifyCluster(train, target.largerCluster, TARGET, trainModel, 0, 1);
  assert.equal(poison.otherClass, SOURCE);
  assert.ok(poison.poisoned && poison.ratio < 0.1, `poison cluster l/p = ${poison.ratio}`);
  assert.ok(poison.otherCount >= 0.8 * 60, `${poison.otherCount} of 60 back to Trouser`);
  // Both clusters of the clean Trouser class come back as Trouser.
  const trousers = classes[SOURCE];
  assert.ok(trousers);
  for (const rows of [trousers.smallerCluster, trousers.largerCluster]) {
    const clean = await reclassifyCluster(train, rows, SOURCE, trainModel, 0, 1);
    assert.ok(!clean.poisoned && clean.ratio > 2, `clean Trouser cluster l/p = ${clean.ratio}`);
  }
  assert.equal(tf.memory().numTensors, tensors, 'every retrained model is disposed');

  // Through detectPoison, reclassifying only the classes whose split stands out (the target's
  // silhouette is ~0.6; clean classes <= 0.5 here): every poison is flagged, only in the target class.
  const progress: string[] = [];
  const [run] = await detectPoison({
    train,
    model: victim,
    detectors: ['activation-clustering'],
    seed: 0,
    detectorOptions: {
      activationClustering: { criterion: 'reclassification', reclassify: 'separated', silhouetteThreshold: 0.55 },
    },
    reclassificationTrainer: trainModel,
    onProgress: (m) => progress.push(m),
  });
  assert.ok(run);
  assert.equal(evaluateDetection(run.flagged, poisonIndices, n).recall, 1);
  assert.ok(
    run.flagged.every((i) => train.y[i] === TARGET),
    'no row of another class flagged',
  );
  assert.ok(progress.some((m) => /exclusionary reclassification 2\/2: class 9, larger cluster \(60 rows\)/.test(m)));
  // The poison rows score p/(l+p) ~ 1.
  for (const i of poisonIndices) assert.ok((run.scores[i] as number) > 0.9);
  // The limit of the paper's test when poison is the majority: retrained without the 30 clean
  // boots, the class's only examples are triggered Trousers, so the boots go to Sneaker or Sandal
  // and fail the test too - the whole class is flagged.
  assert.equal(run.flagged.length, 90);
}

describe('exclusionary reclassification', () => {
  before(async () => {
    await initRuntime();
  });

  it("applies the paper's ratio test l/p < T and names the suspected source class", () => {
    // Cluster of class 9: 2 rows back to 9, 3 to class 1, 1 to class 3 → l/p = 2/3.
    const predicted = Int32Array.from([1, 9, 1, 3, 9, 1]);
    assert.deepEqual(judgeReclassification(predicted, 9, 10, 1), {
      label: 9,
      rows: 6,
      ownCount: 2,
      otherClass: 1,
      otherCount: 3,
      ratio: 2 / 3,
      poisoned: true,
    });
    assert.equal(judgeReclassification(predicted, 9, 10, 0.5).poisoned, false, 'a lower T accepts it');
    // The same rows as a cluster of class 1: l/p = 3/2, legitimate.
    const asOne = judgeReclassification(predicted, 1, 10, 1);
    assert.equal(asOne.otherClass, 9);
    assert.equal(asOne.poisoned, false);
    // Every row back to its label: p = 0, legitimate; a tie l = p is legitimate too.
    const home = judgeReclassification(Int32Array.from([4, 4, 4]), 4, 10, 1);
    assert.equal(home.ratio, Number.POSITIVE_INFINITY);
    assert.equal(home.otherClass, -1);
    assert.equal(home.poisoned, false);
    assert.equal(judgeReclassification(Int32Array.from([4, 2]), 4, 10, 1).poisoned, false);
  });

  it('flags the poison of a majority-poisoned class (source named) and keeps a clean class', async () => {
    const poisoned = majorityPoison();
    const victim: Model = await mlpVictim(10)(poisoned.train, 0);
    try {
      await checkMajorityPoison(poisoned, victim);
    } finally {
      victim.dispose();
    }
  });

  it('needs a training recipe and rejects bad options', async () => {
    const s = syntheticRepresentations({ perClass: 50, poisonCount: 5 });
    const input = { ...s, seed: 0 };
    assert.throws(
      () => activationClustering({ criterion: 'reclassification' }).detect(input),
      (e: unknown) => e instanceof AegisInputError && /needs the training data and recipe/.test(e.message),
    );
    assert.throws(
      () => activationClustering({ reclassificationThreshold: 0 }),
      /reclassification threshold T must be a positive number, got 0/,
    );
    assert.throws(
      () => activationClustering({ reclassify: 'some' as 'all' }),
      /reclassify must be one of all, separated/,
    );
    const train = cleanTrain(40);
    await assert.rejects(
      clusterWithReclassification(input, { train, trainModel: mlpVictim(1) }, { criterion: 'reclassification' }),
      /40 training rows for 205 rows of representations/,
    );
  });
});
