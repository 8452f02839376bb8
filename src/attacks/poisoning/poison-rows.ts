/**
 * Row bookkeeping shared by the poisoning attacks: how many rows a fraction buys, which rows are
 * eligible, seeded choice among them, and relabelled copies of image, tabular or text data.
 */
import { AegisInputError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { type Dataset, take } from '../../data/dataset.js';
import { type TextDataset, takeTexts } from '../../data/text-dataset.js';
import { isTextData, type PoisonableData } from './poisoning-attack.js';

export function rowCount(data: PoisonableData): number {
  return data.y.length;
}

/** Checks one poison fraction: a finite number in [0, 1). */
export function checkFraction(fraction: number, what = 'poison fraction'): number {
  if (!(Number.isFinite(fraction) && fraction >= 0 && fraction < 1)) {
    throw new AegisInputError(`${what} ${fraction} is outside [0, 1)`);
  }
  return fraction;
}

/** Rows a fraction of `n` buys: rounded, and at least one when the fraction is positive. */
export function countFor(fraction: number, n: number): number {
  if (fraction === 0) return 0;
  return Math.max(1, Math.round(fraction * n));
}

/** Checks a class index against the data's classes; `flag` names it in the message. */
export function checkClass(k: number, classNames: readonly string[], flag: string): number {
  if (!(Number.isInteger(k) && k >= 0 && k < classNames.length)) {
    throw new AegisInputError(
      `${flag} ${k} is not a class of the data (0 … ${classNames.length - 1}: ${classNames.join(', ')})`,
    );
  }
  return k;
}

/** Row indices whose label satisfies `keep`, ascending. */
export function rowsWhere(y: Int32Array, keep: (label: number, i: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < y.length; i++) if (keep(y[i] as number, i)) out.push(i);
  return out;
}

/**
 * `count` of `candidates`, chosen by a seeded shuffle and returned ascending. The same seed shuffles
 * the same candidates the same way, so a smaller count picks a subset of a larger one's rows.
 */
export function pickRows(candidates: readonly number[], count: number, rng: Rng, what: string): Int32Array {
  if (count > candidates.length) {
    throw new AegisInputError(`${what}: needs ${count} rows but only ${candidates.length} are eligible`);
  }
  const order = rng.permutation(candidates.length);
  const chosen = Int32Array.from(order.subarray(0, count), (j) => candidates[j] as number);
  return chosen.sort();
}

/** A copy of the data with new labels (same rows). */
export function withLabels<D extends PoisonableData>(data: D, y: Int32Array): D {
  if (isTextData(data)) return { ...data, texts: [...data.texts], y } as D;
  return { ...data, x: (data as Dataset).x.slice(), y } as D;
}

/** The rows at `indices` (either kind of data). */
export function takeRows<D extends PoisonableData>(data: D, indices: ArrayLike<number>): D {
  return (isTextData(data) ? takeTexts(data as TextDataset, indices) : take(data as Dataset, indices)) as D;
}
