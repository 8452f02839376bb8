import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import type { FeatureRow } from '../../../src/detectors/phishing/features.js';
import { LOGISTIC_DEFAULTS, logitOf, trainLogistic } from '../../../src/detectors/phishing/logistic.js';

/** Rows with two dense signals: 0 fires on phishing, 1 fires mostly on LEGITIMATE rows (a corpus quirk). */
function quirkyRows(n: number, seed: number): { rows: FeatureRow[]; labels: number[] } {
  const r = new Rng(seed);
  const rows: FeatureRow[] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = i % 3 === 0 ? 1 : 0;
    const cue = y === 1 ? (r.next() < 0.8 ? 1 : 0) : r.next() < 0.05 ? 1 : 0;
    const quirk = y === 0 ? (r.next() < 0.6 ? 1 : 0) : r.next() < 0.1 ? 1 : 0;
    rows.push({
      dense: Float32Array.of(cue, quirk),
      sparse: { index: Int32Array.of(i % 4), value: Float32Array.of(1) },
      signals: [],
      text: '',
    });
    labels.push(y);
  }
  return { rows, labels };
}

describe('logistic regression with non-negative signal weights', () => {
  it('learns a negative weight for the quirk unless that weight is held at ≥ 0', () => {
    const { rows, labels } = quirkyRows(600, 1);
    const options = { ...LOGISTIC_DEFAULTS, seed: 2, epochs: 10 };
    const free = trainLogistic(rows, labels, 4, options);
    assert.ok((free.dense[1] as number) < -0.5, `free quirk weight ${free.dense[1]}`);
    const mono = trainLogistic(rows, labels, 4, { ...options, nonNegativeDense: [1] });
    assert.equal(mono.dense[1], 0);
    assert.ok((mono.dense[0] as number) > 1, `cue weight ${mono.dense[0]}`);
    // Adding the quirk to a message can no longer lower its score.
    const row = rows[0] as FeatureRow;
    const withQuirk = { ...row, dense: Float32Array.of(row.dense[0] as number, 1) };
    assert.ok(logitOf(mono, withQuirk) >= logitOf(mono, row));
    assert.ok(logitOf(free, withQuirk) < logitOf(free, row));
  });

  it('refuses an index outside the dense signals', () => {
    const { rows, labels } = quirkyRows(30, 3);
    assert.throws(
      () => trainLogistic(rows, labels, 4, { ...LOGISTIC_DEFAULTS, seed: 1, epochs: 1, nonNegativeDense: [2] }),
      (e: Error) => e instanceof AegisInputError && /index 2 is outside the 2 signals/.test(e.message),
    );
  });
});

describe('logistic regression with sample weights', () => {
  const options = { ...LOGISTIC_DEFAULTS, seed: 4, epochs: 5 };

  it('weights of 1 train exactly the unweighted model', () => {
    const { rows, labels } = quirkyRows(300, 5);
    const plain = trainLogistic(rows, labels, 4, options);
    const ones = trainLogistic(rows, labels, 4, { ...options, sampleWeights: rows.map(() => 1) });
    assert.deepEqual(ones, plain);
  });

  it('an example of weight 0 teaches nothing: flipping its label leaves the model unchanged', () => {
    const { rows, labels } = quirkyRows(300, 6);
    const weights = rows.map((_, i) => (i % 10 === 0 ? 0 : 1));
    const flipped = labels.map((y, i) => (i % 10 === 0 ? 1 - y : y));
    const a = trainLogistic(rows, labels, 4, { ...options, sampleWeights: weights });
    const b = trainLogistic(rows, flipped, 4, { ...options, sampleWeights: weights });
    assert.deepEqual(b, a);
    // …while with weight 1 the flip changes the model.
    assert.notDeepEqual(trainLogistic(rows, flipped, 4, options), trainLogistic(rows, labels, 4, options));
  });

  it('a weighed-down class pulls the score less: its cue gets a smaller weight', () => {
    const { rows, labels } = quirkyRows(600, 7);
    const full = trainLogistic(rows, labels, 4, options);
    // Phishing rows that show the cue weigh 0.1: the cue explains less of the (re-balanced) phishing weight.
    const weights = rows.map((r, i) => (labels[i] === 1 && r.dense[0] === 1 ? 0.1 : 1));
    const down = trainLogistic(rows, labels, 4, { ...options, sampleWeights: weights });
    assert.ok((down.dense[0] as number) < (full.dense[0] as number) - 0.5, `${down.dense[0]} vs ${full.dense[0]}`);
  });

  it('refuses a wrong length, a negative or non-finite weight, and a class of zero total weight', () => {
    const { rows, labels } = quirkyRows(30, 8);
    const cases: [number[], RegExp][] = [
      [[1, 1], /30 examples but 2 sample weights/],
      [rows.map((_, i) => (i === 3 ? -1 : 1)), /sample weight -1 of example 3 is not a finite number ≥ 0/],
      [rows.map((_, i) => (i === 4 ? Number.NaN : 1)), /sample weight NaN of example 4/],
      [labels.map((y) => (y === 1 ? 0 : 1)), /one class has zero total sample weight/],
    ];
    for (const [sampleWeights, message] of cases) {
      assert.throws(
        () => trainLogistic(rows, labels, 4, { ...options, sampleWeights }),
        (e: Error) => e instanceof AegisInputError && message.test(e.message),
        String(message),
      );
    }
  });
});
