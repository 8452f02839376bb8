import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { minSquaredDistance, PradaDetector } from '../../../src/gateway/extraction/prada.js';
import { jbdaLikeStream, naturalStream } from './streams.js';

const N = 400;

describe('PRADA detector (Juuti et al. 2019, Algorithm 1)', () => {
  test('d_min, the growing set and T_c = max(T_c, mean − std of D_{G_c}) follow Algorithm 1', () => {
    const det = new PradaDetector(1, { threshold: 0.9, minQueries: 3 });
    // First query of class 0: G_0 = {0}, D_{G_0} = {0}, no distance recorded.
    assert.ok(Number.isNaN(det.observe([0], 0)));
    assert.equal(det.snapshot().distances, 0);
    // 1 is 1 away; enters (1 > T = 0); D_{G_0} = {0, 1}: mean 0.5 − std 0.5 = 0 → T stays 0.
    assert.equal(det.observe([1], 0), 1);
    // 3 is 2 from 1; enters; D_{G_0} = {0, 1, 2}: T = 1 − √(2/3) ≈ 0.1835.
    assert.equal(det.observe([3], 0), 2);
    assert.equal(det.snapshot().growingSetRows, 3);
    // 3.1 is 0.1 from 3 ≤ T: recorded in D but does not enter G_0.
    assert.ok(Math.abs(det.observe([3.1], 0) - 0.1) < 1e-6);
    assert.equal(det.snapshot().growingSetRows, 3);
    // 3.25 is 0.25 from 3 (3.1 never entered) > T: enters.
    assert.ok(Math.abs(det.observe([3.25], 0) - 0.25) < 1e-6);
    assert.equal(det.snapshot().growingSetRows, 4);
    // Another class starts its own set; distances are per class.
    assert.ok(Number.isNaN(det.observe([100], 1)));
    assert.equal(det.observe([103], 1), 3);
    const snap = det.snapshot();
    assert.equal(snap.queries, 7);
    assert.equal(snap.distances, 5);
    // |D| ≥ minQueries = 3, so W has been computed.
    assert.ok(snap.w !== null && snap.w > 0 && snap.w <= 1);
  });

  test('no test before |D| reaches minQueries', () => {
    const s = naturalStream(60, 1);
    const det = new PradaDetector(s.rowSize, { threshold: 0.99, minQueries: 100 });
    det.observeBatch(s.rows, s.labels);
    assert.equal(det.w, null);
    assert.equal(det.alarmed, false);
  });

  test(`a JBDA-like stream (20 seeds, ±0.1 steps) raises the alarm within ${N} queries at δ 0.9`, () => {
    for (const seed of [1, 2, 3]) {
      const s = jbdaLikeStream(N, 20, 0.1, seed);
      const det = new PradaDetector(s.rowSize, { threshold: 0.9, minQueries: 100 });
      assert.equal(det.observeBatch(s.rows, s.labels), true, `seed ${seed}: W ${det.w}`);
      const snap = det.snapshot();
      assert.ok(snap.alarmAtQuery !== null && snap.alarmAtQuery <= N);
      assert.ok((snap.alarmW as number) < 0.9);
    }
  });

  test(`natural Fashion-MNIST test images do not raise it over the same ${N} queries (nor over 1000)`, () => {
    for (const seed of [1, 2, 3]) {
      for (const count of [N, 1000]) {
        const s = naturalStream(count, seed);
        const det = new PradaDetector(s.rowSize, { threshold: 0.9, minQueries: 100 });
        let minW = 1;
        for (let q = 0; q < count; q++) {
          det.observe(s.rows, s.labels[q] as number, q * s.rowSize);
          if (det.w !== null) minW = Math.min(minW, det.w);
        }
        assert.equal(det.alarmed, false, `seed ${seed}, ${count} queries: lowest W ${minW}`);
        assert.ok(minW > 0.9);
      }
    }
  });

  test('memory stays bounded: growing sets capped per class (FIFO), distance window capped', () => {
    const s = naturalStream(1000, 4);
    const det = new PradaDetector(s.rowSize, { threshold: 0.5, minQueries: 10, maxGrowingSetPerClass: 8, window: 300 });
    det.observeBatch(s.rows, s.labels);
    const snap = det.snapshot();
    assert.ok(snap.growingSetRows <= 8 * 10, `${snap.growingSetRows} rows`);
    assert.ok(snap.tested <= 300 && snap.tested > 250, `tested ${snap.tested}`);
    assert.equal(snap.distances, 990);
    // 10 classes · 8 rows · 784 floats, plus two windows of 300 doubles.
    assert.ok(snap.memoryBytes <= 10 * 8 * 784 * 4 + 2 * 300 * 8, `${snap.memoryBytes} bytes`);
  });

  test('rows with non-finite values are skipped, not recorded', () => {
    const det = new PradaDetector(2, { threshold: 0.9, minQueries: 3 });
    det.observe([0, 0], 0);
    assert.ok(Number.isNaN(det.observe([Number.NaN, 1], 0)));
    assert.equal(det.snapshot().distances, 0);
    assert.equal(det.observe([3, 4], 0), 5);
  });

  test('minSquaredDistance finds the nearest row', () => {
    const set = Float32Array.from([0, 0, 10, 10, 1, 2]);
    assert.equal(minSquaredDistance(set, 3, Float32Array.of(1, 1), 0, 2), 1);
    assert.equal(minSquaredDistance(set, 3, Float32Array.of(9, 9, 9, 11), 2, 2), 2);
  });

  test('bad options and batch shapes are input errors naming the value', () => {
    const bad = (f: () => unknown, pattern: RegExp) =>
      assert.throws(f, (e: unknown) => e instanceof AegisInputError && pattern.test(e.message));
    bad(() => new PradaDetector(4, { threshold: 1, minQueries: 100 }), /threshold δ .* got 1/);
    bad(() => new PradaDetector(4, { threshold: 0.9, minQueries: 2 }), /minQueries .* got 2/);
    bad(() => new PradaDetector(4, { threshold: 0.9, minQueries: 100, window: 6000 }), /window .* got 6000/);
    bad(() => new PradaDetector(0, { threshold: 0.9, minQueries: 100 }), /row size, got 0/);
    const det = new PradaDetector(4, { threshold: 0.9, minQueries: 100 });
    bad(() => det.observeBatch(new Float32Array(7), Int32Array.of(0, 1)), /7 values do not make 2 rows of 4/);
  });
});
