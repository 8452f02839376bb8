/**
 * The poisoning contract. A poisoning attack crafts a poisoned training set (the adversary
 * controls a fraction of the training data, ATLAS AML.T0020); the victim is then trained on it
 * by the user's own training recipe, and the attack is judged on held-out data: clean accuracy
 * (did the model stay useful, so nobody notices?) and attack success rate (does the trigger /
 * the flipped class pair / the target image get the adversary's label?).
 */
import type { Access } from '../../core/threat-model.js';
import type { Dataset } from '../../data/dataset.js';
import type { TextDataset } from '../../data/text-dataset.js';
import type { Model } from '../../models/model.js';
import type { ExampleCaptions } from '../../report/schema.js';

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

// ---------------------------------------------------------------------------------------
// Attacks (added with the attacks themselves; the types above are the original contract)

/**
 * Data an attack edits: numeric rows (images NHWC, tabular features) or raw texts. Text attacks
 * (trigger phrases) edit strings; the victim sees them through a vectorizer (`encode`).
 */
export type PoisonableData = Dataset | TextDataset;

export function isTextData(data: PoisonableData): data is TextDataset {
  return Array.isArray((data as TextDataset).texts);
}

/** How many successes out of how many eligible test inputs; the attack success rate is hits / eligible. */
export interface SuccessCount {
  hits: number;
  eligible: number;
  /** Further metrics of this trial (averaged over trials into the row). */
  extra?: Record<string, number>;
}

/** What a trial needs to judge a trained victim. */
export interface SuccessContext {
  victim: Model;
  /** The clean test data (texts for text attacks). */
  test: PoisonableData;
  /** Encodes `data` like the training data (texts → features) and returns the victim's labels. */
  predict(data: PoisonableData): Promise<Int32Array>;
  /** The victim's labels for the clean test data. */
  cleanPredictions: Int32Array;
  /** Labels of a victim trained with the same recipe on clean data, for the clean test data. */
  baselinePredictions: Int32Array;
}

/** Pairs of inputs for the report (clean vs triggered, base vs poison), predicted by the victim. */
export interface PoisonExamples {
  first: Dataset;
  second: Dataset;
  /** True label per pair. */
  labels: Int32Array;
  captions: ExampleCaptions;
}

/** One poisoned training set and how to judge a victim trained on it. */
export interface PoisonTrial {
  /** The training data with the adversary's rows (before text is encoded). */
  data: PoisonableData;
  poisonIndices: Int32Array;
  targetClass?: number;
  /** Fixed facts of this trial reported as row metrics (e.g. the requested share of source rows). */
  info?: Record<string, number>;
  measure(ctx: SuccessContext): Promise<SuccessCount>;
  /** Example pairs for the report (numeric data only), at most `count`. */
  examples?(test: PoisonableData, count: number): PoisonExamples | undefined;
}

/** What crafting may look at besides the training data (feature collision picks its targets from the test set). */
export interface CraftContext {
  test: PoisonableData;
  /** The clean-data victim's labels for the test data. */
  baselinePredictions: Int32Array;
}

/** A poisoning attack: crafts poisoned training sets per poison fraction and judges the victims. */
export interface PoisoningAttack {
  name: string;
  title: string;
  citation: string;
  /** MITRE ATLAS technique id. */
  atlas: string;
  /** What the adversary needs of the model (crafting and exploiting). */
  access: Access;
  /** ATLAS mitigation ids. */
  mitigations: readonly string[];
  /** The adversary's knowledge in words, for a poison fraction (stated in the report). */
  knowledge(fraction: number): string;
  /** Rejects a mismatch with the data (class out of range, trigger larger than the image) before any training. */
  check(train: PoisonableData, test: PoisonableData): void;
  /** The poisoned training sets for one fraction: one for most attacks, one per target for feature collision. */
  craft(train: PoisonableData, fraction: number, seed: number, ctx: CraftContext): Promise<PoisonTrial[]>;
}
