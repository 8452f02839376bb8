/**
 * A model behind a remote HTTP JSON endpoint, as a black-box Model ('scores' or 'labels' access).
 *
 * Protocol (field names configurable through `fields`):
 *   POST <url>, Content-Type: application/json
 *   request   {"inputs": number[][], "shape": number[]}
 *             one flattened row-major row per example; shape = [rows, ...inputShape] (NHWC for images)
 *   response  {"scores": number[][]}  one row of numClasses finite numbers per example ('scores' access)
 *          or {"labels": number[]}    one integer in [0, numClasses) per example     ('labels' access)
 *   A 'labels' model also accepts a scores answer (labels = argmax), so a scores API can be
 *   attacked as labels-only.
 *
 * Batches larger than maxBatch are split; at most `concurrency` requests are in flight per model;
 * network errors, timeouts, HTTP 429 and 5xx are retried with exponential backoff (Retry-After is
 * honoured). Malformed answers are not retried: they raise AegisInputError naming the endpoint.
 */
import { AccessError, AegisInputError } from '../core/errors.js';
import { tf } from '../core/runtime.js';
import type { Model, ModelInfo } from './model.js';

export interface HttpModelOptions {
  url: string;
  access: 'scores' | 'labels';
  /** Shape of one input (no batch dimension). */
  inputShape: number[];
  numClasses: number;
  inputRange?: [number, number];
  classNames?: string[];
  name?: string;
  /** Max requests in flight. Default 4. */
  concurrency?: number;
  /** Retries after the first attempt on network errors, timeouts, 429 and 5xx. Default 3. */
  retries?: number;
  /** Per-request timeout (whole exchange, body included). Default 30 000 ms. */
  timeoutMs?: number;
  /** Max examples per request. Default 100. */
  maxBatch?: number;
  /** First backoff delay; doubles per retry (capped at 10 s). Default 250 ms. */
  backoffMs?: number;
  /** Extra request headers (e.g. an API key). */
  headers?: Record<string, string>;
  /** JSON field names, for endpoints that use other keys. */
  fields?: Partial<Record<'inputs' | 'shape' | 'scores' | 'labels', string>>;
}

const MAX_BACKOFF_MS = 10_000;
const MAX_RETRY_AFTER_MS = 30_000;

/** Counting semaphore: at most `max` holders; waiters are served first-come first-served. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async acquire(): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return;
    }
    // release() hands its slot straight to us, so `active` stays unchanged.
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

export class HttpModel implements Model {
  readonly info: ModelInfo;
  /** Examples answered by the endpoint (successful requests only). */
  queries = 0;
  /** HTTP requests sent, retries included. */
  requests = 0;
  private readonly o: Required<Omit<HttpModelOptions, 'inputRange' | 'classNames' | 'name' | 'headers' | 'fields'>>;
  private readonly fields: Record<'inputs' | 'shape' | 'scores' | 'labels', string>;
  private readonly headers: Record<string, string>;
  private readonly semaphore: Semaphore;

  constructor(options: HttpModelOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new AegisInputError(`model endpoint '${options.url}' is not a valid URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new AegisInputError(`model endpoint '${options.url}' must be an http(s) URL`);
    }
    this.o = { concurrency: 4, retries: 3, timeoutMs: 30_000, maxBatch: 100, backoffMs: 250, ...options };
    const counts: [string, number, number][] = [
      ['concurrency', this.o.concurrency, 1],
      ['maxBatch', this.o.maxBatch, 1],
      ['retries', this.o.retries, 0],
      ['timeoutMs', this.o.timeoutMs, 1],
      ['backoffMs', this.o.backoffMs, 0],
      ['numClasses', this.o.numClasses, 2],
    ];
    for (const [what, value, min] of counts) {
      if (!Number.isInteger(value) || value < min) {
        throw new AegisInputError(`http model '${options.url}': ${what} must be an integer >= ${min}, got ${value}`);
      }
    }
    if (options.inputShape.length === 0 || options.inputShape.some((d) => !Number.isInteger(d) || d <= 0)) {
      throw new AegisInputError(`http model '${options.url}': inputShape [${options.inputShape}] must be positive`);
    }
    this.fields = { inputs: 'inputs', shape: 'shape', scores: 'scores', labels: 'labels', ...options.fields };
    this.headers = { 'content-type': 'application/json', accept: 'application/json', ...options.headers };
    this.semaphore = new Semaphore(this.o.concurrency);
    this.info = {
      name: options.name ?? options.url,
      access: options.access,
      inputShape: [...options.inputShape],
      numClasses: options.numClasses,
      inputRange: options.inputRange ?? [0, 1],
      source: options.url,
      classNames: options.classNames,
    };
  }

  async predictScores(x: tf.Tensor): Promise<tf.Tensor2D> {
    if (this.info.access !== 'scores') {
      throw new AccessError(`model '${this.info.name}' grants labels only, not scores`);
    }
    const answers = await this.query(x);
    const k = this.info.numClasses;
    const out = new Float32Array(answers.length * k);
    answers.forEach((a, i) => {
      out.set(a as number[], i * k);
    });
    return tf.tensor2d(out, [answers.length, k]);
  }

  async predictLabels(x: tf.Tensor): Promise<Int32Array> {
    const answers = await this.query(x);
    return Int32Array.from(answers, (a) => (typeof a === 'number' ? a : argmax(a)));
  }

  dispose(): void {}

  /** One answer per example: a scores row, or a label. */
  private async query(x: tf.Tensor): Promise<(number[] | number)[]> {
    const want = this.info.inputShape;
    const got = x.shape.slice(1);
    if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
      throw new AegisInputError(`model '${this.info.name}' expects inputs of shape [batch, ${want}], got [${x.shape}]`);
    }
    const n = x.shape[0] ?? 0;
    const per = want.reduce((a, b) => a * b, 1);
    const values = (await x.data()) as Float32Array;
    const chunks: Promise<(number[] | number)[]>[] = [];
    for (let start = 0; start < n; start += this.o.maxBatch) {
      const count = Math.min(this.o.maxBatch, n - start);
      const rows: number[][] = [];
      for (let i = start; i < start + count; i++) rows.push(Array.from(values.subarray(i * per, (i + 1) * per)));
      chunks.push(this.send(rows));
    }
    return (await Promise.all(chunks)).flat(1);
  }

  private async send(rows: number[][]): Promise<(number[] | number)[]> {
    const body = JSON.stringify({
      [this.fields.inputs]: rows,
      [this.fields.shape]: [rows.length, ...this.info.inputShape],
    });
    await this.semaphore.acquire();
    try {
      const json = await this.postWithRetries(body);
      const answers = this.parseAnswer(json, rows.length);
      this.queries += rows.length;
      return answers;
    } finally {
      this.semaphore.release();
    }
  }

  private async postWithRetries(body: string): Promise<unknown> {
    const url = this.info.source as string;
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.o.retries;
      let outcome: { json: unknown } | { retryAfterMs?: number; reason: string };
      try {
        outcome = await this.postOnce(body);
      } catch (error) {
        if (error instanceof AegisInputError) throw error;
        const e = error as Error;
        const reason = e.name === 'AbortError' ? `timed out after ${this.o.timeoutMs} ms` : networkReason(e);
        outcome = { reason };
      }
      if ('json' in outcome) return outcome.json;
      if (last) {
        throw new AegisInputError(`model endpoint ${url} failed after ${attempt + 1} attempts: ${outcome.reason}`);
      }
      const backoff = Math.min(MAX_BACKOFF_MS, this.o.backoffMs * 2 ** attempt);
      await sleep(Math.max(backoff, outcome.retryAfterMs ?? 0));
    }
  }

  /** One exchange. Returns the parsed JSON, or a retryable failure; throws on a final one. */
  private async postOnce(body: string): Promise<{ json: unknown } | { retryAfterMs?: number; reason: string }> {
    const url = this.info.source as string;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.o.timeoutMs);
    try {
      this.requests++;
      const response = await fetch(url, { method: 'POST', headers: this.headers, body, signal: controller.signal });
      const text = await response.text();
      if (response.status === 429 || response.status >= 500) {
        return { reason: `HTTP ${response.status} ${snippet(text)}`, retryAfterMs: retryAfter(response) };
      }
      if (!response.ok)
        throw new AegisInputError(`model endpoint ${url} answered HTTP ${response.status} ${snippet(text)}`);
      try {
        return { json: JSON.parse(text) };
      } catch {
        throw new AegisInputError(`model endpoint ${url} answered with invalid JSON: ${snippet(text)}`);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Checks the answer holds one well-formed row (or label) per example sent. */
  private parseAnswer(json: unknown, n: number): (number[] | number)[] {
    const url = this.info.source as string;
    const k = this.info.numClasses;
    const bad = (what: string) => new AegisInputError(`model endpoint ${url} sent a malformed answer: ${what}`);
    if (json === null || typeof json !== 'object') throw bad('expected a JSON object');
    const record = json as Record<string, unknown>;
    const scores = record[this.fields.scores];
    const labels = record[this.fields.labels];
    if (this.info.access === 'labels' && labels !== undefined) {
      if (!Array.isArray(labels)) throw bad(`'${this.fields.labels}' is not an array`);
      if (labels.length !== n) throw bad(`${labels.length} labels for ${n} inputs`);
      labels.forEach((l, i) => {
        if (!Number.isInteger(l) || l < 0 || l >= k)
          throw bad(`label ${JSON.stringify(l)} of row ${i} is not in [0, ${k - 1}]`);
      });
      return labels as number[];
    }
    if (!Array.isArray(scores)) {
      const need =
        this.info.access === 'labels'
          ? `'${this.fields.labels}' or '${this.fields.scores}'`
          : `'${this.fields.scores}'`;
      throw bad(`no ${need} array`);
    }
    if (scores.length !== n) throw bad(`${scores.length} score rows for ${n} inputs`);
    scores.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== k) throw bad(`score row ${i} is not an array of ${k} numbers`);
      const j = row.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
      if (j >= 0) throw bad(`score ${JSON.stringify(row[j])} at row ${i}, class ${j} is not a finite number`);
    });
    return scores as number[][];
  }
}

function argmax(row: number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if ((row[i] as number) > (row[best] as number)) best = i;
  return best;
}

function networkReason(e: Error): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? e.message;
}

function retryAfter(response: Response): number | undefined {
  const seconds = Number(response.headers.get('retry-after'));
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, MAX_RETRY_AFTER_MS) : undefined;
}

function snippet(text: string): string {
  const t = text.trim().replace(/\s+/g, ' ');
  return t.length > 200 ? `${t.slice(0, 200)}…` : t;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
