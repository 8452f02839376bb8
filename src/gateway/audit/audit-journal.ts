/**
 * The audit log's write-ahead journal: `<dataDir>/audit.journal`, one JSON line per answered
 * request, appended with write(2) before the answer leaves. A write(2) to a file is in the
 * kernel's page cache when it returns, so a process killed right after (kill -9) loses nothing —
 * the same guarantee as an SQLite WAL commit with synchronous=NORMAL, for a fraction of its cost
 * (one system call, no lock, no B-tree). The gateway folds the journal into the hash-chained
 * SQLite log a few milliseconds later (journaled-audit.ts) and then empties it.
 *
 * Line format: {"entry": AuditEntry, "charge"?: examples spent from the query budget}. A line is
 * written whole or, if the write fails, cut back off; a crash mid-write can leave one incomplete
 * last line (that request was never answered), which readers count and skip.
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { AegisInputError } from '../../core/errors.js';
import type { AuditEntry } from '../types.js';

/** The journal's file name inside the gateway's data directory. */
export const JOURNAL_FILE = 'audit.journal';

export interface JournalRecord {
  entry: AuditEntry;
  /** Examples this request spent from its key's query budget (restored into a persisted budget on recovery). */
  charge?: number;
}

export interface JournalContents {
  records: JournalRecord[];
  /** An incomplete last line (a write cut by a crash: its request was never answered). */
  torn: boolean;
  /** Complete lines that are not a journal record (1-based line numbers): damage, reported, never folded. */
  badLines: number[];
}

export class AuditJournal {
  private fd: number;
  /** Bytes in the file: where a failed write is cut back to. */
  private size: number;

  private constructor(
    readonly path: string,
    fd: number,
    size: number,
  ) {
    this.fd = fd;
    this.size = size;
  }

  /** Opens (creating) the journal for appending; what it already holds is read with readJournal(). */
  static open(path: string): AuditJournal {
    let fd: number;
    try {
      fd = openSync(path, 'a');
    } catch (error) {
      throw new AegisInputError(`cannot open the audit journal '${path}' for appending: ${errorCode(error)}`);
    }
    return new AuditJournal(path, fd, fstatSync(fd).size);
  }

  /** Appends one record; when it returns the line is in the file. Throws (and leaves no partial line) when it cannot. */
  append(record: JournalRecord): void {
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
    let written = 0;
    try {
      while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written);
    } catch (error) {
      // A short write followed by an error (disk full) must not leave half a line for the next one to follow.
      if (written > 0) ftruncateSync(this.fd, this.size);
      throw error;
    }
    this.size += bytes.length;
  }

  /** Empties the journal (everything in it has been folded into the log). */
  clear(): void {
    ftruncateSync(this.fd, 0);
    this.size = 0;
  }

  /** Bytes waiting in the file. */
  get bytes(): number {
    return this.size;
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}

/** What the journal at `path` holds (empty when there is no file). */
export function readJournal(path: string): JournalContents {
  if (!existsSync(path)) return { records: [], torn: false, badLines: [] };
  // A directory cannot be read, and a FIFO would block the read forever.
  if (!statSync(path).isFile()) {
    throw new AegisInputError(`cannot read the audit journal '${path}': not a regular file`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AegisInputError(`cannot read the audit journal '${path}': ${errorCode(error)}`);
  }
  const lines = text.split('\n');
  const last = lines.pop() ?? '';
  const contents: JournalContents = { records: [], torn: last.length > 0, badLines: [] };
  lines.forEach((line, i) => {
    const record = parseRecord(line);
    if (record) contents.records.push(record);
    else contents.badLines.push(i + 1);
  });
  return contents;
}

function parseRecord(line: string): JournalRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { entry, charge } = value as { entry?: Partial<AuditEntry>; charge?: unknown };
  if (!isAuditEntry(entry)) return null;
  if (charge !== undefined && !(Number.isInteger(charge) && (charge as number) > 0)) return null;
  return charge === undefined
    ? { entry: entry as AuditEntry }
    : { entry: entry as AuditEntry, charge: charge as number };
}

const isStringOrNull = (v: unknown) => v === null || typeof v === 'string';

/**
 * Every field the gateway writes, with its type: a line missing one is damage (reported, never
 * folded into the chain with holes, never a crash in a reader).
 */
function isAuditEntry(entry: unknown): entry is AuditEntry {
  if (typeof entry !== 'object' || entry === null) return false;
  const e = entry as Record<string, unknown>;
  const summary = e.outputSummary;
  return (
    typeof e.requestId === 'string' &&
    typeof e.time === 'string' &&
    Number.isInteger(e.status) &&
    typeof e.method === 'string' &&
    typeof e.route === 'string' &&
    isStringOrNull(e.keyId) &&
    isStringOrNull(e.model) &&
    isStringOrNull(e.inputDigest) &&
    (summary === null || (typeof summary === 'object' && !Array.isArray(summary))) &&
    Number.isFinite(e.latencyMs) &&
    Array.isArray(e.decisions) &&
    e.decisions.every(
      (d: unknown) =>
        typeof d === 'object' &&
        d !== null &&
        typeof (d as { stage?: unknown }).stage === 'string' &&
        typeof (d as { outcome?: unknown }).outcome === 'string',
    )
  );
}

function errorCode(error: unknown): string {
  return (error as { code?: string }).code ?? (error as Error).message;
}

/** A journal the gateway must not start on: lines that are not records (never folded silently). */
export function assertJournalReadable(path: string, contents: JournalContents): void {
  if (contents.badLines.length === 0) return;
  const shown = contents.badLines.slice(0, 5).join(', ');
  throw new AegisInputError(
    `the audit journal '${path}' has ${contents.badLines.length} damaged line(s) (line ${shown}${contents.badLines.length > 5 ? ', …' : ''}); ` +
      'move it aside to start (its entries are not in the hash chain) and investigate',
  );
}
