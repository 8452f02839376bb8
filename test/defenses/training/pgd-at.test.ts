import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { pgdAtDefense, pgdAtHooks } from '../../../src/defenses/training/pgd-at.js';
import { TfjsModel } from '../../../src/models/tfjs-model.js';
import type { BatchContext } from '../../../src/models/train.js';
import { EPS, mlp, robustness, SHORT_RUN, standardMlp, train } from './fixture.js';

const dirs: string[] = [];
const weightsOf = (m: TfjsModel) => m.network.getWeights().map((w) => w.dataSync() as Float32Array);

before(async () => {
  await initRuntime();
});

after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('PGD adversarial training (pgd-at)', () => {
  it('raises accuracy under PGD well above standard training, on a new model of the same architecture', async () => {
    const standard = await standardMlp();
    const base = mlp();
    const before = weightsOf(base);
    const hardened = await pgdAtDefense.apply(base, {
      train,
      seed: 1,
      params: { ...SHORT_RUN, steps: 5, learningRate: 2e-3 },
    });
    assert.ok(hardened instanceof TfjsModel);
    assert.notEqual(hardened.network, base.network, 'a new network');
    assert.deepEqual(weightsOf(base), before, 'the given model is left as it was');
    assert.deepEqual(
      hardened.network.layers.map((l) => l.getClassName()),
      base.network.layers.map((l) => l.getClassName()),
    );
    const s = await robustness(standard);
    const h = await robustness(hardened);
    // Measured: standard clean 0.78 / PGD 0.17; PGD-AT clean 0.64 / PGD 0.38.
    assert.ok(h.pgd >= s.pgd + 0.1, `PGD accuracy: standard ${s.pgd}, PGD-AT ${h.pgd}`);
    assert.ok(h.clean > 0.5, `clean accuracy ${h.clean}`);
    const training = (hardened as TfjsModel).meta.training ?? {};
    assert.equal(training.defense, 'pgd-at');
    assert.equal(training.eps, EPS);
    assert.equal(training.steps, 5);
    assert.ok(Math.abs((training.stepSize as number) - (2.5 * EPS) / 5) < 1e-12, 'default step 2.5·eps/steps');
    assert.equal(training.epochsRun, 3);
    assert.match(hardened.info.name, /\+pgd-at$/);
    for (const m of [standard, base, hardened]) await m.dispose();
  });

  it('fineTune starts from the given weights; otherwise from fresh seeded ones', async () => {
    const base = await standardMlp();
    const params = { epochs: 1, batchSize: 1500, steps: 1, learningRate: 1e-9 };
    const tuned = (await pgdAtDefense.apply(base, {
      train,
      seed: 2,
      params: { ...params, fineTune: true },
    })) as TfjsModel;
    const fresh = (await pgdAtDefense.apply(base, { train, seed: 2, params })) as TfjsModel;
    const again = (await pgdAtDefense.apply(base, { train, seed: 2, params })) as TfjsModel;
    const close = (a: Float32Array[], b: Float32Array[]) =>
      a.every((w, i) => w.every((v, j) => Math.abs(v - (b[i]?.[j] ?? Number.NaN)) < 1e-5));
    assert.ok(close(weightsOf(tuned), weightsOf(base)), 'one tiny step away from the given weights');
    assert.ok(!close(weightsOf(fresh), weightsOf(base)), 'fresh weights differ');
    assert.deepEqual(weightsOf(fresh), weightsOf(again), 'same seed → same model');
    for (const m of [base, tuned, fresh, again]) m.dispose();
  });

  it('perturbBatch stays in the eps-ball and the domain, raises the loss, and leaks no tensors', async () => {
    const model = await standardMlp();
    const hooks = pgdAtHooks({ eps: EPS, steps: 5, stepSize: 0.025, range: [0, 1] });
    const x = tf.tensor(train.x.subarray(0, 64 * 784), [64, 28, 28, 1]);
    const y = tf.tensor1d(train.y.subarray(0, 64), 'int32');
    const ctx = (seed: number): BatchContext => ({
      epoch: 1,
      batch: 0,
      step: 0,
      seed,
      numClasses: 10,
      network: model.network,
      logits: (t) => model.logits(t),
    });
    const loss = (t: tf.Tensor) =>
      tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), model.logits(t)).dataSync()[0] ?? 0);
    const start = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const xAdv = (await hooks.perturbBatch?.(x, y, ctx(i))) as tf.Tensor;
      const [maxDiff, lo, hi] = tf.tidy(() => [
        tf.max(tf.abs(tf.sub(xAdv, x))).dataSync()[0] ?? 1,
        tf.min(xAdv).dataSync()[0] ?? -1,
        tf.max(xAdv).dataSync()[0] ?? 2,
      ]);
      assert.ok((maxDiff as number) <= EPS + 1e-6, `‖x' − x‖∞ = ${maxDiff}`);
      assert.ok((lo as number) >= 0 && (hi as number) <= 1, `x' in [${lo}, ${hi}]`);
      assert.ok(loss(xAdv) > loss(x) + 0.5, `adversarial loss ${loss(xAdv)} vs clean ${loss(x)}`);
      xAdv.dispose();
      assert.equal(tf.memory().numTensors, start, `tensors after step ${i}`);
    }
    const a = (await hooks.perturbBatch?.(x, y, ctx(7))) as tf.Tensor;
    const b = (await hooks.perturbBatch?.(x, y, ctx(7))) as tf.Tensor;
    assert.deepEqual(a.dataSync(), b.dataSync(), 'same batch seed → same adversarial batch');
    tf.dispose([a, b, x, y]);
    model.dispose();
  });

  it('checkpointDir/resumeFrom: a run resumed from epoch 1 ends with the weights of an uninterrupted run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aegis-pgd-at-'));
    dirs.push(dir);
    const small = { batchSize: 100, steps: 2, learningRate: 2e-3 };
    const base = mlp(5);
    const straight = (await pgdAtDefense.apply(base, { train, seed: 4, params: { ...small, epochs: 2 } })) as TfjsModel;
    // The first run stops after epoch 1 (epochs: 1) and leaves a checkpoint; the second continues to 2.
    const first = await pgdAtDefense.apply(base, {
      train,
      seed: 4,
      params: { ...small, epochs: 1, checkpointDir: dir },
    });
    const resumed = (await pgdAtDefense.apply(base, {
      train,
      seed: 4,
      params: { ...small, epochs: 2, resumeFrom: dir },
    })) as TfjsModel;
    assert.deepEqual(weightsOf(resumed), weightsOf(straight));
    assert.equal(resumed.meta.training?.epochsRun, 2);
    for (const m of [base, straight, first, resumed]) await m.dispose();
  });
});
