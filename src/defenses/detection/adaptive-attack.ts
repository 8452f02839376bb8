// Carlini & Wagner 2017, "Adversarial Examples Are Not Easily Detected: Bypassing Ten Detection Methods", AISec (arXiv:1705.07263); Tramèr, Carlini, Brendel & Madry 2020, "On Adaptive Attacks to Adversarial Example Defenses", NeurIPS (arXiv:2002.08347).
/**
 * The adaptive attack on a detector: PGD that knows the detector. Each step descends, per
 * example, whichever goal is still unmet — the logit margin Z_y − max_{i≠y} Z_i while the model
 * is not yet fooled, the detector's score once it is (the "selective" multi-objective step of
 * Bryniarski, Hingun, Pachuca, Wang & Carlini 2022, ICLR, a sharper form of Carlini & Wagner's
 * combined loss: the two losses never have to be weighed against each other). The detector's
 * score is differentiated end to end: through the penultimate activations for Mahalanobis, and
 * for feature squeezing through the median filter and, by BPDA (straight-through), through
 * bit-depth reduction, with the L1 difference of the softmaxes differentiated as is. An
 * example keeps the first iterate that both fools the model and stays at or under the
 * detector's threshold; otherwise its last iterate.
 *
 * The honest figure for a detector is the share of inputs this attack turns into undetected
 * misclassifications — not the detection rate of attacks that ignore it.
 */
import {
  clipToDomain,
  perturbationNorms,
  predictLabelsBatched,
  projectToBudget,
} from '../../attacks/evasion/budget-rows.js';
import { logitMargin } from '../../attacks/evasion/carlini-wagner.js';
import {
  type AttackOptions,
  atlasTechnique,
  type EvasionAttack,
  type EvasionResult,
  type EvasionRow,
  type LabeledBatch,
} from '../../attacks/evasion/evasion-attack.js';
import { oneHotLabels, perExample, steepestAscent } from '../../attacks/evasion/loss-gradient.js';
import { randomStart } from '../../attacks/evasion/pgd.js';
import {
  batchRanges,
  checkEvasionInputs,
  concatBatches,
  positiveInt,
  secondsSince,
} from '../../attacks/evasion/white-box.js';
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import type { Norm, ThreatModel } from '../../core/threat-model.js';
import { type DifferentiableModel, type Model, requireGradients } from '../../models/model.js';
import { isDetectingModel } from '../defense.js';
import { type DifferentiableScorer, isDifferentiableScorer, ThresholdDetector } from './detecting-model.js';

export interface AdaptiveSettings {
  eps: number;
  norm: Norm;
  steps: number;
  stepSize: number;
  /** Start from a random point of the budget ball (PGD) rather than from x. */
  randomStart: boolean;
  /**
   * κ schedule, in logits: the step switches from the margin to the detector only once the model
   * is fooled by more than κ. At κ = 0 the iterate hovers on the decision boundary, where a
   * squeezer or a step toward a class mean can flip it back; a confident misclassification
   * survives them (Carlini & Wagner 2017) but costs budget. Each κ after the first is a restart
   * on the examples the earlier runs did not get through.
   */
  confidences: readonly number[];
  range: [number, number];
}

export interface AdaptiveTarget {
  classifier: DifferentiableModel;
  scorer: DifferentiableScorer;
  threshold: number;
}

/** The classifier and differentiable detector inside a detecting model; input errors otherwise. */
export function adaptiveTarget(model: Model): AdaptiveTarget {
  if (!isDetectingModel(model)) {
    throw new AegisInputError(
      `the adaptive attack needs a model guarded by a detector (feature-squeezing, mahalanobis); '${model.info.name}' has none`,
    );
  }
  const detector = model.detector;
  if (!(detector instanceof ThresholdDetector) || !isDifferentiableScorer(detector.scorer)) {
    throw new AegisInputError(
      `the adaptive attack needs a differentiable detector score; '${model.info.name}' has none`,
    );
  }
  return {
    classifier: requireGradients(model, 'the adaptive detector attack'),
    scorer: detector.scorer,
    threshold: detector.threshold,
  };
}

/**
 * Default κ schedule: 0, then 5 on what is left. Measured on the small Fashion-MNIST CNN at eps 0.1
 * (docs/detection.md): κ = 0 alone is the best single run against 1-bit + median squeezing and
 * Mahalanobis, κ = 5 against 2-bit squeezing, where κ = 0 is weaker than plain PGD.
 */
export const DEFAULT_CONFIDENCES: readonly number[] = [0, 5];

/** Settings with defaults: 100 steps of 2.5·eps/steps, random start, κ schedule DEFAULT_CONFIDENCES. */
export function adaptiveSettings(
  eps: number,
  options: {
    norm?: Norm;
    steps?: number;
    stepSize?: number;
    randomStart?: boolean;
    confidence?: number | readonly number[];
  },
  range: [number, number],
): AdaptiveSettings {
  if (!(Number.isFinite(eps) && eps > 0))
    throw new AegisInputError(`adaptive attack: eps must be a positive number, got ${eps}`);
  const steps = positiveInt(options.steps, 100, 'steps');
  const stepSize = options.stepSize ?? (2.5 * eps) / steps;
  if (!(Number.isFinite(stepSize) && stepSize > 0)) {
    throw new AegisInputError(`adaptive attack: stepSize must be a positive number, got ${stepSize}`);
  }
  const given = options.confidence ?? DEFAULT_CONFIDENCES;
  const confidences = typeof given === 'number' ? [given] : [...given];
  if (confidences.length === 0 || !confidences.every((k) => Number.isFinite(k) && k >= 0)) {
    throw new AegisInputError(`adaptive attack: confidence must be numbers >= 0, got [${confidences}]`);
  }
  return {
    eps,
    norm: options.norm ?? 'linf',
    steps,
    stepSize,
    randomStart: options.randomStart ?? true,
    confidences,
    range,
  };
}

/** One run at one κ: adversarial inputs and which of them fool the model undetected. */
async function adaptiveRun(
  target: AdaptiveTarget,
  x: tf.Tensor,
  labels: Int32Array,
  s: AdaptiveSettings,
  confidence: number,
  rng: Rng,
): Promise<{ xAdv: tf.Tensor; evaded: Uint8Array; gradients: number }> {
  const { classifier, scorer, threshold } = target;
  const oneHot = oneHotLabels(labels, classifier.info.numClasses);
  let xAdv = s.randomStart ? randomStart(x, s.eps, s.norm, s.range, rng) : tf.clone(x);
  let best = tf.clone(x);
  let found = tf.zeros([labels.length], 'bool');
  try {
    let steps = 0;
    for (let step = 0; ; step++) {
      steps = step;
      const shift = scorer.shift?.(xAdv);
      let success: tf.Tensor | undefined;
      const current = xAdv;
      const grad = tf.tidy(() =>
        tf.grad((v: tf.Tensor) => {
          const logits = classifier.logits(v);
          const margin = logitMargin(logits, oneHot);
          const scored = shift ? tf.add(v, shift) : v;
          const score = scorer.scoreTensor(scored);
          success = tf.keep(tf.logicalAnd(tf.less(margin, 0), tf.lessEqual(score, threshold)));
          const detectorLoss = scorer.attackLoss ? scorer.attackLoss(scored, logits, confidence) : score;
          // Per example, the unmet goal: fool the model (by κ) first, then get under the threshold. The
          // switch is a step function (zero gradient), not tf.where: tfjs has no gradient for Less.
          const fooled = tf.step(tf.neg(tf.add(margin, confidence)));
          return tf.sum(tf.add(tf.mul(fooled, detectorLoss), tf.mul(tf.sub(1, fooled), margin)));
        })(current),
      );
      shift?.dispose();
      const succeeded = success as unknown as tf.Tensor;
      const prevBest = best;
      const prevFound = found;
      // The first iterate that fools the model undetected is kept.
      best = tf.tidy(() =>
        tf.where(perExample(tf.logicalAnd(succeeded, tf.logicalNot(prevFound)), x), current, prevBest),
      );
      found = tf.logicalOr(prevFound, succeeded);
      for (const t of [prevBest, prevFound, succeeded]) t.dispose();
      const done = step === s.steps || (step % 10 === 9 && tf.tidy(() => tf.all(found).dataSync()[0]) === 1);
      if (done) {
        grad.dispose();
        break;
      }
      xAdv = tf.tidy(() =>
        projectToBudget(
          x,
          clipToDomain(tf.sub(current, tf.mul(steepestAscent(grad, s.norm), s.stepSize)), s.range),
          s.eps,
          s.norm,
          s.range,
        ),
      );
      grad.dispose();
      current.dispose();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const out = tf.tidy(() => tf.where(perExample(found, x), best, xAdv));
    return { xAdv: out, evaded: (await found.data()) as Uint8Array, gradients: labels.length * (steps + 1) };
  } finally {
    for (const t of [oneHot, xAdv, best, found]) t.dispose();
  }
}

/**
 * The adaptive attack on one batch, over the κ schedule: adversarial inputs, which of them fool
 * the model undetected, and the input gradients spent.
 */
export async function adaptiveAttackBatch(
  target: AdaptiveTarget,
  x: tf.Tensor,
  labels: Int32Array,
  s: AdaptiveSettings,
  rng: Rng,
): Promise<{ xAdv: tf.Tensor; evaded: Uint8Array; gradients: number }> {
  const [first, ...rest] = s.confidences;
  const result = await adaptiveRun(target, x, labels, s, first ?? 0, rng);
  if (rest.length === 0) return result;
  const per = x.size / Math.max(1, labels.length);
  const values = (await result.xAdv.data()) as Float32Array;
  result.xAdv.dispose();
  const { evaded } = result;
  let gradients = result.gradients;
  for (const confidence of rest) {
    const left = Int32Array.from(labels.keys()).filter((i) => !evaded[i]);
    if (left.length === 0) break;
    const sub = tf.tidy(() => tf.gather(x, tf.tensor1d(left, 'int32')));
    try {
      const again = await adaptiveRun(
        target,
        sub,
        Int32Array.from(left, (i) => labels[i] as number),
        s,
        confidence,
        rng,
      );
      const adv = (await again.xAdv.data()) as Float32Array;
      again.xAdv.dispose();
      gradients += again.gradients;
      left.forEach((i, j) => {
        if (!again.evaded[j]) return;
        evaded[i] = 1;
        values.set(adv.subarray(j * per, (j + 1) * per), i * per);
      });
    } finally {
      sub.dispose();
    }
  }
  return { xAdv: tf.tensor(values, x.shape), evaded, gradients };
}

export interface AdaptiveOptions {
  eps: number;
  norm?: Norm;
  steps?: number;
  stepSize?: number;
  randomStart?: boolean;
  confidence?: number | readonly number[];
  seed: number;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Adaptive adversarial versions of x (labels y) against a detecting model (caller disposes). */
export async function craftAdaptive(
  model: Model,
  x: tf.Tensor,
  y: Int32Array,
  options: AdaptiveOptions,
): Promise<tf.Tensor> {
  return (await craftAdaptiveCounted(model, x, y, options)).xAdv;
}

/** craftAdaptive, also returning the input gradients it spent. */
export async function craftAdaptiveCounted(
  model: Model,
  x: tf.Tensor,
  y: Int32Array,
  options: AdaptiveOptions,
): Promise<{ xAdv: tf.Tensor; gradients: number }> {
  const target = adaptiveTarget(model);
  const settings = adaptiveSettings(options.eps, options, model.info.inputRange);
  if ((x.shape[0] ?? 0) !== y.length)
    throw new AegisInputError(`adaptive attack: ${x.shape[0]} inputs but ${y.length} labels`);
  const batchSize = positiveInt(options.batchSize, 100, 'batchSize');
  const rng = new Rng(options.seed);
  const parts: tf.Tensor[] = [];
  let gradients = 0;
  try {
    for (const [start, count] of batchRanges(y.length, batchSize)) {
      const xb = tf.slice(x, start, count);
      try {
        const out = await adaptiveAttackBatch(target, xb, y.subarray(start, start + count), settings, rng);
        parts.push(out.xAdv);
        gradients += out.gradients;
      } finally {
        xb.dispose();
      }
      options.onProgress?.(start + count, y.length);
    }
  } catch (error) {
    for (const p of parts) p.dispose();
    throw error;
  }
  return { xAdv: concatBatches(parts), gradients };
}

/**
 * One row per budget against model + detector. Here an input counts as handled when it is
 * classified correctly OR flagged (a flagged input is rejected), so `accuracy` is the robust
 * accuracy with rejection, and `successRate` is the share of correctly classified clean inputs
 * the attack turned into misclassifications the detector did not flag.
 */
async function run(
  model: Model,
  data: LabeledBatch,
  threat: ThreatModel,
  options: AttackOptions,
): Promise<EvasionResult> {
  adaptiveTarget(model); // a detecting model with a differentiable detector, or an input error
  const detector = (model as Model & { detector: ThresholdDetector }).detector;
  checkEvasionInputs(adaptiveDetectorAttack, model, data, threat);
  const batchSize = positiveInt(options.batchSize, 100, 'batchSize');
  const clean = await predictLabelsBatched(model, data.x, batchSize);
  const n = data.y.length;
  const rows: EvasionRow[] = [];
  let done = 0;
  for (const eps of threat.epsilons) {
    const t0 = performance.now();
    const { xAdv, gradients } = await craftAdaptiveCounted(model, data.x, data.y, {
      eps,
      norm: threat.norm,
      steps: options.steps,
      stepSize: options.stepSize,
      seed: options.seed,
      batchSize,
      onProgress: (d) => options.onProgress?.(done + d, n * threat.epsilons.length),
    });
    done += n;
    try {
      const seconds = secondsSince(t0);
      const adv = await predictLabelsBatched(model, xAdv, batchSize);
      const { flagged } = await detector.detect(xAdv);
      const norms = perturbationNorms(data.x, xAdv, threat.norm);
      let handled = 0;
      let wasCorrect = 0;
      let bypassed = 0;
      let normSum = 0;
      for (let i = 0; i < n; i++) {
        const right = adv[i] === data.y[i];
        if (right || flagged[i]) handled++;
        if (clean[i] !== data.y[i]) continue;
        wasCorrect++;
        if (!right && !flagged[i]) {
          bypassed++;
          normSum += norms[i] ?? 0;
        }
      }
      rows.push({
        eps,
        accuracy: handled / n,
        successRate: wasCorrect ? bypassed / wasCorrect : 0,
        meanPerturbation: bypassed ? normSum / bypassed : 0,
        queries: 0,
        gradients,
        seconds,
      });
    } finally {
      xAdv.dispose();
    }
  }
  return {
    attack: adaptiveDetectorAttack.name,
    title: adaptiveDetectorAttack.title,
    citation: adaptiveDetectorAttack.citation,
    atlas: atlasTechnique('gradients'),
    threatModel: threat,
    rows,
  };
}

/** The adaptive attack as an evasion attack against a detecting model (success = fooled and not flagged). */
export const adaptiveDetectorAttack: EvasionAttack = {
  name: 'adaptive',
  title: 'Adaptive PGD against a detector (misclassify, then evade the detector)',
  citation:
    'Carlini & Wagner 2017, "Adversarial Examples Are Not Easily Detected", AISec; Tramèr, Carlini, Brendel & Madry 2020, "On Adaptive Attacks to Adversarial Example Defenses", NeurIPS',
  access: 'gradients',
  norms: ['linf', 'l2'],
  kind: 'fixed-budget',
  run,
};
