/**
 * The poisoning contract. A poisoning attack crafts a poisoned training set (the adversary
 * controls a fraction of the training data, ATLAS AML.T0020); the victim is then trained on it
 * by the user's own training recipe, and the attack is judged on held-out data: clean accuracy
 * (did the model stay useful, so nobody notices?) and attack success rate (does the trigger /
 * the flipped class pair / the target image get the adversary's label?).
 */
import type { Dataset } from '../../data/dataset.js';
import type { Model } from '../../models/model.js';

/** A training set with some rows crafted by the adversary. */
export interface PoisonedTrainingSet {
  train: Dataset;
  /** Rows of `train` the adversary changed or added, ascending. Ground truth for poison detectors. */
  poisonIndices: Int32Array;
  /** The label the adversary wants (backdoors, targeted flips, feature collision). */
  targetClass?: number;
}

/** The victim's training recipe: the same one runs on clean data, poisoned data and filtered data. */
export type VictimTrainer = (train: Dataset, seed: number) => Promise<Model>;

/** One row per poison fraction, as in the report. */
export interface PoisoningRow {
  /** Poisoned rows / training rows. */
  poisonFraction: number;
  poisonCount: number;
  /** Accuracy of the poisoned victim on clean test data. */
  cleanAccuracy: number;
  /** Share of eligible test inputs that get the adversary's label (trigger applied where there is one). */
  attackSuccessRate: number;
  seconds: number;
  [metric: string]: number;
}
