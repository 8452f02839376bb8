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
import type { VictimContext } from '../attacks/poisoning/run-poisoning.js';
import { type POISON_DETECTOR_NAMES, parsePoisonDetectors } from '../defenses/poison/registry.js';
import { defendAgainstPoison } from '../defenses/poison/run-poison-defense.js';

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

/** Checks the names and returns an `afterVictim` hook for runPoisoning. */
export function poisonDefenseHook(
  names: string,
  onProgress?: (message: string) => void,
): (ctx: VictimContext) => Promise<Record<string, number>> {
  const detectors = parsePoisonDetectors(names);
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
