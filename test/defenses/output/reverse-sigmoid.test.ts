import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initRuntime } from '../../../src/core/runtime.js';
import {
  ReverseSigmoidModel,
  reverseSigmoidDefense,
  reverseSigmoidSafeConfidence,
  reverseSigmoidScores,
} from '../../../src/defenses/output/reverse-sigmoid.js';
import { FixedScoresModel, labelsOf, scoreRows } from './fixed-scores.js';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** The formula written out by hand: y − β(s(γ·logit y) − ½), clipped to [0, 1], normalised. */
function byHand(y: number[], beta: number, gamma: number): number[] {
  const moved = y.map((v) => {
    const c = Math.min(1 - 1e-9, Math.max(1e-9, v));
    return Math.min(1, Math.max(0, v - beta * (sigmoid(gamma * Math.log(c / (1 - c))) - 0.5)));
  });
  const sum = moved.reduce((a, b) => a + b, 0);
  return moved.map((v) => v / sum);
}

/** IBM ART's own test vector (tests/defences/test_reverse_sigmoid.py): an MNIST prediction. */
const ART_INPUT = [
  0.12109935, 0.0498215, 0.0993958, 0.06410096, 0.11366928, 0.04645343, 0.06419807, 0.30685693, 0.07616714, 0.05823757,
];
const ART_EXPECTED: [number, number, number[]][] = [
  [
    1,
    0.1,
    [
      0.10733664, 0.07743666, 0.09712707, 0.08230411, 0.10377649, 0.0764482, 0.08234023, 0.20600921, 0.08703023,
      0.08019119,
    ],
  ],
  [
    0.75,
    0.1,
    [
      0.1097239, 0.07264659, 0.09752058, 0.07914664, 0.10549247, 0.07124537, 0.07919333, 0.22350204, 0.08514594,
      0.07638316,
    ],
  ],
  [
    1,
    0.5,
    [
      0.09699764, 0.10062696, 0.09689676, 0.09873781, 0.0968849, 0.10121989, 0.0987279, 0.11275949, 0.09774373,
      0.09940492,
    ],
  ],
];

function assertClose(got: number[], want: number[], tol: number) {
  assert.equal(got.length, want.length);
  for (const [i, g] of got.entries()) {
    assert.ok(Math.abs(g - (want[i] as number)) < tol, `index ${i}: ${g} vs ${want[i]}`);
  }
}

describe('reverse sigmoid output', () => {
  before(async () => {
    await initRuntime();
  });

  it('matches the formula computed by hand and keeps the argmax of confident predictions', async () => {
    const rows = [
      [0.7, 0.2, 0.1],
      [0.9, 0.09, 0.01],
      [0.05, 0.55, 0.4],
    ];
    const model = await reverseSigmoidDefense.apply(new FixedScoresModel(rows, 'gradients'), {
      seed: 0,
      params: { beta: 0.5, gamma: 0.2 },
    });
    const got = await scoreRows(model, [0, 1, 2]);
    for (const [i, row] of rows.entries()) assertClose(got[i] as number[], byHand(row, 0.5, 0.2), 1e-6);
    // The perturbation is visible: it is not the identity.
    assert.ok(Math.abs((got[1]?.[0] as number) - 0.9) > 0.05);
    assert.deepEqual(await labelsOf(model, [0, 1, 2]), [0, 0, 1]);
    assert.equal(model.info.access, 'scores');
  });

  it("reproduces IBM ART's test vectors for (β, γ) = (1, 0.1), (0.75, 0.1), (1, 0.5)", () => {
    for (const [beta, gamma, want] of ART_EXPECTED) {
      assertClose(Array.from(reverseSigmoidScores(Float32Array.from(ART_INPUT), 10, beta, gamma)), want, 1e-5);
    }
  });

  it('keeps the top-1 label above the safe confidence and can flip it below (ART defaults β=1, γ=0.1)', async () => {
    const safe = reverseSigmoidSafeConfidence(1, 0.1);
    assert.ok(safe > 0.37 && safe < 0.38, `safe confidence ${safe}`);
    // A near-zero class is pushed up to ~0.388 before normalisation: it beats a top class at 0.3.
    const below = [0.3, 0.25, 0.25, 0.2 - 1e-7, 1e-7];
    const above = [safe + 0.01, 0.35, 1 - (safe + 0.01) - 0.35 - 1e-7, 0, 1e-7];
    const inner = new FixedScoresModel([below, above]);
    const model = new ReverseSigmoidModel(inner, 1, 0.1);
    assert.deepEqual(await labelsOf(inner, [0, 1]), [0, 0]);
    assert.deepEqual(await labelsOf(model, [0, 1]), [4, 0]);
    // Random probability vectors with a top class ≥ the safe confidence never change label.
    let seed = 1;
    const next = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let t = 0; t < 2000; t++) {
      const raw = Array.from({ length: 10 }, () => next() ** 4);
      const sum = raw.reduce((a, b) => a + b, 0);
      const p = raw.map((v) => v / sum);
      const top = p.indexOf(Math.max(...p));
      if ((p[top] as number) < safe) continue;
      const out = byHand(p, 1, 0.1);
      assert.equal(out.indexOf(Math.max(...out)), top);
    }
  });

  it('rejects non-positive β or γ', async () => {
    const inner = new FixedScoresModel([[0.5, 0.5]]);
    await assert.rejects(
      reverseSigmoidDefense.apply(inner, { seed: 0, params: { beta: 0 } }),
      /'beta' must be positive/,
    );
    await assert.rejects(
      reverseSigmoidDefense.apply(inner, { seed: 0, params: { gamma: -1 } }),
      /'gamma' must be positive/,
    );
  });
});
