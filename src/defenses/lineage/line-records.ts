/**
 * Record digests for line formats, streamed: CSV (RFC 4180 quoting, so a quoted field may hold
 * newlines), TSV, JSONL and plain text lines (e.g. the SMS Spam Collection's "label<TAB>text").
 *
 * A record's bytes are the row exactly as stored, without its terminator (LF, CRLF or a lone CR,
 * the breaks src/data/csv.ts accepts), so converting line endings changes the file digest but no
 * record. Empty lines are not records (csv.ts skips them too); a UTF-8 BOM at the start is dropped.
 * For CSV and TSV the first record is the header: it is digested apart, not as a record.
 *
 * CSV follows csv.ts's reading: a quote opens a quoted field only at the start of a field, `""`
 * inside one is a literal quote, and a quote inside an unquoted field is an ordinary character.
 * TSV has no quoting (IANA text/tab-separated-values forbids tabs and newlines in fields), so a
 * TSV record is simply a line. Bytes are hashed as they stream past: no record is ever copied or
 * buffered, whatever its length.
 */
import { createHash, type Hash } from 'node:crypto';

export interface LineSplitOptions {
  /** Parse CSV quoting (newlines inside quoted fields belong to the record). */
  csv: boolean;
  /** The CSV field delimiter (default ','). */
  delimiter?: string;
  /** The first record is a header, digested apart. */
  header: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

// CSV states: at the start of a field, inside an unquoted field, inside a quoted field, or just
// after a quote inside a quoted field (which either doubles it or closes the field).
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTE_SEEN = 3;

export class LineRecordSplitter {
  private hash: Hash | undefined;
  private state = FIELD_START;
  private skipLf = false; // the previous chunk ended in the CR of a CRLF
  private atStart = true;
  private bomLeft = 3;
  private readonly delimiter: number;
  private headerDigest: Buffer | undefined;
  private headerPending: boolean;
  private records = 0;

  constructor(
    private readonly options: LineSplitOptions,
    private readonly onRecord: (digest: Buffer) => void,
  ) {
    this.delimiter = (options.delimiter ?? ',').charCodeAt(0);
    this.headerPending = options.header;
  }

  get count(): number {
    return this.records;
  }

  /** SHA-256 of the header row (CSV/TSV), once seen. */
  get header(): Buffer | undefined {
    return this.headerDigest;
  }

  push(chunk: Uint8Array): void {
    let i = 0;
    if (this.atStart) i = this.skipBom(chunk);
    if (this.skipLf && i < chunk.length) {
      if (chunk[i] === LF) i++;
      this.skipLf = false;
    }
    if (this.options.csv) this.pushCsv(chunk, i);
    else this.pushLines(chunk, i);
  }

  end(): void {
    this.finishRecord();
  }

  private skipBom(chunk: Uint8Array): number {
    const bom = [0xef, 0xbb, 0xbf];
    let i = 0;
    while (this.bomLeft > 0 && i < chunk.length) {
      if (chunk[i] !== bom[3 - this.bomLeft]) {
        // Not a BOM after all: the bytes already skipped were data.
        const seen = bom.slice(0, 3 - this.bomLeft);
        this.atStart = false;
        this.bomLeft = 0;
        if (seen.length > 0) this.pushBytes(Uint8Array.from(seen));
        return i;
      }
      i++;
      this.bomLeft--;
    }
    if (this.bomLeft === 0) this.atStart = false;
    return i;
  }

  private pushBytes(bytes: Uint8Array): void {
    if (this.options.csv) this.pushCsv(bytes, 0);
    else this.pushLines(bytes, 0);
  }

  private update(chunk: Uint8Array, from: number, to: number): void {
    if (to <= from) return;
    this.hash ??= createHash('sha256');
    this.hash.update(chunk.subarray(from, to));
  }

  private finishRecord(): void {
    const hash = this.hash;
    this.hash = undefined;
    this.state = FIELD_START;
    if (hash === undefined) return; // an empty line is not a record
    const digest = hash.digest();
    if (this.headerPending) {
      this.headerPending = false;
      this.headerDigest = digest;
      return;
    }
    this.records++;
    this.onRecord(digest);
  }

  /** Ends the record at the terminator at `i`; returns where the next record starts. */
  private terminate(chunk: Uint8Array, i: number): number {
    this.finishRecord();
    if (chunk[i] === CR) {
      if (i + 1 < chunk.length) return chunk[i + 1] === LF ? i + 2 : i + 1;
      this.skipLf = true;
    }
    return i + 1;
  }

  private pushLines(chunk: Uint8Array, from: number): void {
    const n = chunk.length;
    let start = from;
    // Next LF and CR positions, found once per pass rather than once per line (a file without
    // any CR would otherwise rescan the whole chunk for every line).
    let nextLf = chunk.indexOf(LF, start);
    let nextCr = chunk.indexOf(CR, start);
    while (start < n) {
      if (nextLf >= 0 && nextLf < start) nextLf = chunk.indexOf(LF, start);
      if (nextCr >= 0 && nextCr < start) nextCr = chunk.indexOf(CR, start);
      const end = nextLf < 0 ? nextCr : nextCr < 0 ? nextLf : Math.min(nextLf, nextCr);
      if (end < 0) {
        this.update(chunk, start, n);
        return;
      }
      this.update(chunk, start, end);
      start = this.terminate(chunk, end);
    }
  }

  private pushCsv(chunk: Uint8Array, from: number): void {
    const n = chunk.length;
    const delimiter = this.delimiter;
    let state = this.state;
    let start = from;
    let i = from;
    while (i < n) {
      const b = chunk[i] as number;
      if (state === QUOTED) {
        // Jump to the next quote: everything else, newlines included, is field content.
        const q = chunk.indexOf(QUOTE, i);
        if (q < 0) {
          i = n;
          break;
        }
        state = QUOTE_SEEN;
        i = q + 1;
        continue;
      }
      if (b === LF || b === CR) {
        this.update(chunk, start, i);
        this.state = state;
        start = this.terminate(chunk, i);
        state = FIELD_START;
        i = start;
        continue;
      }
      if (state === QUOTE_SEEN) {
        // A doubled quote stays inside the field; anything else closes it (csv.ts rejects text
        // after a closing quote; here it simply continues the field, since digests must not fail).
        state = b === QUOTE ? QUOTED : b === delimiter ? FIELD_START : UNQUOTED;
      } else if (b === delimiter) {
        state = FIELD_START;
      } else if (state === FIELD_START) {
        state = b === QUOTE ? QUOTED : UNQUOTED;
      }
      i++;
    }
    this.update(chunk, start, n);
    this.state = state;
  }
}
