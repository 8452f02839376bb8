/**
 * Adversarial inputs from the project's white-box attacks (src/attacks/evasion: FGSM, PGD, C&W),
 * as tensors a detector can score. The registered attacks return only result rows, so this
 * composes their exported building blocks (loss gradients, pgdBatch, carliniWagnerBatch,
 * projection) — the same algorithms and defaults, not copies.
 */

import { clipToDomain, projectToBudget } from '../../attacks/evasion/budget-rows.js';
import { CW_DEFAULTS, carliniWagnerBatch } from '../../attacks/evasion/carlini-wagner.js';
import { crossEntropyGradientFn, oneHotLabels, steepestAscent } from '../../attacks/evasion/loss-gradient.js';
import { pgdBatch } from '../../attacks/evasion/pgd.js';
import { getEvasionAttack } from '../../attacks/evasion/registry.js';
import { batchRanges, concatBatches, positiveInt } from '../../attacks/evasion/white-box.js';
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import type { Norm } from '../../core/threat-model.js';
import type { DifferentiableModel } from '../../models/model.js';

/** The non-adaptive attacks detection is measured against. */
export const DETECTION_ATTACKS = ['fgsm', 'pgd', 'cw'] as const;
export type DetectionAttack = (typeof DETECTION_ATTACKS)[number];

export interface CraftOptions {
  /** Budget in `norm` (C&W: L2; Infinity = C&W's own minimum-norm result, unclipped). */
  eps: number;
  /** fgsm/pgd: 'linf' (default) or 'l2'; C&W is always L2. */
  norm?: Norm;
  /** PGD iterations (default 40) or C&W Adam iterations per search step (default 100). */
  steps?: number;
  /** PGD step size (default 2.5·eps/steps, Madry et al.). */
  stepSize?: number;
  seed: number;
  batchSize?: number;
  inputRange?: [number, number];
}

/** Checks the attack name against the evasion registry, then against what detection evaluation runs. */
export function parseDetectionAttack(name: string): DetectionAttack {
  getEvasionAttack(name); // unknown names: the registry's message with every valid name
  if (!(DETECTION_ATTACKS as readonly string[]).includes(name)) {
    throw new AegisInputError(
      `attack '${name}' is not measured for detection; use one of ${DETECTION_ATTACKS.join(', ')} (or 'adaptive')`,
    );
  }
  return name as DetectionAttack;
}

/** The norm the attack runs in. */
export function attackNorm(attack: DetectionAttack, norm: Norm | undefined): Norm {
  if (attack === 'cw') {
    if (norm !== undefined && norm !== 'l2')
      throw new AegisInputError(`attack 'cw' is the L2 C&W attack; norm must be l2, not ${norm}`);
    return 'l2';
  }
  return norm ?? 'linf';
}

/** Adversarial versions of x (labels y) from `attack` against `model` (caller disposes). */
export async function craftAdversarial(
  model: DifferentiableModel,
  x: tf.Tensor,
  y: Int32Array,
  attack: DetectionAttack,
  options: CraftOptions,
): Promise<tf.Tensor> {
  const { eps } = options;
  const norm = attackNorm(attack, options.norm);
  const range = options.inputRange ?? model.info.inputRange;
  const bounded = Number.isFinite(eps);
  if (!(eps > 0) || (!bounded && attack !== 'cw')) {
    throw new AegisInputError(
      `attack '${attack}': eps must be a positive finite number${attack === 'cw' ? ' (or Infinity for unbounded C&W)' : ''}, got ${eps}`,
    );
  }
  if ((x.shape[0] ?? 0) !== y.length)
    throw new AegisInputError(`attack '${attack}': ${x.shape[0]} inputs but ${y.length} labels`);
  const batchSize = positiveInt(options.batchSize, 100, 'batchSize');
  const rng = new Rng(options.seed);
  const parts: tf.Tensor[] = [];
  try {
    for (const [start, count] of batchRanges(y.length, batchSize)) {
      const xb = tf.slice(x, start, count);
      const labels = y.subarray(start, start + count);
      try {
        parts.push(await craftBatch(model, xb, labels, attack, { ...options, norm, inputRange: range }, rng));
      } finally {
        xb.dispose();
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  } catch (error) {
    for (const p of parts) p.dispose();
    throw error;
  }
  return concatBatches(parts);
}

async function craftBatch(
  model: DifferentiableModel,
  x: tf.Tensor,
  labels: Int32Array,
  attack: DetectionAttack,
  o: CraftOptions & { norm: Norm; inputRange: [number, number] },
  rng: Rng,
): Promise<tf.Tensor> {
  if (attack === 'fgsm') {
    const oneHot = oneHotLabels(labels, model.info.numClasses);
    try {
      const g = await crossEntropyGradientFn(model, oneHot)(x);
      try {
        return tf.tidy(() => clipToDomain(tf.add(x, tf.mul(steepestAscent(g, o.norm), o.eps)), o.inputRange));
      } finally {
        g.dispose();
      }
    } finally {
      oneHot.dispose();
    }
  }
  if (attack === 'pgd') {
    const steps = positiveInt(o.steps, 40, 'steps');
    const settings = {
      eps: o.eps,
      stepSize: o.stepSize ?? (2.5 * o.eps) / steps,
      steps,
      restarts: 1,
      norm: o.norm,
      range: o.inputRange,
    };
    return (await pgdBatch(model, x, labels, settings, rng)).xAdv;
  }
  const steps = positiveInt(o.steps, CW_DEFAULTS.steps, 'steps');
  const { xAdv } = carliniWagnerBatch(model, x, labels, o.inputRange, CW_DEFAULTS, steps);
  if (!Number.isFinite(o.eps)) return xAdv;
  try {
    return projectToBudget(x, xAdv, o.eps, 'l2', o.inputRange);
  } finally {
    xAdv.dispose();
  }
}
