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
