import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { countPermutationsAtLeast, medianBandwidth, mmdKernel, mmdTest, selectKth } from '../../src/monitoring/mmd.js';

/** MMD²_u straight from the definition (Gretton et al. 2012, eq. 3). */
function bruteForceMmd2(x: number[][], y: number[][], sigma: number): number {
  const k = (a: number[], b: number[]) =>
    Math.exp(-a.reduce((s, v, i) => s + (v - (b[i] as number)) ** 2, 0) / (2 * sigma * sigma));
  const within = (s: number[][]) => {
    let t = 0;
    for (let i = 0; i < s.length; i++) for (let j = 0; j < s.length; j++) if (i !== j) t += k(s[i]!, s[j]!);
    return t / (s.length * (s.length - 1));
  };
  let cross = 0;
  for (const a of x) for (const b of y) cross += k(a, b);
  return within(x) + within(y) - (2 * cross) / (x.length * y.length);
}

function gaussianRows(rng: Rng, n: number, dim: number, shift = 0): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: dim }, () => rng.normal() + shift));
}

describe('MMD two-sample test', () => {
  it('computes MMD²_u by hand on a 1-D example with a fixed bandwidth', () => {
    const e = Math.exp;
    const expected = e(-0.5) + e(-0.5) - (2 * (e(-4.5) + e(-8) + e(-2) + e(-4.5))) / 4;
    const k = mmdKernel([0, 1], [3, 4], 1, 1);
    assert.ok(Math.abs(k.observed - expected) < 1e-12, `${k.observed} vs ${expected}`);
  });

  it('uses the median pairwise distance as bandwidth', () => {
    // Pooled 0, 1, 3, 4: distances 1, 1, 2, 3, 3, 4 → median 2.5.
    assert.equal(mmdKernel([0, 1], [3, 4], 1).bandwidth, 2.5);
  });

  it('finds the median distance by selection, as a full sort would', () => {
    const rng = new Rng(8);
    for (const n of [5, 6, 31]) {
      const d2 = new Float64Array(n * n);
      const dists: number[] = [];
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          const v = rng.int(20) ** 2; // ties on purpose
          d2[i * n + j] = v;
          d2[j * n + i] = v;
          dists.push(Math.sqrt(v));
        }
      }
      dists.sort((a, b) => a - b);
      const c = dists.length;
      const median =
        c % 2 ? (dists[(c - 1) / 2] as number) : ((dists[c / 2 - 1] as number) + (dists[c / 2] as number)) / 2;
      assert.equal(medianBandwidth(d2, n), median || 1, `n=${n}`);
    }
    const values = Float64Array.from([5, 1, 4, 1, 5, 9, 2, 6]);
    const sorted = [...values].sort((a, b) => a - b);
    for (let k = 0; k < values.length; k++) assert.equal(selectKth(values.slice(), k), sorted[k]);
  });

  it('agrees with the definition on random 3-D samples of unequal size', () => {
    const rng = new Rng(3);
    const x = gaussianRows(rng, 7, 3);
    const y = gaussianRows(rng, 5, 3, 0.5);
    const k = mmdKernel(x.flat(), y.flat(), 3);
    assert.ok(Math.abs(k.observed - bruteForceMmd2(x, y, k.bandwidth)) < 1e-12);
  });

  it('does not reject samples from one distribution and rejects a shifted one at p = 1/(B+1)', () => {
    const rng = new Rng(11);
    const same = mmdTest(gaussianRows(rng, 100, 8).flat(), gaussianRows(rng, 100, 8).flat(), 8, {
      rng: new Rng(1),
      permutations: 200,
    });
    assert.ok(same.pValue > 0.05, `same distribution p ${same.pValue}`);
    const shifted = mmdTest(gaussianRows(rng, 100, 8).flat(), gaussianRows(rng, 100, 8, 0.7).flat(), 8, {
      rng: new Rng(1),
      permutations: 200,
    });
    assert.equal(shifted.pValue, 1 / 201);
    assert.ok(shifted.mmd2 > 10 * Math.abs(same.mmd2));
  });

  it('is reproducible for a seed, and the identity split always counts', () => {
    const rng = new Rng(5);
    const x = gaussianRows(rng, 30, 4).flat();
    const y = gaussianRows(rng, 30, 4, 0.2).flat();
    const a = mmdTest(x, y, 4, { rng: new Rng(9), permutations: 100 });
    const b = mmdTest(x, y, 4, { rng: new Rng(9), permutations: 100 });
    assert.deepEqual(a, b);
    // With two rows per side, 1 of the 6 splits is the observed one or its mirror (same MMD²): p ≥ 1/3 on average.
    const tiny = mmdKernel([0, 0.1], [5, 5.1], 1);
    const hits = countPermutationsAtLeast(tiny, new Rng(2), 600);
    assert.ok(hits > 150 && hits < 250, `hits ${hits} of 600 (expect ~200)`);
  });

  it('rejects samples too small or of the wrong width', () => {
    assert.throws(() => mmdKernel([1], [1, 2], 1), AegisInputError);
    assert.throws(() => mmdKernel([1, 2, 3], [1, 2], 2), /multiples/);
  });
});
