// Madry, Makelov, Schmidt, Tsipras & Vladu 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR (arXiv:1706.06083).
/**
 * PGD adversarial training: min_θ E max_{‖δ‖∞ ≤ ε} CE(f_θ(x + δ), y). The inner maximisation
 * is L-inf PGD from a uniform random start in the ball (k steps of size α, projection after
 * each), run on the network in inference mode; the weights then take one Adam step on the
 * cross-entropy of the adversarial batch alone (the paper trains on adversarial examples only).
 */
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import type { BatchContext } from '../../models/train.js';
import { innerModel, pgdMaximise, uniformStart } from './inner-max.js';
import { oneCycleLearningRate } from './one-cycle.js';
import { CYCLIC_PARAM, defaultStepSize, PGD_INNER_PARAMS } from './params.js';
import { type MethodHooks, type TrainingMethod, trainingDefense } from './training-defense.js';

export interface PgdAtSettings {
  eps: number;
  steps: number;
  stepSize: number;
  range: [number, number];
}

/** The training loop's perturbBatch for PGD-AT. */
export function pgdAtHooks(s: PgdAtSettings): MethodHooks {
  return {
    perturbBatch: (x: tf.Tensor, y: tf.Tensor1D, ctx: BatchContext) => {
      const rng = new Rng(ctx.seed);
      const oneHot = tf.tidy(() => tf.cast(tf.oneHot(y, ctx.numClasses), 'float32'));
      try {
        const start = uniformStart(x, s.eps, s.range, rng);
        return pgdMaximise(innerModel(ctx.logits, ctx.numClasses), x, oneHot, start, s);
      } finally {
        oneHot.dispose();
      }
    },
  };
}

export const pgdAtMethod: TrainingMethod = {
  name: 'pgd-at',
  title: 'PGD adversarial training',
  citation:
    'Madry, Makelov, Schmidt, Tsipras & Vladu 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR',
  params: { ...PGD_INNER_PARAMS, ...CYCLIC_PARAM },
  hooks: (s) => ({
    ...pgdAtHooks(pgdAtSettings(s.eps, s.params, s.range)),
    ...(s.params.cyclic ? { learningRateSchedule: oneCycleLearningRate(s.learningRate) } : {}),
  }),
  describe: (s) => {
    const { steps, stepSize } = pgdAtSettings(s.eps, s.params, s.range);
    return {
      loss: 'cross-entropy on PGD adversarial examples',
      steps,
      stepSize,
      start: 'uniform',
      learningRateSchedule: s.params.cyclic ? 'one-cycle' : 'constant',
    };
  },
};

function pgdAtSettings(eps: number, p: Record<string, number | boolean>, range: [number, number]): PgdAtSettings {
  const steps = p.steps as number;
  return { eps, steps, stepSize: defaultStepSize(eps, steps, p.stepSize as number), range };
}

/** Defense 'pgd-at'. Params: eps 0.1, steps 10, stepSize 2.5·eps/steps, epochs 10, batchSize 128, learningRate 1e-3, cyclic false, fineTune false. */
export const pgdAtDefense = trainingDefense(pgdAtMethod);
