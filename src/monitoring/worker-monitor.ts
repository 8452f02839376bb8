/**
 * A drift monitor whose window tests run in a worker thread (node:worker_threads): the gateway's default. The main
 * thread only checks each observe() call and copies its rows and scores into a preallocated batch buffer; when the
 * current window is full (or the buffer, for very wide rows) the buffers are transferred — not copied — to a worker
 * running the ordinary 'sync' DriftMonitor (monitor-worker.ts), which sends back the window evaluations (with their
 * alerts, raised here through onAlert), a fresh report and the buffers for reuse. So there is about one message
 * each way per window, and the tests' tens of milliseconds of CPU per window never run on the event loop.
 *
 * Same seed, same options and the same stream give the same evaluations and alerts as the 'sync' monitor: the
 * worker runs that monitor on the same rows in the same order. Evaluations are dated when their window filled on
 * the main thread (the time is stamped on the batch), as in 'sync' mode.
 *
 * report() is the worker's latest report adjusted for the rows not yet processed there (examplesSeen counts every
 * observed row). idle() first hands a partly filled batch to the worker (it evaluates only full windows, as the
 * other modes do), then resolves once every batch is processed: report() is then exact. flush() is not supported
 * (offline use: take evaluation 'sync').
 *
 * If the worker fails (crash, uncaught error, a failing evaluation, or it cannot start), the monitor carries on in
 * 'background' mode on the main thread with the same options (given reference, seed) and the rows it still holds;
 * the rows the worker had not finished are lost to the tests but counted, report().lastError says what happened,
 * and the report's counts add up over both. close() terminates the worker (the gateway calls it on shutdown).
 */
import { Worker } from 'node:worker_threads';
import type { MonitoringConfig } from '../gateway/config.js';
import {
  checkMonitorOptions,
  checkObserved,
  createModelMonitor,
  initialDetectors,
  type ModelMonitor,
  type ModelMonitorOptions,
  referenceKeep,
} from './model-monitor.js';
import type { MonitoringReport, WindowEvaluation } from './types.js';

/** The worker's monitor options: everything but the callbacks, the clock and the mode. */
export type WorkerMonitorSetup = Omit<ModelMonitorOptions, 'onAlert' | 'onEvaluation' | 'now' | 'evaluation'>;

/** Messages between the main thread and monitor-worker.ts. */
export type ToMonitorWorker =
  | { type: 'init'; config: MonitoringConfig; setup: WorkerMonitorSetup }
  | { type: 'batch'; id: number; rows: Float32Array; scores: Float32Array; count: number; time: string };
export type FromMonitorWorker =
  | {
      type: 'done';
      id: number;
      rows: Float32Array;
      scores: Float32Array;
      evaluations: WindowEvaluation[];
      report: MonitoringReport;
    }
  | { type: 'failed'; message: string };

export interface WorkerMonitorOptions extends Omit<ModelMonitorOptions, 'evaluation'> {
  /** Rows per transferred batch at most (default: a window, capped at 16 MiB of rows and scores). */
  batchRows?: number;
  /** Sees the worker once started (tests: make it fail). */
  onWorker?: (worker: Worker) => void;
}

export interface ClosableModelMonitor extends ModelMonitor {
  /** Terminates the worker; observe() is a no-op afterwards. */
  close(): Promise<void>;
}

const BATCH_BYTES = 16 * 1024 * 1024;

function spawnMonitorWorker(): Worker {
  // Under tsx (tests, the CLI) the worker entry is TypeScript: a small JS file registers tsx first.
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    const entry = new URL('./monitor-worker.ts', self).href;
    return new Worker(new URL('./monitor-worker-boot.mjs', self), { workerData: { entry } });
  }
  return new Worker(new URL('./monitor-worker.js', self));
}

/** The given reference cut down to the examples a monitor keeps (so the main thread holds no more than that). */
function keptReference(
  ref: { inputs: Float32Array; scores: Float32Array },
  rowSize: number,
  numClasses: number,
  opts: Pick<ModelMonitorOptions, 'maxReference' | 'seed'>,
): { inputs: Float32Array; scores: Float32Array } {
  const n = ref.inputs.length / rowSize;
  const keep = referenceKeep(n, opts);
  if (keep.length === n) return ref;
  const inputs = new Float32Array(keep.length * rowSize);
  const scores = new Float32Array(keep.length * numClasses);
  keep.forEach((i, r) => {
    inputs.set(ref.inputs.subarray(i * rowSize, (i + 1) * rowSize), r * rowSize);
    scores.set(ref.scores.subarray(i * numClasses, (i + 1) * numClasses), r * numClasses);
  });
  return { inputs, scores };
}

/** The report before the worker has answered (a given reference is ready: the worker builds it before any batch). */
function initialReport(
  config: MonitoringConfig,
  opts: ModelMonitorOptions,
  referenceExamples: number,
): MonitoringReport {
  const { enabled, windowSize, alpha, psiThreshold, confidenceDrop } = config;
  return {
    model: opts.model,
    enabled,
    windowSize,
    alpha,
    psiThreshold,
    confidenceDrop,
    examplesSeen: 0,
    windowsEvaluated: 0,
    reference: opts.reference
      ? { source: 'given', examples: referenceExamples, ready: true }
      : { source: 'live', examples: 0, ready: false },
    currentWindow: { examples: 0, size: windowSize },
    evaluating: false,
    lastEvaluation: null,
    lastEvaluationMs: null,
    lastError: null,
    detectors: initialDetectors(config, opts.numClasses),
    alerts: { raised: 0, bySource: {}, recent: [] },
  };
}

/**
 * The worker's report moved on by `pending` rows it has not processed yet: they count as seen and fill the current
 * window (the first window of a live reference becomes the reference); a window they fill is being evaluated.
 */
export function withPendingRows(snapshot: MonitoringReport, pending: number): MonitoringReport {
  const r = structuredClone(snapshot);
  if (pending <= 0) return r;
  r.examplesSeen += pending;
  let current = r.currentWindow.examples + pending;
  if (!r.reference.ready && current >= r.windowSize) current -= r.windowSize;
  if (current >= r.windowSize) {
    r.evaluating = true;
    current %= r.windowSize;
  }
  r.currentWindow.examples = current;
  return r;
}

/** One report over the worker's part of the stream (`before`, `offset` rows) and the fallback monitor's part. */
export function mergeFallbackReport(
  before: MonitoringReport,
  after: MonitoringReport,
  offset: number,
  error: string,
): MonitoringReport {
  const detectors = structuredClone(after.detectors);
  for (const [name, d] of Object.entries(detectors) as [keyof typeof detectors, (typeof detectors)['ks']][]) {
    const b = before.detectors[name];
    d.windowsFlagged += b.windowsFlagged;
    d.episodes += b.episodes;
    if (d.last === null && b.last !== null) d.last = structuredClone(b.last);
  }
  const bySource = { ...before.alerts.bySource };
  for (const [s, c] of Object.entries(after.alerts.bySource)) bySource[s] = (bySource[s] ?? 0) + c;
  const recentLimit = Math.max(20, after.alerts.recent.length);
  return {
    ...structuredClone(after),
    examplesSeen: offset + after.examplesSeen,
    windowsEvaluated: before.windowsEvaluated + after.windowsEvaluated,
    lastEvaluation: after.lastEvaluation ?? before.lastEvaluation,
    lastEvaluationMs: after.lastEvaluationMs ?? before.lastEvaluationMs,
    lastError: after.lastError ?? error,
    detectors,
    alerts: {
      raised: before.alerts.raised + after.alerts.raised,
      bySource,
      recent: structuredClone([...before.alerts.recent, ...after.alerts.recent].slice(-recentLimit)),
    },
  };
}

interface Fallback {
  monitor: ModelMonitor;
  /** The worker's last report and the rows observed before the fallback took over. */
  before: MonitoringReport;
  offset: number;
  error: string;
}

class WorkerMonitor implements ClosableModelMonitor {
  private readonly opts: Omit<WorkerMonitorOptions, 'reference'>;
  /** The kept reference, for a fallback monitor. */
  private readonly reference: { inputs: Float32Array; scores: Float32Array } | undefined;
  private readonly rowSize: number;
  private readonly numClasses: number;
  private readonly windowSize: number;
  private readonly batchRows: number;
  private readonly now: () => Date;
  private worker: Worker | null;
  private rows: Float32Array;
  private scores: Float32Array;
  private buffered = 0;
  /** Rows until the current window is full: a batch is sent then, so windows are tested as soon as they fill. */
  private untilFull: number;
  private readonly spare: { rows: Float32Array; scores: Float32Array }[] = [];
  private readonly inFlight = new Map<number, number>();
  private nextId = 0;
  private observed = 0;
  private snapshot: MonitoringReport;
  private localError: string | null = null;
  private fallback: Fallback | null = null;
  /** Set when even the fallback could not start: rows are counted, nothing is tested. */
  private deadError: string | null = null;
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly config: MonitoringConfig,
    options: WorkerMonitorOptions,
  ) {
    this.rowSize = checkMonitorOptions(config, options);
    const { reference, batchRows, onWorker, ...opts } = options;
    this.opts = opts;
    this.numClasses = options.numClasses;
    this.windowSize = config.windowSize;
    this.reference = reference && keptReference(reference, this.rowSize, this.numClasses, options);
    const perRow = (this.rowSize + this.numClasses) * 4;
    this.batchRows = Math.max(1, Math.min(this.windowSize, batchRows ?? Math.floor(BATCH_BYTES / perRow)));
    if (!Number.isInteger(this.batchRows)) throw new Error(`batchRows must be a whole number, got ${batchRows}`);
    this.untilFull = this.windowSize;
    this.now = options.now ?? (() => new Date());
    ({ rows: this.rows, scores: this.scores } = this.allocate());
    this.snapshot = initialReport(config, options, this.reference ? this.reference.inputs.length / this.rowSize : 0);
    const worker = spawnMonitorWorker();
    this.worker = worker;
    worker.unref(); // referenced only while batches are in flight: an idle monitor never holds the process open
    worker.on('message', (m: FromMonitorWorker) => this.onMessage(worker, m));
    worker.on('error', (error) => this.fail(worker, `crashed: ${error.message}`));
    worker.on('messageerror', (error) => this.fail(worker, `sent an unreadable message: ${error.message}`));
    worker.on('exit', (code) => this.fail(worker, `exited with code ${code}`));
    const { onAlert: _a, onEvaluation: _e, now: _n, ...setup } = opts;
    // The reference reaches the worker once, copied (the main thread keeps it for a fallback).
    worker.postMessage({
      type: 'init',
      config,
      setup: { ...setup, ...(this.reference ? { reference: this.reference } : {}) },
    } satisfies ToMonitorWorker);
    onWorker?.(worker);
  }

  private allocate(): { rows: Float32Array; scores: Float32Array } {
    return {
      rows: new Float32Array(this.batchRows * this.rowSize),
      scores: new Float32Array(this.batchRows * this.numClasses),
    };
  }

  observe(rows: Float32Array, rowSize: number, scores: Float32Array, numClasses: number): void {
    if (this.closed) return;
    if (this.fallback) {
      this.fallback.monitor.observe(rows, rowSize, scores, numClasses);
      return;
    }
    const n = checkObserved(this.opts, this.rowSize, rows, rowSize, scores, numClasses);
    if (this.deadError !== null) {
      this.observed += n;
      return;
    }
    const d = this.rowSize;
    const k = this.numClasses;
    let i = 0;
    while (i < n) {
      const take = Math.min(n - i, this.untilFull, this.batchRows - this.buffered);
      this.rows.set(rows.subarray(i * d, (i + take) * d), this.buffered * d);
      if (k > 0) this.scores.set(scores.subarray(i * k, (i + take) * k), this.buffered * k);
      i += take;
      this.buffered += take;
      this.observed += take;
      this.untilFull -= take;
      if (this.untilFull === 0) {
        this.untilFull = this.windowSize;
        this.send();
      } else if (this.buffered === this.batchRows) {
        this.send();
      }
    }
  }

  /** Transfers the batch buffers to the worker and continues in spare ones. */
  private send(): void {
    const worker = this.worker;
    if (worker === null || this.buffered === 0) return;
    const id = this.nextId++;
    const { rows, scores, buffered: count } = this;
    if (this.inFlight.size === 0) worker.ref();
    this.inFlight.set(id, count);
    const time = this.now().toISOString();
    worker.postMessage({ type: 'batch', id, rows, scores, count, time } satisfies ToMonitorWorker, [
      rows.buffer as ArrayBuffer,
      scores.buffer as ArrayBuffer,
    ]);
    ({ rows: this.rows, scores: this.scores } = this.spare.pop() ?? this.allocate());
    this.buffered = 0;
  }

  private onMessage(worker: Worker, m: FromMonitorWorker): void {
    if (worker !== this.worker) return;
    if (m.type === 'failed') {
      this.fail(worker, `failed: ${m.message}`);
      return;
    }
    this.inFlight.delete(m.id);
    this.spare.push({ rows: m.rows, scores: m.scores });
    this.snapshot = m.report;
    for (const e of m.evaluations) {
      for (const a of e.alerts) {
        try {
          this.opts.onAlert(a);
        } catch (error) {
          this.localError = `onAlert failed: ${(error as Error).message}`;
        }
      }
      try {
        this.opts.onEvaluation?.(e);
      } catch (error) {
        this.localError = `onEvaluation failed: ${(error as Error).message}`;
      }
    }
    if (this.inFlight.size === 0) {
      worker.unref();
      this.wake(Promise.resolve());
    }
  }

  /** The worker is gone or failed: carry on in 'background' mode on this thread (see the file comment). */
  private fail(worker: Worker, what: string): void {
    if (worker !== this.worker || this.closed) return;
    this.worker = null;
    void worker.terminate().catch(() => {});
    const offset = this.observed - this.buffered;
    const error = `drift monitor worker ${what}; evaluating on the main thread ('background') from example ${offset}`;
    try {
      const monitor = createModelMonitor(this.config, {
        ...this.opts,
        reference: this.reference,
        evaluation: 'background',
      });
      this.fallback = { monitor, before: this.snapshot, offset, error };
      if (this.buffered > 0) {
        const count = this.buffered;
        this.buffered = 0;
        monitor.observe(
          this.rows.subarray(0, count * this.rowSize),
          this.rowSize,
          this.scores.subarray(0, count * this.numClasses),
          this.numClasses,
        );
      }
    } catch (e) {
      this.fallback = null;
      this.deadError = `${error}: that failed too (${(e as Error).message}); drift monitoring stopped`;
    }
    this.inFlight.clear();
    this.spare.length = 0;
    this.wake(this.fallback ? this.fallback.monitor.idle() : Promise.resolve());
  }

  private wake(when: Promise<void>): void {
    const waiters = this.waiters;
    this.waiters = [];
    if (waiters.length === 0) return;
    void when.then(() => {
      for (const wake of waiters) wake();
    });
  }

  report(): MonitoringReport {
    if (this.fallback) {
      const { monitor, before, offset, error } = this.fallback;
      return mergeFallbackReport(before, monitor.report(), offset, error);
    }
    const r = withPendingRows(this.snapshot, this.observed - this.snapshot.examplesSeen);
    if (this.deadError !== null) {
      r.evaluating = false;
      r.lastError = this.deadError;
    } else if (this.localError !== null) {
      r.lastError = this.localError;
    }
    return r;
  }

  idle(): Promise<void> {
    if (this.fallback) return this.fallback.monitor.idle();
    if (this.worker === null) return Promise.resolve();
    this.send(); // hand over a partly filled batch so that report() is exact afterwards
    if (this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  flush(): WindowEvaluation | null {
    throw new Error(
      `monitor '${this.opts.model}': flush() is not available with worker evaluation; use evaluation 'sync' offline`,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.wake(Promise.resolve());
    await worker?.terminate();
  }
}

/**
 * A drift monitor for one model whose window tests run in a worker thread (see the file comment). With monitoring
 * disabled no worker starts: the result is the ordinary (inert) monitor.
 */
export function createWorkerMonitor(config: MonitoringConfig, opts: WorkerMonitorOptions): ClosableModelMonitor {
  if (!config.enabled) {
    const inert = createModelMonitor(config, { ...opts, evaluation: 'sync' });
    return Object.assign(inert, { close: async () => {} });
  }
  return new WorkerMonitor(config, opts);
}
