import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  binCounts,
  binOf,
  PSI_EPSILON,
  populationStabilityIndex,
  psiFromCounts,
  quantileEdges,
} from '../../src/monitoring/psi.js';

const REF = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

describe('population stability index', () => {
  it('puts edges at reference order statistics and bins right-closed', () => {
    // Ranks ⌊k·9/5⌋ = 1, 3, 5, 7 → values 2, 4, 6, 8.
    assert.deepEqual(Array.from(quantileEdges(REF, 5)), [2, 4, 6, 8]);
    assert.equal(binOf(2, [2, 4, 6, 8]), 0); // (−∞, 2]
    assert.equal(binOf(2.5, [2, 4, 6, 8]), 1);
    assert.equal(binOf(99, [2, 4, 6, 8]), 4);
    assert.deepEqual(Array.from(binCounts(REF, [2, 4, 6, 8])), [2, 2, 2, 2, 2]);
  });

  it('merges tied quantiles instead of leaving reference bins empty', () => {
    const ref = [0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
    const edges = quantileEdges(ref, 5); // ranks 1,3,5,7 → 0,0,0,2; the maximum 4 is never an edge
    assert.deepEqual(Array.from(edges), [0, 2]);
    assert.deepEqual(Array.from(binCounts(ref, edges)), [6, 2, 2]);
    // A constant feature keeps one edge, so values above it land in a bin the reference never filled.
    assert.deepEqual(Array.from(quantileEdges([0, 0, 0], 10)), [0]);
  });

  it('matches a hand computation: PSI = 0.2·ln 1.5 + 0.2·ln 2', () => {
    // Current shares per bin .3 .2 .1 .1 .3 against .2 each.
    const psi = populationStabilityIndex(REF, [1, 1, 1, 3, 3, 5, 7, 9, 9, 9], { bins: 5 });
    assert.ok(Math.abs(psi - 0.2 * Math.log(1.5) - 0.2 * Math.log(2)) < 1e-12, `psi ${psi}`);
    assert.equal(populationStabilityIndex(REF, REF, { bins: 5 }), 0);
  });

  it('gives empty current bins the share 1e-4', () => {
    // Shares .5 .5 0 0 0: 2·(.3·ln 2.5) + 3·(1e-4 − .2)·ln(1e-4/.2) = 5.108035…
    const psi = populationStabilityIndex(REF, [1, 1, 1, 1, 1, 3, 3, 3, 3, 3], { bins: 5 });
    const expected = 2 * 0.3 * Math.log(2.5) + 3 * (PSI_EPSILON - 0.2) * Math.log(PSI_EPSILON / 0.2);
    assert.ok(Math.abs(psi - expected) < 1e-12, `psi ${psi} vs ${expected}`);
    assert.ok(Math.abs(expected - 5.108035) < 1e-6);
  });

  it('flags a shift of a constant feature through the epsilon bin', () => {
    // Reference all 0 → shares [1, ε]; current [.5, .5]: (.5−1)·ln .5 + (.5−ε)·ln(.5/ε) = 4.6043…
    const psi = populationStabilityIndex([0, 0, 0, 0], [0, 0, 0.2, 0.2]);
    assert.ok(Math.abs(psi - (-0.5 * Math.log(0.5) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4))) < 1e-12);
    assert.ok(psi > 4.6 && psi < 4.61);
  });

  it('is symmetric in the shares and zero when either sample is empty', () => {
    assert.equal(psiFromCounts([1, 2, 3], [0, 0, 0]), 0);
    const a = psiFromCounts([10, 20, 30], [30, 20, 10]);
    const b = psiFromCounts([30, 20, 10], [10, 20, 30]);
    assert.ok(Math.abs(a - b) < 1e-12);
  });
});
