/**
 * Which record structure a dataset file has, from its name, else from its first bytes.
 * Gzipped line and IDX files keep their format (the records are those of the decompressed bytes,
 * the file digest is of the bytes on disk).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';

export const LINEAGE_FORMATS = ['csv', 'tsv', 'jsonl', 'lines', 'idx', 'npy', 'npz', 'image', 'file'] as const;
export type LineageFormat = (typeof LINEAGE_FORMATS)[number];

/** Formats whose records are keyed by content (line formats) rather than by index (array formats). */
export function isLineFormat(format: LineageFormat): boolean {
  return format === 'csv' || format === 'tsv' || format === 'jsonl' || format === 'lines';
}

/** Formats with records at all ('image' files are each one record of their folder; 'file' has none). */
export function hasRecords(format: LineageFormat): boolean {
  return format !== 'image' && format !== 'file';
}

const BY_EXTENSION: Record<string, LineageFormat> = {
  csv: 'csv',
  tsv: 'tsv',
  tab: 'tsv',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  txt: 'lines',
  idx: 'idx',
  npy: 'npy',
  npz: 'npz',
  png: 'image',
  jpg: 'image',
  jpeg: 'image',
  gif: 'image',
  bmp: 'image',
  webp: 'image',
  tif: 'image',
  tiff: 'image',
  pgm: 'image',
  ppm: 'image',
  pbm: 'image',
};

/** The first bytes of a file (empty when it cannot be read: digesting it then reports why). */
function readHead(path: string, bytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const buffer = Buffer.alloc(bytes);
    return buffer.subarray(0, readSync(fd, buffer, 0, bytes, 0));
  } catch {
    return Buffer.alloc(0);
  } finally {
    closeSync(fd);
  }
}

function looksLikeIdx(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0 && head[1] === 0 && [8, 9, 11, 12, 13, 14].includes(head[2] as number);
}

/** Text with no NUL bytes: the SMS-style files that have no extension (SMSSpamCollection). */
function looksLikeText(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  for (const b of head) if (b === 0) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, Math.max(0, head.length - 3)));
    return true;
  } catch {
    return false;
  }
}

/** Detects the format of the file at `path` (its name first; unnamed files by their first 4 KiB). */
export function detectFormat(path: string): LineageFormat {
  const gzipped = basename(path).toLowerCase().endsWith('.gz');
  const name = basename(path).toLowerCase().replace(/\.gz$/, '');
  if (/-idx\d+-ubyte$/.test(name) || /\.idx\d+$/.test(name)) return 'idx';
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot + 1) : '';
  const known = BY_EXTENSION[ext];
  if (known) return known;
  // Another extension (.md, .json, .pt …) is one opaque unit; only bare names (SMSSpamCollection)
  // and UCI-style .data/.dat files are sniffed, and compressed ones cannot be cheaply.
  if ((ext !== '' && ext !== 'data' && ext !== 'dat') || gzipped) return 'file';
  const head = readHead(path, 4096);
  if (looksLikeIdx(head)) return 'idx';
  return looksLikeText(head) ? 'lines' : 'file';
}
