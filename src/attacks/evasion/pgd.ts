// Madry, Makelov, Schmidt, Tsipras & Vladu 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR.
/**
 * PGD: from a random start in the budget ball, `steps` ascent steps on the cross-entropy
 * loss (sign of the gradient for L-inf, normalised gradient for L2), each followed by a
 * projection back onto the ball and the input domain. With several restarts an example
 * keeps the first restart that fools the model, else the last.
 *
 * The step loop is the hot path. Through tfjs autodiff everything stays on the backend until a
 * batch is finished; a model with its own gradient (ONNX Runtime for imported ONNX models)
 * exchanges one batch of inputs and gradients with it per step.
 */

import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import type { Norm, ThreatModel } from '../../core/threat-model.js';
import { type DifferentiableModel, type Model, requireGradients } from '../../models/model.js';
import { BudgetRows, clipToDomain, predictLabelsBatched, projectToBudget } from './budget-rows.js';
import type { AttackOptions, EvasionAttack, EvasionResult, LabeledBatch } from './evasion-attack.js';
import { crossEntropyGradientFn, oneHotLabels, perExample, steepestAscent } from './loss-gradient.js';
import {
  batchRanges,
  checkEvasionInputs,
  commonOptions,
  concatBatches,
  positiveInt,
  secondsSince,
} from './white-box.js';

/**
 * A uniform random point of the eps-ball around x, clipped to the domain. L-inf: uniform
 * per value. L2: uniform in the ball — normal direction, radius eps·u^(1/d).
 */
export function randomStart(x: tf.Tensor, eps: number, norm: Norm, range: [number, number], rng: Rng): tf.Tensor {
  const n = x.shape[0] ?? 0;
  const d = x.size / Math.max(n, 1);
  if (norm === 'linf') {
    const noise = rng.uniformArray(x.size, -eps, eps);
    return tf.tidy(() => clipToDomain(tf.add(x, tf.tensor(noise, x.shape)), range));
  }
  const direction = rng.normalArray(x.size);
  const radius = new Float32Array(n);
  for (let i = 0; i < n; i++) radius[i] = eps * rng.next() ** (1 / d);
  return tf.tidy(() => {
    const g = tf.tensor(direction, x.shape);
    const unit = steepestAscent(g, 'l2');
    return clipToDomain(tf.add(x, tf.mul(unit, perExample(tf.tensor1d(radius), x))), range);
  });
}

/**
 * One PGD step on tensors: ascend `stepSize` along the steepest direction of `grad` (its sign
 * for L-inf), then project onto the eps-ball around x and the domain. Synchronous, so it also
 * runs inside a training step (adversarial training); returns a new tensor.
 */
export function pgdStep(
  x: tf.Tensor,
  xAdv: tf.Tensor,
  grad: tf.Tensor,
  s: Pick<PgdSettings, 'eps' | 'stepSize' | 'norm' | 'range'>,
): tf.Tensor {
  return tf.tidy(() => {
    const stepped = tf.add(xAdv, tf.mul(steepestAscent(grad, s.norm), s.stepSize));
    return projectToBudget(x, stepped, s.eps, s.norm, s.range);
  });
}

export interface PgdSettings {
  eps: number;
  stepSize: number;
  steps: number;
  restarts: number;
  norm: Norm;
  range: [number, number];
}

/** PGD on one batch. Returns the adversarial batch and how many restarts ran. */
export async function pgdBatch(
  model: DifferentiableModel,
  x: tf.Tensor,
  labels: Int32Array,
  s: PgdSettings,
  rng: Rng,
): Promise<{ xAdv: tf.Tensor; restartsRun: number }> {
  const oneHot = oneHotLabels(labels, model.info.numClasses);
  const yT = tf.tensor1d(labels, 'int32');
  const gradient = crossEntropyGradientFn(model, oneHot);
  let best: tf.Tensor | undefined;
  let found: tf.Tensor | undefined;
  let restartsRun = 0;
  try {
    for (let r = 0; r < s.restarts; r++) {
      restartsRun++;
      let xAdv = randomStart(x, s.eps, s.norm, s.range, rng);
      for (let step = 0; step < s.steps; step++) {
        let g: tf.Tensor;
        try {
          g = await gradient(xAdv);
        } catch (error) {
          xAdv.dispose();
          throw error;
        }
        const next = pgdStep(x, xAdv, g, s);
        g.dispose();
        xAdv.dispose();
        xAdv = next;
      }
      if (s.restarts === 1) return { xAdv, restartsRun };
      const fooled = tf.tidy(() => tf.notEqual(tf.argMax(model.logits(xAdv), 1), yT));
      if (best === undefined || found === undefined) {
        best = xAdv;
        found = fooled;
      } else {
        const prevBest: tf.Tensor = best;
        const prevFound: tf.Tensor = found;
        // Examples already fooled keep their earlier (first successful) restart.
        best = tf.tidy(() => tf.where(perExample(prevFound, x), prevBest, xAdv));
        found = tf.logicalOr(prevFound, fooled);
        for (const t of [prevBest, prevFound, xAdv, fooled]) t.dispose();
      }
      // Stop restarting once every example in the batch is fooled (one scalar download).
      if (r < s.restarts - 1 && tf.tidy(() => tf.all(found as tf.Tensor).dataSync()[0]) === 1) break;
    }
    found?.dispose();
    return { xAdv: best as tf.Tensor, restartsRun };
  } finally {
    oneHot.dispose();
    yT.dispose();
  }
}

async function run(
  model: Model,
  data: LabeledBatch,
  threat: ThreatModel,
  options: AttackOptions,
): Promise<EvasionResult> {
  const white = requireGradients(model, 'PGD');
  checkEvasionInputs(pgd, model, data, threat);
  const { batchSize, keepExamples } = commonOptions(options);
  const steps = positiveInt(options.steps, 40, 'steps');
  const restarts = positiveInt(options.restarts, 1, 'restarts');
  if (options.stepSize !== undefined && !(Number.isFinite(options.stepSize) && options.stepSize >= 0)) {
    throw new AegisInputError(`option stepSize must be a finite number >= 0, got ${options.stepSize}`);
  }
  const n = data.y.length;
  const rng = new Rng(options.seed);
  const clean = await predictLabelsBatched(model, data.x, batchSize);
  const collector = new BudgetRows(model, data, threat, clean, keepExamples);
  const ranges = batchRanges(n, batchSize);
  const total = n * threat.epsilons.length;
  let done = 0;

  for (const eps of threat.epsilons) {
    // Default step 2.5·eps/steps (Madry et al.): enough to cross the ball and back.
    const settings: PgdSettings = {
      eps,
      stepSize: options.stepSize ?? (2.5 * eps) / steps,
      steps,
      restarts,
      norm: threat.norm,
      range: threat.inputRange,
    };
    const t0 = performance.now();
    let gradients = 0;
    const parts: tf.Tensor[] = [];
    try {
      for (const [start, size] of ranges) {
        const xb = tf.slice(data.x, start, size);
        try {
          const { xAdv, restartsRun } = await pgdBatch(white, xb, data.y.subarray(start, start + size), settings, rng);
          parts.push(xAdv);
          gradients += size * steps * restartsRun;
        } finally {
          xb.dispose();
        }
        done += size;
        options.onProgress?.(done, total);
        await new Promise((resolve) => setImmediate(resolve)); // let progress bars and signals run
      }
    } catch (error) {
      for (const p of parts) p.dispose();
      throw error;
    }
    const xAdv = concatBatches(parts);
    try {
      await collector.add(eps, xAdv, { queries: 0, gradients, seconds: secondsSince(t0) });
    } finally {
      xAdv.dispose();
    }
  }
  return collector.result(pgd);
}

export const pgd: EvasionAttack = {
  name: 'pgd',
  title: 'Projected Gradient Descent (PGD)',
  citation:
    'Madry, Makelov, Schmidt, Tsipras & Vladu 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR',
  access: 'gradients',
  norms: ['linf', 'l2'],
  kind: 'fixed-budget',
  run,
};
