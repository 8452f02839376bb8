import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { evaluateRobustness, maskingVerdict } from '../../../src/defenses/training/evaluate-robustness.js';
import { evaluateAccuracy } from '../../../src/models/evaluate.js';
import type { DifferentiableModel, ModelInfo } from '../../../src/models/model.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import type { TfjsModel } from '../../../src/models/tfjs-model.js';
import { EPS, standardMlp, test } from './fixture.js';

/** Gradient masking by construction: the same predictions, but the input gradient is zero. */
class ZeroGradientModel implements DifferentiableModel {
  readonly info: ModelInfo;
  constructor(private readonly inner: TfjsModel) {
    this.info = { ...inner.info, name: 'zero-gradient' };
  }
  logits(x: tf.Tensor): tf.Tensor2D {
    const blocked = tf.customGrad((...inputs) => ({
      value: tf.mul(inputs[0] as tf.Tensor, 1),
      gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
    }));
    return tf.tidy(() => this.inner.logits(blocked(x) as tf.Tensor));
  }
  async predictScores(x: tf.Tensor): Promise<tf.Tensor2D> {
    return this.inner.predictScores(x);
  }
  async predictLabels(x: tf.Tensor): Promise<Int32Array> {
    return this.inner.predictLabels(x);
  }
  dispose(): void {}
}

let model: TfjsModel;
const options = { eps: EPS, seed: 5, examples: 120, pgdSteps: 20, squareExamples: 120, squareQueries: 300 };

before(async () => {
  await initRuntime();
  model = await standardMlp();
});

describe('evaluateRobustness', () => {
  it('reports clean, PGD and Square accuracy; no masking flag for an honest model', async () => {
    const start = tf.memory().numTensors;
    const r = await evaluateRobustness(model, test, options);
    assert.equal(tf.memory().numTensors, start, 'no tensors left behind');
    const clean = await evaluateAccuracy(model, {
      ...test,
      x: test.x.slice(0, 120 * 784),
      y: test.y.slice(0, 120),
      shape: [120, 28, 28, 1],
    });
    assert.equal(r.cleanAccuracy, clean);
    assert.equal(r.examples, 120);
    assert.deepEqual([r.pgd.steps, r.pgd.restarts], [20, 1]);
    assert.ok(Math.abs(r.pgd.stepSize - EPS / 10) < 1e-12, 'default step eps/10 (0.01 at eps 0.1)');
    assert.ok(r.pgd.accuracy < r.cleanAccuracy - 0.3, `PGD ${r.pgd.accuracy} vs clean ${r.cleanAccuracy}`);
    const sq = r.square;
    assert.ok(sq);
    assert.equal(sq.examples, 120);
    assert.ok(sq.accuracy < r.cleanAccuracy, 'Square lowers accuracy too');
    assert.ok(sq.worstCaseAccuracy <= Math.min(sq.accuracy, sq.pgdAccuracy));
    assert.equal(r.gradientMasking.suspected, false, r.gradientMasking.reason);
  });

  it('flags gradient masking when Square (black-box) beats PGD on the same examples', async () => {
    const masked = new ZeroGradientModel(model);
    const r = await evaluateRobustness(masked, test, options);
    const sq = r.square;
    assert.ok(sq);
    // Zero gradients leave PGD at its random start: accuracy stays near clean, while Square still works.
    assert.ok(r.pgd.accuracy > r.cleanAccuracy - 0.15, `PGD ${r.pgd.accuracy} vs clean ${r.cleanAccuracy}`);
    assert.ok(sq.accuracy < sq.pgdAccuracy - 0.2, `Square ${sq.accuracy} vs PGD ${sq.pgdAccuracy}`);
    assert.ok(sq.foolsWherePgdFailed > 20);
    assert.equal(r.gradientMasking.suspected, true);
    assert.match(r.gradientMasking.reason, /gradients mislead PGD/);
  });

  it('maskingVerdict uses the tolerance; bad options and models are input errors', async () => {
    const s = {
      examples: 100,
      queriesPerExample: 1000,
      accuracy: 0.6,
      pgdAccuracy: 0.63,
      foolsWherePgdFailed: 3,
      worstCaseAccuracy: 0.58,
      seconds: 1,
    };
    assert.equal(maskingVerdict(s, 0.02).suspected, true);
    assert.equal(maskingVerdict(s, 0.05).suspected, false);
    await assert.rejects(evaluateRobustness(model, test, { ...options, eps: -0.1 }), AegisInputError);
    await assert.rejects(evaluateRobustness(model, test, { ...options, pgdSteps: 0 }), /pgdSteps/);
    await assert.rejects(
      evaluateRobustness(new QueryCountingModel(model, 'scores'), test, options),
      /needs 'gradients' access/,
    );
  });
});
