/**
 * Labelled text: a list of documents (SMS messages, e-mails, URLs …) with a class per document.
 * Models do not read text; a vectorizer (./hashing-vectorizer.ts) turns a TextDataset into a
 * numeric Dataset. Text attacks (trigger phrases) work here, on the strings, before vectorizing.
 *
 * Readers: the SMS Spam Collection format (`label<TAB>text`, one per line, no header), CSV with a
 * text and a label column, and JSONL ({"text": …, "label": …} per line). `loadTextDataset` picks
 * one by keyword (`sms-spam`: the bundled SMS Spam Collection) or file extension.
 * Functions here are pure: they return new datasets and never mutate their input.
 */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AegisInputError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { parseCsv } from './csv.js';

export interface TextDataset {
  name: string;
  texts: string[];
  /** Class index per text, in [0, classNames.length). */
  y: Int32Array;
  classNames: string[];
  /** Where it was read from. */
  source?: string;
}

/** The bundled SMS Spam Collection (Almeida, Gómez Hidalgo & Yamakami, DocEng 2011); see its README. */
export const BUNDLED_SMS_SPAM_PATH = fileURLToPath(new URL('../../data/sms-spam/SMSSpamCollection', import.meta.url));

export const SMS_SPAM_KEYWORD = 'sms-spam';

export const SUPPORTED_TEXT_FORMATS: readonly string[] = [
  `'${SMS_SPAM_KEYWORD}' (the bundled SMS Spam Collection)`,
  '.tsv / .txt or no extension: one `label<TAB>text` per line, no header (the SMS Spam Collection format)',
  '.csv with a header row holding a text column and a label column',
  '.jsonl: one JSON object per line with a text field and a label field',
];

export function textSize(data: TextDataset): number {
  return data.texts.length;
}

/** Texts must be strings, labels in range, and both lists the same length. */
export function validateTextDataset(data: TextDataset): TextDataset {
  const n = data.texts.length;
  if (data.y.length !== n)
    throw new AegisInputError(`text dataset '${data.name}': ${n} texts but ${data.y.length} labels`);
  if (data.classNames.length < 1) throw new AegisInputError(`text dataset '${data.name}': no class names`);
  const k = data.classNames.length;
  for (let i = 0; i < n; i++) {
    if (typeof data.texts[i] !== 'string') {
      throw new AegisInputError(`text dataset '${data.name}': text ${i} is not a string`);
    }
    const label = data.y[i] ?? -1;
    if (!(label >= 0 && label < k)) {
      throw new AegisInputError(`text dataset '${data.name}': label ${label} of text ${i} is outside [0, ${k - 1}]`);
    }
  }
  return data;
}

/** The texts at `indices`, in that order. */
export function takeTexts(data: TextDataset, indices: ArrayLike<number>): TextDataset {
  const texts: string[] = [];
  const y = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i] as number;
    texts.push(data.texts[j] as string);
    y[i] = data.y[j] as number;
  }
  return { ...data, texts, y };
}

/** Texts [start, end). */
export function sliceTexts(data: TextDataset, start: number, end = textSize(data)): TextDataset {
  const s = Math.max(0, Math.min(start, textSize(data)));
  const e = Math.max(s, Math.min(end, textSize(data)));
  return { ...data, texts: data.texts.slice(s, e), y: data.y.slice(s, e) };
}

/** Seeded split into two parts; `fraction` goes to the first. */
export function splitTexts(data: TextDataset, fraction: number, rng: Rng): [TextDataset, TextDataset] {
  if (!(fraction > 0 && fraction < 1)) throw new AegisInputError(`split fraction must be in (0, 1), got ${fraction}`);
  const order = rng.permutation(textSize(data));
  const cut = Math.round(fraction * textSize(data));
  return [takeTexts(data, order.subarray(0, cut)), takeTexts(data, order.subarray(cut))];
}

/**
 * Drops texts identical to an earlier one (the first occurrence stays). Public corpora repeat
 * messages (the SMS collection 403 times); split after this, or test copies leak into training.
 */
export function dedupeTexts(data: TextDataset): TextDataset {
  const seen = new Set<string>();
  const keep: number[] = [];
  data.texts.forEach((t, i) => {
    if (seen.has(t)) return;
    seen.add(t);
    keep.push(i);
  });
  return keep.length === textSize(data) ? data : takeTexts(data, keep);
}

/** Number of texts per class. */
export function textClassCounts(data: TextDataset): number[] {
  const counts = new Array<number>(data.classNames.length).fill(0);
  for (const label of data.y) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

// ---------------------------------------------------------------------------------------
// Labels: raw label strings → class indices

const INTEGER = /^[+-]?\d+$/;

/** Class order: numeric when every label is an integer, else sorted strings (ham < spam). */
function classOrder(raw: readonly string[]): string[] {
  const distinct = [...new Set(raw)];
  if (distinct.every((v) => INTEGER.test(v))) return distinct.sort((a, b) => Number(a) - Number(b));
  return distinct.sort();
}

export interface TextLabelOptions {
  /** Fixed class order (raw label values); default numeric order for integer labels, else sorted. */
  classNames?: string[];
  name?: string;
  source?: string;
}

/** Builds a TextDataset from texts and raw labels; `lineOf(i)` names a row in error messages. */
function labelled(
  texts: string[],
  raw: string[],
  opts: TextLabelOptions,
  defaultName: string,
  lineOf: (i: number) => string,
): TextDataset {
  const where = opts.source ?? defaultName;
  if (texts.length === 0) throw new AegisInputError(`${where}: no texts`);
  const classNames = opts.classNames ? [...opts.classNames] : classOrder(raw);
  if (new Set(classNames).size !== classNames.length) {
    throw new AegisInputError(`${where}: class names [${classNames.join(', ')}] repeat a name`);
  }
  const index = new Map(classNames.map((c, k) => [c, k]));
  const y = new Int32Array(texts.length);
  raw.forEach((label, i) => {
    const k = index.get(label);
    if (k === undefined) {
      throw new AegisInputError(`${where}: ${lineOf(i)}: label '${label}' is not one of [${classNames.join(', ')}]`);
    }
    y[i] = k;
  });
  return validateTextDataset({
    name: opts.name ?? defaultName,
    texts,
    y,
    classNames,
    ...(opts.source ? { source: opts.source } : {}),
  });
}

// ---------------------------------------------------------------------------------------
// Readers

/** `label<TAB>text` per line (the SMS Spam Collection format); split on the first tab only. */
export function parseLabelTabText(content: string, opts: TextLabelOptions = {}): TextDataset {
  const texts: string[] = [];
  const raw: string[] = [];
  const lines: number[] = [];
  const where = opts.source ?? 'text data';
  const body = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
  body.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const tab = line.indexOf('\t');
    if (tab < 0) {
      throw new AegisInputError(`${where}: line ${i + 1} has no tab; expected 'label<TAB>text'`);
    }
    const label = line.slice(0, tab).trim();
    if (label === '') throw new AegisInputError(`${where}: line ${i + 1} has an empty label`);
    raw.push(label);
    texts.push(line.slice(tab + 1));
    lines.push(i + 1);
  });
  return labelled(texts, raw, opts, 'texts', (i) => `line ${lines[i]}`);
}

export interface TextCsvOptions extends TextLabelOptions {
  /** Default 'text'. */
  textColumn?: string;
  /** Default 'label'. */
  labelColumn?: string;
  delimiter?: string;
}

/** CSV with a header row: one column holds the text, one the label. */
export function parseTextCsv(content: string, opts: TextCsvOptions = {}): TextDataset {
  const textColumn = opts.textColumn ?? 'text';
  const labelColumn = opts.labelColumn ?? 'label';
  const table = parseCsv(content, { source: opts.source ?? 'text CSV', delimiter: opts.delimiter });
  const t = table.header.indexOf(textColumn);
  const l = table.header.indexOf(labelColumn);
  for (const [column, at, flag] of [
    [textColumn, t, 'text'],
    [labelColumn, l, 'label'],
  ] as const) {
    if (at < 0) {
      throw new AegisInputError(
        `${table.source}: ${flag} column '${column}' not found; columns are [${table.header.join(', ')}]`,
      );
    }
  }
  const raw = table.rows.map((row, i) => {
    const v = (row[l] as string).trim();
    if (v === '') throw new AegisInputError(`${table.source}: line ${table.lines[i]}: empty label`);
    return v;
  });
  return labelled(
    table.rows.map((row) => row[t] as string),
    raw,
    opts,
    'texts',
    (i) => `line ${table.lines[i]}`,
  );
}

export interface TextJsonlOptions extends TextLabelOptions {
  /** Default 'text'. */
  textField?: string;
  /** Default 'label'. */
  labelField?: string;
}

/** One JSON object per line with a string text field and a string or integer label field. */
export function parseTextJsonl(content: string, opts: TextJsonlOptions = {}): TextDataset {
  const textField = opts.textField ?? 'text';
  const labelField = opts.labelField ?? 'label';
  const where = opts.source ?? 'text JSONL';
  const texts: string[] = [];
  const raw: string[] = [];
  const lines: number[] = [];
  content.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new AegisInputError(`${where}: line ${i + 1} is not valid JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new AegisInputError(`${where}: line ${i + 1} is not a JSON object`);
    }
    const record = value as Record<string, unknown>;
    const text = record[textField];
    const label = record[labelField];
    if (typeof text !== 'string') {
      throw new AegisInputError(`${where}: line ${i + 1}: field '${textField}' is missing or not a string`);
    }
    if (!(typeof label === 'string' && label.trim() !== '') && !Number.isInteger(label)) {
      throw new AegisInputError(
        `${where}: line ${i + 1}: field '${labelField}' is missing or not a non-empty string or an integer`,
      );
    }
    texts.push(text);
    raw.push(String(label).trim());
    lines.push(i + 1);
  });
  return labelled(texts, raw, opts, 'texts', (i) => `line ${lines[i]}`);
}

// ---------------------------------------------------------------------------------------
// Loading by path or keyword

export type TextFormat = 'label-tab-text' | 'csv' | 'jsonl';

export interface LoadTextOptions extends TextCsvOptions, TextJsonlOptions {
  /** Keep only the first N texts. */
  limit?: number;
}

/** True for paths the text loader handles by name alone (the keyword, .jsonl, .txt, the SMS file). */
export function looksLikeTextData(path: string): boolean {
  if (path.toLowerCase() === SMS_SPAM_KEYWORD) return true;
  const ext = extname(path).toLowerCase();
  return ext === '.jsonl' || ext === '.txt' || basename(path) === 'SMSSpamCollection';
}

/** Format by extension: .csv → CSV, .jsonl → JSONL, anything else `label<TAB>text`. */
export function detectTextFormat(path: string): TextFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  return 'label-tab-text';
}

function stem(path: string): string {
  return basename(path).replace(/\.[^.]*$/, '');
}

/** Reads labelled text from a file or the `sms-spam` keyword; see SUPPORTED_TEXT_FORMATS. */
export function loadTextDataset(path: string, opts: LoadTextOptions = {}): TextDataset {
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit > 0)) {
    throw new AegisInputError(`limit must be a positive integer, got ${opts.limit}`);
  }
  const keyword = path.toLowerCase() === SMS_SPAM_KEYWORD;
  const file = keyword ? BUNDLED_SMS_SPAM_PATH : path;
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new AegisInputError(
      `${path}: cannot read text data (${reason}). Supported: ${SUPPORTED_TEXT_FORMATS.join('; ')}`,
      { cause: error },
    );
  }
  const base = { ...opts, source: file, name: opts.name ?? (keyword ? SMS_SPAM_KEYWORD : stem(file)) };
  const format = keyword ? 'label-tab-text' : detectTextFormat(file);
  const data =
    format === 'csv'
      ? parseTextCsv(content, base)
      : format === 'jsonl'
        ? parseTextJsonl(content, base)
        : parseLabelTabText(content, base);
  return opts.limit !== undefined ? sliceTexts(data, 0, opts.limit) : data;
}
