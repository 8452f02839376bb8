import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { lossGradient } from '../../../src/attacks/evasion/loss-gradient.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { innerModel } from '../../../src/defenses/training/inner-max.js';
import { tradesDefense, tradesKl, tradesLoss } from '../../../src/defenses/training/trades.js';
import type { TfjsModel } from '../../../src/models/tfjs-model.js';
import { mlp, robustness, SHORT_RUN, standardMlp, train } from './fixture.js';

before(async () => {
  await initRuntime();
});

const value = (t: tf.Tensor) => {
  const v = t.dataSync()[0] ?? Number.NaN;
  t.dispose();
  return v;
};

describe('TRADES', () => {
  it('KL(f(x) ‖ f(x′)) is exact on a hand example, averaged over the batch', () => {
    // Row 1: p = softmax([0, ln 3]) = (1/4, 3/4), q = softmax([0, 0]) = (1/2, 1/2):
    //   KL = 1/4 ln(1/2) + 3/4 ln(3/2). Row 2: identical logits, KL = 0.
    const clean = tf.tensor2d([
      [0, Math.log(3)],
      [2, -1],
    ]);
    const adv = tf.tensor2d([
      [0, 0],
      [2, -1],
    ]);
    const row1 = 0.25 * Math.log(0.5) + 0.75 * Math.log(1.5);
    assert.ok(Math.abs(row1 - 0.130812) < 1e-6);
    assert.ok(Math.abs(value(tradesKl(clean, adv)) - row1 / 2) < 1e-6);
    assert.ok(Math.abs(value(tradesKl(adv, adv))) < 1e-7, 'KL of a distribution with itself is 0');
    // Not symmetric: KL(q ‖ p) = 1/2 ln(2) + 1/2 ln(2/3).
    const reverse = 0.5 * Math.log(2) + 0.5 * Math.log(2 / 3);
    assert.ok(Math.abs(value(tradesKl(tf.slice(adv, 0, 1), tf.slice(clean, 0, 1))) - reverse) < 1e-6);

    // Loss = mean CE(clean, y) + β·KL. With y = (1, 0): CE row 1 = −ln(3/4), row 2 = −ln softmax([2, −1])_0.
    const y = tf.tensor1d([1, 0], 'int32');
    const ce = (-Math.log(0.75) - Math.log(Math.exp(2) / (Math.exp(2) + Math.exp(-1)))) / 2;
    assert.ok(Math.abs(value(tradesLoss(clean, adv, y, 2, 6)) - (ce + (6 * row1) / 2)) < 1e-5);
    assert.ok(Math.abs(value(tradesLoss(clean, adv, y, 2, 0)) - ce) < 1e-6, 'beta 0: natural loss only');
    tf.dispose([clean, adv, y]);
  });

  it('the inner maximisation ascends the KL: its input gradient is that of CE against the clean prediction', async () => {
    const model = await standardMlp(2);
    const x = tf.tensor(train.x.subarray(0, 8 * 784), [8, 28, 28, 1]);
    const x2 = tf.tidy(() => tf.clipByValue(tf.add(x, tf.randomUniform(x.shape, -0.05, 0.05, 'float32', 1)), 0, 1));
    const p = tf.tidy(() => tf.softmax(model.logits(x)));
    const viaKl = tf.tidy(() => tf.grad((xa: tf.Tensor) => tradesKl(model.logits(x), model.logits(xa)))(x2));
    const viaCe = tf.tidy(() => lossGradient(innerModel(model.logits.bind(model), 10), p)(x2));
    // tradesKl is a batch mean; the attack's cross-entropy is a sum: the gradients differ by the batch size.
    const gap = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.mul(viaKl, 8), viaCe))).dataSync()[0] ?? 1);
    const scale = tf.tidy(() => tf.max(tf.abs(viaCe)).dataSync()[0] ?? 0);
    assert.ok(scale > 0 && (gap as number) < 1e-4 * (scale as number), `gap ${gap} vs scale ${scale}`);
    tf.dispose([x, x2, p, viaKl, viaCe]);
    model.dispose();
  });

  it('raises accuracy under PGD well above standard training', async () => {
    const standard = await standardMlp();
    const base = mlp();
    const hardened = (await tradesDefense.apply(base, {
      train,
      seed: 1,
      params: { ...SHORT_RUN, steps: 5, learningRate: 2e-3 },
    })) as TfjsModel;
    const s = await robustness(standard);
    const h = await robustness(hardened);
    // Measured: standard clean 0.78 / PGD 0.17; TRADES (beta 6) clean 0.74 / PGD 0.39.
    assert.ok(h.pgd >= s.pgd + 0.1, `PGD accuracy: standard ${s.pgd}, TRADES ${h.pgd}`);
    assert.ok(h.clean > 0.6, `clean accuracy ${h.clean}`);
    assert.equal(hardened.meta.training?.beta, 6);
    assert.equal(hardened.meta.training?.defense, 'trades');
    assert.match(String(hardened.meta.training?.loss), /beta·KL/);
    for (const m of [standard, base, hardened]) m.dispose();
  });
});
