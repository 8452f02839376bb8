// Chen, Jordan & Wainwright 2020, "HopSkipJumpAttack: A Query-Efficient Decision-Based Attack", IEEE S&P.
/**
 * HopSkipJumpAttack, untargeted, from predicted labels only (L2 or L-inf). Start from uniform
 * noise that is misclassified, blend it toward the original, then iterate: binary search to the
 * decision boundary (threshold θ), estimate the boundary's normal by Monte-Carlo sampling around
 * the boundary point (δ and B_t = B0·√t samples as in the paper), take a geometric step along it,
 * and search back to the boundary. A minimum-norm attack: run once, then clipped to each eps.
 *
 * Examples run in lockstep so the binary and step-size searches send one batch per round; the
 * Monte-Carlo samples of one example go in one call. Every example has its own query budget.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import type { Norm, ThreatModel } from '../../core/threat-model.js';
import type { Model } from '../../models/model.js';
import { blackBoxView, queryLabels, toRows } from './black-box.js';
import { BudgetRows, keepExamplesOption, predictLabelsBatched } from './budget-rows.js';
import type { AttackOptions, EvasionAttack, EvasionResult, LabeledBatch } from './evasion-attack.js';
import { checkEvasionInputs, positiveInt, secondsSince } from './white-box.js';

export const HSJ_DEFAULT_ITERATIONS = 40;
export const HSJ_DEFAULT_QUERY_BUDGET = 5000;

export interface HsjSettings {
  norm: Norm;
  /** Gradient-estimation / step iterations. */
  iterations: number;
  /** Queries allowed per example (all phases). */
  queryBudget: number;
  range: [number, number];
  /** Rows per model call. */
  batchSize: number;
  /** θ = γ / d^{3/2} (L2) or γ / d² (L-inf). Default 1. */
  gamma?: number;
  /** B0: Monte-Carlo samples at iteration 1 (B_t = B0·√t). Default 100. */
  initEvals?: number;
  /** Cap on B_t. Default 1000. */
  maxEvals?: number;
  /** Random-noise draws tried to find a misclassified start. Default 100. */
  initTries?: number;
}

export interface HsjOutcome {
  /** Best adversarial row per example (the clean row when none was found). */
  adversarial: Float32Array;
  /** Its distance to the clean row in the attack's norm (0 when none was found). */
  distances: Float64Array;
  /** 1 when an adversarial was found (including clean inputs already misclassified). */
  found: Uint8Array;
  /** Distance of the starting point (blended noise after the first boundary search), per example. */
  startDistances: Float64Array;
  /** Queries spent per example. */
  queries: Int32Array;
}

/** Iterations, with its halvings, that a [0, high] binary search with threshold thr needs. */
function binarySteps(high: number, threshold: number): number {
  let steps = 0;
  for (let width = high; width / threshold > 1; width /= 2) steps++;
  return steps;
}

/** Lockstep HopSkipJump state over all examples. */
class HopSkipJump {
  private readonly n: number;
  private readonly d: number;
  private readonly theta: number;
  private readonly lo: number;
  private readonly hi: number;
  private readonly gamma: number;
  private readonly initEvals: number;
  private readonly maxEvals: number;
  private readonly initTries: number;
  /** Queries one boundary search may need at most (reserved before each iteration). */
  private readonly searchReserve: number;

  readonly queries: Int32Array;
  /** Current boundary point (adversarial) per example. */
  readonly adv: Float32Array;
  readonly dist: Float64Array;
  /** Distance of the point before its last boundary search (the paper's d_{t-1} for δ). */
  readonly distPost: Float64Array;
  readonly best: Float32Array;
  readonly bestDist: Float64Array;
  readonly found: Uint8Array;
  readonly startDist: Float64Array;
  /** Still iterating. */
  readonly live: Uint8Array;

  constructor(
    private readonly model: Model,
    private readonly x: Float32Array,
    private readonly y: Int32Array,
    private readonly shape: number[],
    private readonly s: HsjSettings,
    private readonly rng: Rng,
  ) {
    this.n = y.length;
    this.d = shape.reduce((a, b) => a * b, 1);
    [this.lo, this.hi] = s.range;
    this.gamma = s.gamma ?? 1;
    this.initEvals = s.initEvals ?? 100;
    this.maxEvals = s.maxEvals ?? 1000;
    this.initTries = s.initTries ?? 100;
    this.theta = s.norm === 'l2' ? this.gamma / (Math.sqrt(this.d) * this.d) : this.gamma / this.d ** 2;
    // L2 searches α ∈ [0, 1]; L-inf searches the radius in [0, dist] with threshold min(dist·θ, θ).
    this.searchReserve = binarySteps(s.norm === 'l2' ? 1 : Math.max(1, this.hi - this.lo), this.theta) + 1;
    const size = this.n * this.d;
    this.queries = new Int32Array(this.n);
    this.adv = new Float32Array(size);
    this.best = Float32Array.from(x);
    this.dist = new Float64Array(this.n);
    this.distPost = new Float64Array(this.n);
    this.bestDist = new Float64Array(this.n);
    this.found = new Uint8Array(this.n);
    this.startDist = new Float64Array(this.n);
    this.live = new Uint8Array(this.n);
  }

  private remaining(i: number): number {
    return this.s.queryBudget - (this.queries[i] as number);
  }

  private clip(v: number): number {
    return Math.min(this.hi, Math.max(this.lo, v));
  }

  /** Distance between row `a` of `rowsA` and the clean example i. */
  private distance(rows: Float32Array, a: number, i: number): number {
    const { d, x } = this;
    let acc = 0;
    for (let f = 0; f < d; f++) {
      const diff = Math.abs((rows[a * d + f] as number) - (x[i * d + f] as number));
      acc = this.s.norm === 'l2' ? acc + diff * diff : Math.max(acc, diff);
    }
    return this.s.norm === 'l2' ? Math.sqrt(acc) : acc;
  }

  /** The decision oracle φ: 1 when row j (of example owners[j]) is misclassified. Rows are clipped to the domain. */
  private async decide(owners: ArrayLike<number>, rows: Float32Array): Promise<Uint8Array> {
    const m = owners.length;
    for (let j = 0; j < m * this.d; j++) rows[j] = this.clip(rows[j] as number);
    for (let j = 0; j < m; j++) this.queries[owners[j] as number]++;
    const labels = await queryLabels(this.model, rows, m, this.shape, this.s.batchSize);
    const out = new Uint8Array(m);
    for (let j = 0; j < m; j++) out[j] = labels[j] !== this.y[owners[j] as number] ? 1 : 0;
    return out;
  }

  private setBoundary(i: number, rows: Float32Array, a: number, distPost: number): void {
    const { d } = this;
    this.adv.set(rows.subarray(a * d, (a + 1) * d), i * d);
    this.dist[i] = this.distance(rows, a, i);
    this.distPost[i] = distPost;
    if (!this.found[i] || (this.dist[i] as number) < (this.bestDist[i] as number)) {
      this.best.set(rows.subarray(a * d, (a + 1) * d), i * d);
      this.bestDist[i] = this.dist[i] as number;
      this.found[i] = 1;
    }
  }

  /** Clean inputs already misclassified need no search (one query each). */
  async checkClean(): Promise<void> {
    const all = Array.from({ length: this.n }, (_, i) => i);
    const adversarial = await this.decide(all, Float32Array.from(this.x));
    for (let i = 0; i < this.n; i++) {
      if (adversarial[i]) {
        this.found[i] = 1;
      } else {
        this.live[i] = 1;
      }
    }
  }

  /** Uniform noise until misclassified (≤ initTries draws), then a blend search toward x (tolerance 0.001). */
  async initialise(): Promise<void> {
    const { d } = this;
    const noise = new Float32Array(this.n * d);
    let pending = this.liveIds();
    const hasNoise = new Uint8Array(this.n);
    for (let t = 0; t < this.initTries && pending.length; t++) {
      pending = pending.filter((i) => this.remaining(i) >= 1);
      const rows = new Float32Array(pending.length * d);
      for (let a = 0; a < pending.length; a++) {
        for (let f = 0; f < d; f++) rows[a * d + f] = this.rng.uniform(this.lo, this.hi);
      }
      const ok = await this.decide(pending, rows);
      for (let a = 0; a < pending.length; a++) {
        const i = pending[a] as number;
        if (ok[a]) {
          noise.set(rows.subarray(a * d, (a + 1) * d), i * d);
          hasNoise[i] = 1;
        }
      }
      pending = pending.filter((_, a) => !ok[a]);
    }
    for (const i of this.liveIds()) if (!hasNoise[i]) this.live[i] = 0; // no start found: gives up

    // Blend: the smallest mix (1 − α)·x + α·noise that stays misclassified.
    const ids = this.liveIds();
    const low = new Float64Array(ids.length);
    const high = new Float64Array(ids.length).fill(1);
    for (;;) {
      const open = ids.map((_, a) => a).filter((a) => (high[a] as number) - (low[a] as number) > 0.001);
      const ask = open.filter((a) => this.remaining(ids[a] as number) >= 1);
      if (ask.length === 0) break;
      const rows = new Float32Array(ask.length * d);
      const mids = ask.map((a) => ((high[a] as number) + (low[a] as number)) / 2);
      for (const [b, a] of ask.entries()) this.blend(rows, b, ids[a] as number, noise, mids[b] as number);
      const ok = await this.decide(
        ask.map((a) => ids[a] as number),
        rows,
      );
      for (const [b, a] of ask.entries()) {
        if (ok[b]) high[a] = mids[b] as number;
        else low[a] = mids[b] as number;
      }
    }
    const start = new Float32Array(ids.length * d);
    for (const [a, i] of ids.entries()) this.blend(start, a, i, noise, high[a] as number);
    await this.searchBoundary(ids, start);
    for (const i of ids) this.startDist[i] = this.found[i] ? (this.dist[i] as number) : 0;
  }

  private blend(rows: Float32Array, a: number, i: number, noise: Float32Array, alpha: number): void {
    const { d, x } = this;
    for (let f = 0; f < d; f++) {
      rows[a * d + f] = (1 - alpha) * (x[i * d + f] as number) + alpha * (noise[i * d + f] as number);
    }
  }

  /** The paper's projection: L2 blends x and p with weight α; L-inf clips p to the α-box around x. */
  private project(out: Float32Array, a: number, i: number, p: Float32Array, b: number, alpha: number): void {
    const { d, x } = this;
    for (let f = 0; f < d; f++) {
      const xf = x[i * d + f] as number;
      const pf = p[b * d + f] as number;
      out[a * d + f] =
        this.s.norm === 'l2' ? (1 - alpha) * xf + alpha * pf : Math.min(xf + alpha, Math.max(xf - alpha, pf));
    }
  }

  /**
   * Binary search between each clean x_i and its adversarial `perturbed` row, to within θ
   * (L2: on the blend weight; L-inf: on the box radius, threshold min(dist·θ, θ)). The adversarial
   * end becomes the new boundary point. `perturbed` rows must be adversarial.
   */
  private async searchBoundary(ids: number[], perturbed: Float32Array): Promise<void> {
    const m = ids.length;
    const distPost = ids.map((i, a) => this.distance(perturbed, a, i));
    const high = ids.map((_, a) => (this.s.norm === 'l2' ? 1 : (distPost[a] as number)));
    const threshold = distPost.map((v) => (this.s.norm === 'l2' ? this.theta : Math.min(v * this.theta, this.theta)));
    const low = new Float64Array(m);
    const usable = ids.map((i, a) => binarySteps(high[a] as number, threshold[a] as number) <= this.remaining(i));
    for (;;) {
      const ask: number[] = [];
      for (let a = 0; a < m; a++) {
        if (usable[a] && ((high[a] as number) - (low[a] as number)) / (threshold[a] as number) > 1) ask.push(a);
      }
      if (ask.length === 0) break;
      const rows = new Float32Array(ask.length * this.d);
      const mids = ask.map((a) => ((high[a] as number) + (low[a] as number)) / 2);
      for (const [b, a] of ask.entries()) this.project(rows, b, ids[a] as number, perturbed, a, mids[b] as number);
      const ok = await this.decide(
        ask.map((a) => ids[a] as number),
        rows,
      );
      for (const [b, a] of ask.entries()) {
        if (ok[b]) high[a] = mids[b] as number;
        else low[a] = mids[b] as number;
      }
    }
    const out = new Float32Array(m * this.d);
    for (let a = 0; a < m; a++) {
      const i = ids[a] as number;
      if (usable[a]) {
        this.project(out, a, i, perturbed, a, high[a] as number);
        this.setBoundary(i, out, a, distPost[a] as number);
      } else {
        // Out of budget: `perturbed` is adversarial already, so keep it and stop.
        this.setBoundary(i, perturbed, a, distPost[a] as number);
        this.live[i] = 0;
      }
    }
  }

  /**
   * Monte-Carlo estimate of the boundary normal at example i's boundary point: unit random
   * directions u_b (Gaussian for L2, uniform for L-inf, normalised), φ at x_t + δ·u_b, with the
   * paper's baseline subtraction; returns the unit-L2 direction.
   */
  private async estimateGradient(i: number, delta: number, evals: number): Promise<Float64Array> {
    const { d } = this;
    const base = this.adv.subarray(i * d, (i + 1) * d);
    const rows = new Float32Array(evals * d);
    const u = new Float64Array(d);
    for (let b = 0; b < evals; b++) {
      let norm = 0;
      for (let f = 0; f < d; f++) {
        const v = this.s.norm === 'l2' ? this.rng.normal() : this.rng.uniform(-1, 1);
        u[f] = v;
        norm += v * v;
      }
      norm = Math.sqrt(norm) || 1;
      for (let f = 0; f < d; f++) rows[b * d + f] = this.clip((base[f] as number) + (delta * (u[f] as number)) / norm);
    }
    const ok = await this.decide(new Int32Array(evals).fill(i), rows);
    let mean = 0;
    for (let b = 0; b < evals; b++) mean += ok[b] ? 1 : -1;
    mean /= evals;
    const grad = new Float64Array(d);
    for (let b = 0; b < evals; b++) {
      const fval = ok[b] ? 1 : -1;
      // All agree: the plain mean of ±u (the paper's fallback); else subtract the baseline mean.
      const weight = mean === 1 || mean === -1 ? fval : fval - mean;
      // The clipped direction actually sampled: (x' − x_t) / δ.
      for (let f = 0; f < d; f++) grad[f] += (weight * ((rows[b * d + f] as number) - (base[f] as number))) / delta;
    }
    let norm = 0;
    for (let f = 0; f < d; f++) norm += (grad[f] as number) ** 2;
    norm = Math.sqrt(norm);
    if (norm > 0) for (let f = 0; f < d; f++) grad[f] = (grad[f] as number) / norm;
    return grad;
  }

  /** One HSJA iteration t (1-based) for every live example. */
  async iterate(t: number): Promise<void> {
    const { d } = this;
    const evals = Math.min(Math.floor(this.initEvals * Math.sqrt(t)), this.maxEvals);
    // An iteration needs its samples, at least one step query and a boundary search.
    for (const i of this.liveIds()) if (this.remaining(i) < evals + 1 + this.searchReserve) this.live[i] = 0;
    const ids = this.liveIds();
    if (ids.length === 0) return;

    const updates = new Float32Array(ids.length * d);
    for (const [a, i] of ids.entries()) {
      const delta =
        t === 1
          ? 0.1 * (this.hi - this.lo)
          : (this.s.norm === 'l2' ? Math.sqrt(d) : d) * this.theta * (this.distPost[i] as number);
      const grad = await this.estimateGradient(i, delta, evals);
      for (let f = 0; f < d; f++) {
        const g = grad[f] as number;
        updates[a * d + f] = this.s.norm === 'l2' ? g : Math.sign(g);
      }
    }

    // Geometric step size: ξ = dist/√t, halved until x_t + ξ·v is adversarial.
    const step = ids.map((i) => (this.dist[i] as number) / Math.sqrt(t));
    const accepted = new Uint8Array(ids.length);
    let pending = ids.map((_, a) => a);
    for (let round = 0; round < 64 && pending.length; round++) {
      pending = pending.filter((a) => this.remaining(ids[a] as number) > this.searchReserve);
      const rows = new Float32Array(pending.length * d);
      for (const [b, a] of pending.entries()) this.stepRow(rows, b, ids[a] as number, updates, a, step[a] as number);
      const ok = await this.decide(
        pending.map((a) => ids[a] as number),
        rows,
      );
      for (const [b, a] of pending.entries()) {
        if (ok[b]) accepted[a] = 1;
        else step[a] = (step[a] as number) / 2;
      }
      pending = pending.filter((_, b) => !ok[b]);
    }
    // No adversarial step within budget: stop, keeping the current boundary point.
    for (const [a, i] of ids.entries()) if (!accepted[a]) this.live[i] = 0;

    const moved = ids.map((_, a) => a).filter((a) => accepted[a]);
    const perturbed = new Float32Array(moved.length * d);
    for (const [b, a] of moved.entries()) this.stepRow(perturbed, b, ids[a] as number, updates, a, step[a] as number);
    await this.searchBoundary(
      moved.map((a) => ids[a] as number),
      perturbed,
    );
  }

  private stepRow(out: Float32Array, b: number, i: number, updates: Float32Array, a: number, size: number): void {
    const { d } = this;
    for (let f = 0; f < d; f++) {
      out[b * d + f] = this.clip((this.adv[i * d + f] as number) + size * (updates[a * d + f] as number));
    }
  }

  liveIds(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.n; i++) if (this.live[i]) out.push(i);
    return out;
  }
}

export interface HsjRunArgs {
  /** The black-box view of the model (labels access is enough). */
  model: Model;
  /** Clean examples, row-major [n, ...shape]. */
  x: Float32Array;
  y: Int32Array;
  shape: number[];
  settings: HsjSettings;
  rng: Rng;
  onIteration?: (iteration: number) => void;
}

/** Runs HopSkipJumpAttack on every example; the caller clips the result to each budget. */
export async function hopSkipJump(args: HsjRunArgs): Promise<HsjOutcome> {
  const state = new HopSkipJump(args.model, args.x, args.y, args.shape, args.settings, args.rng);
  await state.checkClean();
  await state.initialise();
  args.onIteration?.(0);
  for (let t = 1; t <= args.settings.iterations; t++) {
    if (state.liveIds().length === 0) break;
    await state.iterate(t);
    args.onIteration?.(t);
  }
  return {
    adversarial: state.best,
    distances: state.bestDist,
    found: state.found,
    startDistances: state.startDist,
    queries: state.queries,
  };
}

async function run(
  model: Model,
  data: LabeledBatch,
  threat: ThreatModel,
  options: AttackOptions,
): Promise<EvasionResult> {
  const view = blackBoxView(model, threat, 'labels', 'HopSkipJumpAttack');
  checkEvasionInputs(hopSkipJumpAttack, model, data, threat);
  const iterations = positiveInt(options.steps, HSJ_DEFAULT_ITERATIONS, 'steps');
  const batchSize = positiveInt(options.batchSize, 1024, 'batchSize');
  const shape = data.x.shape.slice(1);
  if (shape.length === 0) throw new AegisInputError('HopSkipJumpAttack needs examples of shape [n, ...features]');
  const x = toRows(data.x);
  const clean = await predictLabelsBatched(model, data.x, batchSize);
  const rows = new BudgetRows(model, data, threat, clean, keepExamplesOption(options));

  const t0 = performance.now();
  const outcome = await hopSkipJump({
    model: view,
    x,
    y: data.y,
    shape,
    settings: {
      norm: threat.norm,
      iterations,
      queryBudget: threat.queryBudget ?? HSJ_DEFAULT_QUERY_BUDGET,
      range: threat.inputRange,
      batchSize,
    },
    rng: new Rng(options.seed),
    onIteration: (t) => options.onProgress?.(t, iterations),
  });
  options.onProgress?.(iterations, iterations);
  // One run serves every budget: each row reports the whole run's queries (total over examples;
  // the mean per example is queries / n, at most the query budget each) and seconds.
  const seconds = secondsSince(t0);
  const queries = view.queries;
  const xAdv = tf.tensor(outcome.adversarial, data.x.shape);
  try {
    await rows.addMinimumNorm(xAdv, threat.norm, { queries, seconds });
  } finally {
    xAdv.dispose();
  }
  return rows.result(hopSkipJumpAttack);
}

export const hopSkipJumpAttack: EvasionAttack = {
  name: 'hsj',
  title: 'HopSkipJumpAttack (labels only)',
  citation: 'Chen, Jordan & Wainwright 2020, "HopSkipJumpAttack: A Query-Efficient Decision-Based Attack", IEEE S&P',
  access: 'labels',
  norms: ['l2', 'linf'],
  kind: 'minimum-norm',
  run,
};
