import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import {
  kolmogorovSurvival,
  ks2Sample,
  ksAsymptoticPValue,
  ksExactPValue,
  ksStatisticSorted,
} from '../../src/monitoring/ks.js';

// Reference values: SciPy 1.17.1, scipy.stats.ks_2samp(a, b, method='exact') and scipy.stats.kstwobign.sf.
const A = [
  0.61, 0.29, 0.06, 0.59, -1.73, -0.74, 0.51, -0.56, 0.39, 1.64, 0.05, -0.06, 0.64, -0.82, 0.37, 1.77, 1.09, -1.28,
  2.36, 1.31, 1.05, -0.32, -0.4, 1.06, -2.47,
];
const B = [
  2.2, 1.66, 1.38, 0.2, 0.36, 0.0, 0.96, 1.56, 0.44, 1.5, -0.3, 0.66, 2.31, 3.29, -0.27, -0.37, 0.38, 0.7, 0.19, -0.15,
  -0.09,
];

function close(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${what}: ${actual} vs ${expected} (rel ${rel})`);
}

/** Deterministic well-spread samples (golden-ratio sequences), identical in Python and JavaScript. */
function golden(n: number, step: number, power = 1): number[] {
  return Array.from({ length: n }, (_, k) => (((k + 1) * step) % 1) ** power);
}

describe('two-sample Kolmogorov-Smirnov', () => {
  it('matches scipy ks_2samp exactly for small samples (statistic and exact p-value)', () => {
    const r = ks2Sample(A, B);
    assert.equal(r.method, 'exact');
    assert.equal(r.numerator, 147); // D = 147 / (25·21) = 0.28
    close(r.statistic, 0.28, 1e-12, 'D');
    close(r.pValue, 0.2665635270684639, 1e-10, 'p');
    // Symmetric in the two samples.
    close(ks2Sample(B, A).pValue, r.pValue, 1e-12, 'p swapped');
  });

  it('steps over ties together (scipy: D 0.5714, p 0.0979)', () => {
    const r = ks2Sample([1, 2, 2, 3, 4, 5, 5, 5, 6], [2, 3, 3, 7, 8, 8, 9]);
    close(r.statistic, 4 / 7, 1e-12, 'D');
    close(r.pValue, 0.0979020979020979, 1e-10, 'p');
  });

  it('gives the exact tail for fully separated samples: p = 2/C(10,5)', () => {
    const r = ks2Sample([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
    assert.equal(r.statistic, 1);
    close(r.pValue, 2 / 252, 1e-12, 'p');
  });

  it('keeps relative precision for small exact p-values (scipy: 1.2016e-4)', () => {
    const a = Array.from({ length: 100 }, (_, i) => i / 100);
    const b = Array.from({ length: 100 }, (_, j) => j / 100 + 0.3);
    const r = ks2Sample(a, b);
    assert.equal(r.method, 'exact');
    close(r.statistic, 0.31, 1e-12, 'D');
    close(r.pValue, 0.00012016164291946694, 1e-8, 'p');
  });

  it('uses the Stephens-corrected asymptotic p-value for large samples, within 2% of the exact one (7% at p ≈ 4e-5)', () => {
    // scipy exact: D 0.100833, p 0.0576761; D 0.175833, p 4.31544e-5.
    const r = ks2Sample(golden(400, 0.6180339887498949), golden(300, 0.7548776662466927, 1.3));
    assert.equal(r.method, 'asymptotic');
    close(r.statistic, 0.10083333333333333, 1e-12, 'D');
    close(r.pValue, 0.05767612063140621, 0.02, 'p');
    const tail = ks2Sample(golden(400, 0.6180339887498949), golden(300, 0.7548776662466927, 1.6));
    close(tail.statistic, 0.17583333333333334, 1e-12, 'D tail');
    close(tail.pValue, 4.3154441642725314e-5, 0.07, 'p tail'); // Stephens: 4.04e-5
  });

  it('computes the Kolmogorov survival function (scipy kstwobign.sf)', () => {
    const cases: [number, number][] = [
      [0.5, 0.963945244],
      [1.0, 0.269999672],
      [1.36, 0.0494858768],
      [1.63, 0.00984636489],
      [2.0, 0.000670925256],
      [3.0, 3.04599595e-8],
    ];
    for (const [lambda, q] of cases) close(kolmogorovSurvival(lambda), q, 1e-7, `Q(${lambda})`);
    assert.equal(kolmogorovSurvival(0), 1);
    // Both series agree where they switch over.
    close(kolmogorovSurvival(1.1799999), kolmogorovSurvival(1.1800001), 1e-5, 'continuity at 1.18');
  });

  it('returns p = 1 for identical samples and rejects empty ones', () => {
    assert.equal(ks2Sample([1, 2, 3], [3, 2, 1]).pValue, 1);
    assert.equal(ksExactPValue(0, 5, 5), 1);
    assert.throws(() => ksStatisticSorted([], [1]), AegisInputError);
    assert.throws(() => ks2Sample([1, Number.NaN], [1]), /not finite/);
  });

  it('p-value falls as D grows for fixed sample sizes', () => {
    assert.ok(ksAsymptoticPValue(0.05, 1000, 500) > ksAsymptoticPValue(0.1, 1000, 500));
    assert.ok(ksAsymptoticPValue(0.1, 1000, 500) > ksAsymptoticPValue(0.2, 1000, 500));
  });
});
