/**
 * A fixed-width plain-text table of attack rows for the CLI: text columns left-aligned,
 * numbers right-aligned, no dependency.
 */
import type { ReportRow } from './schema.js';

/** A report attack (`name`) or a raw attack result (`attack`). */
export type TableAttack = { rows: readonly object[] } & ({ name: string } | { attack: string });

type Align = 'left' | 'right';

/** Pads every cell to its column's width; `align` per column (default: left). */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]) =>
    widths
      .map((w, c) => {
        const cell = cells[c] ?? '';
        return align[c] === 'right' ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function sig(x: number, digits = 4): string {
  if (Number.isInteger(x)) return String(x);
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return x.toExponential(digits - 1);
  return String(Number(x.toPrecision(digits)));
}

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

const COLUMNS: ReadonlyArray<{ key: string; label: string; format: (x: number) => string }> = [
  { key: 'eps', label: 'eps', format: (x) => sig(x, 5) },
  { key: 'accuracy', label: 'accuracy', format: percent },
  { key: 'successRate', label: 'success', format: percent },
  { key: 'meanPerturbation', label: 'mean pert.', format: (x) => sig(x) },
  { key: 'queries', label: 'queries', format: (x) => sig(x) },
  { key: 'seconds', label: 's', format: (x) => x.toFixed(2) },
];

/**
 * attack | eps | accuracy | success | mean pert. | queries | s, plus any other numeric row
 * keys (auc, fidelity, …) as extra columns; '-' where a row lacks a value. Standard columns
 * no row has are omitted.
 */
export function formatRowsTable(attacks: readonly TableAttack[]): string {
  const rowsOf = (a: TableAttack) => a.rows as readonly ReportRow[];
  const extras = new Set<string>();
  for (const a of attacks) {
    for (const row of rowsOf(a)) {
      for (const [k, v] of Object.entries(row))
        if (typeof v === 'number' && !COLUMNS.some((c) => c.key === k)) extras.add(k);
    }
  }
  // Standard columns no row fills (e.g. eps for inversion) are left out rather than shown as '-'.
  const used = COLUMNS.filter((c) => attacks.some((a) => rowsOf(a).some((row) => typeof row[c.key] === 'number')));
  const columns = [...used, ...[...extras].map((key) => ({ key, label: key, format: (x: number) => sig(x) }))];
  const body = attacks.flatMap((a) => {
    const name = 'name' in a ? a.name : a.attack;
    return rowsOf(a).map((row) => [
      name,
      ...columns.map((c) => {
        const v = row[c.key];
        return typeof v === 'number' ? c.format(v) : '-';
      }),
    ]);
  });
  return formatTable(['attack', ...columns.map((c) => c.label)], body, ['left', ...columns.map((): Align => 'right')]);
}
