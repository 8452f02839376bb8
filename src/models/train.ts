/**
 * Mini-batch training of a classifier: Adam (Kingma & Ba 2015, arXiv:1412.6980) on sparse
 * categorical cross-entropy from logits, with seeded shuffling, per-epoch evaluation and early
 * stopping that restores the best weights (as Keras' EarlyStopping(restore_best_weights=True)).
 *
 * The loop is written out (not model.fit) because fit's shuffling and dropout are unseeded: here
 * every random choice comes from one Rng, so the same seed gives the same weights and losses.
 * Data go to the backend once; batches are gathered on the device, and losses are summed there,
 * so an epoch downloads only a couple of scalars (plus one loss every few batches for the bar).
 * Optional hooks make it the loop of adversarial training too (src/defenses/training/): a batch
 * perturbation before each step, a loss override and a learning-rate schedule; checkpoints
 * (./train-checkpoint.ts) let a stopped run resume to the same weights.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { SingleBar } from 'cli-progress';
import { AegisInputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { tf } from '../core/runtime.js';
import { type Dataset, featureShape, size, split, toTensor, validateDataset } from '../data/dataset.js';
import { endsInSoftmax, networkInputShape, networkLogits, networkNumClasses } from './tfjs-model.js';
import { loadCheckpoint, restoreOptimizer, saveCheckpoint } from './train-checkpoint.js';

/** Statistics of one epoch (epochs count from 1). Accuracy on training data is the running one, dropout on. */
export interface EpochStats {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** Wall time of the whole epoch, evaluation included. */
  seconds: number;
  /** Training examples per second of the optimisation steps (evaluation excluded). */
  samplesPerSecond: number;
}

export type TrainProgressCallback = (stats: EpochStats, totalEpochs: number) => void;

/** What a per-batch hook (adversarial training) knows about the batch it is given. */
export interface BatchContext {
  /** Epoch (from 1), batch within the epoch (from 0) and batch over the whole run (from 0). */
  epoch: number;
  batch: number;
  step: number;
  /** Seed for this batch's random choices, drawn from the run's Rng (same seed → same seeds, resumed runs too). */
  seed: number;
  numClasses: number;
  network: tfl.LayersModel;
  /** The network's logits (differentiable); `training` turns dropout on. Default false, as for an inner attack. */
  logits(x: tf.Tensor, training?: boolean): tf.Tensor2D;
}

/** What a loss override is given: the clean batch, the perturbed one, labels and training-mode logits. */
export interface BatchLossArgs {
  x: tf.Tensor;
  /** What perturbBatch returned (the clean batch itself without perturbBatch). */
  xPerturbed: tf.Tensor;
  y: tf.Tensor1D;
  numClasses: number;
  /** Logits with dropout on, differentiable with respect to the weights. */
  logits(x: tf.Tensor): tf.Tensor2D;
}

export interface BatchLoss {
  /** Mean loss over the batch, to minimise. */
  loss: tf.Scalar;
  /** Logits whose accuracy is reported as the running training accuracy. */
  logits: tf.Tensor2D;
}

export interface TrainOptions {
  epochs: number;
  /** Default 64. */
  batchSize?: number;
  /** Adam step size. Default 1e-3. */
  learningRate?: number;
  seed: number;
  /** Held-out data, or the fraction of the training data to hold out (seeded split). */
  validation?: Dataset | number;
  /** Stop when the monitored loss (validation loss, else training loss) has not improved by minDelta for patience epochs. */
  earlyStopping?: { patience: number; minDelta?: number };
  /** true: bar on stderr; false: silent; a function: called after each epoch. Default: bar when stderr is a TTY. */
  progress?: boolean | TrainProgressCallback;
  /**
   * Replaces each batch before the gradient step (adversarial training: the inner maximisation).
   * Runs outside the gradient tape; the returned tensor is the loop's to dispose (return a new one).
   */
  perturbBatch?: (x: tf.Tensor, y: tf.Tensor1D, context: BatchContext) => tf.Tensor | Promise<tf.Tensor>;
  /** Loss to minimise instead of cross-entropy on the (perturbed) batch (TRADES). Runs inside the tape. */
  batchLoss?: (args: BatchLossArgs) => BatchLoss;
  /** Adam step size per batch from the fractional epoch (0 at the start, `epochs` at the end); overrides learningRate. */
  learningRateSchedule?: (epochProgress: number, epochs: number) => number;
  /** Save weights and loop state (optimizer moments, RNG position, history) here every checkpointEvery epochs and at the end. */
  checkpointDir?: string;
  /** Epochs between checkpoints. Default 1. */
  checkpointEvery?: number;
  /** A checkpointDir of an earlier run with the same data, seed and batch size: continue after its last epoch. */
  resumeFrom?: string;
}

export interface TrainResult {
  history: EpochStats[];
  /** Epoch with the lowest monitored loss (validation loss if there is validation data). */
  bestEpoch: number;
  stoppedEarly: boolean;
  /** True when the weights were reset to those of bestEpoch (early stopping, best epoch not the last). */
  restoredBest: boolean;
}

/** Examples per forward pass when evaluating. */
const EVAL_BATCH = 256;
/** The bar's loss is refreshed (one scalar download) every this many batches. */
const BAR_EVERY = 20;

export async function trainModel(model: tfl.LayersModel, train: Dataset, opts: TrainOptions): Promise<TrainResult> {
  const o = checkOptions(opts);
  validateDataset(train);
  checkCompatible(model, train);
  const rng = new Rng(o.seed);
  let trainSet = train;
  let valSet: Dataset | undefined;
  if (typeof o.validation === 'number') {
    [valSet, trainSet] = split(train, o.validation, new Rng(rng.fork()));
    if (size(valSet) === 0 || size(trainSet) === 0) {
      throw new AegisInputError(
        `validation fraction ${o.validation} of ${size(train)} examples leaves an empty training or validation set`,
      );
    }
  } else if (o.validation) {
    valSet = validateDataset(o.validation);
    checkCompatible(model, valSet);
  }

  const numClasses = networkNumClasses(model);
  const softmaxOutput = endsInSoftmax(model);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const dropouts = model.layers.filter((l) => l.getClassName() === 'Dropout') as unknown as SeededLayer[];
  const dropoutSeeds = dropouts.map((l) => l.seed);
  const optimizer = tf.train.adam(o.learningRate);
  const hooked = o.perturbBatch !== undefined || o.batchLoss !== undefined;
  const n = size(trainSet);
  const batches = Math.ceil(n / o.batchSize);
  const x = toTensor(trainSet);
  const y = tf.tensor1d(trainSet.y, 'int32');
  const val = valSet && { x: toTensor(valSet), y: tf.tensor1d(valSet.y, 'int32'), n: size(valSet) };
  const bar = makeBar(o.progress);
  const history: EpochStats[] = [];
  let best = Number.POSITIVE_INFINITY;
  let bestEpoch = 0;
  let sinceBest = 0;
  let snapshot: tf.Tensor[] | undefined;
  let stoppedEarly = false;
  let restoredBest = false;
  let firstEpoch = 1;
  const runKey = { seed: o.seed, examples: n, batchSize: o.batchSize, hooked };

  const step = (indices: tf.Tensor1D): [tf.Scalar, tf.Scalar] =>
    tf.tidy(() => {
      const xb = tf.gather(x, indices);
      const yb = tf.gather(y, indices);
      let correct: tf.Scalar | undefined;
      const cost = optimizer.minimize(
        () => {
          const logits = networkLogits(model, xb, true, softmaxOutput);
          correct = tf.keep(countCorrect(logits, yb));
          return crossEntropy(logits, yb, numClasses);
        },
        true,
        variables,
      ) as tf.Scalar;
      return [cost, correct as tf.Scalar];
    });

  const context = (epoch: number, batch: number, seed: number): BatchContext => ({
    epoch,
    batch,
    step: (epoch - 1) * batches + batch,
    seed,
    numClasses,
    network: model,
    logits: (t, training = false) => networkLogits(model, t, training, softmaxOutput),
  });

  /** A step with the hooks: perturb the batch (awaited, outside the tape), then minimise the (overridden) loss. */
  const hookedStep = async (indices: tf.Tensor1D, ctx: BatchContext): Promise<[tf.Scalar, tf.Scalar]> => {
    const xb = tf.gather(x, indices);
    const yb = tf.gather(y, indices);
    let xp: tf.Tensor | undefined;
    try {
      xp = o.perturbBatch ? await o.perturbBatch(xb, yb, ctx) : xb;
      const xTrain = xp;
      return tf.tidy((): [tf.Scalar, tf.Scalar] => {
        let correct: tf.Scalar | undefined;
        const trainLogits = (t: tf.Tensor) => networkLogits(model, t, true, softmaxOutput);
        const cost = optimizer.minimize(
          () => {
            if (o.batchLoss) {
              const out = o.batchLoss({ x: xb, xPerturbed: xTrain, y: yb, numClasses, logits: trainLogits });
              correct = tf.keep(countCorrect(out.logits, yb));
              return out.loss;
            }
            const logits = trainLogits(xTrain);
            correct = tf.keep(countCorrect(logits, yb));
            return crossEntropy(logits, yb, numClasses);
          },
          true,
          variables,
        ) as tf.Scalar;
        return [cost, correct as tf.Scalar];
      });
    } finally {
      tf.dispose(xp === xb ? [xb, yb] : [xb, yb, ...(xp ? [xp] : [])]);
    }
  };

  try {
    if (o.resumeFrom) {
      const state = await loadCheckpoint(o.resumeFrom, model, runKey);
      history.push(...state.history);
      ({ best, bestEpoch, sinceBest, stoppedEarly } = state);
      snapshot = state.snapshot;
      await restoreOptimizer(optimizer, state);
      firstEpoch = state.epoch + 1;
      // Replays the RNG draws of the epochs already run, so the next epoch sees the same numbers.
      for (let e = 1; e <= state.epoch; e++) drawEpoch(rng, n, batches, dropouts.length, hooked);
      if (stoppedEarly) firstEpoch = o.epochs + 1;
    }
    for (let epoch = firstEpoch; epoch <= o.epochs; epoch++) {
      const started = performance.now();
      const draws = drawEpoch(rng, n, batches, dropouts.length, hooked);
      const order = tf.tensor1d(draws.order, 'int32');
      let lossSum: tf.Scalar = tf.scalar(0);
      let correctSum: tf.Scalar = tf.scalar(0);
      bar?.start(batches, 0, { epoch: `${epoch}/${o.epochs}`, loss: '-' });
      for (let b = 0; b < batches; b++) {
        const start = b * o.batchSize;
        const count = Math.min(o.batchSize, n - start);
        // A fresh seed per batch: seeded dropout masks that still differ from batch to batch.
        const seeds = draws.batchSeeds[b] ?? [];
        dropouts.forEach((layer, i) => {
          layer.seed = (seeds[i] ?? 0) & 0x7fffffff;
        });
        if (o.learningRateSchedule)
          setLearningRate(optimizer, o.learningRateSchedule(epoch - 1 + b / batches, o.epochs));
        const indices = tf.slice(order, start, count);
        const [cost, correct] = hooked
          ? await hookedStep(indices, context(epoch, b, seeds[dropouts.length] ?? 0))
          : step(indices);
        const newLoss = tf.tidy(() => tf.add(lossSum, tf.mul(cost, count))) as tf.Scalar;
        const newCorrect = tf.add(correctSum, correct) as tf.Scalar;
        tf.dispose([lossSum, correctSum, indices, correct]);
        lossSum = newLoss;
        correctSum = newCorrect;
        if (bar && (b % BAR_EVERY === 0 || b === batches - 1)) {
          bar.update(b + 1, { loss: (await cost.data())[0]?.toFixed(4) });
        }
        cost.dispose();
      }
      order.dispose();
      const totals = tf.stack([lossSum, correctSum]);
      const [lossTotal = Number.NaN, correctTotal = 0] = await totals.data();
      tf.dispose([totals, lossSum, correctSum]);
      const trainSeconds = (performance.now() - started) / 1000;
      bar?.stop();

      const stats: EpochStats = {
        epoch,
        loss: lossTotal / n,
        accuracy: correctTotal / n,
        seconds: 0,
        samplesPerSecond: n / trainSeconds,
      };
      if (!Number.isFinite(stats.loss)) {
        throw new AegisInputError(
          `training diverged: loss is ${stats.loss} at epoch ${epoch}; lower the learning rate (now ${o.learningRate})`,
        );
      }
      if (val) {
        const v = await evaluateLoss(model, val.x, val.y, val.n, numClasses, softmaxOutput);
        stats.valLoss = v.loss;
        stats.valAccuracy = v.accuracy;
      }
      stats.seconds = (performance.now() - started) / 1000;
      history.push(stats);
      if (typeof o.progress === 'function') o.progress(stats, o.epochs);
      else if (bar) process.stderr.write(`${formatEpoch(stats, o.epochs)}\n`);

      const monitored = stats.valLoss ?? stats.loss;
      if (monitored < best - (o.earlyStopping?.minDelta ?? 0)) {
        best = monitored;
        bestEpoch = epoch;
        sinceBest = 0;
        if (o.earlyStopping) {
          tf.dispose(snapshot);
          snapshot = model.getWeights().map((w) => tf.clone(w));
        }
      } else if (o.earlyStopping && ++sinceBest >= o.earlyStopping.patience) {
        stoppedEarly = true;
      }
      // Every checkpointEvery epochs and at the end (last epoch or early stop), before best weights are restored.
      if (o.checkpointDir && (epoch % o.checkpointEvery === 0 || epoch === o.epochs || stoppedEarly)) {
        await saveCheckpoint(o.checkpointDir, model, optimizer, {
          ...runKey,
          epoch,
          history,
          best,
          bestEpoch,
          sinceBest,
          stoppedEarly,
          snapshot,
        });
      }
      if (stoppedEarly) break;
    }
    if (snapshot && bestEpoch !== history.length) {
      model.setWeights(snapshot);
      restoredBest = true;
    }
  } finally {
    bar?.stop();
    dropouts.forEach((layer, i) => {
      layer.seed = dropoutSeeds[i];
    });
    tf.dispose([x, y, ...(val ? [val.x, val.y] : []), ...(snapshot ?? [])]);
    optimizer.dispose();
  }
  return { history, bestEpoch, stoppedEarly, restoredBest };
}

/** What aegis.json records about a training run. */
export function trainingSummary(result: TrainResult, opts: TrainOptions, data: Dataset): Record<string, unknown> {
  const last = result.history[result.history.length - 1];
  const best = result.history.find((h) => h.epoch === result.bestEpoch);
  return {
    dataset: data.name,
    examples: size(data),
    optimizer: 'adam',
    loss: 'sparse categorical cross-entropy',
    learningRate: opts.learningRate ?? 1e-3,
    batchSize: opts.batchSize ?? 64,
    seed: opts.seed,
    epochsRun: result.history.length,
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    final: result.restoredBest ? best : last,
  };
}

/**
 * The random draws of one epoch, in the loop's order: the shuffle, then per batch one seed per
 * dropout layer and (with hooks) one seed for the hook. Drawing them up front consumes the Rng
 * exactly as drawing them batch by batch, and lets a resumed run replay the epochs it skips.
 */
function drawEpoch(
  rng: Rng,
  n: number,
  batches: number,
  dropouts: number,
  hooked: boolean,
): { order: Int32Array; batchSeeds: number[][] } {
  const order = rng.permutation(n);
  const perBatch = dropouts + (hooked ? 1 : 0);
  const batchSeeds = Array.from({ length: batches }, () => Array.from({ length: perBatch }, () => rng.uint32()));
  return { order, batchSeeds };
}

/** tfjs's Adam reads its step size from this field on every update, so a schedule can change it between batches. */
function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  if (!(lr >= 0 && Number.isFinite(lr))) throw new AegisInputError(`training: learning-rate schedule gave ${lr}`);
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

/** Dropout layers keep their seed in a field; the loop sets it per batch (see above). */
interface SeededLayer {
  seed?: number;
}

type ResolvedOptions = Required<
  Pick<TrainOptions, 'epochs' | 'batchSize' | 'learningRate' | 'seed' | 'checkpointEvery'>
> &
  TrainOptions;

function checkOptions(opts: TrainOptions): ResolvedOptions {
  const o = { batchSize: 64, learningRate: 1e-3, ...opts, checkpointEvery: opts.checkpointEvery ?? 1 };
  const positiveInt = (v: number, what: string) => {
    if (!Number.isInteger(v) || v <= 0)
      throw new AegisInputError(`training: ${what} must be a positive integer, got ${v}`);
  };
  positiveInt(o.epochs, 'epochs');
  positiveInt(o.batchSize, 'batch size');
  if (!(o.learningRate > 0 && Number.isFinite(o.learningRate))) {
    throw new AegisInputError(`training: learning rate must be a positive number, got ${o.learningRate}`);
  }
  if (!Number.isInteger(o.seed)) throw new AegisInputError(`training: seed must be an integer, got ${o.seed}`);
  if (typeof o.validation === 'number' && !(o.validation > 0 && o.validation < 1)) {
    throw new AegisInputError(`training: validation fraction must be in (0, 1), got ${o.validation}`);
  }
  positiveInt(o.checkpointEvery, 'checkpointEvery');
  if (o.earlyStopping) {
    positiveInt(o.earlyStopping.patience, 'early-stopping patience');
    if (!((o.earlyStopping.minDelta ?? 0) >= 0)) {
      throw new AegisInputError(`training: early-stopping minDelta must be >= 0, got ${o.earlyStopping.minDelta}`);
    }
  }
  return o;
}

/** The data must fit the network: same example shape, no more classes than outputs. */
function checkCompatible(model: tfl.LayersModel, data: Dataset): void {
  const want = networkInputShape(model);
  const got = featureShape(data);
  if (want.join(',') !== got.join(',')) {
    throw new AegisInputError(
      `dataset '${data.name}' has examples of shape [${got}] but model '${model.name}' expects [${want}]`,
    );
  }
  const k = networkNumClasses(model);
  if (data.classNames.length > k) {
    throw new AegisInputError(
      `dataset '${data.name}' has ${data.classNames.length} classes but model '${model.name}' has ${k} outputs`,
    );
  }
}

function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, numClasses: number): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, numClasses), logits, undefined, 0, tf.Reduction.MEAN);
}

function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
}

/** Mean loss and accuracy over (x, y) with dropout off; sums stay on the device until the end. */
async function evaluateLoss(
  model: tfl.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor1D,
  n: number,
  numClasses: number,
  softmaxOutput: boolean,
): Promise<{ loss: number; accuracy: number }> {
  let sums = tf.zeros([2]);
  for (let start = 0; start < n; start += EVAL_BATCH) {
    const count = Math.min(EVAL_BATCH, n - start);
    const next = tf.tidy(() => {
      const logits = networkLogits(model, tf.slice(x, start, count), false, softmaxOutput);
      const yb = tf.slice(y, start, count);
      const loss = tf.mul(crossEntropy(logits, yb, numClasses), count);
      return tf.add(sums, tf.stack([loss, countCorrect(logits, yb)]));
    });
    sums.dispose();
    sums = next;
  }
  const [loss = Number.NaN, correct = 0] = await sums.data();
  sums.dispose();
  return { loss: loss / n, accuracy: correct / n };
}

function makeBar(progress: TrainOptions['progress']): SingleBar | undefined {
  const show = progress === true || (progress === undefined && process.stderr.isTTY === true);
  if (!show) return undefined;
  return new SingleBar({
    stream: process.stderr,
    format: 'epoch {epoch} [{bar}] {value}/{total} batches | loss {loss} | eta {eta_formatted}',
    noTTYOutput: progress === true,
    clearOnComplete: true,
    hideCursor: false,
  });
}

function formatEpoch(s: EpochStats, epochs: number): string {
  const val = s.valLoss === undefined ? '' : ` val_loss ${s.valLoss.toFixed(4)} val_acc ${s.valAccuracy?.toFixed(4)}`;
  return (
    `epoch ${s.epoch}/${epochs}: loss ${s.loss.toFixed(4)} acc ${s.accuracy.toFixed(4)}${val}` +
    ` (${s.seconds.toFixed(1)} s, ${Math.round(s.samplesPerSecond)} samples/s)`
  );
}
