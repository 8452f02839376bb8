import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { encodeTabularFeatures, fitTabularSchema } from '../../../src/data/tabular-schema.js';
import { InputValidationError } from '../../../src/defenses/validation/input-issues.js';
import type {
  TabularInputSchema,
  TensorInputSchema,
  TextInputSchema,
} from '../../../src/defenses/validation/input-schema.js';
import { tabularInputSchema } from '../../../src/defenses/validation/input-schema.js';
import {
  assertValidInput,
  type ValidationResult,
  validateInput,
} from '../../../src/defenses/validation/validate-input.js';
import { toInputTensor } from '../../../src/defenses/validation/validate-tensor.js';

const image: TensorInputSchema = { kind: 'tensor', shape: [null, 4, 3], dtype: 'float32', range: [0, 1], finite: true };

/** A batch of n images [n][4][3] with value (i + r + c) / 10. */
function images(n: number): number[][][] {
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: 4 }, (_, r) => Array.from({ length: 3 }, (_, c) => (i + r + c) / 10)),
  );
}

function issuesOf(result: ValidationResult): { path: string; message: string }[] {
  assert.equal(result.ok, false, 'expected the input to be rejected');
  return result.ok ? [] : result.issues;
}

describe('validateInput: tensors as JSON', () => {
  before(async () => {
    await initRuntime();
  });

  it('accepts a valid batch and returns its values row-major', () => {
    const result = validateInput(image, images(2));
    assert.ok(result.ok && result.kind === 'tensor');
    assert.deepEqual(result.shape, [2, 4, 3]);
    assert.equal(result.data.length, 24);
    assert.ok(Math.abs((result.data[23] as number) - 0.6) < 1e-6); // image 1, row 3, column 2
    const x = toInputTensor(result);
    assert.deepEqual(x.shape, [2, 4, 3]);
    assert.equal(x.dtype, 'float32');
    x.dispose();
  });

  it('rejects NaN, Infinity and out-of-range values with their exact path', () => {
    const batch = images(3);
    (batch[1] as number[][])[2]![1] = Number.NaN;
    (batch[2] as number[][])[0]![0] = Number.POSITIVE_INFINITY;
    (batch[2] as number[][])[3]![2] = 1.5;
    (batch[0] as number[][])[1]![0] = -0.25;
    assert.deepEqual(issuesOf(validateInput(image, batch)), [
      { path: 'inputs[0][1][0]', message: 'expected a finite number in [0, 1], got -0.25' },
      { path: 'inputs[1][2][1]', message: 'expected a finite number in [0, 1], got NaN' },
      { path: 'inputs[2][0][0]', message: 'expected a finite number in [0, 1], got Infinity' },
      { path: 'inputs[2][3][2]', message: 'expected a finite number in [0, 1], got 1.5' },
    ]);
  });

  it('rejects non-numbers (strings, null from a JSON NaN) at the leaf', () => {
    const batch = images(1) as unknown[][][];
    batch[0]![0]![1] = '0.5';
    batch[0]![3]![0] = null;
    assert.deepEqual(issuesOf(validateInput(image, batch)), [
      { path: 'inputs[0][0][1]', message: 'expected a finite number in [0, 1], got the string "0.5"' },
      { path: 'inputs[0][3][0]', message: 'expected a finite number in [0, 1], got null' },
    ]);
  });

  it('rejects too few items at depth 2', () => {
    const batch = images(2);
    (batch[1] as number[][])[3] = [0.1, 0.2];
    assert.deepEqual(issuesOf(validateInput(image, batch)), [
      { path: 'inputs[1][3]', message: 'expected 3 items, got 2' },
    ]);
  });

  it('rejects the wrong rank (one level too few, one too many, a bare number)', () => {
    assert.deepEqual(issuesOf(validateInput(image, [[0.1, 0.2, 0.3]])), [
      { path: 'inputs[0]', message: 'expected 4 items, got 3' },
    ]);
    const flat = [[0.1, 0.2, 0.3, 0.4]];
    assert.deepEqual(issuesOf(validateInput(image, flat)).slice(0, 1), [
      { path: 'inputs[0][0]', message: 'expected an array of 3 items, got 0.1' },
    ]);
    const deep = images(1).map((img) => img.map((row) => row.map((v) => [v])));
    assert.deepEqual(issuesOf(validateInput(image, deep))[0], {
      path: 'inputs[0][0][0]',
      message: 'expected a finite number in [0, 1], got an array of 1 item',
    });
    assert.deepEqual(issuesOf(validateInput(image, 0.5)), [{ path: 'inputs', message: 'expected an array, got 0.5' }]);
  });

  it('needs every item of a free (null) dimension to have the same length', () => {
    const free: TensorInputSchema = { kind: 'tensor', shape: [null, null], dtype: 'float32', finite: true };
    assert.ok(
      validateInput(free, [
        [1, 2, 3],
        [4, 5, 6],
      ]).ok,
    );
    assert.deepEqual(
      issuesOf(
        validateInput(free, [
          [1, 2, 3],
          [4, 5],
        ]),
      ),
      [{ path: 'inputs[1]', message: 'expected 3 items (as inputs[0] has), got 2' }],
    );
    assert.deepEqual(issuesOf(validateInput(free, [])), [
      { path: 'inputs', message: 'expected at least 1 item, got 0' },
    ]);
  });

  it('allocates nothing for a body whose first items claim a huge shape', () => {
    // The first items say 100 000 × 1000 × 1000 values (400 GB as float32); the body holds ~100 000.
    const free: TensorInputSchema = { kind: 'tensor', shape: [null, null, null], dtype: 'float32', finite: true };
    const first = [new Array(1000).fill(0), ...new Array(999).fill(0)];
    const body = [first, ...new Array(99_999).fill(0)];
    const result = validateInput(free, body, { maxIssues: 2 });
    assert.ok(!result.ok);
    assert.deepEqual(result.issues[0], { path: 'inputs[0][1]', message: 'expected an array, got 0' });
    assert.equal(result.issues.length + result.omitted, 999 + 99_999);
  });

  it('checks integer dtypes: int32 range, uint8 0–255, no fractions', () => {
    const bytes: TensorInputSchema = { kind: 'tensor', shape: [null, 3], dtype: 'uint8', finite: true };
    const ok = validateInput(bytes, [[0, 128, 255]]);
    assert.ok(ok.ok && ok.kind === 'tensor' && ok.data instanceof Uint8Array);
    assert.deepEqual(issuesOf(validateInput(bytes, [[0, 256, 2.5]])), [
      { path: 'inputs[0][1]', message: 'expected an integer in [0, 255], got 256' },
      { path: 'inputs[0][2]', message: 'expected an integer in [0, 255], got 2.5' },
    ]);
    const ints: TensorInputSchema = { kind: 'tensor', shape: [2], dtype: 'int32', range: [-5, 5], finite: true };
    assert.deepEqual(issuesOf(validateInput(ints, [3, 2 ** 31])), [
      { path: 'inputs[1]', message: 'expected an integer in [-5, 5], got 2147483648' },
    ]);
    const floats: TensorInputSchema = { kind: 'tensor', shape: [1], dtype: 'float32', finite: true };
    assert.deepEqual(issuesOf(validateInput(floats, [1e39])), [
      {
        path: 'inputs[0]',
        message: 'expected a number representable as float32 (magnitude <= 3.4028234663852886e+38), got 1e+39',
      },
    ]);
  });

  it('lists the first N issues and counts the rest', () => {
    const batch = images(5).map((img) => img.map((row) => row.map(() => Number.NaN)));
    const result = validateInput(image, batch, { maxIssues: 3 });
    assert.ok(!result.ok);
    assert.equal(result.issues.length, 3);
    assert.equal(result.omitted, 5 * 12 - 3);
    assert.deepEqual(
      result.issues.map((i) => i.path),
      ['inputs[0][0][0]', 'inputs[0][0][1]', 'inputs[0][0][2]'],
    );
  });

  it('assertValidInput throws an AegisInputError listing the issues', () => {
    const batch = images(2);
    (batch[1] as number[][])[0]![2] = Number.NaN;
    assert.throws(
      () => assertValidInput(image, batch, { maxIssues: 1 }),
      (e: unknown) => {
        assert.ok(e instanceof AegisInputError && e instanceof InputValidationError);
        assert.equal(
          e.message,
          'invalid input: 1 problem: inputs[1][0][2]: expected a finite number in [0, 1], got NaN',
        );
        assert.deepEqual(e.issues, [
          { path: 'inputs[1][0][2]', message: 'expected a finite number in [0, 1], got NaN' },
        ]);
        return true;
      },
    );
  });
});

describe('validateInput: tensors', () => {
  before(async () => {
    await initRuntime();
  });

  it('accepts a valid tensor and copies its values', () => {
    const x = tf.tensor3d(images(2));
    const result = validateInput(image, x);
    assert.ok(result.ok && result.kind === 'tensor');
    assert.deepEqual(result.shape, [2, 4, 3]);
    assert.deepEqual(Array.from(result.data), Array.from(x.dataSync()));
    x.dispose();
  });

  it('rejects NaN, out-of-range values, wrong shape, wrong rank and wrong dtype', () => {
    const values = images(2);
    (values[1] as number[][])[3]![1] = Number.NaN;
    (values[0] as number[][])[2]![0] = 2;
    const bad = tf.tensor3d(values);
    assert.deepEqual(issuesOf(validateInput(image, bad)), [
      { path: 'inputs[0][2][0]', message: 'expected a finite number in [0, 1], got 2' },
      { path: 'inputs[1][3][1]', message: 'expected a finite number in [0, 1], got NaN' },
    ]);
    const shape = tf.zeros([2, 5, 3]);
    assert.deepEqual(issuesOf(validateInput(image, shape)), [
      { path: 'inputs', message: 'expected shape [*, 4, 3], got [2, 5, 3] (dimension 1 is 5, expected 4)' },
    ]);
    const rank = tf.zeros([4, 3]);
    assert.deepEqual(issuesOf(validateInput(image, rank)), [
      { path: 'inputs', message: 'expected shape [*, 4, 3] (rank 3), got [4, 3] (rank 2)' },
    ]);
    const ints = tf.zeros([2, 4, 3], 'int32');
    assert.deepEqual(issuesOf(validateInput(image, ints)), [
      { path: 'inputs', message: 'expected a float32 tensor, got int32' },
    ]);
    tf.dispose([bad, shape, rank, ints]);
  });
});

describe('validateInput: tabular records', () => {
  const rows = [
    { duration: '0', protocol_type: 'tcp', src_bytes: '181', label: 'normal' },
    { duration: '2', protocol_type: 'udp', src_bytes: '239', label: 'attack' },
    { duration: '5', protocol_type: 'icmp', src_bytes: '20', label: 'normal' },
  ];
  const saved = fitTabularSchema(rows, { labelColumn: 'label' });
  const schema: TabularInputSchema = tabularInputSchema(saved);

  it('accepts JSON numbers and CSV-style strings, and the records encode as the model expects', () => {
    const records = [
      { duration: 1, protocol_type: 'tcp', src_bytes: '100', label: 'normal' },
      { duration: '3', protocol_type: ' udp ', src_bytes: 50 },
    ];
    const result = validateInput(schema, records);
    assert.ok(result.ok && result.kind === 'tabular');
    assert.deepEqual(result.records, [
      { duration: 1, protocol_type: 'tcp', src_bytes: 100 },
      { duration: 3, protocol_type: 'udp', src_bytes: 50 },
    ]);
    const encoded = encodeTabularFeatures(saved, result.records);
    assert.equal(encoded.warnings.length, 0);
    assert.equal(encoded.x.length, 2 * saved.featureNames.length);
  });

  it('rejects an unknown category, NaN, a missing field and an unknown field with field paths', () => {
    const records = [
      { duration: 1, protocol_type: 'tcp', src_bytes: 10 },
      { duration: 1, protocol_type: 'tcp', src_bytes: 10 },
      { duration: 'NaN', protocol_type: 'sctp', src_bytes: 10, srcbytes: 3 },
      { protocol_type: 'udp', src_bytes: Number.NaN },
    ];
    assert.deepEqual(issuesOf(validateInput(schema, records)), [
      { path: 'records[2].duration', message: 'expected a finite number, got the string "NaN"' },
      { path: 'records[2].protocol_type', message: 'expected one of "icmp", "tcp", "udp", got the string "sctp"' },
      {
        path: 'records[2].srcbytes',
        message: 'unknown field (the schema has: "duration", "protocol_type", "src_bytes")',
      },
      { path: 'records[3].duration', message: 'expected a number, got nothing (the field is missing)' },
      { path: 'records[3].src_bytes', message: 'expected a finite number, got NaN' },
    ]);
  });

  it('checks bounds and integers, and accepts missing values only for optional features', () => {
    const strict: TabularInputSchema = {
      kind: 'tabular',
      features: [
        { name: 'port', type: 'number', min: 0, max: 65535, integer: true },
        { name: 'bytes', type: 'number', min: 0, optional: true },
        { name: 'odd name', type: 'number', max: 1 },
      ],
    };
    assert.ok(validateInput(strict, [{ port: 443, bytes: null, 'odd name': 0 }]).ok);
    assert.deepEqual(issuesOf(validateInput(strict, [{ port: 70000, bytes: -1, 'odd name': 2 }, 'x'])), [
      { path: 'records[0].port', message: 'expected an integer in [0, 65535], got 70000' },
      { path: 'records[0].bytes', message: 'expected a finite number >= 0, got -1' },
      { path: 'records[0]["odd name"]', message: 'expected a finite number <= 1, got 2' },
      { path: 'records[1]', message: 'expected a record (an object of fields), got the string "x"' },
    ]);
    assert.deepEqual(issuesOf(validateInput(strict, { port: 1 })), [
      { path: 'records', message: 'expected an array of records, got an object' },
    ]);
  });
});

describe('validateInput: text', () => {
  const schema: TextInputSchema = {
    kind: 'text',
    maxLength: 10,
    minLength: 1,
    charClasses: ['letters', 'digits', 'punctuation', 'whitespace', 'emoji'],
    normalization: 'NFKC',
  };

  it('accepts allowed text, normalised (NFKC folds full-width letters), emoji included', () => {
    const result = validateInput(schema, 'Ｈｉ 👍🏽!');
    assert.ok(result.ok && result.kind === 'text');
    assert.deepEqual(result.texts, ['Hi 👍🏽!']);
  });

  it('rejects too-long and empty text, counting code points', () => {
    assert.deepEqual(issuesOf(validateInput(schema, 'abcdefghijk')), [
      { path: 'text', message: 'expected at most 10 characters, got 11' },
    ]);
    assert.ok(validateInput(schema, '👍👍👍👍👍👍👍👍👍👍').ok); // 10 code points, 20 UTF-16 units
    assert.deepEqual(issuesOf(validateInput(schema, ['ok', ''])), [
      { path: 'text[1]', message: 'expected at least 1 character, got 0' },
    ]);
  });

  it('rejects disallowed characters, once per character with its first position and count', () => {
    assert.deepEqual(issuesOf(validateInput(schema, 'a<b>\u0007<')), [
      {
        path: 'text',
        message:
          'character "<" (U+003C) at position 1 (2 times) is not allowed (allowed: letters, digits, punctuation, whitespace, emoji)',
      },
      {
        path: 'text',
        message:
          'character ">" (U+003E) at position 3 is not allowed (allowed: letters, digits, punctuation, whitespace, emoji)',
      },
      {
        path: 'text',
        message:
          'character U+0007 at position 4 is not allowed (allowed: letters, digits, punctuation, whitespace, emoji)',
      },
    ]);
  });

  it('by default allows anything but control characters; a pattern restricts it', () => {
    const open: TextInputSchema = { kind: 'text', maxLength: 100 };
    assert.ok(validateInput(open, 'tab\tand newline\n, <html> & emoji 🎉').ok);
    assert.deepEqual(issuesOf(validateInput(open, 'nul\u0000')), [
      {
        path: 'text',
        message: 'character U+0000 at position 3 is not allowed (allowed: any character except control characters)',
      },
    ]);
    const hex: TextInputSchema = { kind: 'text', maxLength: 8, allowedPattern: '[0-9a-f]' };
    assert.ok(validateInput(hex, 'deadbeef').ok);
    assert.equal(issuesOf(validateInput(hex, 'DEADBEEF')).length, 5); // D, E, A, B, F
  });

  it('rejects unpaired surrogates and non-strings', () => {
    assert.deepEqual(issuesOf(validateInput(schema, 'ab\ud800')), [
      { path: 'text', message: 'expected well-formed Unicode, got an unpaired surrogate at position 2' },
    ]);
    assert.deepEqual(issuesOf(validateInput(schema, ['ok', 7])), [
      { path: 'text[1]', message: 'expected a string, got 7' },
    ]);
  });
});
