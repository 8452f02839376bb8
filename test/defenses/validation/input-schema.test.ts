import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { fitTabularSchema } from '../../../src/data/tabular-schema.js';
import {
  type InputSchema,
  parseInputSchema,
  schemaForModel,
  tabularInputSchema,
} from '../../../src/defenses/validation/input-schema.js';
import { inputSchemaFromMeta, loadInputSchema } from '../../../src/defenses/validation/model-input-schema.js';
import type { ModelInfo } from '../../../src/models/model.js';

const tensor: InputSchema = { kind: 'tensor', shape: [null, 28, 28, 1], dtype: 'float32', range: [0, 1], finite: true };
const tabular: InputSchema = {
  kind: 'tabular',
  features: [
    { name: 'duration', type: 'number', min: 0, integer: true },
    { name: 'protocol_type', type: 'category', values: ['icmp', 'tcp', 'udp'] },
  ],
  ignore: ['label'],
};
const text: InputSchema = {
  kind: 'text',
  maxLength: 280,
  minLength: 1,
  charClasses: ['letters', 'digits', 'punctuation', 'whitespace', 'emoji'],
  normalization: 'NFKC',
};

function rejects(json: unknown, pattern: RegExp): void {
  assert.throws(
    () => parseInputSchema(json, 'model/aegis.json'),
    (e: unknown) => {
      assert.ok(e instanceof AegisInputError, `expected AegisInputError, got ${String(e)}`);
      assert.match(e.message, /^model\/aegis\.json: not a valid input schema: /);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

describe('input schemas', () => {
  it('round-trip through JSON unchanged', () => {
    for (const schema of [tensor, tabular, text]) {
      const parsed = parseInputSchema(JSON.parse(JSON.stringify(schema)));
      assert.deepEqual(parsed, schema);
      assert.deepEqual(parseInputSchema(JSON.parse(JSON.stringify(parsed))), parsed);
    }
  });

  it('fills in finite: true when a tensor schema leaves it out', () => {
    const { finite: _, ...bare } = tensor as Extract<InputSchema, { kind: 'tensor' }>;
    assert.deepEqual(parseInputSchema(bare), tensor);
  });

  it('rejects malformed schemas naming the field', () => {
    rejects({ ...tensor, shape: [null, -3] }, /shape\[1\]: /);
    rejects({ ...tensor, shape: [] }, /shape: shape needs at least one dimension/);
    rejects({ ...tensor, dtype: 'float64' }, /dtype: /);
    rejects({ ...tensor, range: [1, 0] }, /range: min 1 > max 0/);
    rejects({ ...tensor, range: [0] }, /range: /);
    rejects({ ...tensor, finite: false }, /finite: /);
    rejects({ ...tensor, rnage: [0, 1] }, /rnage: unknown field/);
    rejects({ kind: 'image' }, /kind: /);
    rejects({ ...tabular, features: [] }, /features: a tabular schema needs at least one feature/);
    rejects(
      { kind: 'tabular', features: [{ name: 'a', type: 'number', min: 5, max: 1 }] },
      /features\[0\]\.max: min 5 > max 1/,
    );
    rejects(
      { kind: 'tabular', features: [{ name: 'p', type: 'category', values: ['a', 'a'] }] },
      /features\[0\]\.values\[1\]: duplicate value 'a'/,
    );
    rejects(
      {
        kind: 'tabular',
        features: [
          { name: 'a', type: 'number' },
          { name: 'a', type: 'number' },
        ],
      },
      /features\[1\]\.name: duplicate feature 'a'/,
    );
    rejects({ kind: 'tabular', features: [{ name: 'a', type: 'numeric' }] }, /features\[0\]\.type: /);
    rejects(
      { kind: 'tabular', features: [{ name: 'a', type: 'number', mni: 0 }] },
      /features\[0\]\.mni: unknown field/,
    );
    rejects({ ...text, maxLength: 0 }, /maxLength: /);
    rejects({ ...text, minLength: 300 }, /minLength: 300 > maxLength 280/);
    rejects({ ...text, charClasses: ['letters', 'klingon'] }, /charClasses\[1\]: /);
    rejects({ ...text, allowedPattern: '[a-z' }, /allowedPattern: Invalid regular expression/);
    rejects({ ...text, normalization: 'NFD' }, /normalization: /);
    rejects(42, /\(root\): /);
  });

  it('lists every problem of a schema, not only the first', () => {
    rejects({ ...tensor, shape: [null, 0], dtype: 'float64' }, /shape\[1\]: .*; dtype: /);
  });

  it('schemaForModel: any batch, the model input shape, float32 values in its input range', () => {
    const info: ModelInfo = {
      name: 'm',
      access: 'gradients',
      inputShape: [28, 28, 1],
      numClasses: 10,
      inputRange: [-1, 1],
    };
    assert.deepEqual(schemaForModel(info), {
      kind: 'tensor',
      shape: [null, 28, 28, 1],
      dtype: 'float32',
      range: [-1, 1],
      finite: true,
    });
  });

  it('derives a record schema from a saved tabular schema (label and dropped columns ignored)', () => {
    const rows = [
      { id: 'a', duration: '0', protocol_type: 'tcp', src_bytes: '181', label: 'normal' },
      { id: 'b', duration: '2', protocol_type: 'udp', src_bytes: '239', label: 'attack' },
      { id: 'c', duration: '5', protocol_type: 'icmp', src_bytes: '', label: 'normal' },
    ];
    const saved = fitTabularSchema(rows, { labelColumn: 'label', drop: ['id'] });
    const derived = tabularInputSchema(saved);
    assert.deepEqual(derived, {
      kind: 'tabular',
      features: [
        { name: 'duration', type: 'number' },
        { name: 'protocol_type', type: 'category', values: ['icmp', 'tcp', 'udp'] },
        { name: 'src_bytes', type: 'number' },
      ],
      ignore: ['label', 'id'],
    });
    const strict = tabularInputSchema(saved, { bounds: 'training', allowMissing: true });
    assert.deepEqual(strict.features[0], { name: 'duration', type: 'number', min: 0, max: 5, optional: true });
    assert.deepEqual(parseInputSchema(JSON.parse(JSON.stringify(strict))), strict);
  });
});

describe('input schemas of saved models (aegis.json)', () => {
  const meta = { name: 'fmnist', inputShape: [28, 28, 1], numClasses: 10, inputRange: [0, 1] };

  it('an explicit inputSchema entry wins; else the tabular schema; else the input shape and range', () => {
    assert.deepEqual(inputSchemaFromMeta({ ...meta, inputSchema: text }), text);
    assert.deepEqual(inputSchemaFromMeta(meta), tensor);
    const rows = [
      { proto: 'tcp', bytes: '10', label: '0' },
      { proto: 'udp', bytes: '20', label: '1' },
    ];
    const saved = fitTabularSchema(rows, { labelColumn: 'label' });
    assert.deepEqual(
      inputSchemaFromMeta({ ...meta, inputShape: [3], numClasses: 2, tabular: saved }),
      tabularInputSchema(saved),
    );
  });

  it('reads a model directory and names the file in errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aegis-schema-'));
    try {
      writeFileSync(join(dir, 'aegis.json'), JSON.stringify({ ...meta, inputSchema: { ...tensor, range: [0, 255] } }));
      assert.deepEqual(loadInputSchema(dir), { ...tensor, range: [0, 255] });
      writeFileSync(join(dir, 'aegis.json'), JSON.stringify({ ...meta, inputSchema: { ...tensor, dtype: 'float16' } }));
      assert.throws(() => loadInputSchema(dir), /aegis\.json: inputSchema: not a valid input schema: dtype: /);
      writeFileSync(join(dir, 'aegis.json'), '{"inputShape": [28, 28');
      assert.throws(() => loadInputSchema(dir), /aegis\.json: not valid JSON/);
      rmSync(join(dir, 'aegis.json'));
      assert.throws(() => loadInputSchema(dir), /aegis\.json: not found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
