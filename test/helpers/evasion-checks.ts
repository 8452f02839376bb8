/** Assertions shared by the evasion attack tests. */
import assert from 'node:assert/strict';
import type { EvasionRow, ExamplePairs } from '../../src/attacks/evasion/evasion-attack.js';
import type { Norm } from '../../src/core/threat-model.js';

/** Rows without their timings (the only field that differs between identical runs). */
export function withoutSeconds(rows: EvasionRow[]): Omit<EvasionRow, 'seconds'>[] {
  return rows.map(({ seconds: _seconds, ...rest }) => rest);
}

export function assertNonIncreasing(values: number[], what: string): void {
  for (let i = 1; i < values.length; i++) {
    assert.ok(
      (values[i] as number) <= (values[i - 1] as number),
      `${what} should not increase with eps: ${values.join(', ')}`,
    );
  }
}

/** Every adversarial example lies within eps of its clean input (in `norm`) and inside `range`. */
export function assertWithinBudget(
  pairs: ExamplePairs,
  eps: number,
  norm: Norm,
  range: [number, number] = [0, 1],
): void {
  const tolerance = 1e-5;
  pairs.adversarial.forEach((adv, i) => {
    const clean = pairs.clean[i] as Float32Array;
    let size = 0;
    for (let j = 0; j < adv.length; j++) {
      const v = adv[j] as number;
      assert.ok(
        v >= range[0] - tolerance && v <= range[1] + tolerance,
        `example ${i} value ${v} is outside [${range}]`,
      );
      const d = Math.abs(v - (clean[j] as number));
      size = norm === 'linf' ? Math.max(size, d) : size + d * d;
    }
    if (norm === 'l2') size = Math.sqrt(size);
    assert.ok(size <= eps + tolerance, `example ${i} moved ${size} (${norm}) > eps ${eps}`);
  });
}
