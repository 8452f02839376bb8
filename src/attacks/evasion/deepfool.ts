// Moosavi-Dezfooli, Fawzi & Frossard 2016, "DeepFool: a simple and accurate method to fool deep neural networks", CVPR.
/**
 * DeepFool (multi-class): linearise the model around the current point, step to the
 * nearest linearised boundary between the true class and one of the top candidate
 * classes, repeat until the label flips; the total step is scaled by (1 + overshoot).
 * L2 uses ‖w‖₂ and w/‖w‖₂² steps; L-inf uses the dual ‖w‖₁ and sign(w) steps.
 * Minimum-norm attack: one run, then clipped to each budget.
 *
 * The Jacobian rows of the candidate classes come from one backward pass over the batch
 * tiled K times (copy k differentiates the k-th candidate's logit).
 */
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import type { Norm, ThreatModel } from '../../core/threat-model.js';
import { type DifferentiableModel, type Model, requireGradients } from '../../models/model.js';
import { BudgetRows, clipToDomain, predictLabelsBatched } from './budget-rows.js';
import type { AttackOptions, EvasionAttack, EvasionResult, LabeledBatch } from './evasion-attack.js';
import { attackInBatches, checkEvasionInputs, commonOptions, positiveInt } from './white-box.js';

export interface DeepFoolConfig {
  /** Step scale past the boundary: the total perturbation is (1 + overshoot)·r. */
  overshoot: number;
  /** Classes considered per example: the true class plus the top (candidates − 1) others. */
  candidates: number;
  /** Iterations when options.steps is not given. */
  steps: number;
}

export const DEEPFOOL_DEFAULTS: DeepFoolConfig = { overshoot: 0.02, candidates: 10, steps: 50 };

/**
 * Candidate classes per example [m, K]: the true label first, then the K−1 highest other logits.
 */
function candidateClasses(logits: tf.Tensor, labels: Int32Array, k: number, numClasses: number): Int32Array {
  const others = tf.tidy(() => {
    const mask = tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses);
    return tf.topk(tf.sub(logits, tf.mul(tf.cast(mask, 'float32'), 1e9)), k - 1).indices;
  });
  const top = others.dataSync() as Int32Array;
  others.dispose();
  const out = new Int32Array(labels.length * k);
  for (let j = 0; j < labels.length; j++) {
    out[j * k] = labels[j] ?? 0;
    out.set(top.subarray(j * (k - 1), (j + 1) * (k - 1)), j * k + 1);
  }
  return out;
}

/** One DeepFool step for m examples at xa: the minimal step to the nearest linearised boundary (candidates [m, K]). */
function deepFoolStep(
  model: DifferentiableModel,
  xa: tf.Tensor,
  candidates: Int32Array,
  k: number,
  norm: Norm,
): tf.Tensor {
  const m = xa.shape[0] ?? 0;
  const features = xa.size / m;
  return tf.tidy(() => {
    // Copy c of the tiled batch (rows c·m … c·m+m−1) selects candidate c of each example.
    const order = new Int32Array(k * m);
    for (let c = 0; c < k; c++) for (let j = 0; j < m; j++) order[c * m + j] = candidates[j * k + c] ?? 0;
    const select = tf.oneHot(tf.tensor1d(order, 'int32'), model.info.numClasses);
    const tiled = tf.tile(xa, [k, ...xa.shape.slice(1).map(() => 1)]);
    let picked: tf.Tensor | undefined;
    const grads = tf.grad((xt: tf.Tensor) => {
      const z = model.logits(xt);
      const zc = tf.sum(tf.mul(z, select), 1);
      picked = tf.keep(zc);
      return tf.sum(zc) as tf.Scalar;
    })(tiled);
    const zc = tf.reshape(picked as tf.Tensor, [k, m]);
    (picked as tf.Tensor).dispose();
    const g = tf.reshape(grads, [k, m, features]);
    const [g0, gRest] = tf.split(g, [1, k - 1], 0);
    const [z0, zRest] = tf.split(zc, [1, k - 1], 0);
    const w = tf.sub(gRest, g0 as tf.Tensor); // [K−1, m, D]
    const f = tf.abs(tf.sub(zRest, z0 as tf.Tensor)); // [K−1, m]
    const wNorm = norm === 'l2' ? tf.sqrt(tf.sum(tf.square(w), 2)) : tf.sum(tf.abs(w), 2);
    const nearest = tf.argMin(tf.div(f, tf.add(wNorm, 1e-8)), 0); // [m]
    const pick = tf.transpose(tf.oneHot(nearest, k - 1)); // [K−1, m]
    const fBest = tf.sum(tf.mul(f, pick), 0);
    const normBest = tf.sum(tf.mul(wNorm, pick), 0);
    const wBest = tf.sum(tf.mul(w, tf.expandDims(pick, 2)), 0); // [m, D]
    // 1e-4 pushes strictly past the linearised boundary (as in the authors' code).
    const size = tf.div(tf.add(fBest, 1e-4), tf.add(norm === 'l2' ? tf.square(normBest) : normBest, 1e-8));
    const r = tf.mul(norm === 'l2' ? wBest : tf.sign(wBest), tf.expandDims(size, 1));
    return tf.reshape(r, xa.shape);
  });
}

/** DeepFool on one batch; returns the final points (clipped to the domain) and the gradients used. */
export function deepFoolBatch(
  model: DifferentiableModel,
  x: tf.Tensor,
  labels: Int32Array,
  range: [number, number],
  norm: Norm,
  config: DeepFoolConfig,
  steps: number,
): { xAdv: tf.Tensor; gradients: number } {
  const b = labels.length;
  const k = Math.min(config.candidates, model.info.numClasses);
  const scale = 1 + config.overshoot;
  const cleanLogits = tf.tidy(() => model.logits(x));
  const candidates = candidateClasses(cleanLogits, labels, k, model.info.numClasses);
  const cleanLabels = tf.tidy(() => tf.argMax(cleanLogits, 1).dataSync() as Int32Array);
  cleanLogits.dispose();
  // Already misclassified examples are done with r = 0.
  let active: number[] = [];
  for (let j = 0; j < b; j++) if (cleanLabels[j] === labels[j]) active.push(j);
  let rTotal = tf.zerosLike(x);
  let gradients = 0;
  const at = (r: tf.Tensor, idx: tf.Tensor) =>
    clipToDomain(tf.add(tf.gather(x, idx), tf.mul(tf.gather(r, idx), scale)), range);

  for (let it = 0; it < steps && active.length > 0; it++) {
    const idx = tf.tensor1d(active, 'int32');
    const sub = new Int32Array(active.length * k);
    active.forEach((j, a) => {
      sub.set(candidates.subarray(j * k, (j + 1) * k), a * k);
    });
    const xa = tf.tidy(() => at(rTotal, idx));
    const step = deepFoolStep(model, xa, sub, k, norm);
    gradients += k * active.length;
    const next = tf.tidy(() => tf.add(rTotal, tf.scatterND(tf.expandDims(idx, 1), step, rTotal.shape as number[])));
    step.dispose();
    xa.dispose();
    rTotal.dispose();
    rTotal = next;
    // Which examples still hold their label after the step (one small download per iteration).
    const stillCorrect = tf.tidy(() => tf.argMax(model.logits(at(rTotal, idx)), 1).dataSync() as Int32Array);
    idx.dispose();
    active = active.filter((j, a) => stillCorrect[a] === labels[j]);
  }
  const xAdv = tf.tidy(() => clipToDomain(tf.add(x, tf.mul(rTotal, scale)), range));
  rTotal.dispose();
  return { xAdv, gradients };
}

/** Builds a DeepFool attack with non-default settings (the CLI uses `deepFool`). */
export function createDeepFool(overrides: Partial<DeepFoolConfig> = {}): EvasionAttack {
  const config: DeepFoolConfig = { ...DEEPFOOL_DEFAULTS, ...overrides };
  if (!(config.overshoot >= 0) || !Number.isInteger(config.candidates) || config.candidates < 2) {
    throw new AegisInputError('DeepFool needs overshoot >= 0 and at least 2 candidate classes');
  }
  const attack: EvasionAttack = {
    name: 'deepfool',
    title: 'DeepFool',
    citation:
      'Moosavi-Dezfooli, Fawzi & Frossard 2016, "DeepFool: a simple and accurate method to fool deep neural networks", CVPR',
    access: 'gradients',
    norms: ['l2', 'linf'],
    kind: 'minimum-norm',
    async run(model: Model, data: LabeledBatch, threat: ThreatModel, options: AttackOptions): Promise<EvasionResult> {
      const white = requireGradients(model, 'DeepFool');
      checkEvasionInputs(attack, model, data, threat);
      if (white.info.numClasses < 2) throw new AegisInputError('DeepFool needs a model with at least 2 classes');
      const { batchSize, keepExamples } = commonOptions(options);
      const steps = positiveInt(options.steps, config.steps, 'steps');
      const _n = data.y.length;
      const clean = await predictLabelsBatched(model, data.x, batchSize);
      const collector = new BudgetRows(model, data, threat, clean, keepExamples);

      const { xAdv, gradients, seconds } = await attackInBatches(data, batchSize, options.onProgress, (xb, labels) =>
        deepFoolBatch(white, xb, labels, threat.inputRange, threat.norm, config, steps),
      );
      try {
        // Every row reports the single run's gradients and time (one run serves all budgets).
        await collector.addMinimumNorm(xAdv, threat.norm, { queries: 0, gradients, seconds });
      } finally {
        xAdv.dispose();
      }
      return collector.result(attack);
    },
  };
  return attack;
}

export const deepFool: EvasionAttack = createDeepFool();
