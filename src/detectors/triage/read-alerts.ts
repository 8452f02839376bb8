/**
 * Streams alerts out of files of any supported feed, never holding a whole file in memory:
 * gzip is recognised by its magic bytes, NDJSON is read line by line (node:readline), and a file
 * that is one JSON array or pretty-printed JSON values (`aegis nids detect --json`) is split
 * value by value with a small bracket scanner. The format is detected per record, so one file
 * may mix Suricata EVE, ECS and Aegis alerts. Bad input is counted, never thrown: lines that are
 * not JSON, miss required fields or carry an implausible time (malformed), JSON of no known shape (unknown), valid records
 * that are not alerts (ignored: EVE flow/dns/stats, ECS events, benign verdicts), and repeated
 * deliveries of an alert id already seen (duplicates; ids remembered in a bounded FIFO set).
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AegisInputError } from '../../core/errors.js';
import type { TriageAlert } from './alert.js';
import {
  isAegisStoreAlert,
  isAegisVerdict,
  isUbaUsers,
  parseAegisStoreAlert,
  parseAegisVerdict,
  parseUbaUsers,
} from './parse-aegis.js';
import { isRecord, type ParseResult } from './parse-common.js';
import { isEcsRecord, parseEcs } from './parse-ecs.js';
import { isSuricataRecord, parseSuricata } from './parse-suricata.js';

export type AlertFormat = 'suricata' | 'ecs' | 'aegis-alert' | 'aegis-verdict' | 'uba-users';

export interface AlertIngestCounts {
  /** Records looked at: lines (blank ones excepted) or JSON values. */
  read: number;
  /** Alerts produced (after duplicates were dropped). */
  parsed: number;
  /** Not JSON, too large, or a known shape missing a required field (time, signature …). */
  malformed: number;
  /** JSON of no known shape. */
  unknown: number;
  /** Valid records that are not alerts: EVE flow/dns/stats, ECS events, benign detector verdicts. */
  ignored: number;
  /** The same alert id delivered again. */
  duplicates: number;
  /** Alerts per detected format. */
  byFormat: Partial<Record<AlertFormat, number>>;
  /** The first few problems, 'file:line: reason', for the user. */
  examples: string[];
  /** File-level problems (truncated gzip …): reading stopped there, what came before is kept. */
  warnings: string[];
}

export function emptyIngestCounts(): AlertIngestCounts {
  return {
    read: 0,
    parsed: 0,
    malformed: 0,
    unknown: 0,
    ignored: 0,
    duplicates: 0,
    byFormat: {},
    examples: [],
    warnings: [],
  };
}

/** Which parser a JSON record belongs to; undefined for unknown shapes. */
export function detectAlertFormat(record: unknown): AlertFormat | undefined {
  if (!isRecord(record)) return undefined;
  if (isSuricataRecord(record)) return 'suricata';
  if (isEcsRecord(record)) return 'ecs';
  if (isAegisStoreAlert(record)) return 'aegis-alert';
  if (isAegisVerdict(record)) return 'aegis-verdict';
  if (isUbaUsers(record)) return 'uba-users';
  return undefined;
}

/** Parses one JSON record of any known format; `fallbackTime` dates records without a time (verdicts). */
export function parseAlertRecord(
  record: unknown,
  fallbackTime: number,
): { format: AlertFormat | undefined; results: ParseResult[] } {
  const format = detectAlertFormat(record);
  const r = record as Record<string, unknown>;
  switch (format) {
    case 'suricata':
      return { format, results: [parseSuricata(r)] };
    case 'ecs':
      return { format, results: [parseEcs(r)] };
    case 'aegis-alert':
      return { format, results: [parseAegisStoreAlert(r)] };
    case 'aegis-verdict':
      return { format, results: [parseAegisVerdict(r, fallbackTime)] };
    case 'uba-users': {
      const alerts = parseUbaUsers(r, fallbackTime);
      return {
        format,
        results: alerts.length
          ? alerts.map((alert) => ({ kind: 'alert', alert }))
          : [{ kind: 'ignored', reason: 'no user above the risk threshold' }],
      };
    }
    default:
      return { format, results: [] };
  }
}

export interface ReadAlertsOptions {
  /** Filled as the stream goes (pass one to read the counts while or after iterating). */
  counts?: AlertIngestCounts;
  /** Alert ids remembered for duplicate detection (oldest forgotten first). Default 1,000,000. */
  seenCapacity?: number;
  /** A JSON value larger than this is counted malformed and skipped. Default 16 MiB. */
  maxRecordChars?: number;
  /** How many problem examples to keep. Default 5. */
  maxExamples?: number;
  /**
   * Plausible alert times (ms): alerts stamped outside are malformed (a sensor with a broken
   * clock would otherwise open incidents in 1970 or next year). Default 1990-01-01 … now + 1 day.
   */
  timeRange?: readonly [number, number];
}

const EARLIEST_PLAUSIBLE = Date.UTC(1990, 0, 1);

/** Opens a file as a text stream, gunzipping when it starts with the gzip magic bytes 1f 8b. */
export async function openTextStream(path: string): Promise<{ stream: Readable; mtime: number }> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw new AegisInputError(`cannot read alert file '${path}': ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  if (!info.isFile()) throw new AegisInputError(`'${path}' is not a file`);
  const head = Buffer.alloc(2);
  const fd = await open(path, 'r');
  try {
    await fd.read(head, 0, 2, 0);
  } finally {
    await fd.close();
  }
  const raw = createReadStream(path);
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const stream = gzip ? raw.pipe(createGunzip()) : raw;
  if (gzip) raw.on('error', (e) => stream.destroy(e));
  stream.setEncoding('utf8');
  return { stream, mtime: info.mtimeMs };
}

/** A bounded set: past `capacity`, the oldest ids are forgotten. */
class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity: number) {}
  /** True when the id was already there; adds it otherwise. */
  seen(id: string): boolean {
    if (this.ids.has(id)) return true;
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
    return false;
  }
}

/**
 * Splits a character stream into top-level JSON values ('values') or the elements of one
 * top-level array ('array'), tracking strings and brackets only (JSON.parse validates each piece).
 */
export class JsonValueSplitter {
  private depth = 0;
  private inString = false;
  private escape = false;
  private parts: string[] = [];
  private size = 0;
  private oversize = false;
  private readonly base: number;

  constructor(
    mode: 'values' | 'array',
    private readonly maxChars: number,
  ) {
    this.base = mode === 'array' ? 1 : 0;
  }

  /** Feeds a chunk; returns the values completed in it (null for one that was too large). */
  push(chunk: string): (string | null)[] {
    const done: (string | null)[] = [];
    let start = this.depth > this.base ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === 0x5c) this.escape = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (c === 0x22) {
        this.inString = true;
      } else if (c === 0x7b || c === 0x5b) {
        // { [
        if (this.depth === this.base) start = i;
        this.depth++;
      } else if (c === 0x7d || c === 0x5d) {
        // } ]
        this.depth = Math.max(0, this.depth - 1);
        if (this.depth === this.base && start >= 0) {
          this.take(chunk.slice(start, i + 1));
          done.push(this.oversize ? null : this.parts.join(''));
          this.reset();
          start = -1;
        }
      }
    }
    if (start >= 0 && this.depth > this.base) this.take(chunk.slice(start));
    return done;
  }

  private take(piece: string): void {
    this.size += piece.length;
    if (this.size > this.maxChars) {
      this.oversize = true;
      this.parts = [];
    } else if (!this.oversize) this.parts.push(piece);
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.oversize = false;
  }

  /** True when the input ended inside a value. */
  get unfinished(): boolean {
    return this.depth > this.base || this.inString;
  }
}

/** Peeks the first non-blank characters to choose line mode (NDJSON) or value splitting. */
function chooseMode(firstChunk: string): 'lines' | 'array' | 'values' {
  const text = firstChunk.trimStart();
  if (text.startsWith('[')) return 'array';
  const firstLine = text.split('\n', 1)[0]?.trim() ?? '';
  // Pretty-printed JSON opens with a lone '{' line; NDJSON lines are whole values.
  if (firstLine === '{') return 'values';
  return 'lines';
}

/** Yields raw records of a stream (lines or JSON value texts) with their 1-based position; null = oversize. */
async function* records(stream: Readable, maxChars: number): AsyncGenerator<{ text: string | null; at: number }> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<string>;
  const first = await iterator.next();
  if (first.done) return;
  const mode = chooseMode(first.value);
  if (mode === 'lines') {
    // Give readline the chunk already taken, then the rest of the stream.
    async function* rest(): AsyncGenerator<string> {
      yield first.value as string;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    }
    const lines = createInterface({ input: Readable.from(rest()), crlfDelay: Number.POSITIVE_INFINITY });
    let at = 0;
    for await (const line of lines) {
      at++;
      if (line.trim() === '') continue;
      yield { text: line.length > maxChars ? null : line, at };
    }
    return;
  }
  const splitter = new JsonValueSplitter(mode, maxChars);
  let at = 0;
  let chunk: string | undefined = first.value;
  while (chunk !== undefined) {
    for (const text of splitter.push(chunk)) yield { text, at: ++at };
    const next = await iterator.next();
    chunk = next.done ? undefined : next.value;
  }
  if (splitter.unfinished) yield { text: '', at: ++at }; // a truncated last value: counted malformed
}

/**
 * Reads alerts from files (plain or gzip; NDJSON, a JSON array or JSON values; formats mixed).
 * Counts land in `options.counts`. Missing files throw AegisInputError; a corrupt gzip stops that
 * file with a warning.
 */
export async function* readAlerts(
  paths: string | readonly string[],
  options: ReadAlertsOptions = {},
): AsyncGenerator<TriageAlert> {
  const counts = options.counts ?? emptyIngestCounts();
  const seen = new RecentIds(options.seenCapacity ?? 1_000_000);
  const maxChars = options.maxRecordChars ?? 16 * 1024 * 1024;
  const maxExamples = options.maxExamples ?? 5;
  const [minTime, maxTime] = options.timeRange ?? [EARLIEST_PLAUSIBLE, Date.now() + 86_400_000];
  const note = (file: string, at: number, reason: string) => {
    if (counts.examples.length < maxExamples) counts.examples.push(`${file}:${at}: ${reason}`);
  };
  for (const path of typeof paths === 'string' ? [paths] : paths) {
    const { stream, mtime } = await openTextStream(path);
    try {
      for await (const { text, at } of records(stream, maxChars)) {
        counts.read++;
        if (text === null) {
          counts.malformed++;
          note(path, at, `record longer than ${maxChars} characters`);
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          counts.malformed++;
          note(path, at, text === '' ? 'truncated JSON at end of file' : 'not JSON');
          continue;
        }
        const { format, results } = parseAlertRecord(value, mtime);
        if (format === undefined) {
          counts.unknown++;
          note(path, at, 'JSON of no known alert shape');
          continue;
        }
        for (const r of results) {
          if (r.kind === 'ignored') counts.ignored++;
          else if (r.kind === 'malformed') {
            counts.malformed++;
            note(path, at, r.reason);
          } else if (!(r.alert.time >= minTime && r.alert.time <= maxTime)) {
            counts.malformed++;
            note(path, at, `alert time ${new Date(r.alert.time).toISOString()} is implausible (clock skew?)`);
          } else if (seen.seen(r.alert.id)) counts.duplicates++;
          else {
            counts.parsed++;
            counts.byFormat[format] = (counts.byFormat[format] ?? 0) + 1;
            yield r.alert;
          }
        }
      }
    } catch (error) {
      if (error instanceof AegisInputError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      counts.warnings.push(
        `${path}: reading stopped: ${code === 'Z_BUF_ERROR' ? 'truncated gzip stream' : (error as Error).message}`,
      );
    } finally {
      stream.destroy();
    }
  }
}
