/**
 * Where MI-Face gets ∇c(x) for its cost c(x) = 1 − f̃_label(x):
 * - white-box: exact gradients of the softmax of the model's logits (tf.grad);
 * - zeroth-order: scores only, the antithetic Gaussian estimator of NES (Ilyas, Engstrom, Athalye
 *   & Lin, ICML 2018, "Black-box Adversarial Attacks with Limited Queries and Information"):
 *   ∇c(x) ≈ 1/(2σq) Σᵢ [c(x + σuᵢ) − c(x − σuᵢ)] uᵢ with uᵢ ~ N(0, I), q directions per step.
 *   Probes are clipped to the model's input range (a real endpoint may reject anything else);
 *   every example sent goes through a QueryCountingModel, and the per-class budget is enforced.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import { type DifferentiableModel, type Model, requireAccess, requireGradients } from '../../models/model.js';
import { QueryCountingModel } from '../../models/query-counter.js';

export const GRADIENT_SOURCES = ['white-box', 'zeroth-order'] as const;
export type GradientSource = (typeof GRADIENT_SOURCES)[number];

export interface CostAndGradient {
  /** c(x) = 1 − the model's confidence in the target class. */
  cost: number;
  /** ∇c(x) (exact or estimated), same layout as x. */
  grad: Float32Array;
}

/** One target class's cost oracle; `evaluate` returns undefined when the query budget is spent. */
export interface CostOracle {
  evaluate(x: Float32Array): Promise<CostAndGradient | undefined>;
  /** Model queries made so far (0 for white-box). */
  readonly queries: number;
  /** Gradient evaluations made so far. */
  readonly gradients: number;
}

export interface ZerothOrderOptions {
  /** Directions per step (each costs 2 queries, plus 1 query for c(x)). Default 50. */
  directions?: number;
  /** Finite-difference step σ. Default 0.01. */
  sigma?: number;
  /** Queries allowed for this class. Required. */
  budget: number;
  seed: number;
}

export function parseGradientSource(text: string): GradientSource {
  if (!(GRADIENT_SOURCES as readonly string[]).includes(text)) {
    throw new AegisInputError(`gradient source must be one of ${GRADIENT_SOURCES.join(', ')}, got '${text}'`);
  }
  return text as GradientSource;
}

/** Exact ∇c from a differentiable model. */
export function whiteBoxOracle(model: Model, label: number): CostOracle {
  const net: DifferentiableModel = requireGradients(model, 'MI-Face with white-box gradients');
  const shape = [1, ...net.info.inputShape];
  const k = net.info.numClasses;
  const costOf = (x: tf.Tensor): tf.Scalar =>
    tf.sub(1, tf.sum(tf.mul(tf.softmax(net.logits(x)), tf.oneHot([label], k)))) as tf.Scalar;
  const valueAndGrad = tf.valueAndGrad(costOf);
  let gradients = 0;
  return {
    get queries() {
      return 0;
    },
    get gradients() {
      return gradients;
    },
    async evaluate(x) {
      const [value, grad] = tf.tidy(() => {
        const { value, grad } = valueAndGrad(tf.tensor(x, shape, 'float32'));
        return [value, grad];
      });
      const [cost] = await value.data();
      const g = (await grad.data()) as Float32Array;
      tf.dispose([value, grad]);
      gradients++;
      return { cost: cost as number, grad: Float32Array.from(g) };
    },
  };
}

/** NES gradient estimates from class scores; every query is counted and capped at `budget`. */
export function zerothOrderOracle(model: Model, label: number, opts: ZerothOrderOptions): CostOracle {
  requireAccess(model, 'scores', 'MI-Face with zeroth-order gradients');
  const q = opts.directions ?? 50;
  const sigma = opts.sigma ?? 0.01;
  if (!Number.isInteger(q) || q < 1) throw new AegisInputError(`directions must be a positive integer, got ${q}`);
  if (!(sigma > 0)) throw new AegisInputError(`finite-difference sigma must be positive, got ${sigma}`);
  if (!Number.isInteger(opts.budget) || opts.budget <= 0) {
    throw new AegisInputError(`zeroth-order MI-Face needs a query budget > 0 per class, got ${opts.budget}`);
  }
  const perStep = 1 + 2 * q;
  if (opts.budget < perStep) {
    throw new AegisInputError(
      `a query budget of ${opts.budget} per class cannot pay for one zeroth-order step (1 + 2·${q} directions = ${perStep} queries)`,
    );
  }
  const counter = new QueryCountingModel(model, 'scores');
  const rng = new Rng(opts.seed);
  const [low, high] = model.info.inputRange;
  const shape = model.info.inputShape;
  const d = shape.reduce((a, b) => a * b, 1);
  let gradients = 0;
  return {
    get queries() {
      return counter.queries;
    },
    get gradients() {
      return gradients;
    },
    async evaluate(x) {
      if (counter.queries + perStep > opts.budget) return undefined;
      const u = rng.normalArray(q * d);
      // Batch: x, then x + σuᵢ and x − σuᵢ for each direction, clipped to the input range.
      const batch = new Float32Array(perStep * d);
      batch.set(x, 0);
      for (let i = 0; i < q; i++) {
        const plus = (1 + 2 * i) * d;
        const minus = plus + d;
        for (let j = 0; j < d; j++) {
          const step = sigma * (u[i * d + j] as number);
          const xj = x[j] as number;
          batch[plus + j] = Math.min(high, Math.max(low, xj + step));
          batch[minus + j] = Math.min(high, Math.max(low, xj - step));
        }
      }
      const input = tf.tensor(batch, [perStep, ...shape], 'float32');
      const scores = await counter.predictScores(input);
      input.dispose();
      const all = (await scores.data()) as Float32Array;
      scores.dispose();
      const k = model.info.numClasses;
      const costAt = (row: number) => 1 - (all[row * k + label] as number);
      const grad = new Float32Array(d);
      for (let i = 0; i < q; i++) {
        const coef = (costAt(1 + 2 * i) - costAt(2 + 2 * i)) / (2 * sigma * q);
        for (let j = 0; j < d; j++) grad[j] = (grad[j] as number) + coef * (u[i * d + j] as number);
      }
      gradients++;
      return { cost: costAt(0), grad };
    },
  };
}
