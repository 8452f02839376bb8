import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import { csvRecords, loadCsvDataset, parseCsv, parseCsvRecords, readCsv } from '../../src/data/csv.js';
import { fitTabularSchema } from '../../src/data/tabular-schema.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-csv-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const fields = (text: string) => parseCsvRecords(text).map((r) => r.fields);

function inputError(pattern: RegExp) {
  return (error: unknown) => error instanceof AegisInputError && pattern.test(error.message);
}

describe('CSV parser (RFC 4180)', () => {
  it('splits plain fields and keeps empty ones', () => {
    assert.deepEqual(fields('a,b,c\n1,,3\n,,\n'), [
      ['a', 'b', 'c'],
      ['1', '', '3'],
      ['', '', ''],
    ]);
  });

  it('handles quoted commas, escaped quotes and newlines inside quotes', () => {
    const text = 'name,note\n"Smith, J","said ""hi"""\n"multi\nline",x\n';
    const records = parseCsvRecords(text);
    assert.deepEqual(
      records.map((r) => r.fields),
      [
        ['name', 'note'],
        ['Smith, J', 'said "hi"'],
        ['multi\nline', 'x'],
      ],
    );
    assert.deepEqual(
      records.map((r) => r.line),
      [1, 2, 3],
    );
  });

  it('accepts CRLF, lone CR, a BOM, no final newline and skips blank lines', () => {
    assert.deepEqual(fields('\ufeffa,b\r\n1,2\r\n\r\n3,4'), [
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
    assert.deepEqual(fields('a,b\r1,2\r'), [
      ['a', 'b'],
      ['1', '2'],
    ]);
    assert.deepEqual(fields('a\n\n\n'), [['a']]);
  });

  it('keeps a quoted empty field and a quoted CRLF', () => {
    assert.deepEqual(fields('""\n"",""\n"a\r\nb",c'), [[''], ['', ''], ['a\r\nb', 'c']]);
  });

  it('keeps a quote inside an unquoted field literally', () => {
    assert.deepEqual(fields('height\n5\'10"\n'), [['height'], ['5\'10"']]);
  });

  it('rejects an unclosed quote and text after a closing quote, with the line', () => {
    assert.throws(
      () => parseCsvRecords('a\n"open\nmore', { source: 'f.csv' }),
      inputError(/f\.csv: line 2: quoted field is never closed/),
    );
    assert.throws(() => parseCsvRecords('a,b\n"x"y,1'), inputError(/line 2: unexpected 'y' after a closing quote/));
  });

  it('supports another delimiter', () => {
    assert.deepEqual(
      parseCsvRecords('a\tb\n"x\ty"\t2', { delimiter: '\t' }).map((r) => r.fields),
      [
        ['a', 'b'],
        ['x\ty', '2'],
      ],
    );
  });
});

describe('parseCsv with header', () => {
  it('returns header, rows and line numbers', () => {
    const table = parseCsv('x,y\n1,"a\nb"\n2,c\n', { source: 't.csv' });
    assert.deepEqual(table.header, ['x', 'y']);
    assert.deepEqual(table.rows, [
      ['1', 'a\nb'],
      ['2', 'c'],
    ]);
    assert.deepEqual(table.lines, [2, 4]);
    assert.deepEqual(csvRecords(table), [
      { x: '1', y: 'a\nb' },
      { x: '2', y: 'c' },
    ]);
  });

  it('rejects ragged rows, duplicate or empty header names and empty input', () => {
    assert.throws(
      () => parseCsv('a,b\n1,2\n3\n', { source: 'r.csv' }),
      inputError(/r\.csv: line 3 has 1 fields but the header has 2/),
    );
    assert.throws(() => parseCsv('a,a\n1,2\n'), inputError(/names column 'a' twice/));
    assert.throws(() => parseCsv('a,,c\n1,2,3\n'), inputError(/header column 2 has no name/));
    assert.throws(() => parseCsv(''), inputError(/empty CSV/));
  });

  it('names a missing file', () => {
    assert.throws(() => readCsv(join(dir, 'nope.csv')), inputError(/nope\.csv: cannot read CSV file \(ENOENT\)/));
  });
});

describe('loadCsvDataset', () => {
  const path = join(dir, 'flows.csv');
  writeFileSync(
    path,
    'bytes,proto,duration,label\r\n100,tcp,1.5,benign\r\n300,udp,0.5,attack\r\n200,tcp,,benign\r\n500,"icmp",2.5,attack\r\n',
  );

  it('fits a schema and encodes the rows (label column defaults to `label`)', () => {
    const data = loadCsvDataset(path);
    assert.equal(data.name, 'flows');
    assert.deepEqual(data.shape, [4, 5]);
    assert.deepEqual(data.schema.featureNames, ['bytes', 'proto=icmp', 'proto=tcp', 'proto=udp', 'duration']);
    assert.deepEqual(data.classNames, ['attack', 'benign']);
    assert.deepEqual(Array.from(data.y), [1, 0, 1, 0]);
    // bytes 100..500 → 0..1; duration missing → mean 1.5 → (1.5-0.5)/2 = 0.5.
    assert.deepEqual(Array.from(data.x.subarray(10, 15)), [0.25, 0, 1, 0, 0.5]);
  });

  it('uses the last column when there is no `label`, honours limit and a given schema', () => {
    const other = join(dir, 'last.csv');
    writeFileSync(other, 'f,g,cls\n1,a,x\n2,b,y\n3,a,x\n');
    const data = loadCsvDataset(other, { limit: 2 });
    assert.equal(data.schema.label.column, 'cls');
    assert.deepEqual(data.shape, [2, 3]);
    const schema = fitTabularSchema(
      [
        { f: '0', g: 'a', cls: 'x' },
        { f: '10', g: 'b', cls: 'y' },
      ],
      { labelColumn: 'cls' },
    );
    const reused = loadCsvDataset(other, { schema });
    assert.deepEqual(Array.from(reused.x), [0.1, 1, 0, 0.2, 0, 1, 0.3, 1, 0].map(Math.fround));
  });

  it('reports a malformed number with file, row, line and column', () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'a,label\n1,x\n2,y\n3,x\n');
    const schema = loadCsvDataset(bad).schema;
    writeFileSync(bad, 'a,label\n1,x\n2..5,y\n');
    assert.throws(
      () => loadCsvDataset(bad, { schema }),
      inputError(/bad\.csv: row 2 \(line 3\), column 'a': '2\.\.5' is not a finite number/),
    );
    assert.throws(() => loadCsvDataset(bad, { labelColumn: 'nope' }), inputError(/label column 'nope' not found/));
  });
});
