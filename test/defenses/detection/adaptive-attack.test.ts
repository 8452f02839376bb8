import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AccessError, AegisInputError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { tf } from '../../../src/core/runtime.js';
import { makeThreatModel } from '../../../src/core/threat-model.js';
import type { Dataset } from '../../../src/data/dataset.js';
import {
  adaptiveAttackBatch,
  adaptiveDetectorAttack,
  adaptiveSettings,
  adaptiveTarget,
  craftAdaptive,
} from '../../../src/defenses/detection/adaptive-attack.js';
import { DetectorModel, ThresholdDetector, withDetector } from '../../../src/defenses/detection/detecting-model.js';
import { featureSqueezingModel, squeezersFor } from '../../../src/defenses/detection/feature-squeezing.js';
import type { Model } from '../../../src/models/model.js';
import { type ToyModel, trainToyModel } from '../../helpers/toy-models.js';

describe('adaptive attack on a detector (toy MLP, bit-depth squeezing)', () => {
  let toy: ToyModel;
  let guarded: DetectorModel;

  before(async () => {
    toy = await trainToyModel({ seed: 3, dims: 20, classes: 3, n: 300, spread: 0.12 });
    const calibration: Dataset = {
      name: 'blobs',
      x: toy.x.dataSync() as Float32Array,
      shape: toy.x.shape,
      y: toy.y,
      classNames: ['a', 'b', 'c'],
    };
    guarded = await featureSqueezingModel(toy.model, calibration, { squeezers: squeezersFor(toy.model.info, 2, 0) });
  });

  after(() => {
    toy?.model.dispose();
    toy?.x.dispose();
  });

  it('stays in budget, and what it reports as undetected fools the model and passes the detector', async () => {
    const memory = tf.memory().numTensors;
    const eps = 0.15;
    const settings = adaptiveSettings(eps, { steps: 30 }, [0, 1]);
    const { xAdv, evaded } = await adaptiveAttackBatch(adaptiveTarget(guarded), toy.x, toy.y, settings, new Rng(1));
    try {
      const moved = tf.tidy(() => tf.max(tf.abs(tf.sub(xAdv, toy.x))).dataSync()[0] as number);
      assert.ok(moved <= eps + 1e-6, `moved ${moved} > eps ${eps}`);
      const [lo, hi] = tf.tidy(() => [tf.min(xAdv).dataSync()[0], tf.max(xAdv).dataSync()[0]]);
      assert.ok((lo as number) >= 0 && (hi as number) <= 1);
      const labels = await guarded.predictLabels(xAdv);
      const { flagged } = await guarded.detector.detect(xAdv);
      let count = 0;
      evaded.forEach((e, i) => {
        if (!e) return;
        count++;
        assert.notEqual(labels[i], toy.y[i], `example ${i} reported evaded but is classified correctly`);
        assert.equal(flagged[i], 0, `example ${i} reported evaded but is flagged`);
      });
      assert.ok(count >= 100, `only ${count} of 300 evaded`);
    } finally {
      xAdv.dispose();
    }
    assert.equal(tf.memory().numTensors, memory, 'no tensors left behind');
  });

  it('runs as an evasion attack: one row per budget, success = misclassified and not flagged', async () => {
    const threat = makeThreatModel({ access: 'gradients', norm: 'linf', epsilons: [0.02, 0.15] });
    const result = await adaptiveDetectorAttack.run(guarded, { x: toy.x, y: toy.y }, threat, { seed: 2, steps: 30 });
    assert.equal(result.attack, 'adaptive');
    assert.equal(result.atlas, 'AML.T0043.000');
    assert.deepEqual(
      result.rows.map((r) => r.eps),
      [0.02, 0.15],
    );
    const [small, large] = result.rows;
    assert.ok(small && large);
    assert.ok(large.successRate > small.successRate + 0.3, `success ${small.successRate} → ${large.successRate}`);
    const clean = await toy.model.predictLabels(toy.x);
    const wasCorrect = clean.filter((c, i) => c === toy.y[i]).length;
    for (const row of result.rows) {
      // accuracy counts an input as handled when classified correctly or flagged, so each success is a miss.
      assert.ok(row.accuracy >= 0 && row.accuracy <= 1 - (row.successRate * wasCorrect) / 300 + 1e-9, `row ${row.eps}`);
      // At most 31 gradients per example and κ run (two runs by default; the second only on what is left).
      assert.ok((row.gradients ?? 0) >= 300 && (row.gradients ?? 0) <= 300 * 31 * 2, `gradients ${row.gradients}`);
    }
    // The same attack through craftAdaptive (the library function evaluateDetection uses).
    const xAdv = await craftAdaptive(guarded, toy.x, toy.y, { eps: 0.15, steps: 30, seed: 2 });
    xAdv.dispose();
  });

  it('rejects models it cannot attack, and bad budgets', async () => {
    const threat = makeThreatModel({ access: 'gradients', norm: 'linf', epsilons: [0.1] });
    const data = { x: toy.x, y: toy.y };
    await assert.rejects(
      adaptiveDetectorAttack.run(toy.model, data, threat, { seed: 0 }),
      /needs a model guarded by a detector/,
    );
    const opaque = new ThresholdDetector(
      { score: async (x) => new Float32Array(x.shape[0] ?? 0), dispose: () => {} },
      0.5,
      0.05,
      toy.model.info,
      'opaque',
    );
    await assert.rejects(
      adaptiveDetectorAttack.run(withDetector(toy.model, opaque), data, threat, { seed: 0 }),
      /needs a differentiable detector score/,
    );
    const scoresOnly: Model = {
      info: { ...toy.model.info, access: 'scores' },
      predictLabels: (x) => toy.model.predictLabels(x),
      predictScores: (x) => toy.model.predictScores(x),
      dispose: () => {},
    };
    const blind = new DetectorModel(scoresOnly, guarded.detector);
    await assert.rejects(adaptiveDetectorAttack.run(blind, data, threat, { seed: 0 }), AccessError);
    await assert.rejects(craftAdaptive(guarded, toy.x, toy.y, { eps: 0, seed: 0 }), AegisInputError);
    await assert.rejects(
      craftAdaptive(guarded, toy.x, toy.y.slice(0, 5), { eps: 0.1, seed: 0 }),
      /300 inputs but 5 labels/,
    );
    assert.throws(() => adaptiveSettings(0.1, { steps: 0 }, [0, 1]), /steps must be a positive integer/);
  });
});
