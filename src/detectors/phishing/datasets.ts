/**
 * Labelled data for the URL-only and SMS/text-only modes.
 *
 * - URLs: a CSV (optionally gzip) with a URL column and a label column, as the web page phishing
 *   data set of Hannousse & Yahiouche 2021 (`url`, 87 feature columns, `status` =
 *   legitimate/phishing). Only the raw URL is used: its page-content and WHOIS/traffic columns
 *   were measured at collection time and are not available for a URL seen in mail today.
 *   Rows with a missing URL, an unknown label or the wrong field count are counted skips.
 * - SMS: the `label<TAB>text` format of the SMS Spam Collection (bundled: `sms-spam`), or any
 *   text data src/data/text-dataset.ts reads; 'spam' (and phishing/smishing/1) is the positive
 *   class. Exact duplicates are dropped before any split.
 */
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { AegisInputError, isInputError } from '../../core/errors.js';
import { parseCsvRecords } from '../../data/csv.js';
import { dedupeTexts, loadTextDataset } from '../../data/text-dataset.js';

export interface LabelledStrings {
  items: string[];
  /** 1 phishing/spam, 0 legitimate. */
  labels: Int32Array;
  skipped: { line: number; reason: string }[];
  source: string;
  duplicates: number;
}

const POSITIVE = new Set(['phishing', 'phish', 'malicious', 'bad', 'spam', 'smishing', '1', 'true', 'yes']);
const NEGATIVE = new Set(['legitimate', 'benign', 'good', 'ham', 'normal', '0', 'false', 'no']);

/** 1, 0 or undefined for a label string. */
export function binaryLabel(raw: string): 0 | 1 | undefined {
  const v = raw.trim().toLowerCase();
  if (POSITIVE.has(v)) return 1;
  if (NEGATIVE.has(v)) return 0;
  return undefined;
}

/** A text file's contents as UTF-8, gunzipped first when it is gzip (whatever the extension). */
export function readTextFile(path: string): string {
  let bytes: Buffer;
  try {
    // A FIFO or device would block the read forever (or stream without end).
    const stat = statSync(path);
    if (!stat.isFile() && !stat.isDirectory()) {
      throw new AegisInputError(`${path}: not a regular file (a FIFO, socket or device)`);
    }
    bytes = readFileSync(path);
  } catch (error) {
    if (isInputError(error)) throw error;
    throw new AegisInputError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? error})`, {
      cause: error,
    });
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: 2 ** 30 });
    } catch (error) {
      throw new AegisInputError(`${path}: not a readable gzip file (${(error as Error).message})`, { cause: error });
    }
  }
  // UTF-16 with a byte-order mark (spreadsheets' "Unicode text" export) is decoded as such.
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes);
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes);
  return bytes.toString('utf8');
}

export interface UrlCsvOptions {
  urlColumn?: string;
  /** Default: 'status', else 'label', else 'class'. */
  labelColumn?: string;
}

/** URLs and labels from a CSV (.csv or .csv.gz) with a header row. */
export function readUrlCsv(path: string, options: UrlCsvOptions = {}): LabelledStrings {
  const records = parseCsvRecords(readTextFile(path), { source: path });
  const head = records[0];
  if (!head) throw new AegisInputError(`${path}: empty CSV (no header row)`);
  const header = head.fields.map((h) => h.trim().toLowerCase());
  const urlColumn = (options.urlColumn ?? 'url').toLowerCase();
  const labelColumn =
    options.labelColumn?.toLowerCase() ?? ['status', 'label', 'class'].find((c) => header.includes(c));
  const u = header.indexOf(urlColumn);
  const l = labelColumn === undefined ? -1 : header.indexOf(labelColumn);
  if (u < 0 || l < 0) {
    throw new AegisInputError(
      `${path}: needs a '${urlColumn}' column and a label column (${options.labelColumn ?? 'status, label or class'}); columns are [${head.fields.join(', ')}]`,
    );
  }
  const items: string[] = [];
  const labels: number[] = [];
  const skipped: LabelledStrings['skipped'] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  for (const r of records.slice(1)) {
    if (r.fields.length !== header.length) {
      skipped.push({ line: r.line, reason: `${r.fields.length} fields, the header has ${header.length}` });
      continue;
    }
    const url = (r.fields[u] as string).trim();
    const label = binaryLabel(r.fields[l] as string);
    if (!url) {
      skipped.push({ line: r.line, reason: 'empty URL' });
      continue;
    }
    if (label === undefined) {
      skipped.push({ line: r.line, reason: `unknown label '${r.fields[l]}'` });
      continue;
    }
    if (seen.has(url)) {
      duplicates++;
      continue;
    }
    seen.add(url);
    items.push(url);
    labels.push(label);
  }
  if (items.length === 0) throw new AegisInputError(`${path}: no usable rows (${skipped.length} skipped)`);
  return { items, labels: Int32Array.from(labels), skipped, source: path, duplicates };
}

/** SMS texts and labels (spam = 1), de-duplicated; `sms-spam` is the bundled collection. */
export function readSmsData(path: string): LabelledStrings {
  const data = loadTextDataset(path);
  const unique = dedupeTexts(data);
  const positive = data.classNames.map((c) => binaryLabel(c));
  if (!positive.includes(1) || !positive.includes(0)) {
    throw new AegisInputError(
      `${path}: labels [${data.classNames.join(', ')}] must name a legitimate class (ham/legitimate/0) and a positive one (spam/phishing/1)`,
    );
  }
  return {
    items: unique.texts,
    labels: Int32Array.from(unique.y, (k) => positive[k] as number),
    skipped: [],
    source: data.source ?? path,
    duplicates: data.texts.length - unique.texts.length,
  };
}
