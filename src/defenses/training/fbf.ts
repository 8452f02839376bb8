// Wong, Rice & Kolter 2020, "Fast is better than free: Revisiting adversarial training", ICLR (arXiv:2001.03994).
/**
 * FGSM adversarial training with a random start ("fast is better than free", FBF): δ starts
 * uniform in [−ε, ε] (clipped to the domain), takes ONE signed-gradient step of α = 1.25ε, is
 * clipped back to the ball, and the weights take one step on CE(f(x + δ), y) — one input
 * gradient per batch instead of PGD's k. The paper pairs it with a cyclic (one-cycle) learning
 * rate, here on Adam (their MNIST setting): 0 → peak at 2/5 of the run → 0, changed every batch.
 * 'fgsm-rs' is the same step with a constant learning rate.
 */
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import type { BatchContext } from '../../models/train.js';
import type { ParamSpec } from '../output/params.js';
import { innerModel, pgdMaximise, uniformStart } from './inner-max.js';
import { oneCycleLearningRate } from './one-cycle.js';
import { type MethodHooks, type TrainingMethod, type TrainingSettings, trainingDefense } from './training-defense.js';

/** Step α as a multiple of ε (Wong et al.: 1.25; larger steps lead to catastrophic overfitting). */
export const FBF_ALPHA_FACTOR = 1.25;

export interface FgsmRsSettings {
  eps: number;
  /** Step α (default 1.25·eps). */
  stepSize: number;
  range: [number, number];
}

/** perturbBatch for FGSM with random start: one projected step from a uniform start. */
export function fgsmRsHooks(s: FgsmRsSettings): MethodHooks {
  return {
    perturbBatch: (x: tf.Tensor, y: tf.Tensor1D, ctx: BatchContext) => {
      const rng = new Rng(ctx.seed);
      const oneHot = tf.tidy(() => tf.cast(tf.oneHot(y, ctx.numClasses), 'float32'));
      try {
        const start = uniformStart(x, s.eps, s.range, rng);
        const model = innerModel(ctx.logits, ctx.numClasses);
        return pgdMaximise(model, x, oneHot, start, { ...s, steps: 1 });
      } finally {
        oneHot.dispose();
      }
    },
  };
}

const FGSM_PARAMS = {
  stepSize: { type: 'number', default: 0, min: 0, description: 'FGSM step α (0 = 1.25·eps)' },
} satisfies Record<string, ParamSpec>;

function fgsmSettings(s: TrainingSettings): FgsmRsSettings {
  const given = s.params.stepSize as number;
  return { eps: s.eps, stepSize: given > 0 ? given : FBF_ALPHA_FACTOR * s.eps, range: s.range };
}

export const fbfMethod: TrainingMethod = {
  name: 'fbf',
  title: 'Fast adversarial training (FGSM, random start, cyclic learning rate)',
  citation: 'Wong, Rice & Kolter 2020, "Fast is better than free: Revisiting adversarial training", ICLR',
  params: {
    ...FGSM_PARAMS,
    learningRate: { type: 'number', default: 5e-3, positive: true, description: 'peak Adam step size of the cycle' },
    cyclic: { type: 'boolean', default: true, description: 'one-cycle learning rate (false: constant)' },
  },
  hooks: (s) => ({
    ...fgsmRsHooks(fgsmSettings(s)),
    ...(s.params.cyclic ? { learningRateSchedule: oneCycleLearningRate(s.learningRate) } : {}),
  }),
  describe: (s) => ({
    loss: 'cross-entropy on FGSM adversarial examples (random start)',
    stepSize: fgsmSettings(s).stepSize,
    start: 'uniform',
    learningRateSchedule: s.params.cyclic ? 'one-cycle' : 'constant',
  }),
};

export const fgsmRsMethod: TrainingMethod = {
  name: 'fgsm-rs',
  title: 'FGSM adversarial training with random start',
  citation: fbfMethod.citation,
  params: FGSM_PARAMS,
  hooks: (s) => fgsmRsHooks(fgsmSettings(s)),
  describe: (s) => ({
    loss: 'cross-entropy on FGSM adversarial examples (random start)',
    stepSize: fgsmSettings(s).stepSize,
    start: 'uniform',
    learningRateSchedule: 'constant',
  }),
};

/** Defense 'fbf'. Params: eps 0.1, stepSize 1.25·eps, epochs 10, batchSize 128, learningRate 5e-3 (peak), cyclic true, fineTune false. */
export const fbfDefense = trainingDefense(fbfMethod);
/** Defense 'fgsm-rs': FBF's step with a constant learning rate (default 1e-3). */
export const fgsmRsDefense = trainingDefense(fgsmRsMethod);
