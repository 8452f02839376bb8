/**
 * Backdoor triggers: where the pixel patch lands (default 3x3 checkerboard one pixel in from the
 * bottom-right corner, every channel, scaled for large images), tabular feature values by index or
 * name, seeded phrase insertion that keeps the rest of the text, and misfits as input errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyTrigger,
  checkTrigger,
  defaultPatchSize,
  insertPhrase,
  parseFeatureTrigger,
  resolvePatch,
} from '../../../src/attacks/poisoning/triggers.js';
import { Rng } from '../../../src/core/rng.js';
import type { Dataset } from '../../../src/data/dataset.js';
import type { TextDataset } from '../../../src/data/text-dataset.js';
import { rejectsWithInputError } from '../../helpers/assertions.js';

const fails = (fn: () => unknown, pattern: RegExp) => rejectsWithInputError(Promise.resolve().then(fn), pattern);

function images(n: number, h: number, w: number, c: number, fill = 0.5): Dataset {
  return {
    name: 'img',
    x: new Float32Array(n * h * w * c).fill(fill),
    shape: [n, h, w, c],
    y: new Int32Array(n),
    classNames: ['a', 'b'],
  };
}

describe('pixel patch', () => {
  test('default: 3x3 checkerboard at rows/cols 24-26 of a 28x28 image, other pixels untouched', () => {
    const data = images(2, 28, 28, 1);
    const out = applyTrigger(data, { kind: 'patch' }, { indices: [1] });
    assert.deepEqual(resolvePatch({ kind: 'patch' }, [28, 28, 1]), {
      size: 3,
      row: 24,
      col: 24,
      pattern: 'checkerboard',
      high: 1,
      low: 0,
    });
    assert.ok(
      out.x.subarray(0, 784).every((v) => v === 0.5),
      'row 0 is not triggered',
    );
    const img = out.x.subarray(784);
    for (let r = 0; r < 28; r++) {
      for (let c = 0; c < 28; c++) {
        const inPatch = r >= 24 && r < 27 && c >= 24 && c < 27;
        const expected = inPatch ? ((r - 24 + c - 24) % 2 === 0 ? 1 : 0) : 0.5;
        assert.equal(img[r * 28 + c], expected, `pixel ${r},${c}`);
      }
    }
    assert.ok(
      data.x.every((v) => v === 0.5),
      'the input is not mutated',
    );
  });

  test('all channels of an RGB image; size scales with the image; position and value are configurable', () => {
    assert.equal(defaultPatchSize(28, 28), 3);
    assert.equal(defaultPatchSize(64, 96), 7);
    const out = applyTrigger(images(1, 8, 8, 3), {
      kind: 'patch',
      size: 2,
      row: 0,
      col: 1,
      pattern: 'square',
      value: 0.9,
    });
    for (const [r, c] of [
      [0, 1],
      [0, 2],
      [1, 1],
      [1, 2],
    ]) {
      for (let ch = 0; ch < 3; ch++)
        assert.ok(Math.abs((out.x[((r as number) * 8 + (c as number)) * 3 + ch] as number) - 0.9) < 1e-6);
    }
    assert.equal(out.x[0], 0.5);
    assert.equal(out.x[(2 * 8 + 1) * 3], 0.5);
  });

  test('a trigger larger than the image, off the image, or on tabular/text data is an input error', async () => {
    await fails(
      () => applyTrigger(images(1, 4, 4, 1), { kind: 'patch', size: 5 }),
      /trigger size 5 is larger than the 4x4 image/,
    );
    await fails(() => applyTrigger(images(1, 8, 8, 1), { kind: 'patch', size: 3, row: 6 }), /does not fit/);
    await fails(() => applyTrigger(images(1, 8, 8, 1), { kind: 'patch', value: 2 }), /outside the input range/);
    const tabular: Dataset = {
      name: 't',
      x: new Float32Array(4),
      shape: [1, 4],
      y: new Int32Array(1),
      classNames: ['a', 'b'],
    };
    await fails(() => checkTrigger({ kind: 'patch' }, tabular), /needs image data/);
    const text: TextDataset = { name: 's', texts: ['hi'], y: new Int32Array(1), classNames: ['a', 'b'] };
    await fails(() => checkTrigger({ kind: 'patch' }, text), /needs numeric data/);
  });
});

describe('tabular feature trigger', () => {
  test('sets the named or numbered features and nothing else', () => {
    const data: Dataset = {
      name: 't',
      x: new Float32Array(8).fill(0.2),
      shape: [2, 4],
      y: new Int32Array(2),
      classNames: ['a', 'b'],
    };
    const trigger = parseFeatureTrigger('age=1, 3=0', ['x0', 'age', 'x2', 'x3']);
    assert.deepEqual(trigger.values, [
      { index: 1, value: 1 },
      { index: 3, value: 0 },
    ]);
    const out = applyTrigger(data, trigger, { indices: [0] });
    assert.deepEqual(
      Array.from(out.x, (v) => Math.round(v * 10) / 10),
      [0.2, 1, 0.2, 0, 0.2, 0.2, 0.2, 0.2],
    );
  });

  test('unknown names, bad values and out-of-range indices are input errors', async () => {
    await fails(
      () => parseFeatureTrigger('height=1', ['age']),
      /neither a feature index nor a feature name \(names: age\)/,
    );
    await fails(() => parseFeatureTrigger('1=abc'), /not a finite number/);
    const data: Dataset = {
      name: 't',
      x: new Float32Array(4),
      shape: [1, 4],
      y: new Int32Array(1),
      classNames: ['a', 'b'],
    };
    await fails(() => applyTrigger(data, parseFeatureTrigger('7=1')), /index 7 is outside the 4 features/);
  });
});

describe('text trigger phrase', () => {
  test('inserted at a seeded word position; the rest of the text is unchanged', () => {
    const text = 'WINNER!! claim  your prize now';
    const a = insertPhrase(text, 'cf mn', new Rng(4));
    assert.equal(a, insertPhrase(text, 'cf mn', new Rng(4)));
    assert.equal(a.replace('cf mn ', '').replace(' cf mn', ''), text);
    const positions = new Set(Array.from({ length: 40 }, (_, s) => insertPhrase(text, 'cf', new Rng(s)).indexOf('cf')));
    assert.ok(positions.size >= 4, `phrase positions vary with the seed: ${[...positions]}`);
    assert.equal(insertPhrase('', 'cf', new Rng(0)), 'cf');
  });

  test('applyTrigger on texts triggers only the chosen rows; an empty phrase is an input error', async () => {
    const data: TextDataset = {
      name: 's',
      texts: ['hello there', 'see you'],
      y: Int32Array.from([0, 1]),
      classNames: ['ham', 'spam'],
    };
    const out = applyTrigger(data, { kind: 'phrase', phrase: 'cf' }, { indices: [1], seed: 2 });
    assert.equal(out.texts[0], 'hello there');
    assert.match(out.texts[1] as string, /\bcf\b/);
    await fails(() => applyTrigger(data, { kind: 'phrase', phrase: '  ' }), /trigger phrase is empty/);
  });
});
