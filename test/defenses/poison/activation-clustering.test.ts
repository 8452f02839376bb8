import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { initRuntime } from '../../../src/core/runtime.js';
import { activationClustering, clusterClasses } from '../../../src/defenses/poison/activation-clustering.js';
import { penultimateActivations } from '../../../src/defenses/poison/activations.js';
import { evaluateDetection } from '../../../src/defenses/poison/evaluate-detection.js';
import { cleanTrain, mlpVictim, plantBackdoor, syntheticRepresentations } from './fixtures.js';

describe('activation clustering', () => {
  before(async () => {
    await initRuntime();
  });

  it('flags the small, well-separated cluster of the poisoned class and nothing in clean classes', () => {
    const s = syntheticRepresentations({ perClass: 300, poisonCount: 15, poisonClass: 1 });
    const input = { ...s, seed: 0 };
    const ica = { reduction: 'ica' as const };
    const classes = clusterClasses(input, ica);
    assert.deepEqual(
      classes.map((c) => c.poisoned),
      [false, true, false, false],
    );
    const c1 = classes[1];
    assert.ok(c1 && c1.relativeSize < 0.1 && c1.silhouette > 0.2, `class 1: ${c1?.relativeSize} / ${c1?.silhouette}`);
    const result = activationClustering(ica).detect(input);
    assert.deepEqual(evaluateDetection(result.flagged, s.poisonIndices, s.labels.length), {
      precision: 1,
      recall: 1,
      flaggedCount: 15,
      flaggedFraction: 15 / 1215,
    });
    // Scores rank the flagged rows first.
    const top = Array.from(result.scores.keys())
      .sort((a, b) => (result.scores[b] as number) - (result.scores[a] as number))
      .slice(0, 15)
      .sort((a, b) => a - b);
    assert.deepEqual(top, Array.from(s.poisonIndices));
    // Clean synthetic data: no class splits convincingly.
    const clean = syntheticRepresentations({ perClass: 300, poisonCount: 0 });
    assert.equal(activationClustering(ica).detect({ ...clean, seed: 0 }).flagged.length, 0);
    // The default (unwhitened PCA) agrees on both.
    assert.deepEqual(activationClustering().detect(input).flagged, result.flagged);
    assert.equal(activationClustering().detect({ ...clean, seed: 0 }).flagged.length, 0);
  });

  it('finds a patch backdoor in bundled Fashion-MNIST (MLP victim) and flags nothing on clean data', async () => {
    // A small MLP's representation: ICA's whitening gives every component the same weight and the
    // poison direction drowns (see docs/poison-detection.md); unwhitened PCA keeps it dominant. The
    // poisoned class's 2-way split fits better (silhouette 0.53, measured) than any clean class's
    // (≤ 0.45, two at 0.35–0.36 with small clusters), so this victim needs a higher threshold than the default.
    const options = { sizeThreshold: 0.3, silhouetteThreshold: 0.5 };
    const clean = cleanTrain(2000);
    const poisoned = plantBackdoor(clean, 40);
    for (const [set, poisonRows] of [
      [poisoned.train, poisoned.poisonIndices],
      [clean, new Int32Array(0)],
    ] as const) {
      const model = await mlpVictim(20)(set, 0);
      try {
        const { features, dim } = await penultimateActivations(model, set);
        const result = activationClustering(options).detect({ features, dim, labels: set.y, numClasses: 10, seed: 0 });
        if (poisonRows.length === 0) {
          assert.ok(result.flagged.length <= 0.02 * 2000, `flagged ${result.flagged.length} clean rows`);
          continue;
        }
        const m = evaluateDetection(result.flagged, poisonRows, 2000);
        assert.ok(m.recall >= 0.9, `recall ${m.recall}`);
        assert.ok(m.precision >= 10 * 0.02, `precision ${m.precision} vs poison rate 0.02`);
      } finally {
        model.dispose();
      }
    }
  });

  it('is reproducible and rejects bad options and input', () => {
    const s = syntheticRepresentations({ perClass: 100, poisonCount: 10 });
    const a = activationClustering().detect({ ...s, seed: 3 });
    const b = activationClustering().detect({ ...s, seed: 3 });
    assert.deepEqual(a.flagged, b.flagged);
    assert.deepEqual(a.scores, b.scores);
    assert.throws(() => activationClustering({ components: 0 }), AegisInputError);
    assert.throws(() => activationClustering({ sizeThreshold: 0.7 }), /size threshold must be in \(0, 0.5\]/);
    assert.throws(() => activationClustering({ criterion: 'largest' as 'size' }), /criterion must be one of/);
    assert.throws(() => activationClustering({ reduction: 'tsne' as 'ica' }), /reduction must be 'ica' or 'pca'/);
    assert.throws(
      () => activationClustering().detect({ ...s, dim: 0, seed: 0 }),
      (e: unknown) => e instanceof AegisInputError && /dim must be a positive integer/.test(e.message),
    );
    assert.throws(
      () => activationClustering().detect({ ...s, numClasses: 1, seed: 0 }),
      /numClasses must be an integer >= 2/,
    );
  });
});
