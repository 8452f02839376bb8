// BadNets: Gu, Dolan-Gavitt & Garg, "BadNets: Identifying Vulnerabilities in the Machine Learning Model Supply Chain", arXiv:1708.06733 (2017).
/**
 * The adversary takes `fraction` of the training rows from classes other than the target, stamps
 * the trigger on them and relabels them as the target (rows are replaced, so the training set keeps
 * its size). A victim that learns the shortcut classifies clean inputs as usual and any input
 * carrying the trigger as the target.
 *
 * Attack success rate: of the test rows whose true class is NOT the target, the share the victim
 * classifies as the target once the trigger is applied. `targetRateWithoutTrigger` is the same share
 * on the untouched rows (the floor the trigger is measured against).
 */
import { Rng } from '../../core/rng.js';
import { type Dataset, take } from '../../data/dataset.js';
import { checkClass, countFor, pickRows, rowCount, rowsWhere, takeRows, withLabels } from './poison-rows.js';
import type { PoisonableData, PoisoningAttack, PoisonTrial } from './poisoning-attack.js';
import { isTextData } from './poisoning-attack.js';
import { applyTrigger, checkTrigger, describeTrigger, type Trigger } from './triggers.js';

export const BADNETS_CITATION =
  'Gu, Dolan-Gavitt & Garg, "BadNets: Identifying Vulnerabilities in the Machine Learning Model Supply Chain", arXiv:1708.06733, 2017';

export interface BadNetsOptions {
  /** The class triggered inputs should get. */
  targetClass: number;
  trigger: Trigger;
  /** Valid input domain of numeric data. Default [0, 1]. */
  inputRange?: [number, number];
}

/** Training data with the trigger on `fraction` of the non-target rows, relabelled as the target. */
export function poisonBadNets(
  train: PoisonableData,
  fraction: number,
  seed: number,
  opts: BadNetsOptions,
): { data: PoisonableData; poisonIndices: Int32Array } {
  const rng = new Rng(seed);
  const candidates = rowsWhere(train.y, (label) => label !== opts.targetClass);
  const count = countFor(fraction, rowCount(train));
  const chosen = pickRows(candidates, count, new Rng(rng.fork()), `BadNets at poison fraction ${fraction}`);
  const triggered = applyTrigger(train, opts.trigger, {
    indices: chosen,
    seed: rng.fork(),
    inputRange: opts.inputRange,
  });
  const y = Int32Array.from(train.y);
  for (const r of chosen) y[r] = opts.targetClass;
  return { data: withLabels(triggered, y), poisonIndices: chosen };
}

/** A BadNets backdoor attack for runPoisoning. */
export function badNets(opts: BadNetsOptions): PoisoningAttack {
  const { targetClass, trigger } = opts;
  // Test rows get their own trigger positions (text), fixed per run so every fraction sees the same set.
  const testSeed = 0x5eed;
  let described = '';
  return {
    name: 'badnets',
    title: `BadNets backdoor (trigger inserted at test time: AML.T0043.004 Insert Backdoor Trigger)`,
    citation: BADNETS_CITATION,
    atlas: 'AML.T0018',
    access: 'labels',
    mitigations: ['AML.M0007', 'AML.M0025', 'AML.M0008', 'AML.M0014'],
    knowledge: (fraction) =>
      `the training pipeline: controls ${(100 * fraction).toFixed(1)}% of the training rows (triggered with ${described || 'a trigger'} and relabelled as class ${targetClass}); no access to the trained model, whose decisions it sees on triggered inputs at test time (AML.T0043.004)`,
    check(train, test) {
      checkClass(targetClass, train.classNames, 'target class');
      checkTrigger(trigger, train, opts.inputRange);
      checkTrigger(trigger, test, opts.inputRange);
      described = describeTrigger(trigger, train, opts.inputRange);
    },
    async craft(train, fraction, seed): Promise<PoisonTrial[]> {
      const { data, poisonIndices } = poisonBadNets(train, fraction, seed, opts);
      return [
        {
          data,
          poisonIndices,
          targetClass,
          async measure({ test, predict, cleanPredictions }) {
            const eligible = rowsWhere(test.y, (label) => label !== targetClass);
            if (eligible.length === 0) return { hits: 0, eligible: 0 };
            const triggered = applyTrigger(takeRows(test, eligible), trigger, {
              seed: testSeed,
              inputRange: opts.inputRange,
            });
            const predicted = await predict(triggered);
            let hits = 0;
            let before = 0;
            eligible.forEach((r, i) => {
              if (predicted[i] === targetClass) hits++;
              if (cleanPredictions[r] === targetClass) before++;
            });
            return { hits, eligible: eligible.length, extra: { targetRateWithoutTrigger: before / eligible.length } };
          },
          examples(test, count) {
            if (isTextData(test)) return undefined;
            const rows = rowsWhere(test.y, (label) => label !== targetClass).slice(0, count);
            const first = take(test as Dataset, rows);
            return {
              first,
              second: applyTrigger(first, trigger, { inputRange: opts.inputRange }),
              labels: first.y,
              captions: {
                clean: 'clean',
                adversarial: 'triggered',
                legend: `Test inputs without and with the trigger (${described}); predictions are the backdoored victim's (target: ${test.classNames[targetClass] ?? targetClass}).`,
              },
            };
          },
        },
      ];
    },
  };
}
