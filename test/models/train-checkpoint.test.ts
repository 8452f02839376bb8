import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import { initRuntime, tf } from '../../src/core/runtime.js';
import { buildMlp } from '../../src/models/builders.js';
import { loadTfjsModel } from '../../src/models/tfjs-model.js';
import { type BatchContext, type TrainOptions, trainModel } from '../../src/models/train.js';
import { TRAIN_STATE_BIN, TRAIN_STATE_JSON } from '../../src/models/train-checkpoint.js';
import { blobs } from './fixtures.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aegis-ckpt-'));
  dirs.push(dir);
  return dir;
}

/** Dropout on, so the RNG position matters for an exact resume. */
const net = (seed = 4) => buildMlp({ inputShape: [8], numClasses: 3, hidden: [16], dropout: 0.2, seed });
const data = blobs(7, 200);
const base: TrainOptions = { epochs: 4, batchSize: 32, learningRate: 5e-3, seed: 11, progress: false };

function weightsOf(model: ReturnType<typeof net>): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

/** Throws from the progress callback after `epoch`, as a crash would stop a run. */
function crashAfter(epoch: number): TrainOptions['progress'] {
  return (stats) => {
    if (stats.epoch === epoch + 1) throw new Error('simulated crash');
  };
}

before(async () => {
  await initRuntime();
});

after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('trainModel checkpoints', () => {
  it('writes a loadable model and the loop state every checkpointEvery epochs', async () => {
    const dir = tempDir();
    const model = net();
    const result = await trainModel(model, data, { ...base, epochs: 3, checkpointDir: dir, checkpointEvery: 2 });
    for (const f of ['model.json', 'weights.bin', 'aegis.json', TRAIN_STATE_JSON, TRAIN_STATE_BIN]) {
      assert.ok(existsSync(join(dir, f)), `${f} written`);
    }
    // The last checkpoint is the end of the run (epoch 3), and holds the final weights.
    const loaded = await loadTfjsModel(dir);
    const saved = loaded.network.getWeights().map((w) => w.dataSync());
    assert.deepEqual(saved, weightsOf(model));
    assert.deepEqual(loaded.meta.training?.checkpoint, { epoch: 3, seed: 11 });
    assert.equal(result.history.length, 3);
    loaded.dispose();
    model.dispose();
  });

  it('resuming after a crash ends with the same weights and history as an uninterrupted run', async () => {
    const straight = net();
    const full = await trainModel(straight, data, base);

    const dir = tempDir();
    const crashed = net();
    await assert.rejects(trainModel(crashed, data, { ...base, checkpointDir: dir, progress: crashAfter(2) }), /crash/);
    crashed.dispose();

    const resumed = net(99); // other initial weights: the checkpoint's must replace them
    const start = tf.memory().numTensors;
    const result = await trainModel(resumed, data, { ...base, resumeFrom: dir });
    assert.equal(tf.memory().numTensors, start, 'loaded optimizer state and weights are freed');
    assert.deepEqual(weightsOf(resumed), weightsOf(straight));
    assert.deepEqual(
      result.history.map((h) => h.loss),
      full.history.map((h) => h.loss),
    );
    straight.dispose();
    resumed.dispose();
  });

  it('resumes with per-batch hooks and a learning-rate schedule: same seeds per batch, same weights', async () => {
    const seen: Array<[number, number]> = [];
    const hooks = (log: boolean): Partial<TrainOptions> => ({
      perturbBatch: (x: tf.Tensor, _y: tf.Tensor1D, ctx: BatchContext) => {
        if (log) seen.push([ctx.step, ctx.seed]);
        return tf.tidy(() => tf.add(x, tf.mul(tf.randomUniform(x.shape, -0.05, 0.05, 'float32', ctx.seed), 1)));
      },
      learningRateSchedule: (progress, epochs) => 1e-2 * (1 - progress / epochs),
    });
    const straight = net();
    await trainModel(straight, data, { ...base, ...hooks(true) });
    const straightSeeds = [...seen];
    seen.length = 0;

    const dir = tempDir();
    const crashed = net();
    await assert.rejects(
      trainModel(crashed, data, { ...base, ...hooks(false), checkpointDir: dir, progress: crashAfter(2) }),
      /crash/,
    );
    crashed.dispose();
    const resumed = net();
    await trainModel(resumed, data, { ...base, ...hooks(true), resumeFrom: dir });
    assert.equal(seen.length, 2 * Math.ceil(200 / 32), 'only epochs 3 and 4 run');
    assert.deepEqual(seen, straightSeeds.slice(-seen.length));
    assert.equal(seen[0]?.[0], 2 * Math.ceil(200 / 32), 'resumed at the first batch of epoch 3');
    assert.deepEqual(weightsOf(resumed), weightsOf(straight));
    straight.dispose();
    resumed.dispose();
  });

  it('rejects a checkpoint of another run or a corrupt one with AegisInputError', async () => {
    const dir = tempDir();
    const model = net();
    await trainModel(model, data, { ...base, epochs: 1, checkpointDir: dir });
    await assert.rejects(trainModel(model, data, { ...base, seed: 12, resumeFrom: dir }), /made with seed 11/);
    await assert.rejects(trainModel(model, data, { ...base, batchSize: 16, resumeFrom: dir }), /batchSize 32/);
    const other = buildMlp({ inputShape: [8], numClasses: 3, hidden: [8], seed: 1 });
    await assert.rejects(trainModel(other, data, { ...base, resumeFrom: dir }), /do not fit/);
    other.dispose();
    await assert.rejects(trainModel(model, data, { ...base, resumeFrom: tempDir() }), /no train-state.json/);
    writeFileSync(join(dir, TRAIN_STATE_BIN), new Uint8Array(10));
    await assert.rejects(trainModel(model, data, { ...base, resumeFrom: dir }), /truncated or corrupt/);
    await assert.rejects(trainModel(model, data, { ...base, checkpointEvery: 0 }), AegisInputError);
    model.dispose();
  });
});

describe('trainModel hooks', () => {
  it('trains on what perturbBatch returns, minimising what batchLoss gives', async () => {
    // Labels are learnable only from the perturbed inputs: the hook swaps in inputs that one-hot encode the class.
    const run = async (factor: number, contexts: BatchContext[]) => {
      const model = buildMlp({ inputShape: [8], numClasses: 3, hidden: [16], seed: 2 });
      const result = await trainModel(model, data, {
        ...base,
        epochs: 2,
        learningRate: 2e-2,
        perturbBatch: (x, y, ctx) => {
          contexts.push(ctx);
          return tf.tidy(() => {
            const code = tf.mul(tf.oneHot(y, 3), 5);
            return tf.concat([tf.cast(code, 'float32'), tf.zeros([x.shape[0] ?? 0, 5])], 1);
          });
        },
        batchLoss: ({ xPerturbed, y, logits, numClasses }) => {
          const out = logits(xPerturbed);
          const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(y, numClasses), out) as tf.Scalar;
          return { loss: tf.mul(loss, factor) as tf.Scalar, logits: out };
        },
      });
      model.dispose();
      return result;
    };
    const contexts: BatchContext[] = [];
    const once = await run(1, contexts);
    const twice = await run(2, []);
    assert.equal(contexts.length, 2 * Math.ceil(200 / 32));
    assert.deepEqual(
      contexts.slice(0, 3).map((c) => [c.epoch, c.batch, c.step, c.numClasses]),
      [
        [1, 0, 0, 3],
        [1, 1, 1, 3],
        [1, 2, 2, 3],
      ],
    );
    assert.equal(new Set(contexts.map((c) => c.seed)).size, contexts.length, 'a fresh seed per batch');
    const last = once.history.at(-1);
    assert.ok(last && last.accuracy > 0.95, `learns from the perturbed inputs: ${last?.accuracy}`);
    // Adam is invariant to the loss scale, so doubling the loss doubles the reported loss only.
    const ratio = (twice.history[0]?.loss ?? 0) / (once.history[0]?.loss ?? 1);
    assert.ok(Math.abs(ratio - 2) < 0.02, `reported loss is batchLoss's: ratio ${ratio}`);
  });

  it('a schedule of zero learning rate leaves the weights unchanged', async () => {
    const model = net();
    const before = weightsOf(model);
    await trainModel(model, data, { ...base, epochs: 1, learningRateSchedule: () => 0 });
    assert.deepEqual(weightsOf(model), before);
    await assert.rejects(
      trainModel(model, data, { ...base, epochs: 1, learningRateSchedule: () => Number.NaN }),
      /learning-rate schedule gave NaN/,
    );
    model.dispose();
  });
});
