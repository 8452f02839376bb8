import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseFraction,
  parseNonNegativeInt,
  parseNumberList,
  parsePositiveInt,
  parsePositiveNumber,
} from '../../src/cli/parse-options.js';
import { AegisInputError } from '../../src/core/errors.js';

describe('CLI flag parsers', () => {
  it('read well-formed values', () => {
    assert.equal(parseNonNegativeInt('--seed', '0'), 0);
    assert.equal(parseNonNegativeInt('--seed', '42'), 42);
    assert.equal(parsePositiveInt('--folds', '5'), 5);
    assert.equal(parsePositiveNumber('--eps', '0.25'), 0.25);
    assert.deepEqual(parseNumberList('--eps', '0.1, 0.2,'), [0.1, 0.2]);
    assert.equal(parseFraction('--weight', '1'), 1);
    assert.equal(parseFraction('--target-fpr', '0', true), 0);
  });

  it('refuse empty, blank, fractional, negative and non-numeric values, naming the flag', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => parseNonNegativeInt('--seed', ''), /--seed takes a whole number ≥ 0, got ''/],
      [() => parseNonNegativeInt('--seed', '  '), /--seed takes a whole number ≥ 0/],
      [() => parseNonNegativeInt('--seed', '1.5'), /--seed/],
      [() => parseNonNegativeInt('--seed', '-1'), /--seed/],
      [() => parsePositiveInt('--folds', ''), /--folds takes a positive whole number, got ''/],
      [() => parsePositiveInt('--folds', '0'), /--folds/],
      [() => parsePositiveNumber('--eps', ''), /--eps takes a positive number, got ''/],
      [() => parsePositiveNumber('--eps', 'abc'), /--eps/],
      [() => parseFraction('--target-fpr', '1', true), /--target-fpr takes a fraction in \[0, 1\), got '1'/],
      [() => parseFraction('--weight', ''), /--weight takes a fraction in \[0, 1\], got ''/],
      [() => parseNumberList('--eps', ' , '), /--eps takes a comma-separated list of numbers/],
      [() => parseNumberList('--eps', '0.1,x'), /--eps/],
    ];
    for (const [call, message] of bad)
      assert.throws(call, (e: unknown) => e instanceof AegisInputError && message.test(e.message));
  });
});
