/**
 * Tabular rows → features, with the encoding fitted once on training data and recorded as
 * plain JSON so inference (CLI, gateway) encodes new rows exactly the same way.
 * Numeric columns are min-max scaled to [0, 1] using the training min/max (so evasion budgets
 * such as eps = 0.05 mean "5% of the observed range" and the input domain is the unit box);
 * values outside the training range are clipped to [0, 1] and counted as a warning.
 * Categorical columns are one-hot encoded; an unseen category encodes as all zeros (warning).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { AegisInputError } from '../core/errors.js';
import { type Dataset, validateDataset } from './dataset.js';

export const TABULAR_SCHEMA_FORMAT = 'aegis-tabular-schema';

const numericColumn = z.object({
  name: z.string().min(1),
  kind: z.literal('numeric'),
  min: z.number(),
  max: z.number(),
  /** Training mean, used for missing (empty) values. */
  mean: z.number(),
});

const categoricalColumn = z.object({
  name: z.string().min(1),
  kind: z.literal('categorical'),
  categories: z.array(z.string()),
});

const schemaShape = z
  .object({
    format: z.literal(TABULAR_SCHEMA_FORMAT),
    version: z.literal(1),
    scaling: z.literal('min-max'),
    columns: z.array(z.discriminatedUnion('kind', [numericColumn, categoricalColumn])),
    label: z.object({
      column: z.string().min(1),
      /** Raw label values in class-index order. */
      values: z.array(z.string()).min(1),
      /** Display names, same order and length as `values`. */
      classNames: z.array(z.string()).min(1),
    }),
    dropped: z.array(z.string()),
    featureNames: z.array(z.string()),
    fittedOn: z.object({ rows: z.number().int().nonnegative(), source: z.string().optional() }),
  })
  .superRefine((s, ctx) => {
    if (s.label.values.length !== s.label.classNames.length) {
      ctx.addIssue({ code: 'custom', message: 'label.values and label.classNames differ in length' });
    }
    const expected = expectedFeatureNames(s.columns);
    if (expected.join('\u0000') !== s.featureNames.join('\u0000')) {
      ctx.addIssue({ code: 'custom', message: 'featureNames do not match the columns' });
    }
    for (const c of s.columns) {
      if (c.kind === 'numeric' && !(c.min <= c.max)) {
        ctx.addIssue({ code: 'custom', message: `column '${c.name}': min ${c.min} > max ${c.max}` });
      }
    }
  });

export type TabularSchema = z.infer<typeof schemaShape>;
export type TabularColumn = TabularSchema['columns'][number];

/** One input row: column name → value. CSV gives strings; JSON requests may give numbers. */
export type TabularRow = Readonly<Record<string, string | number | boolean | null | undefined>>;

function expectedFeatureNames(columns: readonly TabularColumn[]): string[] {
  return columns.flatMap((c) => (c.kind === 'numeric' ? [c.name] : c.categories.map((v) => `${c.name}=${v}`)));
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/** The text of a cell, trimmed; '' for missing. */
function cell(row: TabularRow, column: string): string {
  const v = row[column];
  if (v === undefined || v === null) return '';
  return String(v).trim();
}

function parseNumber(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Names a row for error messages: 1-based, plus its file line when known. */
function rowRef(i: number, lines?: readonly number[], source?: string): string {
  const where = source ? `${source}: ` : '';
  return lines?.[i] !== undefined ? `${where}row ${i + 1} (line ${lines[i]})` : `${where}row ${i + 1}`;
}

export interface FitTabularOptions {
  labelColumn: string;
  /** Force these columns to be one-hot encoded. */
  categorical?: string[];
  /** Force these columns to be numeric (a malformed value is then an error). */
  numeric?: string[];
  drop?: string[];
  /** Column order; default: keys of the rows in first-seen order. */
  columns?: string[];
  /** Fixed class order of raw label values; default numeric order when all labels are numbers, else sorted. */
  labelValues?: string[];
  /** Display names per class (same length as the classes); default the raw values. */
  classNames?: string[];
  /** A categorical column with more distinct values is an error (likely an ID column to drop). Default 100. */
  maxCategories?: number;
  /** For error messages: file name and line of each row. */
  source?: string;
  lines?: readonly number[];
}

function columnOrder(rows: readonly TabularRow[], given?: string[]): string[] {
  if (given) return [...given];
  const seen = new Set<string>();
  for (const row of rows) for (const k of Object.keys(row)) seen.add(k);
  return [...seen];
}

function compareLabels(a: string, b: string): number {
  const x = parseNumber(a);
  const y = parseNumber(b);
  if (x !== undefined && y !== undefined) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Class index of a raw label: exact match, else numeric equality ('1.0' is class '1'). */
function labelIndex(values: readonly string[], text: string): number | undefined {
  const exact = values.indexOf(text);
  if (exact >= 0) return exact;
  const n = parseNumber(text);
  if (n === undefined) return undefined;
  const k = values.findIndex((v) => parseNumber(v) === n);
  return k >= 0 ? k : undefined;
}

function fitLabel(rows: readonly TabularRow[], opts: FitTabularOptions): TabularSchema['label'] {
  const column = opts.labelColumn;
  const seen = new Set<string>();
  rows.forEach((row, i) => {
    const v = cell(row, column);
    if (v === '') throw new AegisInputError(`${rowRef(i, opts.lines, opts.source)}: label column '${column}' is empty`);
    seen.add(v);
  });
  let values = opts.labelValues ? [...opts.labelValues] : [...seen].sort(compareLabels);
  if (!opts.labelValues && opts.classNames && [...seen].every((v) => Number.isInteger(parseNumber(v)))) {
    // Integer labels with given names: label k is class k, as in MNIST-style data.
    values = opts.classNames.map((_, k) => String(k));
  }
  for (const v of seen) {
    if (labelIndex(values, v) === undefined) {
      throw new AegisInputError(`label '${v}' in column '${column}' is not one of the classes [${values.join(', ')}]`);
    }
  }
  const classNames = opts.classNames ? [...opts.classNames] : values;
  if (classNames.length !== values.length) {
    throw new AegisInputError(
      `${classNames.length} class names given but column '${column}' has ${values.length} classes [${values.join(', ')}]`,
    );
  }
  return { column, values, classNames };
}

function fitNumeric(name: string, rows: readonly TabularRow[], opts: FitTabularOptions): TabularColumn {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  let count = 0;
  rows.forEach((row, i) => {
    const text = cell(row, name);
    if (text === '') return;
    const v = parseNumber(text);
    if (v === undefined) {
      throw new AegisInputError(
        `${rowRef(i, opts.lines, opts.source)}, column '${name}': '${text}' is not a finite number (leave the cell empty for a missing value)`,
      );
    }
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
    count++;
  });
  if (count === 0) {
    throw new AegisInputError(`column '${name}' is empty in every row; drop it (drop: ['${name}'])`);
  }
  return { name, kind: 'numeric', min, max, mean: sum / count };
}

function fitCategorical(name: string, rows: readonly TabularRow[], maxCategories: number): TabularColumn {
  const seen = new Set<string>();
  for (const row of rows) {
    const v = cell(row, name);
    if (v !== '') seen.add(v);
  }
  if (seen.size > maxCategories) {
    throw new AegisInputError(
      `column '${name}' has ${seen.size} distinct non-numeric values (more than ${maxCategories}); drop it if it is an identifier, or raise maxCategories`,
    );
  }
  return { name, kind: 'categorical', categories: [...seen].sort() };
}

/** Numeric when every non-empty value is a finite decimal number; NaN/inf among numbers is an error. */
function inferKind(name: string, rows: readonly TabularRow[], opts: FitTabularOptions): 'numeric' | 'categorical' {
  let numbers = 0;
  let nonFinite: { index: number; text: string } | undefined;
  for (let i = 0; i < rows.length; i++) {
    const text = cell(rows[i]!, name);
    if (text === '') continue;
    if (parseNumber(text) !== undefined) numbers++;
    else if (NON_FINITE.test(text)) nonFinite ??= { index: i, text };
    else return 'categorical';
  }
  if (nonFinite && numbers > 0) {
    throw new AegisInputError(
      `${rowRef(nonFinite.index, opts.lines, opts.source)}, column '${name}': '${nonFinite.text}' is not a finite number (leave the cell empty for a missing value)`,
    );
  }
  return nonFinite ? 'categorical' : 'numeric';
}

/** Learns the encoding from training rows. */
export function fitTabularSchema(rows: readonly TabularRow[], opts: FitTabularOptions): TabularSchema {
  if (rows.length === 0) throw new AegisInputError('cannot fit a tabular schema on zero rows');
  const columns = columnOrder(rows, opts.columns);
  const named = [opts.labelColumn, ...(opts.categorical ?? []), ...(opts.numeric ?? []), ...(opts.drop ?? [])];
  for (const name of named) {
    if (!columns.includes(name)) {
      throw new AegisInputError(`column '${name}' not found; columns are [${columns.join(', ')}]`);
    }
  }
  const both = (opts.categorical ?? []).filter((c) => opts.numeric?.includes(c));
  if (both.length > 0) throw new AegisInputError(`columns [${both}] are listed as both categorical and numeric`);
  const drop = new Set(opts.drop ?? []);
  if (drop.has(opts.labelColumn)) throw new AegisInputError(`the label column '${opts.labelColumn}' cannot be dropped`);
  const fitted: TabularColumn[] = [];
  for (const name of columns) {
    if (name === opts.labelColumn || drop.has(name)) continue;
    const kind = opts.categorical?.includes(name)
      ? 'categorical'
      : opts.numeric?.includes(name)
        ? 'numeric'
        : inferKind(name, rows, opts);
    fitted.push(
      kind === 'numeric' ? fitNumeric(name, rows, opts) : fitCategorical(name, rows, opts.maxCategories ?? 100),
    );
  }
  if (fitted.length === 0) throw new AegisInputError('no feature columns left besides the label');
  return {
    format: TABULAR_SCHEMA_FORMAT,
    version: 1,
    scaling: 'min-max',
    columns: fitted,
    label: fitLabel(rows, opts),
    dropped: [...drop],
    featureNames: expectedFeatureNames(fitted),
    fittedOn: { rows: rows.length, ...(opts.source ? { source: opts.source } : {}) },
  };
}

export interface EncodeOptions {
  source?: string;
  lines?: readonly number[];
}

export interface EncodedFeatures {
  /** Row-major [rows.length, featureNames.length]. */
  x: Float32Array;
  /** Human-readable notes on unseen categories and out-of-range values, one per column. */
  warnings: string[];
  /** Per column: rows whose category was not seen in training. */
  unseenCategories: Record<string, number>;
  /** Per column: numeric values outside the training range (clipped to [0, 1]). */
  clipped: Record<string, number>;
}

/** Encodes rows into features only (no label needed) — what a served model receives. */
export function encodeTabularFeatures(
  schema: TabularSchema,
  rows: readonly TabularRow[],
  opts: EncodeOptions = {},
): EncodedFeatures {
  const width = schema.featureNames.length;
  const x = new Float32Array(rows.length * width);
  const unseenCategories: Record<string, number> = {};
  const clipped: Record<string, number> = {};
  const examples: Record<string, string> = {};
  let offset = 0;
  for (const column of schema.columns) {
    if (column.kind === 'numeric') {
      const range = column.max - column.min;
      rows.forEach((row, i) => {
        const text = cell(row, column.name);
        let v = column.mean;
        if (text !== '') {
          const parsed = parseNumber(text);
          if (parsed === undefined) {
            throw new AegisInputError(
              `${rowRef(i, opts.lines, opts.source)}, column '${column.name}': '${text}' is not a finite number (leave the cell empty for a missing value)`,
            );
          }
          v = parsed;
        }
        let scaled = range > 0 ? (v - column.min) / range : 0;
        if (scaled < 0 || scaled > 1) {
          clipped[column.name] = (clipped[column.name] ?? 0) + 1;
          scaled = Math.min(1, Math.max(0, scaled));
        }
        x[i * width + offset] = scaled;
      });
      offset += 1;
    } else {
      const index = new Map(column.categories.map((c, k) => [c, k]));
      rows.forEach((row, i) => {
        const text = cell(row, column.name);
        if (text === '') return; // missing: all zeros
        const k = index.get(text);
        if (k === undefined) {
          unseenCategories[column.name] = (unseenCategories[column.name] ?? 0) + 1;
          examples[column.name] ??= text;
          return;
        }
        x[i * width + offset + k] = 1;
      });
      offset += column.categories.length;
    }
  }
  const warnings = [
    ...Object.entries(unseenCategories).map(
      ([name, n]) =>
        `column '${name}': ${n} row(s) with a category not seen in training (e.g. '${examples[name]}'), encoded as all zeros`,
    ),
    ...Object.entries(clipped).map(
      ([name, n]) => `column '${name}': ${n} value(s) outside the training range, clipped to [0, 1]`,
    ),
  ];
  return { x, warnings, unseenCategories, clipped };
}

/** Class index per row from the label column; an unknown label is an error. */
export function encodeTabularLabels(
  schema: TabularSchema,
  rows: readonly TabularRow[],
  opts: EncodeOptions = {},
): Int32Array {
  const { column, values } = schema.label;
  const index = new Map(values.map((v, k) => [v, k]));
  const y = new Int32Array(rows.length);
  rows.forEach((row, i) => {
    const text = cell(row, column);
    const k = index.get(text) ?? labelIndex(values, text);
    if (k === undefined) {
      throw new AegisInputError(
        `${rowRef(i, opts.lines, opts.source)}: label '${text}' in column '${column}' is not one of the training classes [${values.join(', ')}]`,
      );
    }
    y[i] = k;
  });
  return y;
}

/** A Dataset from tabular rows plus the schema and any encoding warnings. */
export interface TabularDataset extends Dataset {
  schema: TabularSchema;
  warnings: string[];
}

/** Encodes labelled rows with a fitted schema → Dataset [n, features]. */
export function applyTabularSchema(
  schema: TabularSchema,
  rows: readonly TabularRow[],
  opts: EncodeOptions & { name?: string } = {},
): TabularDataset {
  if (rows.length === 0) throw new AegisInputError(`${opts.source ?? 'tabular data'}: no rows to encode`);
  const { x, warnings } = encodeTabularFeatures(schema, rows, opts);
  const y = encodeTabularLabels(schema, rows, opts);
  const dataset = validateDataset({
    name: opts.name ?? 'tabular',
    x,
    y,
    shape: [rows.length, schema.featureNames.length],
    classNames: [...schema.label.classNames],
    ...(opts.source ? { source: opts.source } : {}),
  });
  return { ...dataset, schema, warnings };
}

/** Validates parsed JSON as a schema; `source` names it in errors. */
export function parseSchema(json: unknown, source = '<schema>'): TabularSchema {
  const result = schemaShape.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const at = issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new AegisInputError(`${source}: not a valid Aegis tabular schema${at}: ${issue.message}`);
  }
  return result.data;
}

export function saveSchema(path: string, schema: TabularSchema): void {
  writeFileSync(path, `${JSON.stringify(schema, null, 2)}\n`);
}

export function loadSchema(path: string): TabularSchema {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new AegisInputError(`${path}: cannot read schema (${reason})`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AegisInputError(`${path}: schema is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  return parseSchema(json, path);
}
