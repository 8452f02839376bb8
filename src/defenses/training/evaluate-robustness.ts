/**
 * Robustness of a (adversarially trained) model at one L-inf budget: clean accuracy, accuracy
 * under white-box PGD-40 (Madry et al. 2018; the project's pgd, step eps/10, random start) and
 * under the black-box Square Attack (Andriushchenko et al. 2020; the project's square) on a
 * subset, example by example, as a check for gradient masking (Athalye, Carlini & Wagner 2018):
 * a defense that only hides its gradients stops PGD but not a gradient-free search, so Square
 * reaching LOWER accuracy than PGD on the same examples is the warning sign. The robust
 * accuracy to report is the worst case over both attacks per example.
 */

import { predictLabelsBatched } from '../../attacks/evasion/budget-rows.js';
import { pgdBatch } from '../../attacks/evasion/pgd.js';
import { SQUARE_P_INIT, squareLinf } from '../../attacks/evasion/square-attack.js';
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import { type Dataset, featureShape, featureSize, size, validateDataset } from '../../data/dataset.js';
import { type Model, requireAccess, requireGradients } from '../../models/model.js';
import { QueryCountingModel } from '../../models/query-counter.js';

export interface RobustnessOptions {
  /** L-inf budget. */
  eps: number;
  seed: number;
  /** Evaluate on the first N examples (default all). */
  examples?: number;
  /** PGD steps (default 40), step size (default eps/10: 0.01 at eps 0.1) and restarts (default 1). */
  pgdSteps?: number;
  pgdStepSize?: number;
  pgdRestarts?: number;
  /** Square Attack on the first N evaluated examples (default min(examples, 500); 0 = skip). */
  squareExamples?: number;
  /** Square queries per example (default 1000). */
  squareQueries?: number;
  /** Examples per batch (default 100). */
  batchSize?: number;
  /** Square accuracy this far below PGD accuracy on the same examples flags gradient masking (default 0.02). */
  maskingTolerance?: number;
  onProgress?: (stage: 'pgd' | 'square', done: number, total: number) => void;
}

export interface SquareCheck {
  examples: number;
  queriesPerExample: number;
  accuracy: number;
  /** PGD's accuracy on the same examples. */
  pgdAccuracy: number;
  /** Examples PGD left correct that Square fooled. */
  foolsWherePgdFailed: number;
  /** Accuracy when an example counts as robust only if neither attack fools it. */
  worstCaseAccuracy: number;
  seconds: number;
}

export interface RobustnessResult {
  eps: number;
  norm: 'linf';
  examples: number;
  cleanAccuracy: number;
  pgd: { accuracy: number; steps: number; stepSize: number; restarts: number; seconds: number };
  square?: SquareCheck;
  gradientMasking: { suspected: boolean; reason: string };
}

function positiveInt(value: number | undefined, fallback: number, name: string, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) {
    throw new AegisInputError(`robustness evaluation: ${name} must be an integer >= ${min}, got ${v}`);
  }
  return v;
}

function correctMask(predicted: Int32Array, y: Int32Array): Uint8Array {
  return Uint8Array.from(predicted, (p, i) => (p === y[i] ? 1 : 0));
}

function mean(mask: Uint8Array, count = mask.length): number {
  let s = 0;
  for (let i = 0; i < count; i++) s += mask[i] as number;
  return count ? s / count : 0;
}

/** Clean, PGD and Square accuracy at eps, and whether the numbers suggest gradient masking. */
export async function evaluateRobustness(model: Model, data: Dataset, o: RobustnessOptions): Promise<RobustnessResult> {
  validateDataset(data);
  const white = requireGradients(model, 'robustness evaluation (PGD)');
  const range = model.info.inputRange;
  if (!(o.eps > 0 && o.eps <= range[1] - range[0])) {
    throw new AegisInputError(`robustness evaluation: eps must be in (0, ${range[1] - range[0]}], got ${o.eps}`);
  }
  const n = Math.min(positiveInt(o.examples, size(data), 'examples'), size(data));
  const steps = positiveInt(o.pgdSteps, 40, 'pgdSteps');
  const restarts = positiveInt(o.pgdRestarts, 1, 'pgdRestarts');
  const stepSize = o.pgdStepSize ?? o.eps / 10;
  if (!(stepSize > 0 && Number.isFinite(stepSize))) {
    throw new AegisInputError(`robustness evaluation: pgdStepSize must be a positive number, got ${stepSize}`);
  }
  const batchSize = positiveInt(o.batchSize, 100, 'batchSize');
  const squareN = Math.min(positiveInt(o.squareExamples, Math.min(n, 500), 'squareExamples', 0), n);
  const squareQueries = positiveInt(o.squareQueries, 1000, 'squareQueries');
  const tolerance = o.maskingTolerance ?? 0.02;
  const shape = featureShape(data);
  const per = featureSize(data);
  const y = data.y.slice(0, n);
  const x = tf.tensor(data.x.subarray(0, n * per), [n, ...shape], 'float32');
  const rng = new Rng(o.seed);

  try {
    const clean = correctMask(await predictLabelsBatched(model, x, batchSize), y);
    // PGD, batch by batch, with one seeded stream as the pgd attack uses.
    const pgdRng = new Rng(rng.fork());
    const pgdCorrect = new Uint8Array(n);
    const t0 = performance.now();
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      const xb = tf.slice(x, start, count);
      const labels = y.subarray(start, start + count);
      try {
        const { xAdv } = await pgdBatch(
          white,
          xb,
          labels,
          { eps: o.eps, stepSize, steps, restarts, norm: 'linf', range },
          pgdRng,
        );
        const predicted = await predictLabelsBatched(model, xAdv, batchSize);
        xAdv.dispose();
        pgdCorrect.set(correctMask(predicted, labels), start);
      } finally {
        xb.dispose();
      }
      o.onProgress?.('pgd', start + count, n);
    }
    const pgdSeconds = (performance.now() - t0) / 1000;
    const result: RobustnessResult = {
      eps: o.eps,
      norm: 'linf',
      examples: n,
      cleanAccuracy: mean(clean),
      pgd: { accuracy: mean(pgdCorrect), steps, stepSize, restarts, seconds: pgdSeconds },
      gradientMasking: { suspected: false, reason: 'not checked (no Square Attack run)' },
    };
    if (squareN > 0) {
      result.square = await squareCheck(model, data, squareN, squareQueries, o, pgdCorrect, batchSize, rng.fork());
      result.gradientMasking = maskingVerdict(result.square, tolerance);
    }
    return result;
  } finally {
    x.dispose();
  }
}

async function squareCheck(
  model: Model,
  data: Dataset,
  n: number,
  queries: number,
  o: RobustnessOptions,
  pgdCorrect: Uint8Array,
  batchSize: number,
  seed: number,
): Promise<SquareCheck> {
  requireAccess(model, 'scores', 'robustness evaluation (Square Attack)');
  const view = new QueryCountingModel(model, 'scores');
  const shape = featureShape(data);
  const per = featureSize(data);
  const y = data.y.slice(0, n);
  const t0 = performance.now();
  const adv = await squareLinf({
    model: view,
    x: data.x.subarray(0, n * per),
    y,
    shape,
    eps: o.eps,
    nIters: queries,
    pInit: SQUARE_P_INIT,
    range: model.info.inputRange,
    rng: new Rng(seed),
    batchSize: Math.max(batchSize, 256),
    onIteration: (i) => o.onProgress?.('square', i, queries),
  });
  const xAdv = tf.tensor(adv, [n, ...shape], 'float32');
  let squareCorrect: Uint8Array;
  try {
    squareCorrect = correctMask(await predictLabelsBatched(model, xAdv, batchSize), y);
  } finally {
    xAdv.dispose();
  }
  let foolsWherePgdFailed = 0;
  const worst = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    worst[i] = (squareCorrect[i] as number) & (pgdCorrect[i] as number);
    if (pgdCorrect[i] === 1 && squareCorrect[i] === 0) foolsWherePgdFailed++;
  }
  return {
    examples: n,
    queriesPerExample: queries,
    accuracy: mean(squareCorrect),
    pgdAccuracy: mean(pgdCorrect, n),
    foolsWherePgdFailed,
    worstCaseAccuracy: mean(worst),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Square (black-box) beating PGD (white-box) by more than `tolerance` means PGD's gradients mislead it. */
export function maskingVerdict(s: SquareCheck, tolerance: number): { suspected: boolean; reason: string } {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const gap = s.pgdAccuracy - s.accuracy;
  if (gap > tolerance) {
    return {
      suspected: true,
      reason:
        `Square Attack (black-box) reaches ${pct(s.accuracy)} accuracy, below PGD's ${pct(s.pgdAccuracy)} on the same ` +
        `${s.examples} examples (${s.foolsWherePgdFailed} fooled only by Square): the gradients mislead PGD, so its ` +
        `accuracy overstates robustness; report ${pct(s.worstCaseAccuracy)} (worst case of both)`,
    };
  }
  return {
    suspected: false,
    reason:
      `Square Attack accuracy ${pct(s.accuracy)} is not below PGD's ${pct(s.pgdAccuracy)} on the same ${s.examples} ` +
      `examples (by more than ${pct(tolerance)}): no sign of gradient masking`,
  };
}
