/**
 * The supervised flow classifier: an MLP (src/models/builders.ts) trained by the project's loop
 * (src/models/train.ts) on encoded flows, binary (normal/attack) or multi-class (NSL-KDD's normal,
 * DoS, Probe, R2L, U2R). Rare classes (R2L and U2R are <1% of KDDTrain+) are up-weighted in the
 * cross-entropy, as Keras' class_weight: w_c = (n / (k·n_c))^power, power 1 = "balanced"
 * (King & Zeng 2001's inverse-frequency weights), 0.5 = square root (softer: 11 U2R examples would
 * otherwise weigh ~450 times a normal one), 0 = unweighted. The weights enter through the loop's
 * batchLoss hook, so adversarial training (perturbBatch) composes with them.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import type { Dataset } from '../../data/dataset.js';
import { buildMlp } from '../../models/builders.js';
import { TfjsModel } from '../../models/tfjs-model.js';
import type { BatchLoss, BatchLossArgs, TrainOptions, TrainResult } from '../../models/train.js';
import { trainModel } from '../../models/train.js';

export interface ClassifierOptions {
  hidden?: number[];
  dropout?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Exponent of the inverse-frequency class weights (0 = none, 0.5 = square root, 1 = balanced). Default 0.5. */
  classWeightPower?: number;
  seed: number;
  /** Held-out data for early stopping (patience 3). */
  validation?: Dataset;
  progress?: TrainOptions['progress'];
  /** Hooks of adversarial training (perturbBatch …), passed through to the loop. */
  hooks?: Pick<TrainOptions, 'perturbBatch' | 'learningRateSchedule'>;
}

export const CLASSIFIER_DEFAULTS = {
  hidden: [64, 32],
  dropout: 0.1,
  epochs: 30,
  batchSize: 128,
  learningRate: 1e-3,
  classWeightPower: 0.5,
};

/** w_c = (n / (k·n_c))^power over the classes present; absent classes get weight 1. */
export function classWeights(y: Int32Array, numClasses: number, power: number): number[] {
  if (!(power >= 0 && power <= 1)) throw new AegisInputError(`class-weight power must be in [0, 1], got ${power}`);
  const counts = new Array<number>(numClasses).fill(0);
  for (const c of y) counts[c] = (counts[c] as number) + 1;
  const present = counts.filter((n) => n > 0).length;
  return counts.map((n) => (n > 0 ? (y.length / (present * n)) ** power : 1));
}

/** Mean of w_y · CE over the batch (the batchLoss hook). */
export function weightedCrossEntropy(weights: readonly number[]): (args: BatchLossArgs) => BatchLoss {
  return ({ xPerturbed, y, numClasses, logits }) => {
    const out = logits(xPerturbed);
    const perExample = tf.losses.softmaxCrossEntropy(tf.oneHot(y, numClasses), out, undefined, 0, tf.Reduction.NONE);
    // Created inside the loop's tidy, so freed with the step.
    const w = tf.gather(tf.tensor1d([...weights], 'float32'), y);
    const loss = tf.mean(tf.mul(perExample, w)) as tf.Scalar;
    return { loss, logits: out };
  };
}

/** Builds and trains the MLP; returns it as a white-box TfjsModel over encoded flows. */
export async function trainFlowClassifier(
  train: Dataset,
  o: ClassifierOptions,
): Promise<{ model: TfjsModel; result: TrainResult; weights: number[]; options: TrainOptions }> {
  const cfg = { ...CLASSIFIER_DEFAULTS, ...definedOnly(o) };
  const numClasses = train.classNames.length;
  const network: tfl.Sequential = buildMlp({
    inputShape: train.shape.slice(1),
    numClasses,
    hidden: cfg.hidden,
    dropout: cfg.dropout,
    seed: o.seed,
    name: 'nids-mlp',
  });
  const weights = classWeights(train.y, numClasses, cfg.classWeightPower);
  const weighted = cfg.classWeightPower > 0 ? weightedCrossEntropy(weights) : undefined;
  const options: TrainOptions = {
    epochs: cfg.epochs,
    batchSize: cfg.batchSize,
    learningRate: cfg.learningRate,
    seed: o.seed,
    progress: o.progress ?? false,
    ...(o.validation ? { validation: o.validation, earlyStopping: { patience: 3 } } : {}),
    ...(weighted ? { batchLoss: weighted } : {}),
    ...(o.hooks ?? {}),
  };
  try {
    const result = await trainModel(network, train, options);
    return {
      model: new TfjsModel(network, { name: 'nids-mlp', classNames: train.classNames, inputRange: [-1e6, 1e6] }),
      result,
      weights,
      options,
    };
  } catch (error) {
    network.dispose();
    throw error;
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
