import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildReport } from '../../src/report/build-report.js';
import { formatRowsTable, formatTable } from '../../src/report/print-table.js';
import { evasionResult, reportInput } from './fixtures.js';

/** Column spans [start, end) from the dashed rule under the header. */
function spans(rule: string): [number, number][] {
  return [...rule.matchAll(/-+/g)].map((m) => [m.index, m.index + m[0].length]);
}

describe('formatTable', () => {
  it('pads columns to the widest cell, numbers right-aligned', () => {
    const text = formatTable(
      ['name', 'n'],
      [
        ['a', '1'],
        ['longer', '1234'],
      ],
      ['left', 'right'],
    );
    assert.equal(text, ['name       n', '------  ----', 'a          1', 'longer  1234'].join('\n'));
  });
});

describe('formatRowsTable', () => {
  it('lists every row of every attack in aligned columns', () => {
    const attacks = [evasionResult('fgsm', 'gradients'), evasionResult('square-attack', 'scores')];
    const text = formatRowsTable(attacks);
    const lines = text.split('\n');
    assert.equal(lines.length, 2 + 6);
    const header = lines[0];
    for (const col of ['attack', 'eps', 'accuracy', 'success', 'mean pert.', 'queries', 's', 'gradients']) {
      assert.ok(header.split(/\s{2,}/).includes(col), `${col} in ${header}`);
    }
    const cols = spans(lines[1]);
    assert.equal(cols.length, 8);
    for (const line of lines.slice(2)) {
      // Every gap between columns is blank, and the last (right-aligned) column ends flush.
      for (let c = 1; c < cols.length; c++) assert.equal(line.slice(cols[c - 1][1], cols[c][0]), '  ', line);
      assert.equal(line.length, cols[cols.length - 1][1], line);
    }
    const cell = (line: string, c: number) => line.slice(cols[c][0], cols[c][1]);
    assert.equal(cell(lines[2], 0).trim(), 'fgsm');
    assert.equal(cell(lines[2], 2), '   87.7%'); // right-aligned under 'accuracy'
    assert.equal(cell(lines[2], 3).trim(), '12.3%');
    assert.equal(cell(lines[7], 0), 'square-attack');
    assert.equal(cell(lines[7], 5).trim(), '37035');
    assert.equal(cell(lines[7], 6).trim(), '3.70');
    assert.equal(cell(lines[7], 7).trim(), '-'); // square has no gradient count
  });

  it('takes report attacks as well as raw results, with extra metrics as columns', () => {
    const report = buildReport(reportInput([evasionResult('pgd', 'gradients')]));
    const text = formatRowsTable([...report.attacks, { name: 'mia', rows: [{ auc: 0.71 }] }]);
    const lines = text.split('\n');
    assert.match(lines[0], /attack\s+eps\s+accuracy\s+success\s+mean pert\.\s+queries\s+s\s+gradients\s+auc$/);
    assert.match(lines[2], /^pgd\s+0\.05\s+87\.7%/);
    assert.match(lines.at(-1) as string, /^mia\s+-\s+-.*\s0\.71$/);
  });

  it('leaves out standard columns that no row fills', () => {
    const text = formatRowsTable([
      { name: 'mi-face', rows: [{ identificationAccuracy: 0.95, ssim: 0.15, queries: 0, seconds: 37 }] },
    ]);
    const header = text.split('\n')[0] ?? '';
    assert.match(header, /^attack\s+queries\s+s\s+identificationAccuracy\s+ssim$/);
    assert.doesNotMatch(header, /eps|accuracy\s+success/);
  });
});
