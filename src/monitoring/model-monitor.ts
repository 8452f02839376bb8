/**
 * Drift monitoring for one served model. Examples stream in (`observe`, called by the gateway after each reply);
 * they fill a current window of `windowSize` examples, and each full window (tumbling: windows do not overlap) is
 * compared with the reference — the reference data given at start, or else the first `windowSize` live examples:
 *   drift/ks          per-feature two-sample Kolmogorov-Smirnov, Bonferroni over the features (α/d each)
 *   drift/psi         per-feature population stability index, quantile bins of the reference, > psiThreshold
 *   drift/mmd         kernel MMD permutation test on an embedding (random projection of the inputs by default)
 *   drift/chi-square  χ² homogeneity test of the predicted-label counts (sparse cells pooled)
 *   drift/confidence  mean top-class confidence fell by more than confidenceDrop
 * A detector raises one Alert when it turns to drift and stays quiet until a window tests clean again (one alert per
 * drift episode, not per window or request).
 *
 * Cost: observing copies the rows and takes an arg-max per row. A window's tests take tens of milliseconds for
 * Fashion-MNIST-sized inputs, so by default ('background') they run in slices of a few milliseconds between other
 * work on the event loop (setImmediate) while the next window fills; `idle()` resolves when they are done. 'sync'
 * runs them inside the observe call that fills the window (offline use and tests).
 */
import { AegisInputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { MonitoringConfig } from '../gateway/config.js';
import type { Alert } from '../gateway/types.js';
import { chiSquareHomogeneity } from './chi-square.js';
import { confidenceDrift, topClass } from './confidence.js';
import { driftAlert } from './drift-alert.js';
import { createEmbedder, EMBEDDING_DIMS, type Embedder, type EmbeddingKind } from './embedding.js';
import { FeatureDrift } from './feature-drift.js';
import { countPermutationsAtLeast, mmdKernelSteps } from './mmd.js';
import { PSI_BINS } from './psi.js';
import {
  type DetectorReport,
  type DetectorResult,
  DRIFT_SOURCES,
  type DriftDetector,
  type MonitoringReport,
  type WindowEvaluation,
} from './types.js';
import { Window } from './window.js';

export type { DetectorReport, DetectorResult, DriftDetector, MonitoringReport, WindowEvaluation } from './types.js';
export { DRIFT_DETECTORS, DRIFT_SOURCES } from './types.js';

export interface ModelMonitor {
  /** `rows`: n examples of rowSize values (the model's input layout); `scores`: n × numClasses (probabilities or logits). */
  observe(rows: Float32Array, rowSize: number, scores: Float32Array, numClasses: number): void;
  report(): MonitoringReport;
  /** Resolves once no window evaluation is pending (background mode). */
  idle(): Promise<void>;
  /** Finishes any pending evaluation, then evaluates a partly filled window (≥ 2 examples) now; offline use. */
  flush(): WindowEvaluation | null;
}

export interface ModelMonitorOptions {
  model: string;
  inputShape: number[];
  /** 0 when there are no model scores (inputs only): the prediction detectors are then off. */
  numClasses: number;
  /** Reference inputs (n × product(inputShape)) and the model's scores on them (n × numClasses). */
  reference?: { inputs: Float32Array; scores: Float32Array };
  onAlert: (a: Alert) => void;
  /**
   * 'background' (default): tests run in slices on the event loop; 'sync': inside observe. (The gateway's default,
   * a worker thread, is createWorkerMonitor in worker-monitor.ts, which runs a 'sync' monitor in the worker.)
   */
  evaluation?: 'background' | 'sync';
  /** Seeds the projection, subsampling and permutations (default 0). */
  seed?: number;
  /** MMD embedding (default 'auto': projection for inputs wider than embeddingDims, else standardised features). */
  embedding?: EmbeddingKind | 'auto';
  embeddingDims?: number;
  /** Rows per side in the MMD test (default 250; the test costs O(rows²·permutations)). */
  mmdSamples?: number;
  /** Permutations of the MMD test (default clamp(⌈2/α⌉, 200, 1000)). */
  mmdPermutations?: number;
  /** PSI quantile bins (default 10). */
  psiBins?: number;
  /** A larger given reference is subsampled (seeded) to this many examples (default 10 000). */
  maxReference?: number;
  /** Called after every window evaluation (offline reports). */
  onEvaluation?: (e: WindowEvaluation) => void;
  /** Clock (tests). */
  now?: () => Date;
}

const RECENT_ALERTS = 20;
/** Work per background slice before yielding to the event loop. */
const SLICE_MS = 4;
const FEATURE_CHUNK = 32;
const PERMUTATION_CHUNK = 20;
const EMBED_CHUNK = 25;

interface Reference {
  rows: Float32Array;
  /** n × numClasses (empty without scores). */
  scores: Float32Array;
  n: number;
  labelCounts: Float64Array;
  meanConfidence: number;
}

function checkFinite(values: Float32Array, what: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new AegisInputError(`${what}: value ${values[i]} at index ${i} is not finite`);
    }
  }
}

/** Seeded choice of k of [0, n), in increasing order. */
function sampleIndices(n: number, k: number, rng: Rng): Int32Array {
  if (k >= n) return Int32Array.from({ length: n }, (_, i) => i);
  return rng.permutation(n).subarray(0, k).sort();
}

/**
 * Checks the options a monitor is built from (shape, classes, window size, the given reference's size and values)
 * and returns the row size; throws AegisInputError naming what is wrong. The worker monitor calls it on the main
 * thread so that a bad setup fails at construction there too.
 */
export function checkMonitorOptions(config: MonitoringConfig, opts: ModelMonitorOptions): number {
  if (opts.inputShape.length === 0 || !opts.inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new AegisInputError(
      `monitor '${opts.model}': input shape [${opts.inputShape}] must be positive whole numbers`,
    );
  }
  if (!Number.isInteger(opts.numClasses) || opts.numClasses < 0 || opts.numClasses === 1) {
    throw new AegisInputError(
      `monitor '${opts.model}': numClasses must be 0 (no scores) or ≥ 2, got ${opts.numClasses}`,
    );
  }
  if (config.enabled && !(Number.isInteger(config.windowSize) && config.windowSize >= 2)) {
    throw new AegisInputError(
      `monitor '${opts.model}': windowSize must be a whole number ≥ 2, got ${config.windowSize}`,
    );
  }
  const rowSize = opts.inputShape.reduce((a, b) => a * b, 1);
  const ref = opts.reference;
  if (ref && config.enabled) {
    const n = ref.inputs.length / rowSize;
    const where = `monitor '${opts.model}': reference`;
    if (!Number.isInteger(n) || n < 2) {
      throw new AegisInputError(
        `${where} has ${ref.inputs.length} values: not at least 2 whole examples of ${rowSize} (input shape [${opts.inputShape}])`,
      );
    }
    if (ref.scores.length !== n * opts.numClasses) {
      throw new AegisInputError(
        `${where} scores have ${ref.scores.length} values, expected ${n} examples × ${opts.numClasses} classes`,
      );
    }
    checkFinite(ref.inputs, `${where} inputs`);
    checkFinite(ref.scores, `${where} scores`);
  }
  return rowSize;
}

/** The given reference's examples a monitor keeps (seeded subsample of maxReference, in increasing order). */
export function referenceKeep(n: number, opts: Pick<ModelMonitorOptions, 'maxReference' | 'seed'>): Int32Array {
  return sampleIndices(n, opts.maxReference ?? 10_000, new Rng((opts.seed ?? 0) ^ 0x7e1e));
}

/** Detector states before any window: 'pending', or 'off' with the reason. */
export function initialDetectors(config: MonitoringConfig, numClasses: number): Record<DriftDetector, DetectorReport> {
  const disabled = config.enabled ? undefined : 'monitoring is disabled';
  const noScores = disabled ?? (numClasses === 0 ? 'no model scores' : undefined);
  const make = (d: DriftDetector, reason?: string): DetectorReport => ({
    status: reason ? 'off' : 'pending',
    source: DRIFT_SOURCES[d],
    ...(reason ? { reason } : {}),
    windowsFlagged: 0,
    episodes: 0,
    last: null,
  });
  return {
    ks: make('ks', disabled),
    psi: make('psi', disabled),
    mmd: make('mmd', disabled),
    'chi-square': make('chi-square', noScores),
    confidence: make('confidence', noScores),
  };
}

/** Checks one observe() call's arrays against the monitor's input shape and classes; returns the example count. */
export function checkObserved(
  opts: Pick<ModelMonitorOptions, 'model' | 'inputShape' | 'numClasses'>,
  expectedRowSize: number,
  rows: Float32Array,
  rowSize: number,
  scores: Float32Array,
  numClasses: number,
): number {
  if (rowSize !== expectedRowSize || rows.length % rowSize !== 0) {
    throw new AegisInputError(
      `monitor '${opts.model}': rows of ${rowSize} values (${rows.length} in all) do not match input shape [${opts.inputShape}]`,
    );
  }
  const n = rows.length / rowSize;
  if (numClasses !== opts.numClasses || scores.length !== n * numClasses) {
    throw new AegisInputError(
      `monitor '${opts.model}': ${scores.length} scores for ${n} rows with ${numClasses} classes; expected ${opts.numClasses} classes per row`,
    );
  }
  return n;
}

class DriftMonitor implements ModelMonitor {
  private readonly rowSize: number;
  private readonly numClasses: number;
  private readonly windowSize: number;
  private readonly background: boolean;
  private readonly rng: Rng;
  private readonly now: () => Date;
  private readonly mmdSamples: number;
  private readonly mmdPermutations: number;
  private readonly psiBins: number;
  /** The window being filled, and the spare one a background evaluation reads. */
  private window: Window;
  private spare: Window | null = null;
  private reference: Reference | null = null;
  private readonly referenceSource: 'given' | 'live';
  private features: FeatureDrift | null = null;
  private embedder: Embedder | null = null;
  private referenceEmbedding: Float64Array | null = null;
  private pending: { steps: Generator<void, WindowEvaluation>; window: Window; cpuMs: number } | null = null;
  private idleWaiters: (() => void)[] = [];
  private seen = 0;
  private windows = 0;
  private lastTime: string | null = null;
  private lastMs: number | null = null;
  private lastError: string | null = null;
  private readonly state: Record<DriftDetector, DetectorReport>;
  private readonly recent: Alert[] = [];
  private readonly bySource: Record<string, number> = {};
  private raised = 0;

  constructor(
    private readonly config: MonitoringConfig,
    private readonly opts: ModelMonitorOptions,
  ) {
    this.rowSize = checkMonitorOptions(config, opts);
    this.numClasses = opts.numClasses;
    this.windowSize = config.windowSize;
    this.background = (opts.evaluation ?? 'background') === 'background';
    this.rng = new Rng(opts.seed ?? 0);
    this.now = opts.now ?? (() => new Date());
    this.mmdSamples = opts.mmdSamples ?? 250;
    this.mmdPermutations = opts.mmdPermutations ?? Math.min(1000, Math.max(200, Math.ceil(2 / config.alpha)));
    this.psiBins = opts.psiBins ?? PSI_BINS;
    this.window = new Window(config.enabled ? this.windowSize : 0, this.rowSize, this.numClasses);
    this.referenceSource = opts.reference ? 'given' : 'live';
    this.state = initialDetectors(config, this.numClasses);
    if (opts.reference && config.enabled) this.setReference(this.givenReference(opts.reference));
  }

  /** The given reference (checked by checkMonitorOptions), subsampled to maxReference examples. */
  private givenReference(ref: { inputs: Float32Array; scores: Float32Array }): Reference {
    return this.summarise(ref.inputs, ref.scores, referenceKeep(ref.inputs.length / this.rowSize, this.opts));
  }

  /** Reference statistics from the chosen examples of rows/scores. */
  private summarise(rows: Float32Array, scores: Float32Array, keep: ArrayLike<number>): Reference {
    const n = keep.length;
    const d = this.rowSize;
    const k = this.numClasses;
    const out = new Float32Array(n * d);
    const outScores = new Float32Array(n * k);
    const labelCounts = new Float64Array(k);
    let confidence = 0;
    for (let r = 0; r < n; r++) {
      const i = keep[r] as number;
      out.set(rows.subarray(i * d, (i + 1) * d), r * d);
      if (k > 0) {
        outScores.set(scores.subarray(i * k, (i + 1) * k), r * k);
        const top = topClass(scores, i * k, k);
        labelCounts[top.label]++;
        confidence += top.confidence;
      }
    }
    return { rows: out, scores: outScores, n, labelCounts, meanConfidence: k > 0 ? confidence / n : 0 };
  }

  private setReference(ref: Reference): void {
    this.reference = ref;
    this.features = new FeatureDrift(ref.rows, ref.n, this.rowSize, { bins: this.psiBins });
    this.embedder = createEmbedder({
      kind: this.opts.embedding,
      rowSize: this.rowSize,
      numClasses: this.numClasses,
      dims: this.opts.embeddingDims ?? EMBEDDING_DIMS,
      seed: (this.opts.seed ?? 0) ^ 0x5eed,
      reference: { rows: ref.rows, n: ref.n },
    });
    this.referenceEmbedding = this.embedder.embed(
      ref.rows,
      ref.scores,
      sampleIndices(ref.n, this.mmdSamples, this.rng),
    );
  }

  observe(rows: Float32Array, rowSize: number, scores: Float32Array, numClasses: number): void {
    if (!this.config.enabled) return;
    const n = checkObserved(this.opts, this.rowSize, rows, rowSize, scores, numClasses);
    let i = 0;
    while (i < n) {
      const took = this.window.push(rows, scores, i, n - i);
      i += took;
      this.seen += took;
      if (this.window.full) this.windowFull();
    }
  }

  private windowFull(): void {
    const w = this.window;
    if (this.reference === null) {
      this.setReference(
        this.summarise(
          w.rows,
          w.scores,
          Int32Array.from({ length: w.filled }, (_, r) => r),
        ),
      );
      w.reset(this.seen);
      return;
    }
    this.finishPending(); // a window filled before the last one was tested: finish that one first
    if (!this.background) {
      this.runToEnd(w);
      w.reset(this.seen);
      return;
    }
    // Swap buffers: the full window is tested in the background while the other fills.
    this.spare ??= new Window(this.windowSize, this.rowSize, this.numClasses);
    this.window = this.spare;
    this.spare = w;
    this.window.reset(this.seen);
    this.pending = { steps: this.evaluation(w), window: w, cpuMs: 0 };
    setImmediate(() => this.runSlices());
  }

  private runToEnd(w: Window): WindowEvaluation {
    const started = performance.now();
    const steps = this.evaluation(w);
    let r = steps.next();
    while (!r.done) r = steps.next();
    return this.complete(r.value, performance.now() - started);
  }

  /** Runs background slices for about SLICE_MS, then yields to the event loop. */
  private runSlices(): void {
    const p = this.pending;
    if (p === null) return;
    const started = performance.now();
    try {
      let r = p.steps.next();
      while (!r.done && performance.now() - started < SLICE_MS) r = p.steps.next();
      p.cpuMs += performance.now() - started;
      if (!r.done) {
        setImmediate(() => this.runSlices());
        return;
      }
      this.pending = null;
      this.complete(r.value, p.cpuMs);
    } catch (error) {
      // A failed test must not take the gateway down: record it and carry on with the next window.
      this.pending = null;
      this.lastError = (error as Error).message;
    }
    this.wakeIdle();
  }

  private finishPending(): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    const started = performance.now();
    let r = p.steps.next();
    while (!r.done) r = p.steps.next();
    this.complete(r.value, p.cpuMs + performance.now() - started);
    this.wakeIdle();
  }

  private wakeIdle(): void {
    if (this.pending !== null) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  idle(): Promise<void> {
    if (this.pending === null) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  flush(): WindowEvaluation | null {
    this.finishPending();
    const w = this.window;
    if (!this.config.enabled || this.reference === null || w.filled < 2) return null;
    const evaluation = this.runToEnd(w);
    w.reset(this.seen);
    return evaluation;
  }

  /** The tests on one window, as steps a driver runs all at once or in background slices. */
  private *evaluation(w: Window): Generator<void, WindowEvaluation> {
    const ref = this.reference as Reference;
    const features = this.features as FeatureDrift;
    const embedder = this.embedder as Embedder;
    const m = w.filled;
    const { alpha, psiThreshold, confidenceDrop } = this.config;
    const scores = features.newScores();
    for (let f = 0; f < this.rowSize; f += FEATURE_CHUNK) {
      features.scoreFeatures(w.rows, m, f, Math.min(this.rowSize, f + FEATURE_CHUNK), scores);
      yield;
    }
    const { ks, psi } = features.summarise(m, scores, { alpha, psiThreshold });
    const results: DetectorResult[] = [];
    const { top: ksTop, statistic: ksD, pValue: ksP, threshold: ksT, drift: ksDrift, ...ksRest } = ks;
    results.push({
      detector: 'ks',
      source: DRIFT_SOURCES.ks,
      drift: ksDrift,
      statistic: ksD,
      pValue: ksP,
      threshold: ksT,
      thresholdOn: 'p-value',
      detail: { ...ksRest, alpha, correction: 'bonferroni', topFeatures: ksTop },
    });
    const { top: psiTop, statistic: psiMax, threshold: psiT, drift: psiDrift, ...psiRest } = psi;
    results.push({
      detector: 'psi',
      source: DRIFT_SOURCES.psi,
      drift: psiDrift,
      statistic: psiMax,
      pValue: null,
      threshold: psiT,
      thresholdOn: 'statistic',
      detail: { ...psiRest, topFeatures: psiTop },
    });
    const pick = sampleIndices(m, this.mmdSamples, this.rng);
    const current = new Float64Array(pick.length * embedder.dims);
    for (let r = 0; r < pick.length; r += EMBED_CHUNK) {
      const part = pick.subarray(r, Math.min(pick.length, r + EMBED_CHUNK));
      current.set(embedder.embed(w.rows, w.scores, part), r * embedder.dims);
      yield;
    }
    const refEmb = this.referenceEmbedding as Float64Array;
    const kernel = yield* mmdKernelSteps(refEmb, current, embedder.dims);
    const permRng = new Rng(this.rng.fork());
    let atLeast = 0;
    for (let done = 0; done < this.mmdPermutations; done += PERMUTATION_CHUNK) {
      atLeast += countPermutationsAtLeast(kernel, permRng, Math.min(PERMUTATION_CHUNK, this.mmdPermutations - done));
      yield;
    }
    const mmdP = (1 + atLeast) / (1 + this.mmdPermutations);
    results.push({
      detector: 'mmd',
      source: DRIFT_SOURCES.mmd,
      drift: mmdP < alpha,
      statistic: kernel.observed,
      pValue: mmdP,
      threshold: alpha,
      thresholdOn: 'p-value',
      detail: {
        embedding: embedder.kind,
        dims: embedder.dims,
        bandwidth: kernel.bandwidth,
        permutations: this.mmdPermutations,
        samples: { reference: refEmb.length / embedder.dims, current: pick.length },
      },
    });
    if (this.numClasses > 0) {
      const chi = chiSquareHomogeneity(ref.labelCounts, w.labelCounts);
      results.push({
        detector: 'chi-square',
        source: DRIFT_SOURCES['chi-square'],
        drift: chi.df > 0 && chi.pValue < alpha,
        statistic: chi.statistic,
        pValue: chi.pValue,
        threshold: alpha,
        thresholdOn: 'p-value',
        detail: {
          df: chi.df,
          cells: chi.cells,
          minExpected: chi.minExpected,
          referenceCounts: Array.from(ref.labelCounts),
          currentCounts: Array.from(w.labelCounts),
        },
      });
      const conf = confidenceDrift(ref.meanConfidence, w.confidenceSum / m, confidenceDrop);
      results.push({
        detector: 'confidence',
        source: DRIFT_SOURCES.confidence,
        drift: conf.drift,
        statistic: conf.drop,
        pValue: null,
        threshold: confidenceDrop,
        thresholdOn: 'statistic',
        detail: { referenceMean: conf.reference, currentMean: conf.current },
      });
    }
    return { window: 0, firstExample: w.firstExample, examples: m, time: '', ms: 0, results, alerts: [] };
  }

  /** Books a finished evaluation: detector states, one alert per new drift episode, report fields. */
  private complete(e: WindowEvaluation, ms: number): WindowEvaluation {
    this.windows++;
    const time = this.now().toISOString();
    const ref = this.reference as Reference;
    const evaluation: WindowEvaluation = { ...e, window: this.windows, time, ms };
    for (const r of e.results) {
      const s = this.state[r.detector];
      s.last = r;
      if (r.drift) {
        s.windowsFlagged++;
        if (s.status !== 'drift') {
          s.episodes++;
          evaluation.alerts.push(
            driftAlert(r, {
              model: this.opts.model,
              time,
              window: this.windows,
              firstExample: e.firstExample,
              windowExamples: e.examples,
              referenceExamples: ref.n,
              examplesSeen: this.seen,
            }),
          );
        }
      }
      s.status = r.drift ? 'drift' : 'ok';
    }
    this.lastTime = time;
    this.lastMs = ms;
    for (const a of evaluation.alerts) this.raise(a);
    this.opts.onEvaluation?.(evaluation);
    return evaluation;
  }

  private raise(a: Alert): void {
    this.raised++;
    this.bySource[a.source] = (this.bySource[a.source] ?? 0) + 1;
    this.recent.push(a);
    if (this.recent.length > RECENT_ALERTS) this.recent.shift();
    try {
      this.opts.onAlert(a);
    } catch (error) {
      this.lastError = `onAlert failed: ${(error as Error).message}`;
    }
  }

  report(): MonitoringReport {
    const { enabled, windowSize, alpha, psiThreshold, confidenceDrop } = this.config;
    return structuredClone({
      model: this.opts.model,
      enabled,
      windowSize,
      alpha,
      psiThreshold,
      confidenceDrop,
      examplesSeen: this.seen,
      windowsEvaluated: this.windows,
      reference: { source: this.referenceSource, examples: this.reference?.n ?? 0, ready: this.reference !== null },
      currentWindow: { examples: this.window.filled, size: windowSize },
      evaluating: this.pending !== null,
      lastEvaluation: this.lastTime,
      lastEvaluationMs: this.lastMs,
      lastError: this.lastError,
      detectors: this.state,
      alerts: { raised: this.raised, bySource: this.bySource, recent: this.recent },
    });
  }
}

/** A drift monitor for one model (see the file comment); `config` is aegis.yaml's `monitoring` section. */
export function createModelMonitor(config: MonitoringConfig, opts: ModelMonitorOptions): ModelMonitor {
  return new DriftMonitor(config, opts);
}
