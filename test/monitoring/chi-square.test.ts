import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import { chiSquareContingency, chiSquareHomogeneity } from '../../src/monitoring/chi-square.js';
import { chiSquareSurvival, gammaP, gammaQ, lnGamma } from '../../src/monitoring/incomplete-gamma.js';

function close(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${what}: ${actual} vs ${expected}`);
}

describe('chi-square', () => {
  it('χ² survival matches scipy.stats.chi2.sf, deep into the tail', () => {
    close(chiSquareSurvival(3.84, 1), 0.0500435212, 1e-8, 'sf(3.84, 1)');
    close(chiSquareSurvival(10, 5), 0.0752352461, 1e-8, 'sf(10, 5)');
    close(chiSquareSurvival(100, 9), 1.57351763e-17, 1e-7, 'sf(100, 9)');
    close(chiSquareSurvival(1000, 20), 3.90479664e-199, 1e-6, 'sf(1000, 20)');
    assert.equal(chiSquareSurvival(0, 3), 1);
    close(lnGamma(10), Math.log(362880), 1e-14, 'lnΓ(10)');
    close(gammaP(2.5, 1.7) + gammaQ(2.5, 1.7), 1, 1e-14, 'P + Q');
  });

  it('reproduces the textbook 3×4 table (Wikipedia "Chi-squared test": occupations by neighbourhood)', () => {
    // χ² ≈ 24.6 on 6 df, p ≈ 0.0004; scipy chi2_contingency: 24.5712028585826, p 4.098425861096696e-4.
    const r = chiSquareContingency([
      [90, 60, 104, 95],
      [30, 50, 51, 20],
      [30, 40, 45, 35],
    ]);
    assert.equal(r.df, 6);
    close(r.statistic, 24.5712028585826, 1e-12, 'χ²');
    close(r.pValue, 4.098425861096696e-4, 1e-8, 'p');
  });

  it('tests reference vs current label counts as a 2×K table (scipy: 20.6776, p 0.014161)', () => {
    const r = chiSquareHomogeneity(
      [120, 95, 130, 80, 100, 110, 90, 105, 85, 85],
      [30, 20, 25, 10, 22, 40, 15, 18, 12, 8],
    );
    assert.equal(r.df, 9);
    assert.equal(r.cells.length, 10);
    close(r.statistic, 20.677594342215073, 1e-12, 'χ²');
    close(r.pValue, 0.01416148434642169, 1e-8, 'p');
  });

  it('pools sparse categories until every expected count reaches 5', () => {
    // Expected current counts of categories 3 and 4 are 3.9 and 1.1: pooled into one cell (expected 5.0);
    // scipy on [[500,300,150,50],[40,30,25,5]]: 7.566137566137568, p 0.0558832262813383, 3 df.
    const r = chiSquareHomogeneity([500, 300, 150, 40, 10], [40, 30, 25, 3, 2]);
    assert.deepEqual(r.cells, [[3, 4], [2], [1], [0]]);
    assert.equal(r.df, 3);
    close(r.minExpected, 5, 1e-12, 'min expected');
    close(r.statistic, 7.566137566137568, 1e-12, 'χ²');
    close(r.pValue, 0.0558832262813383, 1e-8, 'p');
  });

  it('drops categories seen in neither sample and has no test with one cell', () => {
    const a = chiSquareHomogeneity([50, 0, 50], [10, 0, 30]);
    assert.equal(a.df, 1);
    assert.deepEqual(a.cells, [[0], [2]]);
    const b = chiSquareHomogeneity([3, 1], [1, 1]); // too sparse for even two cells
    assert.equal(b.df, 0);
    assert.equal(b.pValue, 1);
  });

  it('rejects mismatched or negative counts', () => {
    assert.throws(() => chiSquareHomogeneity([1, 2], [1, 2, 3]), AegisInputError);
    assert.throws(
      () =>
        chiSquareContingency([
          [1, -2],
          [3, 4],
        ]),
      /not a count/,
    );
  });
});
