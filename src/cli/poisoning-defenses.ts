/**
 * `aegis attack poisoning --defenses …`: after each poisoned victim is trained, run the poison
 * detectors of src/defenses/poison on its training set, drop the flagged rows, retrain with the
 * same recipe and seed, and add per-detector columns to the row (prefix ss = spectral signatures,
 * ac = activation clustering, lc = label consistency):
 *
 *   <p>Precision, <p>Recall — of the flagged rows against the true poison rows
 *   <p>Flagged — flagged rows / training rows
 *   <p>CleanAccuracy, <p>AttackSuccessRate — of the victim retrained without the flagged rows
 *
 * The defender's poison budget (expectedPoisonFraction) is the largest poisoned share of any one
 * class (capped at 0.5) — the per-class ε of Tran et al. 2018, an upper bound a defender is assumed
 * to know — else the detectors' default.
 */
import type { Command } from 'commander';
import type { VictimTrainer } from '../attacks/poisoning/poisoning-attack.js';
import type { VictimContext } from '../attacks/poisoning/run-poisoning.js';
import { AegisInputError } from '../core/errors.js';
import {
  type ActivationClusteringOptions,
  CLUSTER_CRITERIA,
  RECLASSIFY_SCOPES,
  resolveClusteringOptions,
} from '../defenses/poison/activation-clustering.js';
import {
  type POISON_DETECTOR_NAMES,
  type PoisonDetectorOptions,
  parsePoisonDetectors,
} from '../defenses/poison/registry.js';
import { defendAgainstPoison } from '../defenses/poison/run-poison-defense.js';
import { parsePositiveInt, parsePositiveNumber } from './parse-options.js';

export const DEFENSE_PREFIX: Readonly<Record<(typeof POISON_DETECTOR_NAMES)[number], string>> = {
  'spectral-signatures': 'ss',
  'activation-clustering': 'ac',
  'label-consistency': 'lc',
};

/** Largest share of poison rows among the rows carrying any one label. */
export function largestClassPoisonShare(labels: Int32Array, poisonIndices: Int32Array): number {
  const perClass = new Map<number, number>();
  const poisonPerClass = new Map<number, number>();
  for (const y of labels) perClass.set(y, (perClass.get(y) ?? 0) + 1);
  for (const i of poisonIndices) {
    const y = labels[i] as number;
    poisonPerClass.set(y, (poisonPerClass.get(y) ?? 0) + 1);
  }
  let largest = 0;
  for (const [y, count] of poisonPerClass) largest = Math.max(largest, count / (perClass.get(y) ?? count));
  return largest;
}

/** Activation-clustering flags shared by `aegis poison detect` and `aegis attack poisoning --defenses`. */
export interface ClusteringFlags {
  acCriterion?: string;
  reclassificationThreshold?: string;
  reclassify?: string;
  reclassificationEpochs?: string;
}

/** Adds the activation-clustering criterion flags (exclusionary reclassification) to a command. */
export function addClusteringOptions(command: Command): Command {
  return command
    .option(
      '--ac-criterion <c>',
      `activation clustering: how a cluster is judged poisoned: ${CLUSTER_CRITERIA.join(', ')} (reclassification retrains without each cluster)`,
      'both',
    )
    .option('--reclassification-threshold <T>', 'exclusionary reclassification: poisoned when l/p < T', '1')
    .option(
      '--reclassify <scope>',
      `exclusionary reclassification: classes to examine, ${RECLASSIFY_SCOPES.join(' or ')} (separated: silhouette above its threshold)`,
      'all',
    )
    .option(
      '--reclassification-epochs <n>',
      'exclusionary reclassification: training epochs of each model retrained without a cluster (default: the victim recipe)',
    );
}

/** The activation-clustering options these flags ask for (AegisInputError on a bad value). */
export function parseClusteringFlags(flags: ClusteringFlags): ActivationClusteringOptions {
  const criterion = flags.acCriterion ?? 'both';
  if (!(CLUSTER_CRITERIA as readonly string[]).includes(criterion)) {
    throw new AegisInputError(`--ac-criterion must be one of ${CLUSTER_CRITERIA.join(', ')}, got '${criterion}'`);
  }
  const scope = flags.reclassify ?? 'all';
  if (!(RECLASSIFY_SCOPES as readonly string[]).includes(scope)) {
    throw new AegisInputError(`--reclassify must be one of ${RECLASSIFY_SCOPES.join(', ')}, got '${scope}'`);
  }
  const options: ActivationClusteringOptions = {
    criterion: criterion as ActivationClusteringOptions['criterion'],
    reclassify: scope as ActivationClusteringOptions['reclassify'],
    reclassificationThreshold: parsePositiveNumber(
      '--reclassification-threshold',
      flags.reclassificationThreshold ?? '1',
    ),
  };
  resolveClusteringOptions(options);
  return options;
}

/** k-NN label-consistency flags shared by `aegis poison detect` and `aegis attack poisoning --defenses`. */
export interface LabelKnnFlags {
  labelK?: string;
  labelRounds?: string;
}

/** Adds --label-k and --label-rounds (k-NN label consistency) to a command. */
export function addLabelKnnOptions(command: Command): Command {
  return command
    .option('--label-k <n>', 'label consistency k-NN: neighbours per row', '10')
    .option(
      '--label-rounds <n>',
      'label consistency k-NN: repeat the rule on the rows not yet flagged, up to n rounds (repeated editing)',
      '1',
    );
}

/** The k-NN options these flags ask for. */
export function parseLabelKnnFlags(flags: LabelKnnFlags): { k: number; rounds: number } {
  return {
    k: parsePositiveInt('--label-k', flags.labelK ?? '10'),
    rounds: parsePositiveInt('--label-rounds', flags.labelRounds ?? '1'),
  };
}

/** --reclassification-epochs, if given. */
export function parseReclassificationEpochs(flags: ClusteringFlags): number | undefined {
  return flags.reclassificationEpochs === undefined
    ? undefined
    : parsePositiveInt('--reclassification-epochs', flags.reclassificationEpochs);
}

export interface PoisonDefenseHookOptions {
  onProgress?: (message: string) => void;
  detectorOptions?: PoisonDetectorOptions;
  /** Recipe of exclusionary reclassification's models (default: the victim's). */
  reclassificationTrainer?: VictimTrainer;
}

/** Checks the names and returns an `afterVictim` hook for runPoisoning. */
export function poisonDefenseHook(
  names: string,
  o: PoisonDefenseHookOptions = {},
): (ctx: VictimContext) => Promise<Record<string, number>> {
  const detectors = parsePoisonDetectors(names);
  const { onProgress } = o;
  return async (ctx) => {
    const share = largestClassPoisonShare(ctx.poisoned.train.y, ctx.poisoned.poisonIndices);
    const rows = await defendAgainstPoison({
      poisoned: ctx.poisoned,
      trainVictim: ctx.trainVictim,
      evaluate: ctx.measure,
      detectors,
      ...(share > 0 ? { expectedPoisonFraction: Math.min(0.5, share) } : {}),
      seed: ctx.seed,
      poisonedModel: ctx.victim,
      ...(o.detectorOptions ? { detectorOptions: o.detectorOptions } : {}),
      ...(o.reclassificationTrainer ? { reclassificationTrainer: o.reclassificationTrainer } : {}),
      ...(onProgress ? { onProgress } : {}),
    });
    const columns: Record<string, number> = {};
    for (const row of rows) {
      const p = DEFENSE_PREFIX[row.method as keyof typeof DEFENSE_PREFIX] ?? row.method;
      columns[`${p}Precision`] = row.precision;
      columns[`${p}Recall`] = row.recall;
      columns[`${p}Flagged`] = row.flaggedFraction;
      columns[`${p}CleanAccuracy`] = row.cleanAccuracy;
      columns[`${p}AttackSuccessRate`] = row.attackSuccessRate;
    }
    return columns;
  };
}
