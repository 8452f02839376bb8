/**
 * CSV as in RFC 4180: fields separated by a delimiter, records by CRLF or LF (a lone CR too),
 * fields may be quoted with `"` and a quote inside a quoted field is written `""`.
 * Lenient where real files are: a UTF-8 BOM is dropped, blank lines and a missing final
 * newline are fine, and a quote inside an unquoted field is kept as a literal character.
 * `loadCsvDataset` turns a labelled file into a Dataset through a tabular schema.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { AegisInputError } from '../core/errors.js';
import { applyTabularSchema, fitTabularSchema, type TabularDataset, type TabularSchema } from './tabular-schema.js';

export interface CsvRecord {
  fields: string[];
  /** 1-based line where the record starts (differs from the record index when fields span lines). */
  line: number;
}

export interface CsvOptions {
  delimiter?: string;
  /** Names the input in error messages. */
  source?: string;
}

/** Line breaks in `s`, counting CRLF once. */
function countLineBreaks(s: string): number {
  let n = 0;
  for (let k = 0; k < s.length; k++) {
    const c = s[k];
    if (c === '\n' || (c === '\r' && s[k + 1] !== '\n')) n++;
  }
  return n;
}

/** Splits CSV text into records of raw string fields. */
export function parseCsvRecords(text: string, options: CsvOptions = {}): CsvRecord[] {
  const delimiter = options.delimiter ?? ',';
  const source = options.source ?? '<csv>';
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new AegisInputError(`CSV delimiter must be one character other than a quote or newline, got '${delimiter}'`);
  }
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false; // the current field was quoted, so it exists even when empty
  let line = 1;
  let recordLine = 1;
  const endField = (): void => {
    fields.push(field);
    field = '';
    quoted = false;
  };
  const endRecord = (): void => {
    // A blank line (one unquoted empty field) is skipped rather than made an empty record.
    const blank = fields.length === 0 && field === '' && !quoted;
    endField();
    if (!blank) records.push({ fields, line: recordLine });
    fields = [];
  };
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"' && field === '' && !quoted) {
      // Quoted field: runs to the next quote that is not doubled.
      const openLine = line;
      quoted = true;
      i++;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) throw new AegisInputError(`${source}: line ${openLine}: quoted field is never closed`);
        const chunk = text.slice(i, close);
        line += countLineBreaks(chunk);
        field += chunk;
        i = close;
        if (text[i + 1] !== '"') break;
        field += '"';
        i += 2;
      }
      i++;
      const next = text[i];
      if (next !== undefined && next !== delimiter && next !== '\n' && next !== '\r') {
        throw new AegisInputError(
          `${source}: line ${line}: unexpected '${next}' after a closing quote (a quote inside a quoted field must be doubled: "")`,
        );
      }
    } else if (ch === delimiter) {
      endField();
      i++;
    } else if (ch === '\n' || ch === '\r') {
      endRecord();
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      recordLine = line;
    } else {
      // Copy the run up to the next delimiter or line break in one slice.
      let j = i + 1;
      while (j < text.length) {
        const c = text[j];
        if (c === delimiter || c === '\n' || c === '\r') break;
        j++;
      }
      field += text.slice(i, j);
      i = j;
    }
  }
  if (fields.length > 0 || field !== '' || quoted) endRecord();
  return records;
}

export interface CsvTable {
  header: string[];
  /** Data rows, each with header.length fields. */
  rows: string[][];
  /** 1-based line of each data row, for error messages. */
  lines: number[];
  source: string;
}

/** Parses CSV text with a header row; every row must have as many fields as the header. */
export function parseCsv(text: string, options: CsvOptions = {}): CsvTable {
  const source = options.source ?? '<csv>';
  const records = parseCsvRecords(text, options);
  const head = records[0];
  if (head === undefined) throw new AegisInputError(`${source}: empty CSV (no header row)`);
  const header = head.fields.map((h) => h.trim());
  const seen = new Set<string>();
  header.forEach((name, c) => {
    if (name === '') throw new AegisInputError(`${source}: header column ${c + 1} has no name`);
    if (seen.has(name)) throw new AegisInputError(`${source}: header names column '${name}' twice`);
    seen.add(name);
  });
  const rows: string[][] = [];
  const lines: number[] = [];
  for (const record of records.slice(1)) {
    if (record.fields.length !== header.length) {
      throw new AegisInputError(
        `${source}: line ${record.line} has ${record.fields.length} fields but the header has ${header.length}`,
      );
    }
    rows.push(record.fields);
    lines.push(record.line);
  }
  return { header, rows, lines, source };
}

/** Reads a CSV file (UTF-8) with a header row. */
export function readCsv(path: string, options: Omit<CsvOptions, 'source'> = {}): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new AegisInputError(`${path}: cannot read CSV file (${reason})`, { cause: error });
  }
  return parseCsv(text, { ...options, source: path });
}

/** Rows as objects keyed by column name. */
export function csvRecords(table: CsvTable): Record<string, string>[] {
  return table.rows.map((row) => Object.fromEntries(table.header.map((name, c) => [name, row[c]!])));
}

export interface CsvDatasetOptions {
  /** Default: the schema's label column, else `label` when present, else the last column. */
  labelColumn?: string;
  /** Encode with this fitted schema (inference); otherwise fit one on this file. */
  schema?: TabularSchema;
  categorical?: string[];
  numeric?: string[];
  drop?: string[];
  classNames?: string[];
  /** Keep only the first `limit` rows (before fitting). */
  limit?: number;
  name?: string;
  delimiter?: string;
}

/** The label column when none is named: `label` if present, else the last column. */
export function defaultLabelColumn(header: readonly string[]): string {
  return header.includes('label') ? 'label' : header[header.length - 1]!;
}

/** A labelled CSV file → Dataset [n, features], with the schema used (fitted here unless given). */
export function loadCsvDataset(path: string, options: CsvDatasetOptions = {}): TabularDataset {
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit > 0)) {
    throw new AegisInputError(`limit must be a positive integer, got ${options.limit}`);
  }
  const table = readCsv(path, options.delimiter ? { delimiter: options.delimiter } : {});
  const n = Math.min(table.rows.length, options.limit ?? table.rows.length);
  if (n === 0) throw new AegisInputError(`${path}: CSV has a header but no data rows`);
  const rows = csvRecords({ ...table, rows: table.rows.slice(0, n) });
  const lines = table.lines.slice(0, n);
  const labelColumn = options.labelColumn ?? options.schema?.label.column ?? defaultLabelColumn(table.header);
  if (!table.header.includes(labelColumn)) {
    throw new AegisInputError(
      `${path}: label column '${labelColumn}' not found; columns are [${table.header.join(', ')}]`,
    );
  }
  if (options.schema && options.schema.label.column !== labelColumn) {
    throw new AegisInputError(
      `${path}: label column '${labelColumn}' differs from the schema's '${options.schema.label.column}'`,
    );
  }
  const schema =
    options.schema ??
    fitTabularSchema(rows, {
      labelColumn,
      columns: table.header,
      source: path,
      lines,
      ...(options.categorical ? { categorical: options.categorical } : {}),
      ...(options.numeric ? { numeric: options.numeric } : {}),
      ...(options.drop ? { drop: options.drop } : {}),
      ...(options.classNames ? { classNames: options.classNames } : {}),
    });
  if (options.schema) {
    const missing = schema.columns.map((c) => c.name).filter((name) => !table.header.includes(name));
    if (missing.length > 0) {
      throw new AegisInputError(`${path}: columns [${missing.join(', ')}] of the schema are missing from the CSV`);
    }
  }
  const name = options.name ?? basename(path).replace(/\.[^.]*$/, '');
  return applyTabularSchema(schema, rows, { name, source: path, lines });
}
