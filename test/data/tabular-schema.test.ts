import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import {
  applyTabularSchema,
  encodeTabularFeatures,
  fitTabularSchema,
  loadSchema,
  parseSchema,
  saveSchema,
  type TabularRow,
} from '../../src/data/tabular-schema.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-schema-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function inputError(pattern: RegExp) {
  return (error: unknown) => error instanceof AegisInputError && pattern.test(error.message);
}

/** Synthetic flow records: numeric sizes/durations, a protocol, a port, a label. */
function flows(n: number, seed: number): Record<string, string>[] {
  const rng = new Rng(seed);
  const protos = ['tcp', 'udp', 'icmp'];
  return Array.from({ length: n }, () => {
    const attack = rng.next() < 0.3;
    return {
      bytes: String(Math.round(rng.uniform(40, 1500) * (attack ? 10 : 1))),
      duration: rng.next() < 0.1 ? '' : rng.uniform(0, 30).toFixed(3),
      proto: protos[rng.int(3)]!,
      port: String([22, 80, 443][rng.int(3)]),
      label: attack ? '1' : '0',
    };
  });
}

describe('fitTabularSchema', () => {
  const train = flows(200, 1);
  const schema = fitTabularSchema(train, { labelColumn: 'label', categorical: ['port'] });

  it('infers numeric vs categorical and names the one-hot features', () => {
    assert.deepEqual(
      schema.columns.map((c) => [c.name, c.kind]),
      [
        ['bytes', 'numeric'],
        ['duration', 'numeric'],
        ['proto', 'categorical'],
        ['port', 'categorical'],
      ],
    );
    assert.deepEqual(schema.featureNames, [
      'bytes',
      'duration',
      'proto=icmp',
      'proto=tcp',
      'proto=udp',
      'port=22',
      'port=443',
      'port=80',
    ]);
    assert.deepEqual(schema.label, { column: 'label', values: ['0', '1'], classNames: ['0', '1'] });
    assert.equal(schema.scaling, 'min-max');
    assert.equal(schema.fittedOn.rows, 200);
  });

  it('records min, max and the mean of non-missing values', () => {
    const duration = schema.columns.find((c) => c.name === 'duration')!;
    assert.equal(duration.kind, 'numeric');
    if (duration.kind !== 'numeric') return;
    const present = train
      .map((r) => r.duration!)
      .filter((v) => v !== '')
      .map(Number);
    assert.ok(present.length < 200, 'fixture has missing durations');
    assert.equal(duration.min, Math.min(...present));
    assert.equal(duration.max, Math.max(...present));
    assert.ok(Math.abs(duration.mean - present.reduce((a, b) => a + b, 0) / present.length) < 1e-9);
  });

  it('scales training data into [0, 1] with each numeric column spanning it, one-hot rows summing to 1', () => {
    const data = applyTabularSchema(schema, train);
    assert.deepEqual(data.shape, [200, 8]);
    assert.deepEqual(data.warnings, []);
    for (const f of [0, 1]) {
      const col = Array.from({ length: 200 }, (_, i) => data.x[i * 8 + f]!);
      assert.equal(Math.min(...col), 0);
      assert.equal(Math.max(...col), 1);
    }
    for (let i = 0; i < 200; i++) {
      const row = data.x.subarray(i * 8, i * 8 + 8);
      assert.equal(row[2]! + row[3]! + row[4]!, 1);
      assert.equal(row[5]! + row[6]! + row[7]!, 1);
      assert.equal(data.y[i], Number(train[i]!.label));
    }
    // A missing duration encodes as the scaled training mean.
    const missing = train.findIndex((r) => r.duration === '');
    const d = schema.columns[1]!;
    if (d.kind === 'numeric') assert.equal(data.x[missing * 8 + 1], Math.fround((d.mean - d.min) / (d.max - d.min)));
  });

  it('encodes an unseen category as all zeros and warns; clips out-of-range values and warns', () => {
    const rows: TabularRow[] = [
      { bytes: 1e9, duration: 1, proto: 'sctp', port: 80, label: 0 },
      { bytes: -5, duration: 2, proto: 'tcp', port: 8080, label: 1 },
    ];
    const data = applyTabularSchema(schema, rows);
    assert.deepEqual(Array.from(data.x.subarray(0, 8).slice(2, 5)), [0, 0, 0]);
    assert.equal(data.x[0], 1);
    assert.equal(data.x[8], 0);
    assert.deepEqual(Array.from(data.x.subarray(8 + 5, 16)), [0, 0, 0]);
    const encoded = encodeTabularFeatures(schema, rows);
    assert.deepEqual(encoded.unseenCategories, { proto: 1, port: 1 });
    assert.deepEqual(encoded.clipped, { bytes: 2 });
    assert.equal(data.warnings.length, 3);
    assert.match(
      data.warnings[0]!,
      /column 'proto': 1 row\(s\) with a category not seen in training \(e\.g\. 'sctp'\)/,
    );
  });

  it('rejects a label that was not seen in training', () => {
    assert.throws(
      () => applyTabularSchema(schema, [{ bytes: 1, duration: 1, proto: 'tcp', port: 80, label: '7' }]),
      inputError(/row 1: label '7' in column 'label' is not one of the training classes \[0, 1\]/),
    );
  });

  it('saves and loads as JSON that reproduces the same features', () => {
    const path = join(dir, 'schema.json');
    saveSchema(path, schema);
    const loaded = loadSchema(path);
    assert.deepEqual(loaded, schema);
    const test = flows(50, 2);
    assert.deepEqual(applyTabularSchema(loaded, test).x, applyTabularSchema(schema, test).x);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).format, 'aegis-tabular-schema');
  });

  it('rejects an invalid schema file with the field at fault', () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, JSON.stringify({ ...schema, featureNames: ['only-one'] }));
    assert.throws(() => loadSchema(path), inputError(/broken\.json: not a valid Aegis tabular schema.*featureNames/));
    writeFileSync(path, JSON.stringify({ ...schema, columns: [{ name: 'a', kind: 'numeric', min: 'x' }] }));
    assert.throws(() => loadSchema(path), inputError(/not a valid Aegis tabular schema at columns\.0/));
    writeFileSync(path, '{ not json');
    assert.throws(() => loadSchema(path), inputError(/schema is not valid JSON/));
    assert.throws(() => parseSchema({ format: 'other' }), AegisInputError);
  });
});

describe('fitTabularSchema input errors and options', () => {
  it('rejects NaN/inf among numbers and malformed values in a declared numeric column, with row and column', () => {
    const rows = [
      { a: '1', label: 'x' },
      { a: 'NaN', label: 'y' },
    ];
    assert.throws(
      () => fitTabularSchema(rows, { labelColumn: 'label' }),
      inputError(/row 2, column 'a': 'NaN' is not a finite number/),
    );
    assert.throws(
      () =>
        fitTabularSchema(
          [
            { a: '1', label: 'x' },
            { a: '1,5', label: 'y' },
          ],
          { labelColumn: 'label', numeric: ['a'], source: 'f.csv', lines: [2, 3] },
        ),
      inputError(/f\.csv: row 2 \(line 3\), column 'a': '1,5' is not a finite number/),
    );
    const schema = fitTabularSchema([{ a: '1', label: 'x' }], { labelColumn: 'label' });
    assert.throws(() => applyTabularSchema(schema, [{ a: 'abc', label: 'x' }]), inputError(/column 'a': 'abc'/));
  });

  it('turns a column with words into a categorical one, and one forced categorical into one-hot', () => {
    const rows = [
      { a: '1', b: '10', label: 'x' },
      { a: 'two', b: '20', label: 'y' },
    ];
    const schema = fitTabularSchema(rows, { labelColumn: 'label', categorical: ['b'] });
    assert.deepEqual(schema.featureNames, ['a=1', 'a=two', 'b=10', 'b=20']);
  });

  it('drops columns, rejects unknown ones, empty columns and ID-like columns', () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({ id: `u${i}`, v: String(i), e: '', label: String(i % 2) }));
    const schema = fitTabularSchema(rows, { labelColumn: 'label', drop: ['id', 'e'] });
    assert.deepEqual(schema.featureNames, ['v']);
    assert.deepEqual(schema.dropped, ['id', 'e']);
    assert.throws(() => fitTabularSchema(rows, { labelColumn: 'nope' }), inputError(/column 'nope' not found/));
    assert.throws(
      () => fitTabularSchema(rows, { labelColumn: 'label', drop: ['id'] }),
      inputError(/column 'e' is empty in every row; drop it/),
    );
    assert.throws(
      () => fitTabularSchema(rows, { labelColumn: 'label', drop: ['e'], maxCategories: 20 }),
      inputError(/column 'id' has 30 distinct non-numeric values/),
    );
  });

  it('orders numeric labels numerically and maps integer labels to given class names', () => {
    const rows = ['10', '2', '1'].map((label) => ({ f: '0', label }));
    assert.deepEqual(fitTabularSchema(rows, { labelColumn: 'label' }).label.values, ['1', '2', '10']);
    const named = fitTabularSchema(
      [
        { f: '1', label: '1' },
        { f: '2', label: '0' },
      ],
      { labelColumn: 'label', classNames: ['benign', 'malicious'] },
    );
    assert.deepEqual(named.label, { column: 'label', values: ['0', '1'], classNames: ['benign', 'malicious'] });
    assert.deepEqual(Array.from(applyTabularSchema(named, [{ f: '1', label: '1.0' }]).y), [1]);
  });

  it('gives a constant numeric column the value 0', () => {
    const schema = fitTabularSchema(
      [
        { c: '5', label: 'a' },
        { c: '5', label: 'b' },
      ],
      { labelColumn: 'label' },
    );
    assert.deepEqual(Array.from(applyTabularSchema(schema, [{ c: '5', label: 'a' }]).x), [0]);
  });
});
