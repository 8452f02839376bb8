// Andriushchenko, Croce, Flammarion & Hein 2020, "Square Attack: a query-efficient black-box adversarial attack via random search", ECCV.
/**
 * Square Attack, L-inf, untargeted, from class scores only. Random search over the corners of
 * the eps-ball: start from vertical stripes of ±eps, then each iteration propose, for every
 * example not yet fooled, one square window (same place in every channel) whose perturbation
 * becomes ±eps per channel, and keep it if the margin loss log p_y − max_{j≠y} log p_j
 * decreases. An example stops as soon as its margin is negative (misclassified).
 *
 * Flat feature vectors [n, d] are treated as images of height 1: a "square" is a window of
 * round(p·d) consecutive features.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import type { ThreatModel } from '../../core/threat-model.js';
import type { Model } from '../../models/model.js';
import { blackBoxView, queriesPerExample, queryScores, toRows } from './black-box.js';
import { BudgetRows, keepExamplesOption, predictLabelsBatched } from './budget-rows.js';
import type { AttackOptions, EvasionAttack, EvasionResult, LabeledBatch } from './evasion-attack.js';
import { checkEvasionInputs, positiveInt, secondsSince } from './white-box.js';

/** Queries per example when neither options.steps nor threat.queryBudget says. */
export const SQUARE_DEFAULT_QUERIES = 1000;
/** Initial fraction of features a square covers (the paper's L-inf setting for images). */
export const SQUARE_P_INIT = 0.05;
/** Tries to draw a square that changes the current input before spending a query on it anyway. */
const MAX_RESAMPLES = 100;

/** Layout of one example as NHWC: flat vectors are 1 × d × 1. */
export interface Geometry {
  h: number;
  w: number;
  c: number;
}

export function geometryOf(shape: number[]): Geometry {
  if (shape.length === 1) return { h: 1, w: shape[0] ?? 1, c: 1 };
  if (shape.length === 2) return { h: shape[0] ?? 1, w: shape[1] ?? 1, c: 1 };
  if (shape.length === 3) return { h: shape[0] ?? 1, w: shape[1] ?? 1, c: shape[2] ?? 1 };
  throw new AegisInputError(
    `Square Attack needs examples of shape [features], [height, width] or [height, width, channels], got [${shape}]`,
  );
}

/**
 * The paper's piecewise-constant schedule of p (fraction of features per square), written for
 * 10 000 iterations and rescaled to `nIters`: p halves after iterations 10, 50, 200, 500, 1000,
 * 2000, 4000, 6000 and 8000.
 */
export function squareFraction(pInit: number, iteration: number, nIters: number): number {
  const it = Math.floor((iteration / nIters) * 10000);
  let halvings = 0;
  for (const boundary of [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000]) if (it > boundary) halvings++;
  return pInit / 2 ** halvings;
}

/** Window height and width for fraction p: side round(√(p·h·w)) in [1, min(h, w) − 1]; on 1 × d rows, round(p·d). */
export function windowSize(p: number, g: Geometry): [number, number] {
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 1), Math.max(1, hi));
  if (g.h === 1) return [1, clamp(Math.round(p * g.w), g.w - 1)];
  const s = clamp(Math.round(Math.sqrt(p * g.h * g.w)), Math.min(g.h, g.w) - 1);
  return [s, s];
}

/** Margin loss per example from probabilities: log p_y − max_{j≠y} log p_j (negative = misclassified). */
export function logMargins(probs: Float32Array, labels: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(labels.length);
  const log = (p: number) => Math.log(Math.max(p, 1e-45));
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    let other = -Infinity;
    for (let j = 0; j < k; j++) if (j !== y) other = Math.max(other, probs[i * k + j] as number);
    out[i] = log(probs[i * k + y] as number) - log(other);
  }
  return out;
}

export interface SquareRunArgs {
  /** The black-box view of the model (scores access). */
  model: Model;
  /** Clean examples, row-major [n, ...shape]. */
  x: Float32Array;
  y: Int32Array;
  shape: number[];
  eps: number;
  /** Queries per example, including the one for the initial stripes. */
  nIters: number;
  pInit: number;
  range: [number, number];
  rng: Rng;
  batchSize: number;
  onIteration?: (iteration: number) => void;
}

/** Runs the L-inf Square Attack at one eps; returns the adversarial rows. */
export async function squareLinf(args: SquareRunArgs): Promise<Float32Array> {
  const { model, x, y, shape, eps, nIters, pInit, rng, batchSize } = args;
  const [lo, hi] = args.range;
  const g = geometryOf(shape);
  const per = g.h * g.w * g.c;
  const n = y.length;
  const k = model.info.numClasses;
  const clip = (v: number) => Math.min(hi, Math.max(lo, v));

  // Vertical stripes: one sign per (column, channel), shared down the column.
  const best = new Float32Array(n * per);
  for (let i = 0; i < n; i++) {
    for (let col = 0; col < g.w; col++) {
      for (let ch = 0; ch < g.c; ch++) {
        const s = rng.next() < 0.5 ? -eps : eps;
        for (let r = 0; r < g.h; r++) {
          const at = i * per + (r * g.w + col) * g.c + ch;
          best[at] = clip((x[at] as number) + s);
        }
      }
    }
  }
  const margin = logMargins(await queryScores(model, best, n, shape, batchSize), y, k);

  const rho = new Float64Array(g.c);
  for (let iteration = 0; iteration < nIters - 1; iteration++) {
    const active: number[] = [];
    for (let i = 0; i < n; i++) if ((margin[i] as number) > 0) active.push(i);
    if (active.length === 0) break;
    const [sh, sw] = windowSize(squareFraction(pInit, iteration, nIters), g);
    const candidates = new Float32Array(active.length * per);
    for (let a = 0; a < active.length; a++) {
      const i = active[a] as number;
      const row = candidates.subarray(a * per, (a + 1) * per);
      row.set(best.subarray(i * per, (i + 1) * per));
      const r0 = rng.int(g.h - sh + 1);
      const c0 = rng.int(g.w - sw + 1);
      // Add ±2eps per channel and project back onto the eps-ball and the domain; resample the
      // signs when that would leave the window unchanged (a wasted query), as the authors' code does.
      for (let attempt = 0; attempt < MAX_RESAMPLES; attempt++) {
        for (let ch = 0; ch < g.c; ch++) rho[ch] = rng.next() < 0.5 ? -2 * eps : 2 * eps;
        let changed = false;
        for (let r = r0; r < r0 + sh; r++) {
          for (let col = c0; col < c0 + sw; col++) {
            for (let ch = 0; ch < g.c; ch++) {
              const f = (r * g.w + col) * g.c + ch;
              const clean = x[i * per + f] as number;
              const current = best[i * per + f] as number;
              const delta = Math.min(eps, Math.max(-eps, current - clean + (rho[ch] as number)));
              const v = clip(clean + delta);
              row[f] = v;
              if (Math.abs(v - current) >= 1e-7) changed = true;
            }
          }
        }
        if (changed) break;
      }
    }
    const proposed = logMargins(
      await queryScores(model, candidates, active.length, shape, batchSize),
      active.map((i) => y[i] as number),
      k,
    );
    for (let a = 0; a < active.length; a++) {
      const i = active[a] as number;
      if ((proposed[a] as number) < (margin[i] as number)) {
        margin[i] = proposed[a] as number;
        best.set(candidates.subarray(a * per, (a + 1) * per), i * per);
      }
    }
    args.onIteration?.(iteration + 1);
  }
  return best;
}

async function run(
  model: Model,
  data: LabeledBatch,
  threat: ThreatModel,
  options: AttackOptions,
): Promise<EvasionResult> {
  const view = blackBoxView(model, threat, 'scores', 'Square Attack');
  checkEvasionInputs(squareAttack, model, data, threat);
  const nIters = queriesPerExample(options.steps, threat, SQUARE_DEFAULT_QUERIES);
  const batchSize = positiveInt(options.batchSize, 256, 'batchSize');
  const shape = data.x.shape.slice(1);
  geometryOf(shape);
  const x = toRows(data.x);
  const clean = await predictLabelsBatched(model, data.x, batchSize);
  const rows = new BudgetRows(model, data, threat, clean, keepExamplesOption(options));
  const rng = new Rng(options.seed);
  const total = nIters * threat.epsilons.length;

  for (const [e, eps] of threat.epsilons.entries()) {
    const epsRng = new Rng(rng.fork());
    const before = view.queries;
    const t0 = performance.now();
    // eps = 0 leaves nothing to search: the clean inputs, no queries.
    const adv =
      eps > 0
        ? await squareLinf({
            model: view,
            x,
            y: data.y,
            shape,
            eps,
            nIters,
            pInit: SQUARE_P_INIT,
            range: threat.inputRange,
            rng: epsRng,
            batchSize,
            onIteration: (it) => options.onProgress?.(e * nIters + it, total),
          })
        : x;
    const seconds = secondsSince(t0);
    options.onProgress?.((e + 1) * nIters, total);
    const xAdv = tf.tensor(adv, data.x.shape);
    try {
      // Total over examples; the mean per example is queries / n (at most nIters each).
      await rows.add(eps, xAdv, { queries: view.queries - before, seconds });
    } finally {
      xAdv.dispose();
    }
  }
  return rows.result(squareAttack);
}

export const squareAttack: EvasionAttack = {
  name: 'square',
  title: 'Square Attack (L-inf, scores only)',
  citation:
    'Andriushchenko, Croce, Flammarion & Hein 2020, "Square Attack: a query-efficient black-box adversarial attack via random search", ECCV',
  access: 'scores',
  norms: ['linf'],
  kind: 'fixed-budget',
  run,
};
