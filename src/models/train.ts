/**
 * Mini-batch training of a classifier: Adam (Kingma & Ba 2015, arXiv:1412.6980) on sparse
 * categorical cross-entropy from logits, with seeded shuffling, per-epoch evaluation and early
 * stopping that restores the best weights (as Keras' EarlyStopping(restore_best_weights=True)).
 *
 * The loop is written out (not model.fit) because fit's shuffling and dropout are unseeded: here
 * every random choice comes from one Rng, so the same seed gives the same weights and losses.
 * Data go to the backend once; batches are gathered on the device, and losses are summed there,
 * so an epoch downloads only a couple of scalars (plus one loss every few batches for the bar).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { SingleBar } from 'cli-progress';
import { AegisInputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { tf } from '../core/runtime.js';
import { type Dataset, featureShape, size, split, toTensor, validateDataset } from '../data/dataset.js';
import { endsInSoftmax, networkInputShape, networkLogits, networkNumClasses } from './tfjs-model.js';

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
  const n = size(trainSet);
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

  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const started = performance.now();
      const order = tf.tensor1d(rng.permutation(n), 'int32');
      let lossSum: tf.Scalar = tf.scalar(0);
      let correctSum: tf.Scalar = tf.scalar(0);
      const batches = Math.ceil(n / o.batchSize);
      bar?.start(batches, 0, { epoch: `${epoch}/${o.epochs}`, loss: '-' });
      for (let b = 0; b < batches; b++) {
        const start = b * o.batchSize;
        const count = Math.min(o.batchSize, n - start);
        // A fresh seed per batch: seeded dropout masks that still differ from batch to batch.
        for (const layer of dropouts) layer.seed = rng.uint32() & 0x7fffffff;
        const indices = tf.slice(order, start, count);
        const [cost, correct] = step(indices);
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
        break;
      }
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

/** Dropout layers keep their seed in a field; the loop sets it per batch (see above). */
interface SeededLayer {
  seed?: number;
}

type ResolvedOptions = Required<Pick<TrainOptions, 'epochs' | 'batchSize' | 'learningRate' | 'seed'>> & TrainOptions;

function checkOptions(opts: TrainOptions): ResolvedOptions {
  const o = { batchSize: 64, learningRate: 1e-3, ...opts };
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
