// Label flipping: Biggio, Nelson & Laskov, "Support Vector Machines Under Adversarial Label Noise", ACML 2011 (random and targeted flips).
/**
 * Two label-flipping attacks; inputs are never touched, only labels.
 *
 * - random: `fraction` of all training rows, chosen uniformly, each get a uniformly random OTHER
 *   label. An availability attack: it aims at accuracy in general, not at one class. Its attack
 *   success rate is the share of test rows that the clean-data victim classifies correctly and the
 *   poisoned victim does not ("errors caused by the poison"), so errors both victims make are not
 *   counted. Every row also reports `accuracyDrop` (clean-data victim accuracy − poisoned accuracy).
 * - targeted (class pairs source→target, e.g. 3:5,7:1): for each pair, `fraction` of the training
 *   rows OF THE SOURCE CLASS are relabelled as the target (so `poisonFraction`, measured over all
 *   training rows, is smaller; `sourceFraction` repeats the requested share). Attack success rate:
 *   of the test rows of a source class, the share the victim classifies as that pair's target;
 *   `baselineConfusion` is the same share for the clean-data victim.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { checkClass, countFor, pickRows, rowCount, rowsWhere, withLabels } from './poison-rows.js';
import type { PoisonableData, PoisoningAttack, PoisonTrial } from './poisoning-attack.js';

export const LABEL_FLIP_CITATION =
  'Biggio, Nelson & Laskov, "Support Vector Machines Under Adversarial Label Noise", ACML 2011 (label flipping)';

export type FlipPair = [source: number, target: number];

export type LabelFlipOptions = { mode: 'random' } | { mode: 'targeted'; pairs: FlipPair[] };

/** Reads '3:5,7:1' (source:target class pairs). */
export function parseFlipPairs(text: string): FlipPair[] {
  const pairs = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((part): FlipPair => {
      const m = /^(\d+)\s*:\s*(\d+)$/.exec(part);
      if (!m) throw new AegisInputError(`class pair '${part}' must be written source:target, e.g. 3:5`);
      return [Number(m[1]), Number(m[2])];
    });
  if (pairs.length === 0) throw new AegisInputError(`no class pairs in '${text}'`);
  return pairs;
}

/** Pairs must name classes of the data, differ within a pair, and use each source once. */
export function checkFlipPairs(pairs: readonly FlipPair[], classNames: readonly string[]): void {
  if (pairs.length === 0) throw new AegisInputError('targeted label flipping needs at least one source:target pair');
  const sources = new Set<number>();
  for (const [s, t] of pairs) {
    checkClass(s, classNames, 'source class');
    checkClass(t, classNames, 'target class');
    if (s === t) throw new AegisInputError(`class pair ${s}:${t} flips a class to itself`);
    if (sources.has(s)) throw new AegisInputError(`source class ${s} appears in two pairs`);
    sources.add(s);
  }
}

/** Random flipping: `fraction` of all rows get a uniformly random other label. */
export function flipRandom(
  train: PoisonableData,
  fraction: number,
  seed: number,
): { data: PoisonableData; poisonIndices: Int32Array } {
  const k = train.classNames.length;
  if (k < 2) throw new AegisInputError('label flipping needs at least two classes');
  const rng = new Rng(seed);
  const all = rowsWhere(train.y, () => true);
  const chosen = pickRows(all, countFor(fraction, rowCount(train)), new Rng(rng.fork()), `label flip at ${fraction}`);
  const y = Int32Array.from(train.y);
  for (const r of chosen) {
    const other = rng.int(k - 1);
    y[r] = other >= (y[r] as number) ? other + 1 : other;
  }
  return { data: withLabels(train, y), poisonIndices: chosen };
}

/** Targeted flipping: per pair, `fraction` of the source rows relabelled as the target. */
export function flipPairs(
  train: PoisonableData,
  pairs: readonly FlipPair[],
  fraction: number,
  seed: number,
): { data: PoisonableData; poisonIndices: Int32Array } {
  const rng = new Rng(seed);
  const y = Int32Array.from(train.y);
  const poisoned: number[] = [];
  for (const [source, target] of pairs) {
    const rows = rowsWhere(train.y, (label) => label === source);
    const chosen = pickRows(rows, countFor(fraction, rows.length), new Rng(rng.fork()), `flip ${source}:${target}`);
    for (const r of chosen) {
      y[r] = target;
      poisoned.push(r);
    }
  }
  return { data: withLabels(train, y), poisonIndices: Int32Array.from(poisoned).sort() };
}

function randomTrial(data: PoisonableData, poisonIndices: Int32Array): PoisonTrial {
  return {
    data,
    poisonIndices,
    async measure({ test, cleanPredictions, baselinePredictions }) {
      let eligible = 0;
      let hits = 0;
      for (let i = 0; i < test.y.length; i++) {
        if (baselinePredictions[i] !== test.y[i]) continue;
        eligible++;
        if (cleanPredictions[i] !== test.y[i]) hits++;
      }
      return { hits, eligible };
    },
  };
}

function targetedTrial(
  data: PoisonableData,
  poisonIndices: Int32Array,
  pairs: readonly FlipPair[],
  fraction: number,
): PoisonTrial {
  const targetOf = new Map(pairs);
  const targets = new Set(pairs.map(([, t]) => t));
  return {
    data,
    poisonIndices,
    info: { sourceFraction: fraction },
    ...(targets.size === 1 ? { targetClass: pairs[0]?.[1] } : {}),
    async measure({ test, cleanPredictions, baselinePredictions }) {
      let eligible = 0;
      let hits = 0;
      let before = 0;
      for (let i = 0; i < test.y.length; i++) {
        const target = targetOf.get(test.y[i] as number);
        if (target === undefined) continue;
        eligible++;
        if (cleanPredictions[i] === target) hits++;
        if (baselinePredictions[i] === target) before++;
      }
      return { hits, eligible, extra: { baselineConfusion: eligible ? before / eligible : 0 } };
    },
  };
}

/** Random or targeted label flipping for runPoisoning. */
export function labelFlip(opts: LabelFlipOptions): PoisoningAttack {
  const targeted = opts.mode === 'targeted';
  const pairs = targeted ? opts.pairs : [];
  const pairText = pairs.map(([s, t]) => `${s}→${t}`).join(', ');
  return {
    name: targeted ? 'label-flip-targeted' : 'label-flip-random',
    title: targeted ? `Targeted label flipping (${pairText})` : 'Random label flipping',
    citation: LABEL_FLIP_CITATION,
    atlas: 'AML.T0020',
    access: 'labels',
    mitigations: ['AML.M0007', 'AML.M0025'],
    knowledge: (fraction) =>
      targeted
        ? `the training labels: relabels ${(100 * fraction).toFixed(1)}% of the training rows of each source class (${pairText}); no access to the trained model`
        : `the training labels: relabels ${(100 * fraction).toFixed(1)}% of the training rows at random; no access to the trained model`,
    check(train) {
      if (targeted) checkFlipPairs(pairs, train.classNames);
      else if (train.classNames.length < 2) throw new AegisInputError('label flipping needs at least two classes');
    },
    async craft(train, fraction, seed) {
      if (!targeted) {
        const { data, poisonIndices } = flipRandom(train, fraction, seed);
        return [randomTrial(data, poisonIndices)];
      }
      const { data, poisonIndices } = flipPairs(train, pairs, fraction, seed);
      return [targetedTrial(data, poisonIndices, pairs, fraction)];
    },
  };
}
