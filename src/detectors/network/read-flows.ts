/**
 * Reads flow records (NSL-KDD, UNSW-NB15, CIC-IDS2017 layouts; plain or gzip) into a column
 * table. Real files are messy, so a bad row never stops the read: rows with the wrong number of
 * fields or a non-numeric value in a numeric column are skipped and counted, with the first few
 * line numbers in a warning; empty numeric cells (missing) and NaN/Infinity (CIC's flow rates
 * when the duration is 0) are kept as NaN/±Infinity, counted per column, and the encoder fitted
 * on training data decides what they become. Only an unreadable file, an unknown layout or a file
 * with no usable row is an error (AegisInputError).
 */
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { AegisInputError, isInputError } from '../../core/errors.js';
import { parseCsvRecords } from '../../data/csv.js';
import { detectLayout, type FlowLayout, layoutByName, normaliseHeader } from './layouts.js';

/** One flow as a row keyed by column name (what Detector.score takes; CSV gives strings, JSON numbers). */
export type FlowRecord = Readonly<Record<string, string | number | undefined>>;

export interface FlowTable {
  layout: FlowLayout;
  source: string;
  numericNames: string[];
  categoricalNames: string[];
  /** size × numericNames.length, row-major: NaN = missing or NaN in the file, ±Infinity as read. */
  numeric: Float64Array;
  /** categorical[c][i]: value of categorical column c in row i (trimmed). */
  categorical: string[][];
  /** Raw label per row ('' when the file has no labels). */
  labels: string[];
  /** Class (category) per row: the layout's mapping of the label; undefined for an unknown label. */
  classes: (string | undefined)[];
  /** 1-based file line per row. */
  lines: Int32Array;
  size: number;
  labelled: boolean;
}

export interface ReadReport {
  source: string;
  layout: string;
  /** Rows kept. */
  rows: number;
  /** Rows skipped, by reason, with the first few line numbers. */
  skipped: number;
  skippedLines: number[];
  skipReasons: Record<string, number>;
  /** Missing (empty) numeric cells per column. */
  missing: Record<string, number>;
  /** NaN / Infinity numeric cells per column. */
  nonFinite: Record<string, number>;
  /** Labels the layout's class map does not know, with counts. */
  unknownLabels: Record<string, number>;
  warnings: string[];
}

export interface ReadFlowsOptions {
  /** Layout name; default: detected from the first line. */
  layout?: string;
  /** Names the input in messages (default: the path). */
  source?: string;
  /** Keep at most this many rows. */
  limit?: number;
  /** Read as unlabelled (scoring): label columns are left out, an empty label skips nothing. */
  ignoreLabels?: boolean;
}

/** How many skipped line numbers a warning lists. */
export const SKIPPED_LINES_SHOWN = 5;

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/** 'NaN', 'inf', '-Infinity' … as numbers. */
function nonFiniteValue(cell: string): number {
  const lower = cell.toLowerCase();
  if (lower.includes('nan')) return Number.NaN;
  return lower.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
}

/** The most text a flow file may hold: the longest string V8 can build (0x1fffffe8 characters). */
export const MAX_FLOW_TEXT_BYTES = 0x1fffffe8;

/**
 * File bytes as text: gunzips when the gzip magic number is there (whatever the extension). A file
 * whose text exceeds `maxBytes` (default: what one string can hold) is refused, to be split.
 */
export function readFlowText(path: string, maxBytes = MAX_FLOW_TEXT_BYTES): string {
  const tooLarge = () =>
    new AegisInputError(`${path}: more than ${maxBytes} bytes of text, too large to read at once; split the file`);
  let bytes: Buffer;
  try {
    // A FIFO or device would block the read forever (or stream without end).
    const stat = statSync(path);
    if (!stat.isFile() && !stat.isDirectory()) {
      throw new AegisInputError(`${path}: not a regular file (a FIFO, socket or device); flow files are read whole`);
    }
    bytes = readFileSync(path);
  } catch (error) {
    if (isInputError(error)) throw error;
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    if (reason === 'ERR_FS_FILE_TOO_LARGE') throw tooLarge();
    throw new AegisInputError(`${path}: cannot read flow file (${reason})`, { cause: error });
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: maxBytes });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
      throw new AegisInputError(`${path}: corrupt or truncated gzip data (${(error as Error).message})`, {
        cause: error,
      });
    }
  }
  if (bytes.length > maxBytes) throw tooLarge();
  return decodeText(bytes);
}

/** UTF-8, or UTF-16 when a byte-order mark says so (spreadsheets' "Unicode text" export). */
function decodeText(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes);
  return new TextDecoder('utf-8').decode(bytes);
}

/** Reads a flow file (.csv, .txt, .gz). */
export function readFlows(path: string, options: ReadFlowsOptions = {}): { table: FlowTable; report: ReadReport } {
  return parseFlows(readFlowText(path), { ...options, source: options.source ?? path });
}

/** Splits one CSV line; a line with quotes goes through the RFC 4180 parser (undefined if it is malformed). */
function splitLine(line: string): string[] | undefined {
  if (!line.includes('"')) return line.split(',');
  try {
    return parseCsvRecords(line)[0]?.fields;
  } catch {
    return undefined;
  }
}

/** Parses flow text of a known or detected layout. */
export function parseFlows(text: string, options: ReadFlowsOptions = {}): { table: FlowTable; report: ReadReport } {
  const source = options.source ?? '<flows>';
  const lines = text.split(/\r?\n|\r/);
  let first = 0;
  while (first < lines.length && (lines[first] as string).trim() === '') first++;
  if (first === lines.length) throw new AegisInputError(`${source}: the file is empty`);
  const layout = options.layout !== undefined ? layoutByName(options.layout) : detectLayout(lines[first] as string);
  if (!layout) {
    throw new AegisInputError(
      `${source}: cannot tell the layout from the first line (expected NSL-KDD rows, or a UNSW-NB15 / CIC-IDS2017 header); pass the layout explicitly${separatorHint(lines[first] as string)}`,
    );
  }
  let header: string[];
  let start: number;
  if (layout.hasHeader) {
    header = normaliseHeader(splitLine(lines[first] as string) ?? []);
    start = first + 1;
  } else {
    header = [...(layout.columns ?? [])];
    start = first;
  }
  try {
    return parseRows(lines, start, header, layout, source, options);
  } catch (error) {
    const hint = separatorHint(lines[first] as string);
    if (hint && error instanceof AegisInputError) throw new AegisInputError(`${error.message}${hint}`);
    throw error;
  }
}

/** '' unless the first line looks separated by something else than commas (European spreadsheets, TSV). */
function separatorHint(firstLine: string): string {
  if (firstLine.includes(',')) return '';
  const other = firstLine.includes('\t') ? 'tabs' : firstLine.includes(';') ? 'semicolons' : '';
  return other && `; the first line has ${other} but no commas: flow files are comma-separated`;
}

/** Column roles for a header: numeric features, categorical features, label columns. */
function roles(header: readonly string[], layout: FlowLayout) {
  const labelCols = new Set([layout.labelColumn, ...(layout.binaryLabelColumn ? [layout.binaryLabelColumn] : [])]);
  const drop = new Set(layout.drop);
  const categoricalNames = header.filter((h) => layout.categorical.includes(h));
  const numericNames = header.filter((h) => !drop.has(h) && !labelCols.has(h) && !layout.categorical.includes(h));
  return { categoricalNames, numericNames };
}

function parseRows(
  lines: readonly string[],
  start: number,
  header: string[],
  layout: FlowLayout,
  source: string,
  options: ReadFlowsOptions,
): { table: FlowTable; report: ReadReport } {
  const limit = options.limit;
  const report: ReadReport = {
    source,
    layout: layout.name,
    rows: 0,
    skipped: 0,
    skippedLines: [],
    skipReasons: {},
    missing: {},
    nonFinite: {},
    unknownLabels: {},
    warnings: [],
  };
  // NSL-KDD without the difficulty (42 fields) or without label and difficulty (41): decided by the first data row.
  if (!layout.hasHeader) {
    const firstRow = lines.slice(start).find((l) => l.trim() !== '');
    const n = firstRow ? (splitLine(firstRow)?.length ?? 0) : 0;
    if (n === header.length - 1 || n === header.length - 2) header = header.slice(0, n);
  }
  const { categoricalNames, numericNames } = roles(header, layout);
  const numericIdx = numericNames.map((n) => header.indexOf(n));
  const categoricalIdx = categoricalNames.map((n) => header.indexOf(n));
  const labelIdx = options.ignoreLabels ? -1 : header.indexOf(layout.labelColumn);
  const labelled = labelIdx >= 0;
  if (numericNames.length === 0) throw new AegisInputError(`${source}: no numeric feature columns found`);

  const p = numericNames.length;
  let numeric = new Float64Array(Math.max(1024, Math.min(lines.length, limit ?? lines.length)) * p);
  const categorical: string[][] = categoricalNames.map(() => []);
  const labels: string[] = [];
  const classes: (string | undefined)[] = [];
  const rowLines: number[] = [];
  const row = new Float64Array(p);
  const skip = (line: number, reason: string) => {
    report.skipped++;
    report.skipReasons[reason] = (report.skipReasons[reason] ?? 0) + 1;
    if (report.skippedLines.length < SKIPPED_LINES_SHOWN) report.skippedLines.push(line);
  };
  const missing = new Int32Array(p);
  const nonFinite = new Int32Array(p);

  for (let li = start; li < lines.length; li++) {
    if (limit !== undefined && labels.length >= limit) break;
    const text = lines[li] as string;
    if (text.trim() === '') continue;
    const lineNo = li + 1;
    const fields = splitLine(text);
    if (!fields || fields.length !== header.length) {
      skip(lineNo, fields ? `wrong field count` : 'malformed quoting');
      continue;
    }
    let bad = false;
    const rowMissing: number[] = [];
    const rowNonFinite: number[] = [];
    for (let j = 0; j < p; j++) {
      const cell = (fields[numericIdx[j] as number] as string).trim();
      if (cell === '') {
        row[j] = Number.NaN;
        rowMissing.push(j);
      } else if (DECIMAL.test(cell)) {
        row[j] = Number(cell);
        if (!Number.isFinite(row[j] as number)) rowNonFinite.push(j); // 1e309 overflows to Infinity
      } else if (NON_FINITE.test(cell)) {
        row[j] = nonFiniteValue(cell);
        rowNonFinite.push(j);
      } else {
        bad = true;
        break;
      }
    }
    if (bad) {
      skip(lineNo, 'non-numeric value in a numeric column');
      continue;
    }
    const label = labelled ? (fields[labelIdx] as string).trim() : '';
    if (labelled && label === '') {
      skip(lineNo, 'empty label');
      continue;
    }
    for (const j of rowMissing) missing[j]++;
    for (const j of rowNonFinite) nonFinite[j]++;
    const n = labels.length;
    if ((n + 1) * p > numeric.length) {
      const grown = new Float64Array(numeric.length * 2);
      grown.set(numeric);
      numeric = grown;
    }
    numeric.set(row, n * p);
    categoricalIdx.forEach((c, k) => {
      (categorical[k] as string[]).push((fields[c] as string).trim());
    });
    labels.push(label);
    const cls = labelled ? layout.categoryOf(label) : undefined;
    if (labelled && cls === undefined) report.unknownLabels[label] = (report.unknownLabels[label] ?? 0) + 1;
    classes.push(cls);
    rowLines.push(lineNo);
  }
  const size = labels.length;
  numericNames.forEach((name, j) => {
    if ((missing[j] as number) > 0) report.missing[name] = missing[j] as number;
    if ((nonFinite[j] as number) > 0) report.nonFinite[name] = nonFinite[j] as number;
  });
  report.rows = size;
  if (size === 0) {
    const why = report.skipped > 0 ? ` (${report.skipped} rows skipped: ${describeSkips(report)})` : '';
    throw new AegisInputError(`${source}: no usable ${layout.title} rows${why}`);
  }
  report.warnings = warningsOf(report);
  const table: FlowTable = {
    layout,
    source,
    numericNames,
    categoricalNames,
    numeric: numeric.slice(0, size * p),
    categorical,
    labels,
    classes,
    lines: Int32Array.from(rowLines),
    size,
    labelled,
  };
  return { table, report };
}

function describeSkips(r: ReadReport): string {
  const reasons = Object.entries(r.skipReasons)
    .map(([reason, n]) => `${n} ${reason}`)
    .join(', ');
  const more = r.skipped > r.skippedLines.length ? ', …' : '';
  return `${reasons}; first at line${r.skippedLines.length > 1 ? 's' : ''} ${r.skippedLines.join(', ')}${more}`;
}

function countsText(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

/** One sentence per kind of problem found. */
function warningsOf(r: ReadReport): string[] {
  const out: string[] = [];
  if (r.skipped > 0) out.push(`${r.source}: skipped ${r.skipped} malformed row(s) (${describeSkips(r)})`);
  if (Object.keys(r.nonFinite).length > 0) {
    out.push(`${r.source}: NaN/Infinity values (filled by the encoder from training data): ${countsText(r.nonFinite)}`);
  }
  if (Object.keys(r.missing).length > 0) out.push(`${r.source}: empty numeric cells: ${countsText(r.missing)}`);
  if (Object.keys(r.unknownLabels).length > 0) {
    out.push(
      `${r.source}: labels outside the ${r.layout} class map (counted as attacks): ${countsText(r.unknownLabels)}`,
    );
  }
  return out;
}

/** Streaming events → a one-layout table (Detector.score takes records; the model works on tables). */
export function recordsToTable(
  records: readonly FlowRecord[],
  layout: FlowLayout,
  numericNames: readonly string[],
  categoricalNames: readonly string[],
): FlowTable {
  const p = numericNames.length;
  const numeric = new Float64Array(records.length * p);
  records.forEach((r, i) => {
    numericNames.forEach((name, j) => {
      const v = r[name];
      let x: number;
      if (v === undefined || v === '') x = Number.NaN;
      else if (typeof v === 'number') x = v;
      else {
        const t = v.trim();
        if (DECIMAL.test(t)) x = Number(t);
        else if (NON_FINITE.test(t)) x = nonFiniteValue(t);
        else throw new AegisInputError(`flow ${i + 1}: '${name}' must be a number, got '${v}'`);
      }
      numeric[i * p + j] = x;
    });
  });
  const labels = records.map((r) => String(r[layout.labelColumn] ?? '').trim());
  return {
    layout,
    source: '<records>',
    numericNames: [...numericNames],
    categoricalNames: [...categoricalNames],
    numeric,
    categorical: categoricalNames.map((name) => records.map((r) => String(r[name] ?? '').trim())),
    labels,
    classes: labels.map((l) => (l === '' ? undefined : layout.categoryOf(l))),
    lines: Int32Array.from(records, (_, i) => i + 1),
    size: records.length,
    labelled: labels.every((l) => l !== ''),
  };
}

/** Row i of a table as a record (for streaming APIs and reports). */
export function tableRecord(table: FlowTable, i: number): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  const p = table.numericNames.length;
  table.numericNames.forEach((name, j) => {
    out[name] = table.numeric[i * p + j] as number;
  });
  table.categoricalNames.forEach((name, c) => {
    out[name] = (table.categorical[c] as string[])[i] as string;
  });
  if (table.labelled) out[table.layout.labelColumn] = table.labels[i] as string;
  return out;
}

/** The rows at `indices`, in that order. */
export function takeRows(table: FlowTable, indices: ArrayLike<number>): FlowTable {
  const p = table.numericNames.length;
  const numeric = new Float64Array(indices.length * p);
  const pick = <T>(a: readonly T[]) => Array.from({ length: indices.length }, (_, k) => a[indices[k] as number] as T);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    numeric.set(table.numeric.subarray(i * p, (i + 1) * p), k * p);
  }
  return {
    ...table,
    numeric,
    categorical: table.categorical.map(pick),
    labels: pick(table.labels),
    classes: pick(table.classes),
    lines: Int32Array.from({ length: indices.length }, (_, k) => table.lines[indices[k] as number] as number),
    size: indices.length,
  };
}

/** Whether each row is an attack (class differs from the layout's normal class; unknown labels are attacks). */
export function isAttack(table: FlowTable): Uint8Array {
  return Uint8Array.from(table.classes, (c) => (c === table.layout.normalClass ? 0 : 1));
}
