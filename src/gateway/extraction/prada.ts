// Juuti, Szyller, Marchal & Asokan 2019, "PRADA: Protecting against DNN Model Stealing Attacks", IEEE EuroS&P (arXiv:1805.02628), Algorithm 1.
/**
 * PRADA for one client: extraction attacks query synthetic or carefully chosen samples whose
 * distances to earlier queries are not distributed like those of natural inputs. Per query x
 * with predicted class c (Algorithm 1):
 *
 *   first query of class c:  G_c ← {x}, D_{G_c} ← {0}, T_c ← 0 (no distance is recorded)
 *   otherwise:               d_min ← min_{y ∈ G_c} ‖x − y‖₂;  D ← D ∪ {d_min}
 *                            if d_min > T_c: G_c ← G_c ∪ {x}, D_{G_c} ← D_{G_c} ∪ {d_min},
 *                                            T_c ← max(T_c, mean(D_{G_c}) − std(D_{G_c}))
 *   once |D| is large enough: D' ← {z ∈ D : |z − mean(D)| < 3·std(D)};
 *                            alarm when the Shapiro-Wilk W(D') < δ.
 *
 * Deviations, each to bound memory and CPU per client (documented in docs/gateway-extraction.md):
 * - The paper tests once |D| > 100; here once |D| ≥ minQueries (config.extraction.minQueries,
 *   default 100).
 * - G_c holds at most `maxGrowingSetPerClass` rows; beyond that a new member replaces the oldest
 *   (FIFO), so d_min costs O(cap · dims) per query. D_{G_c} and T_c keep their whole history.
 * - D is a sliding window of the most recent `window` (≤ 5000, Royston's range of the test)
 *   distances; the test runs on that window after every query, as Algorithm 1 does. The window
 *   is also kept sorted, so the outlier trim is two binary searches and W is one O(n) pass.
 * - The alarm latches at the first W < δ (the query is recorded); the gateway acts on it once.
 * - A window whose trimmed distances are all equal (e.g. one image sent over and over) has W = 1
 *   and raises no alarm: Shapiro-Wilk has no evidence against normality without spread.
 * The steps above (the 0 that opens D_{G_c}, T_c only rising, the 3σ trim, population std)
 * match the authors' published reference implementation (Aalto SSG, growing_set.py). That code
 * additionally skips classes with fewer than 10 distances and tests every 10th query; neither is
 * in Algorithm 1, so neither is here.
 */
import { AegisInputError } from '../../core/errors.js';
import { SHAPIRO_WILK_MAX_N, SHAPIRO_WILK_MIN_N, shapiroWilkSorted } from './shapiro-wilk.js';

export interface PradaOptions {
  /** δ: alarm when W of the client's minimum distances falls below this (0 < δ < 1). */
  threshold: number;
  /** Distances |D| needed before the normality test is applied (≥ 3). */
  minQueries: number;
  /** Most rows kept in one class's growing set G_c (FIFO beyond). Default 64. */
  maxGrowingSetPerClass?: number;
  /** Most recent distances tested (3 … 5000). Default 5000. */
  window?: number;
}

export const PRADA_DEFAULTS = { maxGrowingSetPerClass: 64, window: SHAPIRO_WILK_MAX_N } as const;

/**
 * Squared L2 distance from x = x[offset, offset + dims) to the nearest of `count` rows of `set`.
 * A row is abandoned once its partial sum cannot win; four accumulators let the loop pipeline.
 */
export function minSquaredDistance(
  set: Float32Array,
  count: number,
  x: Float32Array,
  offset: number,
  dims: number,
): number {
  let best = Number.POSITIVE_INFINITY;
  const tail = dims & 3;
  for (let m = 0, base = 0; m < count; m++, base += dims) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let j = 0;
    while (j < dims - tail) {
      const stop = Math.min(dims - tail, j + 64);
      for (; j < stop; j += 4) {
        const d0 = (x[offset + j] as number) - (set[base + j] as number);
        const d1 = (x[offset + j + 1] as number) - (set[base + j + 1] as number);
        const d2 = (x[offset + j + 2] as number) - (set[base + j + 2] as number);
        const d3 = (x[offset + j + 3] as number) - (set[base + j + 3] as number);
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
      }
      if (s0 + s1 + s2 + s3 >= best) break;
    }
    let s = s0 + s1 + s2 + s3;
    if (s >= best) continue;
    for (; j < dims; j++) {
      const d = (x[offset + j] as number) - (set[base + j] as number);
      s += d * d;
    }
    if (s < best) best = s;
  }
  return best;
}

/** One class's growing set G_c, its threshold T_c, and the running moments of D_{G_c}. */
class GrowingSet {
  rows: Float32Array;
  count = 0;
  /** Next slot to overwrite once full (FIFO). */
  private oldest = 0;
  threshold = 0;
  private entered = 0;
  private sum = 0;
  private sumSq = 0;

  constructor(
    private readonly dims: number,
    private readonly cap: number,
    first: Float32Array,
    offset: number,
  ) {
    this.rows = new Float32Array(Math.min(cap, 8) * dims);
    this.add(first, offset, 0);
  }

  /** Adds x with its distance d_min and raises T_c to mean − std of D_{G_c} when that is higher. */
  add(x: Float32Array, offset: number, dMin: number): void {
    const dims = this.dims;
    let slot: number;
    if (this.count < this.cap) {
      if ((this.count + 1) * dims > this.rows.length) {
        const grown = new Float32Array(Math.min(this.cap, this.count * 2) * dims);
        grown.set(this.rows);
        this.rows = grown;
      }
      slot = this.count++;
    } else {
      slot = this.oldest;
      this.oldest = (this.oldest + 1) % this.cap;
    }
    const base = slot * dims;
    for (let j = 0; j < dims; j++) this.rows[base + j] = x[offset + j] as number;
    this.entered++;
    this.sum += dMin;
    this.sumSq += dMin * dMin;
    if (this.entered > 1) {
      const mean = this.sum / this.entered;
      const std = Math.sqrt(Math.max(0, this.sumSq / this.entered - mean * mean));
      this.threshold = Math.max(this.threshold, mean - std);
    }
  }

  memoryBytes(): number {
    return this.rows.byteLength;
  }
}

/** The most recent distances, in arrival order (ring) and sorted, with running moments. */
class DistanceWindow {
  private readonly ring: Float64Array;
  readonly sorted: Float64Array;
  size = 0;
  private head = 0;
  private sum = 0;
  private sumSq = 0;
  private sinceRefresh = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Float64Array(capacity);
    this.sorted = new Float64Array(capacity);
  }

  push(d: number): void {
    if (this.size === this.capacity) {
      const old = this.ring[this.head] as number;
      this.sum -= old;
      this.sumSq -= old * old;
      const at = lowerBound(this.sorted, this.size, old);
      this.sorted.copyWithin(at, at + 1, this.size);
      this.size--;
    }
    this.ring[this.head] = d;
    this.head = (this.head + 1) % this.capacity;
    const at = upperBound(this.sorted, this.size, d);
    this.sorted.copyWithin(at + 1, at, this.size);
    this.sorted[at] = d;
    this.size++;
    this.sum += d;
    this.sumSq += d * d;
    // Removing values from running sums drifts; recompute them once per window.
    if (++this.sinceRefresh >= this.capacity) this.refresh();
  }

  private refresh(): void {
    this.sinceRefresh = 0;
    let s = 0;
    let q = 0;
    for (let i = 0; i < this.size; i++) {
      const v = this.sorted[i] as number;
      s += v;
      q += v * v;
    }
    this.sum = s;
    this.sumSq = q;
  }

  /** Indices [lo, hi) of the sorted values strictly within mean ± k·std. */
  trimmed(k: number): [number, number] {
    const mean = this.sum / this.size;
    const std = Math.sqrt(Math.max(0, this.sumSq / this.size - mean * mean));
    return [upperBound(this.sorted, this.size, mean - k * std), lowerBound(this.sorted, this.size, mean + k * std)];
  }

  memoryBytes(): number {
    return this.ring.byteLength + this.sorted.byteLength;
  }
}

/** First index in a[0, n) with a[i] ≥ v. */
function lowerBound(a: Float64Array, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in a[0, n) with a[i] > v. */
function upperBound(a: Float64Array, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What the detector has seen and decided so far (JSON-serialisable). */
export interface PradaSnapshot {
  /** Rows observed. */
  queries: number;
  /** |D|: distances recorded (every query but the first of each class). */
  distances: number;
  /** W of the last test, or null before the first. */
  w: number | null;
  /** Size of the tested (trimmed) window at the last test. */
  tested: number;
  alarmed: boolean;
  /** Queries observed when the alarm was first raised, and W then. */
  alarmAtQuery: number | null;
  alarmW: number | null;
  /** Rows held in the growing sets, over all classes. */
  growingSetRows: number;
  memoryBytes: number;
}

export function checkPradaOptions(options: PradaOptions): Required<PradaOptions> {
  const { threshold, minQueries } = options;
  const cap = options.maxGrowingSetPerClass ?? PRADA_DEFAULTS.maxGrowingSetPerClass;
  const window = options.window ?? PRADA_DEFAULTS.window;
  if (!(threshold > 0 && threshold < 1)) {
    throw new AegisInputError(`PRADA threshold δ must be between 0 and 1 (exclusive), got ${threshold}`);
  }
  if (!Number.isInteger(minQueries) || minQueries < SHAPIRO_WILK_MIN_N) {
    throw new AegisInputError(`PRADA minQueries must be an integer ≥ ${SHAPIRO_WILK_MIN_N}, got ${minQueries}`);
  }
  if (!Number.isInteger(cap) || cap < 1) {
    throw new AegisInputError(`PRADA maxGrowingSetPerClass must be a positive integer, got ${cap}`);
  }
  if (!Number.isInteger(window) || window < SHAPIRO_WILK_MIN_N || window > SHAPIRO_WILK_MAX_N) {
    throw new AegisInputError(
      `PRADA window must be an integer from ${SHAPIRO_WILK_MIN_N} to ${SHAPIRO_WILK_MAX_N} (Royston's range of the Shapiro-Wilk test), got ${window}`,
    );
  }
  return { threshold, minQueries, maxGrowingSetPerClass: cap, window };
}

export class PradaDetector {
  private readonly options: Required<PradaOptions>;
  private readonly sets = new Map<number, GrowingSet>();
  private readonly window: DistanceWindow;
  private queryCount = 0;
  private distanceCount = 0;
  private lastW: number | null = null;
  private lastTested = 0;
  private alarmQuery: number | null = null;
  private alarmW: number | null = null;

  /** `dims`: values per query row (the flattened input). */
  constructor(
    readonly dims: number,
    options: PradaOptions,
  ) {
    if (!Number.isInteger(dims) || dims < 1) throw new AegisInputError(`PRADA needs a positive row size, got ${dims}`);
    this.options = checkPradaOptions(options);
    this.window = new DistanceWindow(this.options.window);
  }

  get queries(): number {
    return this.queryCount;
  }

  /** |D|: distances recorded so far. */
  get distances(): number {
    return this.distanceCount;
  }

  get alarmed(): boolean {
    return this.alarmQuery !== null;
  }

  /** W of the most recent test (null before the first). */
  get w(): number | null {
    return this.lastW;
  }

  /**
   * One query: the row x = row[offset, offset + dims) and its predicted class. Returns d_min
   * (NaN for the first query of a class, or a row holding a non-finite value, which is skipped).
   * Rows are compared as float32 (a plain array is converted first).
   */
  observe(row: ArrayLike<number>, label: number, offset = 0): number {
    if (row instanceof Float32Array) return this.observeRow(row, offset, label);
    const x = new Float32Array(this.dims);
    for (let j = 0; j < this.dims; j++) x[j] = row[offset + j] as number;
    return this.observeRow(x, 0, label);
  }

  /** Every row of a batch: rows.length = labels.length · dims. Returns whether the alarm is raised. */
  observeBatch(rows: Float32Array, labels: ArrayLike<number>): boolean {
    if (rows.length !== labels.length * this.dims) {
      throw new AegisInputError(
        `PRADA: ${rows.length} values do not make ${labels.length} rows of ${this.dims} (one label per row)`,
      );
    }
    for (let i = 0; i < labels.length; i++) this.observeRow(rows, i * this.dims, labels[i] as number);
    return this.alarmed;
  }

  private observeRow(x: Float32Array, offset: number, label: number): number {
    const dims = this.dims;
    this.queryCount++;
    const set = this.sets.get(label);
    if (set === undefined) {
      if (!rowIsFinite(x, offset, dims)) return Number.NaN;
      this.sets.set(label, new GrowingSet(dims, this.options.maxGrowingSetPerClass, x, offset));
      return Number.NaN;
    }
    const dMin = Math.sqrt(minSquaredDistance(set.rows, set.count, x, offset, dims));
    if (!Number.isFinite(dMin)) return Number.NaN;
    this.distanceCount++;
    this.window.push(dMin);
    if (dMin > set.threshold) set.add(x, offset, dMin);
    if (this.distanceCount >= this.options.minQueries) this.test();
    return dMin;
  }

  private test(): void {
    const [lo, hi] = this.window.trimmed(3);
    if (hi - lo < SHAPIRO_WILK_MIN_N) return;
    const { w } = shapiroWilkSorted(this.window.sorted, lo, hi);
    this.lastW = w;
    this.lastTested = hi - lo;
    if (w < this.options.threshold && this.alarmQuery === null) {
      this.alarmQuery = this.queryCount;
      this.alarmW = w;
    }
  }

  memoryBytes(): number {
    let bytes = this.window.memoryBytes();
    for (const set of this.sets.values()) bytes += set.memoryBytes();
    return bytes;
  }

  snapshot(): PradaSnapshot {
    let rows = 0;
    for (const set of this.sets.values()) rows += set.count;
    return {
      queries: this.queryCount,
      distances: this.distanceCount,
      w: this.lastW,
      tested: this.lastTested,
      alarmed: this.alarmed,
      alarmAtQuery: this.alarmQuery,
      alarmW: this.alarmW,
      growingSetRows: rows,
      memoryBytes: this.memoryBytes(),
    };
  }
}

function rowIsFinite(row: Float32Array, offset: number, dims: number): boolean {
  for (let j = 0; j < dims; j++) if (!Number.isFinite(row[offset + j] as number)) return false;
  return true;
}
