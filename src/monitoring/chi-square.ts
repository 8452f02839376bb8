// Pearson's χ² test of homogeneity (Pearson 1900) for predicted-label counts, with sparse cells pooled until every
// expected count is at least 5 (Cochran 1954, Biometrics 10:417-451).
import { AegisInputError } from '../core/errors.js';
import { chiSquareSurvival } from './incomplete-gamma.js';

export interface ChiSquareResult {
  statistic: number;
  /** Degrees of freedom: (rows − 1)·(cells − 1) after pooling. */
  df: number;
  pValue: number;
}

/** Pearson's χ² on an r×c table of counts (no continuity correction). Rows or columns summing to 0 are dropped. */
export function chiSquareContingency(table: readonly (readonly number[])[]): ChiSquareResult {
  const cols = table[0]?.length ?? 0;
  for (const [r, row] of table.entries()) {
    if (row.length !== cols) throw new AegisInputError(`χ² table: row ${r} has ${row.length} cells, row 0 has ${cols}`);
    for (const [c, v] of row.entries()) {
      if (!(v >= 0) || !Number.isFinite(v))
        throw new AegisInputError(`χ² table: cell [${r}][${c}] = ${v} is not a count`);
    }
  }
  const rowTotals = table.map((row) => row.reduce((a, b) => a + b, 0));
  const colTotals = Array.from({ length: cols }, (_, c) => table.reduce((a, row) => a + (row[c] as number), 0));
  const total = rowTotals.reduce((a, b) => a + b, 0);
  const liveRows = rowTotals.filter((t) => t > 0).length;
  const liveCols = colTotals.filter((t) => t > 0).length;
  if (liveRows < 2 || liveCols < 2) return { statistic: 0, df: 0, pValue: 1 };
  let statistic = 0;
  for (const [r, row] of table.entries()) {
    for (let c = 0; c < cols; c++) {
      const expected = ((rowTotals[r] as number) * (colTotals[c] as number)) / total;
      if (expected > 0) statistic += ((row[c] as number) - expected) ** 2 / expected;
    }
  }
  const df = (liveRows - 1) * (liveCols - 1);
  return { statistic, df, pValue: chiSquareSurvival(statistic, df) };
}

export interface HomogeneityResult extends ChiSquareResult {
  /** Original categories in each tested cell (a cell of several categories was pooled). */
  cells: number[][];
  /** Smallest expected count among the tested cells. */
  minExpected: number;
}

/**
 * Do `reference` and `current` (counts per category, e.g. per predicted class) come from one distribution? A 2×K
 * test of homogeneity, so the reference's own sampling noise is accounted for. Categories whose smallest expected
 * count is below `minExpected` are pooled, smallest total first, into cells that reach it; categories seen in
 * neither sample are dropped.
 */
export function chiSquareHomogeneity(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  opts: { minExpected?: number } = {},
): HomogeneityResult {
  if (reference.length !== current.length) {
    throw new AegisInputError(`χ²: reference has ${reference.length} categories, current ${current.length}`);
  }
  const minExpected = opts.minExpected ?? 5;
  const ref = Array.from(reference);
  const cur = Array.from(current);
  const refTotal = ref.reduce((a, b) => a + b, 0);
  const curTotal = cur.reduce((a, b) => a + b, 0);
  const total = refTotal + curTotal;
  if (refTotal === 0 || curTotal === 0) return { statistic: 0, df: 0, pValue: 1, cells: [], minExpected: 0 };
  // A category's smallest expected count is min(row total)·column total / N: it needs a column total of `need`.
  const need = (minExpected * total) / Math.min(refTotal, curTotal);
  const order = ref
    .map((r, k) => ({ k, t: r + (cur[k] as number) }))
    .filter((c) => c.t > 0)
    .sort((a, b) => a.t - b.t || a.k - b.k);
  const groups: { ks: number[]; t: number }[] = [];
  let open: { ks: number[]; t: number } | undefined;
  for (const c of order) {
    if (open === undefined) open = { ks: [], t: 0 };
    open.ks.push(c.k);
    open.t += c.t;
    if (open.t >= need) {
      groups.push(open);
      open = undefined;
    }
  }
  if (open !== undefined) {
    // The leftover pool is still too sparse: fold it into the last full cell (or keep it if it is all there is).
    const last = groups.pop();
    groups.push(last ? { ks: [...last.ks, ...open.ks], t: last.t + open.t } : open);
  }
  const cells = groups.map((g) => g.ks.sort((a, b) => a - b));
  const sum = (counts: number[], ks: number[]) => ks.reduce((a, k) => a + (counts[k] as number), 0);
  const result = chiSquareContingency([cells.map((ks) => sum(ref, ks)), cells.map((ks) => sum(cur, ks))]);
  const smallest = Math.min(...groups.map((g) => g.t));
  return { ...result, cells, minExpected: (smallest * Math.min(refTotal, curTotal)) / total };
}
