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
 * The defender's poison budget (expectedPoisonFraction) is the row's actual poisoned share when
 * positive (capped at 0.5), else the detectors' default: an upper bound a defender is assumed to know.
 */
import type { VictimContext } from '../attacks/poisoning/run-poisoning.js';
import { type POISON_DETECTOR_NAMES, parsePoisonDetectors } from '../defenses/poison/registry.js';
import { defendAgainstPoison } from '../defenses/poison/run-poison-defense.js';

export const DEFENSE_PREFIX: Readonly<Record<(typeof POISON_DETECTOR_NAMES)[number], string>> = {
  'spectral-signatures': 'ss',
  'activation-clustering': 'ac',
  'label-consistency': 'lc',
};

/** Checks the names and returns an `afterVictim` hook for runPoisoning. */
export function poisonDefenseHook(
  names: string,
  onProgress?: (message: string) => void,
): (ctx: VictimContext) => Promise<Record<string, number>> {
  const detectors = parsePoisonDetectors(names);
  return async (ctx) => {
    const n = ctx.poisoned.train.y.length;
    const share = n ? ctx.poisoned.poisonIndices.length / n : 0;
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
