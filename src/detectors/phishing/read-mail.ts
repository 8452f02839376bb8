/**
 * Turns the paths a user gives (`.eml` files, folders, UNIX mbox files, `.gz` and `.tar.gz`
 * archives of messages, as in the shared corpora) into raw RFC 822 messages, one record each.
 * Nothing here parses MIME: that is ./parse-mail.ts. What cannot be read is refused with a clear
 * message (a missing path, a corrupt archive, a decompression bomb); what is merely odd is a
 * counted skip (an empty file, a file that is not mail) or a warning (a message over the size
 * cap is cut at the cap and parsed best-effort — huge attachments do not exhaust memory).
 *
 * The mbox `From ` envelope line is removed and remembered: it is a collection artefact (the
 * SpamAssassin folders have it on 1,175–2,365 of their files, phishing-pot never), not mail.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { AegisInputError, isInputError } from '../../core/errors.js';
import { looksLikeTar, readTarEntries } from './tar.js';

export interface RawMail {
  /** Where it came from: `path`, `path#3` (3rd message of an mbox) or `archive.tar.gz:entry`. */
  id: string;
  bytes: Uint8Array;
  /** The message was longer than maxMessageBytes and was cut there. */
  truncated: boolean;
  /** It began with an mbox `From ` envelope line (removed). */
  envelope: boolean;
}

export interface MailSkip {
  id: string;
  reason: string;
}

export interface MailBatch {
  messages: RawMail[];
  skipped: MailSkip[];
  warnings: string[];
}

export interface ReadMailOptions {
  /** Longer messages are cut here (a warning each). Default 4 MiB. */
  maxMessageBytes?: number;
  /** Decompressed size cap of one .gz/.tar.gz file (a bomb is refused). Default 1 GiB. */
  maxArchiveBytes?: number;
  /** Stop after this many messages in all. */
  limit?: number;
}

export const READ_MAIL_DEFAULTS = { maxMessageBytes: 4 * 2 ** 20, maxArchiveBytes: 2 ** 30 };

/** asctime envelope: `From sender  Sat Nov 27 15:33:27 2004` (the sender may be empty or MAILER-DAEMON). */
const ENVELOPE = /^From \S*\s+(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+\w{3}\s+\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?\s.*\d{4}/;
/** A header field line: name of printable ASCII without ':' then ':'. */
const HEADER_LINE = /^[!-9;-~]+:/;

const latin1 = new TextDecoder('latin1');

function firstLine(bytes: Uint8Array, from = 0): { text: string; next: number } {
  let end = bytes.indexOf(0x0a, from);
  if (end < 0) end = bytes.length;
  const next = Math.min(end + 1, bytes.length);
  return { text: latin1.decode(bytes.subarray(from, Math.min(end, from + 1000))).replace(/\r$/, ''), next };
}

/** Start offsets of the messages of an mbox (lines that are envelopes after a blank line or at 0). */
function mboxStarts(bytes: Uint8Array): number[] {
  const starts: number[] = [0];
  let pos = 0;
  let previousBlank = false;
  while (pos < bytes.length) {
    const { text, next } = firstLine(bytes, pos);
    if (pos > 0 && previousBlank && text.startsWith('From ') && ENVELOPE.test(text)) starts.push(pos);
    previousBlank = text.trim() === '';
    pos = next;
  }
  return starts;
}

interface Sink {
  batch: MailBatch;
  options: Required<Omit<ReadMailOptions, 'limit'>> & { limit: number };
  /** Folders read (device:inode), so a symbolic link back to one does not loop. */
  folders: Set<string>;
}

function full(sink: Sink): boolean {
  return sink.batch.messages.length >= sink.options.limit;
}

/** One message's bytes (envelope possibly first) → a record, a skip or nothing. */
function addMessage(sink: Sink, id: string, raw: Uint8Array, cut = false): void {
  if (full(sink)) return;
  let bytes = raw;
  let envelope = false;
  const head = firstLine(bytes);
  if (head.text.startsWith('From ') && !HEADER_LINE.test(head.text)) {
    envelope = true;
    bytes = bytes.subarray(head.next);
  }
  if (bytes.length === 0 || latin1.decode(bytes.subarray(0, 4096)).trim() === '') {
    sink.batch.skipped.push({ id, reason: 'empty message' });
    return;
  }
  let first = firstLine(bytes);
  let lead = 0;
  while (first.text.trim() === '' && first.next < bytes.length && lead < 5) {
    lead++;
    first = firstLine(bytes, first.next);
  }
  if (!HEADER_LINE.test(first.text)) {
    sink.batch.skipped.push({ id, reason: 'not an e-mail (no header block at the start)' });
    return;
  }
  let truncated = cut;
  if (bytes.length > sink.options.maxMessageBytes) {
    sink.batch.warnings.push(
      `${id}: ${bytes.length} bytes is over the ${sink.options.maxMessageBytes}-byte cap; cut there and parsed best-effort`,
    );
    bytes = bytes.subarray(0, sink.options.maxMessageBytes);
    truncated = true;
  } else if (cut) {
    sink.batch.warnings.push(`${id}: the archive ends inside this message; parsed best-effort`);
  }
  sink.batch.messages.push({ id, bytes, truncated, envelope });
}

/** A file's bytes: a single message or an mbox of several. */
function addMailBytes(sink: Sink, id: string, bytes: Uint8Array, cut = false): void {
  const head = firstLine(bytes);
  if (!(head.text.startsWith('From ') && ENVELOPE.test(head.text))) {
    addMessage(sink, id, bytes, cut);
    return;
  }
  const starts = mboxStarts(bytes);
  if (starts.length === 1) {
    addMessage(sink, id, bytes, cut);
    return;
  }
  starts.forEach((start, k) => {
    const end = starts[k + 1] ?? bytes.length;
    addMessage(sink, `${id}#${k + 1}`, bytes.subarray(start, end), cut && k === starts.length - 1);
  });
}

/**
 * Gunzips; data that merely ends early (an interrupted download) yields what it holds, with a
 * warning — a truncated .tar.gz keeps the messages before the cut. Corrupt data is refused.
 */
function gunzip(sink: Sink, bytes: Uint8Array, where: string): Uint8Array {
  const max = sink.options.maxArchiveBytes;
  const refuse = (error: unknown): never => {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new AegisInputError(`${where}: decompresses to more than ${max} bytes; refused (raise maxArchiveBytes)`);
    }
    throw new AegisInputError(`${where}: not a readable gzip file (${(error as Error).message})`, { cause: error });
  };
  try {
    return gunzipSync(bytes, { maxOutputLength: max });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'Z_BUF_ERROR') refuse(error);
    let partial: Uint8Array;
    try {
      partial = gunzipSync(bytes, { maxOutputLength: max, finishFlush: constants.Z_SYNC_FLUSH });
    } catch (again) {
      return refuse(again);
    }
    if (partial.length === 0) refuse(error);
    sink.batch.warnings.push(`${where}: the gzip data ends early (truncated file); read up to the cut`);
    return partial;
  }
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** A file's or an upload's bytes: gzip is unwrapped, a tar archive is split into its entries. */
function addBytes(sink: Sink, id: string, raw: Uint8Array): void {
  const bytes = isGzip(raw) ? gunzip(sink, raw, id) : raw;
  if (!looksLikeTar(bytes)) {
    addMailBytes(sink, id, bytes);
    return;
  }
  for (const entry of readTarEntries(bytes, id)) {
    if (full(sink)) return;
    if (basename(entry.name).startsWith('.')) continue;
    const entryId = `${id}:${entry.name}`;
    let data = entry.data;
    if (isGzip(data)) {
      // One unreadable .gz entry is a counted skip; the rest of the archive is read.
      try {
        data = gunzip(sink, data, entryId);
      } catch (error) {
        if (!isInputError(error)) throw error;
        sink.batch.skipped.push({ id: entryId, reason: error.message.slice(entryId.length + 2) });
        continue;
      }
    }
    addMailBytes(sink, entryId, data, entry.truncated);
  }
}

function addFile(sink: Sink, path: string): void {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new AegisInputError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? error})`, {
      cause: error,
    });
  }
  addBytes(sink, path, bytes);
}

function addPath(sink: Sink, path: string, top: boolean): void {
  if (full(sink)) return;
  if (top) {
    readPath(sink, path, true);
    return;
  }
  // Met inside a folder, what cannot be read (a broken link, a link loop, a corrupt archive, a
  // bomb) is one counted skip among many.
  try {
    readPath(sink, path, false);
  } catch (error) {
    if (!isInputError(error)) throw error;
    const prefix = `${path}: `;
    const reason = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
    sink.batch.skipped.push({ id: path, reason });
  }
}

function readPath(sink: Sink, path: string, top: boolean): void {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch (error) {
    throw new AegisInputError(
      `${path}: no such file or folder (expected .eml files, folders, mbox files or .tar.gz archives of messages)`,
      { cause: error },
    );
  }
  if (stat.isDirectory()) {
    const key = `${stat.dev}:${stat.ino}`;
    if (!top && sink.folders.has(key)) {
      throw new AegisInputError(`${path}: a link to a folder already read; not read again`);
    }
    sink.folders.add(key);
    let names: string[];
    try {
      names = readdirSync(path);
    } catch (error) {
      throw new AegisInputError(`${path}: cannot list the folder (${(error as NodeJS.ErrnoException).code ?? error})`, {
        cause: error,
      });
    }
    for (const name of names.filter((n) => !n.startsWith('.')).sort()) addPath(sink, join(path, name), false);
    return;
  }
  if (!stat.isFile()) {
    if (top) throw new AegisInputError(`${path}: not a regular file or folder`);
    return;
  }
  addFile(sink, path);
}

/** Reads every message under `paths` (files, folders recursively, mbox, .gz, .tar(.gz)). */
export function readMailPaths(paths: readonly string[], options: ReadMailOptions = {}): MailBatch {
  if (paths.length === 0) throw new AegisInputError('no mail paths given');
  const sink = newSink(options);
  for (const path of paths) addPath(sink, path, true);
  return sink.batch;
}

function newSink(options: ReadMailOptions): Sink {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (!(limit > 0)) throw new AegisInputError(`limit must be a positive integer, got ${options.limit}`);
  return {
    batch: { messages: [], skipped: [], warnings: [] },
    options: { ...READ_MAIL_DEFAULTS, ...options, limit },
    folders: new Set(),
  };
}

/** Messages from bytes already in memory (an upload, a test): same rules as a file. */
export function readMailBytes(id: string, bytes: Uint8Array, options: ReadMailOptions = {}): MailBatch {
  const sink = newSink(options);
  addBytes(sink, id, bytes);
  return sink.batch;
}
