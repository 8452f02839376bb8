// Goodfellow, Shlens & Szegedy 2015, "Explaining and Harnessing Adversarial Examples", ICLR.
/**
 * FGSM: one step of size eps along the steepest ascent direction of the cross-entropy loss
 * (sign of the gradient for L-inf, the L2-normalised gradient for L2), clipped to the domain.
 * The gradient does not depend on eps, so it is computed once per example for all budgets.
 */
import { tf } from '../../core/runtime.js';
import type { ThreatModel } from '../../core/threat-model.js';
import { type DifferentiableModel, type Model, requireGradients } from '../../models/model.js';
import { BudgetRows, clipToDomain, predictLabelsBatched } from './budget-rows.js';
import type { AttackOptions, EvasionAttack, EvasionResult, LabeledBatch } from './evasion-attack.js';
import { crossEntropyGradientFn, oneHotLabels, steepestAscent } from './loss-gradient.js';
import { batchRanges, checkEvasionInputs, commonOptions, concatBatches, secondsSince } from './white-box.js';

/** Unit-size ascent directions for every example, computed batch by batch (caller disposes). */
async function fgsmDirections(
  model: DifferentiableModel,
  data: LabeledBatch,
  threat: ThreatModel,
  batchSize: number,
  onProgress?: (done: number, total: number) => void,
): Promise<tf.Tensor> {
  const n = data.y.length;
  const parts: tf.Tensor[] = [];
  try {
    for (const [start, size] of batchRanges(n, batchSize)) {
      const oneHot = oneHotLabels(data.y.subarray(start, start + size), model.info.numClasses);
      const xb = tf.slice(data.x, start, size);
      try {
        const g = await crossEntropyGradientFn(model, oneHot)(xb);
        parts.push(tf.tidy(() => steepestAscent(g, threat.norm)));
        g.dispose();
      } finally {
        oneHot.dispose();
        xb.dispose();
      }
      onProgress?.(start + size, n);
    }
  } catch (error) {
    for (const p of parts) p.dispose();
    throw error;
  }
  return concatBatches(parts);
}

async function run(
  model: Model,
  data: LabeledBatch,
  threat: ThreatModel,
  options: AttackOptions,
): Promise<EvasionResult> {
  const white = requireGradients(model, 'FGSM');
  checkEvasionInputs(fgsm, model, data, threat);
  const { batchSize, keepExamples } = commonOptions(options);
  const n = data.y.length;
  const clean = await predictLabelsBatched(model, data.x, batchSize);
  const collector = new BudgetRows(model, data, threat, clean, keepExamples);

  const t0 = performance.now();
  const direction = await fgsmDirections(white, data, threat, batchSize, options.onProgress);
  const gradientSeconds = secondsSince(t0);
  try {
    for (const eps of threat.epsilons) {
      const t1 = performance.now();
      const xAdv = tf.tidy(() => clipToDomain(tf.add(data.x, tf.mul(direction, eps)), threat.inputRange));
      // A row's time is the shared gradient pass plus its own step: what FGSM at that eps alone costs.
      const seconds = gradientSeconds + secondsSince(t1);
      try {
        await collector.add(eps, xAdv, { queries: 0, gradients: n, seconds });
      } finally {
        xAdv.dispose();
      }
    }
  } finally {
    direction.dispose();
  }
  return collector.result(fgsm);
}

export const fgsm: EvasionAttack = {
  name: 'fgsm',
  title: 'Fast Gradient Sign Method (FGSM)',
  citation: 'Goodfellow, Shlens & Szegedy 2015, "Explaining and Harnessing Adversarial Examples", ICLR',
  access: 'gradients',
  norms: ['linf', 'l2'],
  kind: 'fixed-budget',
  run,
};
