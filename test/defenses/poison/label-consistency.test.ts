import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { poisonBadNets } from '../../../src/attacks/poisoning/badnets.js';
import { AegisInputError } from '../../../src/core/errors.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { crossValidatedProbabilities } from '../../../src/defenses/poison/cross-validation.js';
import { evaluateDetection } from '../../../src/defenses/poison/evaluate-detection.js';
import { inputFeatures } from '../../../src/defenses/poison/input-features.js';
import {
  confidentJoint,
  labelConsistency,
  repeatedKnnEditing,
} from '../../../src/defenses/poison/label-consistency.js';
import { detectPoison } from '../../../src/defenses/poison/run-poison-defense.js';
import { cleanTrain, flipLabels, mlpVictim, plantBackdoor } from './fixtures.js';

describe('label consistency', () => {
  before(async () => {
    await initRuntime();
  });

  it('confident learning: thresholds, confident joint and prune-by-noise-rate on a hand example', () => {
    const labels = Int32Array.from([0, 0, 1, 1, 2, 2]);
    const p = Float32Array.from(
      [
        [0.9, 0.05, 0.05], // labelled 0, confidently 0
        [0.2, 0.75, 0.05], // labelled 0, confidently 1 (p1 0.75 ≥ t1 0.7)
        [0.1, 0.8, 0.1], // labelled 1, confidently 1
        [0.1, 0.6, 0.3], // labelled 1, above no threshold: not counted
        [0.1, 0.1, 0.8], // labelled 2, confidently 2
        [0.2, 0.1, 0.7], // labelled 2, p2 0.7 < t2 0.75: not counted
      ].flat(),
    );
    const cj = confidentJoint(p, labels, 3);
    const close = (a: ArrayLike<number>, b: number[]) => {
      b.forEach((v, i) => {
        assert.ok(Math.abs((a[i] as number) - v) < 1e-6, `${a[i]} vs ${v}`);
      });
    };
    close(cj.thresholds, [0.55, 0.7, 0.75]);
    assert.deepEqual(Array.from(cj.joint), [1, 1, 0, 0, 1, 0, 0, 0, 1]);
    close(cj.calibrated, [1, 1, 0, 0, 2, 0, 0, 0, 2]);
    const result = labelConsistency().detect({
      features: new Float32Array(6),
      dim: 1,
      labels,
      numClasses: 3,
      probabilities: p,
      seed: 0,
    });
    assert.deepEqual(Array.from(result.flagged), [1]);
    close(result.scores, [0.1, 0.8, 0.2, 0.4, 0.2, 0.3]);
  });

  it('confident learning finds planted label flips from cross-validated probabilities', async () => {
    const clean = cleanTrain(2000);
    const flipped = flipLabels(clean, 200);
    const tensors = tf.memory().numTensors;
    const probabilities = await crossValidatedProbabilities(flipped.train, mlpVictim(10), { folds: 4, seed: 0 });
    assert.equal(tf.memory().numTensors, tensors, 'cross-validation leaks no tensors');
    const rows = (i: number) => Array.from(probabilities.subarray(i * 10, (i + 1) * 10));
    assert.ok(rows(0).every((v) => v >= 0 && v <= 1) && Math.abs(rows(0).reduce((a, b) => a + b) - 1) < 1e-4);
    const detect = (labels: Int32Array) =>
      labelConsistency({ method: 'confident-learning' }).detect({
        features: new Float32Array(2000),
        dim: 1,
        labels,
        numClasses: 10,
        probabilities,
        seed: 0,
      });
    const m = evaluateDetection(detect(flipped.train.y).flagged, flipped.poisonIndices, 2000);
    // Measured: recall 0.835, precision 0.48 (flips are 10% of the rows; the rest of the flags are
    // Fashion-MNIST's own confusable shirts, pullovers and coats).
    assert.ok(m.recall >= 0.75, `recall ${m.recall}`);
    assert.ok(m.precision >= 0.35, `precision ${m.precision}`);
  });

  it('k-NN disagreement finds flips in the victim representation, and relabelled backdoor images among the inputs', async () => {
    const clean = cleanTrain(2000);
    const flipped = flipLabels(clean, 200);
    const model = await mlpVictim(20)(flipped.train, 0);
    try {
      const [run] = await detectPoison({ train: flipped.train, model, detectors: ['label-consistency'], seed: 0 });
      const m = evaluateDetection(run?.flagged ?? [], flipped.poisonIndices, 2000);
      // Measured: recall 0.915, precision 0.48.
      assert.ok(m.recall >= 0.8 && m.precision >= 0.35, `flips: recall ${m.recall}, precision ${m.precision}`);
    } finally {
      model.dispose();
    }
    // A backdoor the model learned hides from the model's own view, but a relabelled trouser still
    // sits among trousers in pixel space (top principal components).
    const backdoor = plantBackdoor(clean, 25);
    const pixels = inputFeatures(backdoor.train, 0);
    const result = labelConsistency({ method: 'knn' }).detect({
      ...pixels,
      labels: backdoor.train.y,
      numClasses: 10,
      seed: 0,
    });
    const b = evaluateDetection(result.flagged, backdoor.poisonIndices, 2000);
    // Measured: recall 1, precision 0.054 (4x the poison rate 0.0125; pixel neighbours of clean
    // shirts disagree too).
    assert.ok(b.recall >= 0.9, `backdoor recall ${b.recall}`);
    assert.ok(b.precision >= 3 * 0.0125, `backdoor precision ${b.precision}`);
  });

  it("repeated k-NN editing finds the all-to-one BadNets poisons that were each other's neighbours", () => {
    // 10% of 2000 bundled images, drawn from the nine other classes, triggered and relabelled
    // T-shirt: the triggered images of one source class sit together in pixel space, so one round
    // of the rule leaves the poisons whose neighbours are mostly other poisons.
    const clean = cleanTrain(2000);
    const { data, poisonIndices } = poisonBadNets(clean, 0.1, 0, { targetClass: 0, trigger: { kind: 'patch' } });
    const train = data as typeof clean;
    const pixels = inputFeatures(train, 0);
    const input = { ...pixels, labels: train.y, numClasses: 10, seed: 0 };
    const once = labelConsistency({ method: 'knn' }).detect(input);
    const repeated = labelConsistency({ method: 'knn', rounds: 20 }).detect(input);
    const a = evaluateDetection(once.flagged, poisonIndices, 2000);
    const b = evaluateDetection(repeated.flagged, poisonIndices, 2000);
    // Measured: recall 0.85 after one round, 0.965 after repeating (flagged 29% → 34% of the rows).
    assert.ok(a.recall <= 0.9, `one round: recall ${a.recall}`);
    assert.ok(b.recall >= 0.95, `repeated: recall ${b.recall}`);
    assert.ok(b.flaggedFraction <= 0.4, `repeated: flagged ${b.flaggedFraction}`);
    const first = new Set(once.flagged);
    assert.ok(
      [...first].every((i) => repeated.flagged.includes(i)),
      'later rounds only add rows',
    );
    // Rounds stop at the first round that flags nothing; scores keep a row's highest disagreement.
    const edit = repeatedKnnEditing(input, 10, 0.5, 100);
    assert.ok(edit.rounds > 1 && edit.rounds < 100, `${edit.rounds} rounds`);
    assert.ok(edit.flag.reduce((c, f) => c + f, 0) >= repeated.flagged.length);
    for (const i of repeated.flagged) assert.ok((repeated.scores[i] as number) > 0.5);
  });

  it('rejects bad input', () => {
    const base = {
      features: new Float32Array(4),
      dim: 1,
      labels: Int32Array.from([0, 1, 0, 1]),
      numClasses: 2,
      seed: 0,
    };
    assert.throws(
      () => labelConsistency({ method: 'confident-learning' }).detect(base),
      (e: unknown) => e instanceof AegisInputError && /needs out-of-sample probabilities/.test(e.message),
    );
    assert.throws(
      () => labelConsistency().detect({ ...base, probabilities: new Float32Array(6) }),
      /probabilities hold 6 values, but 4 rows of 2 classes need 8/,
    );
    assert.throws(
      () => labelConsistency().detect({ ...base, probabilities: Float32Array.from([1, 0, 0, 1, Number.NaN, 1, 1, 0]) }),
      /probability NaN of row 2 is not in \[0, 1\]/,
    );
    assert.throws(() => labelConsistency({ k: 0 }), AegisInputError);
    assert.throws(() => labelConsistency({ rounds: 0 }), /rounds must be a positive integer, got 0/);
    assert.throws(
      () => labelConsistency({ method: 'vote' as 'knn' }),
      /method must be auto, confident-learning or knn/,
    );
  });
});
