/**
 * Streams BehaviorEvents out of log files of any supported format, one line at a time (never a
 * whole file in memory), with the bad-input policy of issue 8:
 *  - gzip by magic bytes (not by name); format per file from its first non-empty line, or forced;
 *  - bad lines (not JSON, no user, no time or an impossible one, over `maxLineBytes`) are counted
 *    `malformed`, valid records of a kind UBA does not model `ignored` — never thrown;
 *  - duplicate deliveries (same recordId) are dropped and counted. Memory stays bounded: the
 *    recent-id set holds at most `dedupCapacity` ids and forgets the oldest first, so a duplicate
 *    arriving more than that many records after the original is not caught;
 *  - out-of-order events: an event more than `skewMs` older than the newest already seen for its
 *    host is still yielded (dropping it would lose evidence, and baselines do not depend on
 *    order) but counted `outOfOrder`, so callers see how disordered a feed is; events within the
 *    skew (clock drift between hosts, forwarder batching) are normal and not counted;
 *  - a file that cannot be opened (missing, a directory, no permission) or whose format cannot be
 *    told throws AegisInputError; a gzip stream that breaks off mid-file ends that file with one
 *    `malformed` and a warning, keeping what was read.
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { AegisInputError } from '../../core/errors.js';
import type { BehaviorEvent, IngestCounts } from './event.js';
import { AuthLogParser, looksLikeSyslog } from './parse-auth-log.js';
import { emptyCounts, type ParseOutcome } from './parse-common.js';
import { type CsvColumns, parseCsvHeader, parseCsvLine, parseJsonlLine } from './parse-generic.js';
import { parseWindowsLine } from './parse-windows.js';

export type EventFormat = 'windows-json' | 'auth-log' | 'csv' | 'jsonl';
export const EVENT_FORMATS: readonly EventFormat[] = ['windows-json', 'auth-log', 'csv', 'jsonl'];

export interface ReadEventsOptions {
  /** 'auto' (default): per file, from its first non-empty line. */
  format?: EventFormat | 'auto';
  /** Year of the first yearless auth.log line; default: the file's modification year (see yearFor). */
  year?: number;
  /** Allowed clock skew per host before an older event counts as out of order (default 5 minutes). */
  skewMs?: number;
  /** Most recent record ids remembered for deduplication (default 200,000; ~20 MB). 0 disables. */
  dedupCapacity?: number;
  /** Longer lines are skipped as malformed (default 1 MiB): a file without newlines cannot fill memory. */
  maxLineBytes?: number;
  /**
   * Events stamped outside [notBefore, notAfter] (default 1990-01-01 to one day after now) count
   * as malformed: a broken clock or exporter (epoch 0, year 2099) would otherwise become the
   * host's newest time and the risk's "now".
   */
  notBefore?: number;
  notAfter?: number;
  /** Counts to add to (live, while the generator runs); a fresh object otherwise. */
  counts?: IngestCounts;
  /** Told about files that ended early (truncated gzip) and other non-fatal trouble. */
  onWarning?: (message: string) => void;
  /** Told each file's format once detected. */
  onFile?: (path: string, format: EventFormat) => void;
  /** Told each file's own counts when it has been read (format undefined for an empty file). */
  onFileDone?: (path: string, format: EventFormat | undefined, counts: IngestCounts) => void;
}

export const DEFAULT_SKEW_MS = 5 * 60_000;
export const DEFAULT_DEDUP_CAPACITY = 200_000;
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;
export const DEFAULT_NOT_BEFORE = Date.UTC(1990, 0, 1);
/** Hosts whose newest time is remembered for the out-of-order check. */
const MAX_HOSTS_TRACKED = 100_000;

/**
 * A set that forgets its oldest entries beyond `capacity`: a Set plus a ring of the insertion
 * order, O(1) per call. (Evicting via Map.keys().next() is not: V8 leaves deleted entries as
 * holes at the front of the table, so each eviction would scan all earlier ones.)
 */
export class RecentSet {
  private readonly items = new Set<string>();
  private readonly ring: (string | undefined)[];
  private next = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array(Math.max(0, capacity));
  }

  /** True when `key` was already present; otherwise remembers it. */
  seen(key: string): boolean {
    if (this.capacity <= 0) return false;
    if (this.items.has(key)) return true;
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.items.delete(evicted);
    this.ring[this.next] = key;
    this.next = (this.next + 1) % this.capacity;
    this.items.add(key);
    return false;
  }

  get size(): number {
    return this.items.size;
  }
}

function isGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const n = readSync(fd, head, 0, 2, 0);
    return n === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** Checks the file can be read; AegisInputError naming the file otherwise. */
function openCheck(path: string): { gzip: boolean; mtime: Date } {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AegisInputError(
      code === 'ENOENT' ? `event file '${path}' does not exist` : `cannot read event file '${path}': ${code ?? error}`,
    );
  }
  if (!stat.isFile()) throw new AegisInputError(`event path '${path}' is not a file`);
  try {
    return { gzip: isGzip(path), mtime: stat.mtime };
  } catch (error) {
    throw new AegisInputError(`cannot read event file '${path}': ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
}

interface Line {
  text: string;
  /** True when the line exceeded the byte limit (text is empty then). */
  tooLong: boolean;
}

/**
 * Lines of a (possibly gzipped) file, split on '\n' (a trailing '\r' dropped), decoded as UTF-8,
 * with lines over `maxBytes` reported as too long instead of being accumulated. Yields the lines
 * of each chunk together (one await per chunk, not per line).
 */
async function* fileLines(
  path: string,
  gzip: boolean,
  maxBytes: number,
  onTruncated: (error: Error) => void,
): AsyncGenerator<Line[]> {
  const raw = createReadStream(path, { highWaterMark: 1 << 16 });
  const stream = gzip ? raw.pipe(createGunzip()) : raw;
  if (gzip) raw.on('error', (error) => stream.destroy(error));
  let parts: Buffer[] = [];
  let pending = 0;
  let skipping = false;
  const finish = (buf: Buffer): Line => {
    const end = buf.length > 0 && buf[buf.length - 1] === 0x0d ? buf.length - 1 : buf.length;
    return { text: buf.toString('utf8', 0, end), tooLong: false };
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const batch: Line[] = [];
      let start = 0;
      while (start < chunk.length) {
        const nl = chunk.indexOf(0x0a, start);
        const stop = nl < 0 ? chunk.length : nl;
        if (!skipping) {
          if (pending + (stop - start) > maxBytes) {
            skipping = true;
            parts = [];
            pending = 0;
          } else if (stop > start) {
            parts.push(chunk.subarray(start, stop));
            pending += stop - start;
          }
        }
        if (nl < 0) break;
        if (skipping) batch.push({ text: '', tooLong: true });
        else batch.push(finish(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, pending)));
        parts = [];
        pending = 0;
        skipping = false;
        start = nl + 1;
      }
      // Keep our own copy of a partial line so the chunk can be freed.
      if (parts.length > 0 && !skipping) parts = [Buffer.concat(parts, pending)];
      if (batch.length > 0) yield batch;
    }
  } catch (error) {
    onTruncated(error as Error);
  }
  if (skipping) yield [{ text: '', tooLong: true }];
  else if (pending > 0) yield [finish(Buffer.concat(parts, pending))];
}

/** The format of a file from its first non-empty line; undefined when none fits. */
export function detectFormat(firstLine: string): EventFormat | undefined {
  const line = firstLine.replace(/^\uFEFF/, '').trim();
  // A JSON array or a pretty-printed object (first line '{' alone) is not one event per line.
  if (line.startsWith('[') || line === '{') return undefined;
  if (line.startsWith('{')) {
    return /"(?:EventID|EventId|event_id|winlog|Event)"\s*:/.test(line) ? 'windows-json' : 'jsonl';
  }
  if (looksLikeSyslog(line)) return 'auth-log';
  if (parseCsvHeader(line)) return 'csv';
  return undefined;
}

/**
 * The year of a yearless auth.log's first line when the caller gave none: the file's
 * modification year, or the year before when the first line's month is later than the
 * modification month (a log written from December into January).
 */
export function yearFor(firstLine: string, mtime: Date): number {
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].indexOf(
    firstLine.trim().slice(0, 3),
  );
  const year = mtime.getUTCFullYear();
  return month > mtime.getUTCMonth() ? year - 1 : year;
}

function describeUnknown(path: string, line: string): string {
  if (line.startsWith('ElfFile')) {
    return `'${path}' is a binary .evtx file; export it to JSON lines first (evtx_dump -o jsonl, python-evtx, or Winlogbeat)`;
  }
  const start = line.replace(/^\uFEFF/, '').trim();
  if (start.startsWith('[') || start === '{') {
    return (
      `'${path}' holds a JSON array or pretty-printed JSON (e.g. ConvertTo-Json); events must be one JSON ` +
      `object per line: convert with \`jq -c '.[]'\` (array) or \`jq -c .\``
    );
  }
  const shown = line.replace(/[^\x20-\x7e]/g, '?').slice(0, 60);
  return (
    `cannot tell the event format of '${path}' from its first line ('${shown}'): expected a JSON object, ` +
    `a syslog line, or a CSV header with user and time columns; pass --format ${EVENT_FORMATS.join('|')}`
  );
}

/** A per-file line parser for a known format (auth.log and CSV keep state across lines). */
function lineParser(format: EventFormat, firstLine: string, year: number): (line: string) => ParseOutcome | 'header' {
  switch (format) {
    case 'windows-json':
      return parseWindowsLine;
    case 'jsonl':
      return parseJsonlLine;
    case 'auth-log': {
      const parser = new AuthLogParser({ year });
      return (line) => parser.parse(line);
    }
    case 'csv': {
      let columns: CsvColumns | undefined;
      return (line) => {
        if (!columns) {
          columns = parseCsvHeader(line);
          if (!columns)
            throw new AegisInputError(`the CSV header '${firstLine.slice(0, 80)}' has no user and time columns`);
          return 'header';
        }
        return parseCsvLine(line, columns);
      };
    }
  }
}

/**
 * Events from `files` in file order, then line order. Counts accumulate in `options.counts`
 * (live) and are the generator's return value.
 */
export async function* readEvents(
  files: readonly string[],
  options: ReadEventsOptions = {},
): AsyncGenerator<BehaviorEvent, IngestCounts, undefined> {
  const counts = options.counts ?? emptyCounts();
  const skew = options.skewMs ?? DEFAULT_SKEW_MS;
  const recent = new RecentSet(options.dedupCapacity ?? DEFAULT_DEDUP_CAPACITY);
  const newest = new Map<string, number>();
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const notBefore = options.notBefore ?? DEFAULT_NOT_BEFORE;
  const notAfter = options.notAfter ?? Date.now() + 86_400_000;
  for (const path of files) {
    const { gzip, mtime } = openCheck(path);
    let parse: ((line: string) => ParseOutcome | 'header') | undefined;
    let fileFormat: EventFormat | undefined;
    const before = { ...counts };
    const truncated = (error: Error) => {
      counts.malformed += 1;
      options.onWarning?.(`'${path}' ended early (${error.message}); kept the events read before that`);
    };
    for await (const batch of fileLines(path, gzip, maxLineBytes, truncated)) {
      for (const line of batch) {
        if (line.tooLong) {
          counts.read += 1;
          counts.malformed += 1;
          continue;
        }
        if (line.text.trim() === '') continue;
        if (!parse) {
          const forced = options.format && options.format !== 'auto' ? options.format : undefined;
          const format = forced ?? detectFormat(line.text);
          if (!format) throw new AegisInputError(describeUnknown(path, line.text));
          fileFormat = format;
          options.onFile?.(path, format);
          parse = lineParser(format, line.text, options.year ?? yearFor(line.text, mtime));
        }
        const outcome = parse(line.text);
        if (outcome === 'header') continue;
        counts.read += 1;
        if (outcome.kind === 'malformed') {
          counts.malformed += 1;
          continue;
        }
        if (outcome.kind === 'ignored') {
          counts.ignored += 1;
          continue;
        }
        const event = outcome.event;
        if (event.time < notBefore || event.time > notAfter) {
          counts.malformed += 1;
          continue;
        }
        if (recent.seen(event.recordId)) {
          counts.duplicates += 1;
          continue;
        }
        const latest = newest.get(event.host);
        if (latest === undefined || event.time > latest) {
          newest.set(event.host, event.time);
          // Bounded: a feed of random host names cannot grow this without limit (forgetting all is
          // rare and only means those hosts' next events are not checked for order).
          if (newest.size > MAX_HOSTS_TRACKED) newest.clear();
        } else if (event.time < latest - skew) counts.outOfOrder += 1;
        counts.parsed += 1;
        yield event;
      }
    }
    if (options.onFileDone) {
      const own = emptyCounts();
      for (const k of Object.keys(own) as (keyof IngestCounts)[]) own[k] = counts[k] - before[k];
      options.onFileDone(path, fileFormat, own);
    }
  }
  return counts;
}

/** Drains `readEvents` into an array (small inputs, tests); returns the events and the counts. */
export async function collectEvents(
  files: readonly string[],
  options: ReadEventsOptions = {},
): Promise<{ events: BehaviorEvent[]; counts: IngestCounts }> {
  const counts = options.counts ?? emptyCounts();
  const events: BehaviorEvent[] = [];
  for await (const event of readEvents(files, { ...options, counts })) events.push(event);
  return { events, counts };
}
