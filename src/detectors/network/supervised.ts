/**
 * The supervised flow classifier: an MLP (src/models/builders.ts) trained by the project's loop
 * (src/models/train.ts) on encoded flows, binary (normal/attack) or multi-class (NSL-KDD's normal,
 * DoS, Probe, R2L, U2R). Rare classes (R2L and U2R are <1% of KDDTrain+) are up-weighted in the
 * cross-entropy, as Keras' class_weight: w_c = (n / (k·n_c))^power, power 1 = "balanced"
 * (King & Zeng 2001's inverse-frequency weights), 0.5 = square root (softer: 11 U2R examples would
 * otherwise weigh ~450 times a normal one), 0 = unweighted. The weights enter through the loop's
 * batchLoss hook, so adversarial training (perturbBatch) composes with them.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
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
  /**
   * Independently trained MLPs (own seed, own shuffling) whose logits are averaged: a deep ensemble
   * (Lakshminarayanan, Pritzel & Blundell 2017, NeurIPS), better calibrated under dataset shift
   * (Ovadia et al. 2019) — NSL-KDD's test normals are shifted. Default 1 (a single MLP).
   */
  members?: number;
}

export const CLASSIFIER_DEFAULTS = {
  hidden: [64, 32],
  dropout: 0.1,
  epochs: 30,
  batchSize: 128,
  learningRate: 1e-3,
  classWeightPower: 0.5,
  members: 1,
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

/** Builds and trains the MLP (or the ensemble); returns it as a white-box TfjsModel over encoded flows. */
export async function trainFlowClassifier(
  train: Dataset,
  o: ClassifierOptions,
): Promise<{
  model: TfjsModel;
  result: TrainResult;
  weights: number[];
  options: TrainOptions;
  members: TrainResult[];
}> {
  const cfg = { ...CLASSIFIER_DEFAULTS, ...definedOnly(o) };
  if (!Number.isInteger(cfg.members) || cfg.members < 1) {
    throw new AegisInputError(`classifier members must be a whole number >= 1, got ${cfg.members}`);
  }
  const numClasses = train.classNames.length;
  const weights = classWeights(train.y, numClasses, cfg.classWeightPower);
  const weighted = cfg.classWeightPower > 0 ? weightedCrossEntropy(weights) : undefined;
  const rng = new Rng(o.seed);
  const networks: tfl.Sequential[] = [];
  const results: TrainResult[] = [];
  let options: TrainOptions | undefined;
  try {
    for (let k = 0; k < cfg.members; k++) {
      // One member keeps the given seed (so members: 1 is the plain MLP); the others derive theirs.
      const seed = k === 0 ? o.seed : rng.fork() & 0x7fffffff;
      const network = buildMlp({
        inputShape: train.shape.slice(1),
        numClasses,
        hidden: cfg.hidden,
        dropout: cfg.dropout,
        seed,
        name: 'nids-mlp',
      });
      networks.push(network);
      options = {
        epochs: cfg.epochs,
        batchSize: cfg.batchSize,
        learningRate: cfg.learningRate,
        seed,
        progress: o.progress ?? false,
        ...(o.validation ? { validation: o.validation, earlyStopping: { patience: 3 } } : {}),
        ...(weighted ? { batchLoss: weighted } : {}),
        ...(o.hooks ?? {}),
      };
      results.push(await trainModel(network, train, options));
    }
    const network = networks.length === 1 ? (networks[0] as tfl.Sequential) : averageLogits(networks, cfg);
    if (networks.length > 1) for (const n of networks) n.dispose();
    return {
      model: new TfjsModel(network, { name: network.name, classNames: train.classNames, inputRange: [-1e6, 1e6] }),
      result: results[0] as TrainResult,
      weights,
      options: options as TrainOptions,
      members: results,
    };
  } catch (error) {
    for (const n of networks) n.dispose();
    throw error;
  }
}

/**
 * One functional network whose output is the mean of the members' logits (a normalised geometric
 * mean of their probabilities): still a single tfjs model, so saving, gradients, the evasion attack
 * and adversarial training work on the ensemble unchanged. Layers are rebuilt with unique names and
 * the members' weights copied in.
 */
export function averageLogits(
  members: readonly tfl.Sequential[],
  cfg: { hidden: number[]; dropout: number },
): tfl.LayersModel {
  const first = members[0] as tfl.Sequential;
  const input = tfl.input({ shape: first.inputs[0]?.shape.slice(1) as number[] });
  const outputs: tfl.SymbolicTensor[] = [];
  const copies: [tfl.layers.Layer, tfl.layers.Layer][] = [];
  members.forEach((member, k) => {
    const dense = member.layers.filter((l) => l.getClassName() === 'Dense');
    let h: tfl.SymbolicTensor = input;
    dense.forEach((source, i) => {
      const last = i === dense.length - 1;
      const units = last ? (member.outputs[0]?.shape[1] as number) : (cfg.hidden[i] as number);
      // Seeded initialisers (overwritten below) keep clones of this network reproducible (cloneNetwork reseeds them).
      const layer = tfl.layers.dense({
        units,
        activation: last ? 'linear' : 'relu',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: 1000 * k + i }),
        name: `member${k}_dense${i}`,
      });
      h = layer.apply(h) as tfl.SymbolicTensor;
      copies.push([layer, source]);
      if (!last && cfg.dropout > 0) {
        const dropout = tfl.layers.dropout({ rate: cfg.dropout, seed: 1000 * k + i, name: `member${k}_dropout${i}` });
        h = dropout.apply(h) as tfl.SymbolicTensor;
      }
    });
    outputs.push(h);
  });
  const logits = tfl.layers.average({ name: 'logits' }).apply(outputs) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: logits, name: `nids-mlp-ensemble-${members.length}` });
  for (const [layer, source] of copies) layer.setWeights(source.getWeights());
  return model;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
