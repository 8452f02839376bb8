import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AccessError, AegisInputError } from '../../../src/core/errors.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { InputValidationError } from '../../../src/defenses/validation/input-issues.js';
import { inputValidationDefense, ValidatingModel } from '../../../src/defenses/validation/validating-model.js';
import { isDifferentiable } from '../../../src/models/model.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import { type ToyImageData, toyImageModel } from '../../helpers/toy-models-blackbox.js';

let toy: ToyImageData;

function throwsInvalid(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputValidationError && e instanceof AegisInputError, `got ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

describe('ValidatingModel', () => {
  before(async () => {
    await initRuntime();
    toy = await toyImageModel({ seed: 3, side: 6, classes: 3, n: 8 });
  });
  after(() => {
    toy.x.dispose();
    toy.model.dispose();
  });

  it('passes valid inputs through unchanged, with the same access and predictions', async () => {
    const guarded = new ValidatingModel(toy.model);
    assert.deepEqual(guarded.info, toy.model.info);
    assert.ok(isDifferentiable(guarded));
    assert.deepEqual(await guarded.predictLabels(toy.x), await toy.model.predictLabels(toy.x));
    const before = tf.memory().numTensors;
    const scores = await guarded.predictScores(toy.x);
    scores.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('throws before the model call with the exact path of a NaN or out-of-range value', async () => {
    const guarded = new ValidatingModel(toy.model);
    const values = toy.x.arraySync() as number[][][][];
    values[1]![3]![4]![0] = Number.NaN;
    values[6]![0]![5]![0] = 1.25;
    const bad = tf.tensor4d(values);
    const message =
      "model 'toy-linear': invalid input: 2 problems: inputs[1][3][4][0]: expected a finite number in [0, 1], got NaN; " +
      'inputs[6][0][5][0]: expected a finite number in [0, 1], got 1.25';
    await assert.rejects(
      guarded.predictLabels(bad),
      (e: unknown) => e instanceof InputValidationError && e.message === message,
    );
    await assert.rejects(guarded.predictScores(bad), InputValidationError);
    throwsInvalid(() => guarded.logits(bad), message);
    bad.dispose();
  });

  it('rejects a wrong shape, rank or dtype', () => {
    const guarded = new ValidatingModel(toy.model);
    const wide = tf.zeros([2, 6, 7, 1]);
    throwsInvalid(
      () => guarded.logits(wide),
      "model 'toy-linear': invalid input: 1 problem: inputs: expected shape [*, 6, 6, 1], got [2, 6, 7, 1] (dimension 2 is 7, expected 6)",
    );
    const flat = tf.zeros([2, 36]);
    throwsInvalid(
      () => guarded.logits(flat),
      "model 'toy-linear': invalid input: 1 problem: inputs: expected shape [*, 6, 6, 1] (rank 4), got [2, 36] (rank 2)",
    );
    const ints = tf.zeros([2, 6, 6, 1], 'int32');
    throwsInvalid(
      () => guarded.logits(ints),
      "model 'toy-linear': invalid input: 1 problem: inputs: expected a float32 tensor, got int32",
    );
    tf.dispose([wide, flat, ints]);
  });

  it('stays differentiable: the gradient through the wrapper equals the model gradient', () => {
    const guarded = new ValidatingModel(toy.model);
    const [g1, g2] = tf.tidy(() => [
      tf.grad((x: tf.Tensor) => tf.sum(guarded.logits(x)))(toy.x),
      tf.grad((x: tf.Tensor) => tf.sum(toy.model.logits(x)))(toy.x),
    ]);
    assert.deepEqual(Array.from(g1!.dataSync()), Array.from(g2!.dataSync()));
    tf.dispose([g1!, g2!]);
  });

  it('grants no more than the wrapped model: a scores-only model gives no logits', async () => {
    const guarded = new ValidatingModel(new QueryCountingModel(toy.model, 'scores'));
    assert.equal(guarded.info.access, 'scores');
    assert.equal(isDifferentiable(guarded), false);
    assert.throws(() => guarded.logits(toy.x), AccessError);
    assert.equal((await guarded.predictLabels(toy.x)).length, 8);
  });

  it('is available as the input-validation Defense', async () => {
    assert.equal(inputValidationDefense.name, 'input-validation');
    const guarded = await inputValidationDefense.apply(toy.model, { seed: 0, params: { maxIssues: 1 } });
    const nan = tf.fill([1, 6, 6, 1], Number.NaN);
    await assert.rejects(guarded.predictLabels(nan), (e: unknown) => {
      assert.ok(e instanceof InputValidationError);
      assert.equal(e.issues.length, 1);
      assert.equal(e.omitted, 35);
      assert.match(
        e.message,
        /inputs\[0\]\[0\]\[0\]\[0\]: expected a finite number in \[0, 1\], got NaN \(and 35 more\)$/,
      );
      return true;
    });
    nan.dispose();
  });
});
