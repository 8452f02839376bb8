import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { initRuntime } from '../../../src/core/runtime.js';
import { penultimateActivations } from '../../../src/defenses/poison/activations.js';
import { evaluateDetection } from '../../../src/defenses/poison/evaluate-detection.js';
import type { PoisonDetectionInput } from '../../../src/defenses/poison/poison-detector.js';
import { spectralSignatures } from '../../../src/defenses/poison/spectral-signatures.js';
import { cleanTrain, mlpVictim, plantBackdoor, syntheticRepresentations } from './fixtures.js';

function classCounts(labels: Int32Array, rows: ArrayLike<number>, k: number): number[] {
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < rows.length; i++) counts[labels[rows[i] as number] as number]++;
  return counts;
}

describe('spectral signatures', () => {
  before(async () => {
    await initRuntime();
  });

  it('removes exactly ceil(1.5 ε n_c) rows of each class, poison first', () => {
    const s = syntheticRepresentations({ poisonCount: 20, perClass: 200, poisonClass: 1 });
    const input = { ...s, seed: 0, expectedPoisonFraction: 0.1 };
    const result = spectralSignatures().detect(input);
    const sizes = classCounts(s.labels, Int32Array.from(s.labels.keys()), s.numClasses);
    assert.deepEqual(
      classCounts(s.labels, result.flagged, s.numClasses),
      sizes.map((m) => Math.round(0.15 * m)), // 200 and 220 rows: 30 and 33
    );
    assert.equal(evaluateDetection(result.flagged, s.poisonIndices, s.labels.length).recall, 1);
    // Scores are squared projections over the top eigenvalue: their mean within a class is 1.
    let sum = 0;
    let count = 0;
    s.labels.forEach((y, i) => {
      if (y === 2) {
        sum += result.scores[i] as number;
        count++;
      }
    });
    assert.ok(Math.abs(sum / count - 1) < 1e-4, `class mean score ${sum / count}`);
    // The multiplier is an option: 3x the budget flags twice as many.
    const wider = spectralSignatures({ removalMultiplier: 3 }).detect(input);
    assert.deepEqual(
      classCounts(s.labels, wider.flagged, s.numClasses),
      sizes.map((m) => Math.round(0.3 * m)),
    );
    assert.deepEqual(spectralSignatures().detect(input).flagged, result.flagged, 'same seed, same flags');
  });

  it('finds a patch backdoor planted in bundled Fashion-MNIST (MLP victim)', async () => {
    const clean = cleanTrain(2000);
    const poisoned = plantBackdoor(clean, 40); // 2% of the rows, ~17% of the target class
    const model = await mlpVictim(20)(poisoned.train, 0);
    try {
      const { features, dim } = await penultimateActivations(model, poisoned.train);
      const input = { features, dim, labels: poisoned.train.y, numClasses: 10, seed: 0, expectedPoisonFraction: 0.1 };
      const m = evaluateDetection(spectralSignatures().detect(input).flagged, poisoned.poisonIndices, 2000);
      // Measured: recall 0.90 (the 15% budget of the target class holds 36 of its 40 poisons), precision 0.118.
      assert.ok(m.recall >= 0.8, `recall ${m.recall}`);
      assert.ok(m.precision >= 4 * 0.02, `precision ${m.precision} vs poison rate 0.02`);
    } finally {
      model.dispose();
    }
  });

  it('rejects bad input with AegisInputError', () => {
    const s = syntheticRepresentations({ perClass: 20 });
    const good: PoisonDetectionInput = { ...s, seed: 0 };
    const detector = spectralSignatures();
    const bad = (input: PoisonDetectionInput, pattern: RegExp) =>
      assert.throws(
        () => detector.detect(input),
        (e: unknown) => e instanceof AegisInputError && pattern.test(e.message),
      );
    bad({ ...good, dim: 15 }, /features hold .* but 80 rows of dim 15 need 1200/);
    const nan = s.features.slice();
    nan[37] = Number.NaN;
    bad({ ...good, features: nan }, /feature NaN of row 2 is not finite/);
    bad({ ...good, expectedPoisonFraction: 0 }, /expected poison fraction must be in \(0, 0.5\], got 0/);
    bad({ ...good, expectedPoisonFraction: 0.6 }, /got 0.6/);
    bad({ ...good, expectedPoisonFraction: -0.1 }, /got -0.1/);
    const labels = s.labels.slice();
    labels[3] = 4;
    bad({ ...good, labels }, /label 4 of row 3 is outside \[0, 3\]/);
    assert.throws(() => spectralSignatures({ removalMultiplier: 0 }), AegisInputError);
  });
});
