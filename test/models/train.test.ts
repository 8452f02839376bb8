import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import { initRuntime, tf } from '../../src/core/runtime.js';
import type { Dataset } from '../../src/data/dataset.js';
import { buildMlp, buildSmallCnn } from '../../src/models/builders.js';
import { evaluateAccuracy } from '../../src/models/evaluate.js';
import { QueryCountingModel } from '../../src/models/query-counter.js';
import { TfjsModel } from '../../src/models/tfjs-model.js';
import { type TrainOptions, trainingSummary, trainModel } from '../../src/models/train.js';
import { barImages, blobs } from './fixtures.js';

const quiet = { progress: false } as const;

async function trainBlobs(seed: number, extra: Partial<TrainOptions> = {}) {
  const net = buildMlp({ inputShape: [8], numClasses: 3, hidden: [16], seed, dropout: 0.1 });
  const result = await trainModel(net, blobs(1, 300), { epochs: 4, batchSize: 32, seed, ...quiet, ...extra });
  return { net, result };
}

/** Mean cross-entropy of the network on `data` (dropout off). */
async function meanLoss(model: TfjsModel, data: Dataset): Promise<number> {
  const loss = tf.tidy(() => {
    const logits = model.logits(tf.tensor(data.x, data.shape));
    const labels = tf.oneHot(tf.tensor1d(data.y, 'int32'), model.info.numClasses);
    return tf.losses.softmaxCrossEntropy(labels, logits);
  });
  const value = (await loss.data())[0] ?? Number.NaN;
  loss.dispose();
  return value;
}

before(async () => {
  await initRuntime();
});

describe('trainModel', () => {
  it('trains the MLP on separable blobs to high held-out accuracy', async () => {
    const net = buildMlp({ inputShape: [8], numClasses: 3, hidden: [32, 16], seed: 3 });
    const test = blobs(1, 300);
    const untrained = await evaluateAccuracy(new TfjsModel(net), blobs(1, 300));
    const result = await trainModel(net, blobs(1, 600), {
      epochs: 8,
      batchSize: 32,
      learningRate: 1e-2,
      seed: 3,
      ...quiet,
    });
    assert.equal(result.history.length, 8);
    const last = result.history[7];
    assert.ok(last && last.loss < result.history[0]!.loss, 'loss decreases');
    assert.ok(last.accuracy > 0.95, `training accuracy ${last.accuracy}`);
    assert.ok(last.samplesPerSecond > 0 && last.seconds > 0);
    const summary = trainingSummary(result, { epochs: 8, batchSize: 32, learningRate: 1e-2, seed: 3 }, blobs(1, 600));
    assert.equal(summary.epochsRun, 8);
    assert.equal(summary.examples, 600);
    assert.deepEqual(summary.final, last);
    const accuracy = await evaluateAccuracy(new TfjsModel(net), test);
    assert.ok(accuracy > 0.95, `held-out accuracy ${accuracy} (untrained ${untrained})`);
    // evaluateAccuracy needs only labels access.
    assert.equal(await evaluateAccuracy(new QueryCountingModel(new TfjsModel(net), 'labels'), test), accuracy);
    net.dispose();
  });

  it('is reproducible: same seed → same losses (dropout on); other seed → different', async () => {
    const a = await trainBlobs(5, { epochs: 3 });
    const b = await trainBlobs(5, { epochs: 3 });
    const c = await trainBlobs(6, { epochs: 3 });
    assert.ok(a.net.layers.some((l) => l.getClassName() === 'Dropout'));
    a.result.history.forEach((h, i) => {
      const other = b.result.history[i];
      assert.ok(other && Math.abs(h.loss - other.loss) < 1e-6, `epoch ${h.epoch}: ${h.loss} vs ${other?.loss}`);
      assert.equal(h.accuracy, other.accuracy);
    });
    const lastA = a.result.history.at(-1)?.loss ?? 0;
    const lastC = c.result.history.at(-1)?.loss ?? 0;
    assert.ok(Math.abs(lastA - lastC) > 1e-4, 'a different seed changes the run');
    for (const r of [a, b, c]) r.net.dispose();
  });

  it('keeps numTensors flat across epochs and frees everything it allocated', async () => {
    const net = buildMlp({ inputShape: [8], numClasses: 3, hidden: [16], dropout: 0.2, seed: 1 });
    const counts: number[] = [];
    const start = tf.memory().numTensors;
    await trainModel(net, blobs(2, 200), {
      epochs: 4,
      seed: 1,
      validation: 0.25,
      progress: () => counts.push(tf.memory().numTensors),
    });
    assert.equal(counts.length, 4);
    assert.ok(
      counts.every((c) => c === counts[0]),
      `tensors per epoch: ${counts}`,
    );
    assert.equal(tf.memory().numTensors, start, 'optimizer state and data tensors are disposed');
    net.dispose();
  });

  it('early stopping stops after `patience` epochs without improvement and restores the best weights', async () => {
    // Validation labels are a fixed permutation of the true ones: the better the model fits the
    // training data, the worse its validation loss, so the best epoch comes early.
    const train = blobs(3, 300);
    const val = blobs(3, 90);
    const shifted = { ...val, y: val.y.map((c) => (c + 1) % 3) };
    const net = buildMlp({ inputShape: [8], numClasses: 3, hidden: [16], seed: 2 });
    const result = await trainModel(net, train, {
      epochs: 30,
      batchSize: 32,
      learningRate: 1e-2,
      seed: 2,
      validation: shifted,
      earlyStopping: { patience: 2, minDelta: 0 },
      ...quiet,
    });
    assert.ok(result.stoppedEarly);
    assert.equal(result.history.length, result.bestEpoch + 2);
    assert.ok(result.restoredBest);
    const best = result.history[result.bestEpoch - 1];
    const lossNow = await meanLoss(new TfjsModel(net), shifted);
    assert.ok(best?.valLoss !== undefined && Math.abs(lossNow - best.valLoss) < 1e-4, `${lossNow} vs ${best?.valLoss}`);
    const lastVal = result.history.at(-1)?.valLoss ?? 0;
    assert.ok(lossNow < lastVal, 'restored weights beat the last epoch');
    net.dispose();
  });

  it('rejects data that does not fit the model, and bad options, with AegisInputError', async () => {
    const net = buildMlp({ inputShape: [8], numClasses: 3, hidden: [4], seed: 1 });
    await assert.rejects(
      trainModel(net, blobs(1, 30, 5), { epochs: 1, seed: 1, ...quiet }),
      /has examples of shape \[5\] but model .* expects \[8\]/,
    );
    await assert.rejects(
      trainModel(net, blobs(1, 30, 8, 4), { epochs: 1, seed: 1, ...quiet }),
      /4 classes .* 3 outputs/,
    );
    const nan = blobs(1, 30);
    nan.x[17] = Number.NaN;
    await assert.rejects(trainModel(net, nan, { epochs: 1, seed: 1, ...quiet }), /not finite/);
    await assert.rejects(trainModel(net, blobs(1, 30), { epochs: 0, seed: 1, ...quiet }), AegisInputError);
    await assert.rejects(
      trainModel(net, blobs(1, 30), { epochs: 1, seed: 1, validation: 1.5, ...quiet }),
      /validation fraction/,
    );
    net.dispose();
  });

  it('trains the small CNN for one epoch on 1000 synthetic 28x28 images', async () => {
    const net = buildSmallCnn({ seed: 1 });
    const data = barImages(1, 1000);
    const result = await trainModel(net, data, { epochs: 1, batchSize: 64, seed: 1, ...quiet });
    const [epoch] = result.history;
    assert.ok(epoch && Number.isFinite(epoch.loss) && epoch.loss < Math.log(10), `loss ${epoch?.loss}`);
    const accuracy = await evaluateAccuracy(new TfjsModel(net), barImages(2, 300));
    assert.ok(accuracy > 0.3, `accuracy after one epoch ${accuracy} (chance 0.1)`);
    net.dispose();
  });
});
