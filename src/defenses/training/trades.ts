// Zhang, Yu, Jiao, Xing, El Ghaoui & Jordan 2019, "Theoretically Principled Trade-off between Robustness and Accuracy", ICML (arXiv:1901.08573).
/**
 * TRADES: minimise CE(f(x), y) + β · KL(f(x) ‖ f(x')), where x' maximises that KL term within
 * the L-inf ε-ball: PGD from x + 0.001·N(0, 1) with signed steps, projected onto the ball and
 * the domain after each (the authors' code; the clean prediction is held fixed while x' is
 * searched). Both terms are averaged over the batch and differentiated through f(x) and f(x').
 * β trades clean accuracy (small β) for robustness (large β); the paper uses 6 (1/λ).
 */
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import type { BatchContext, BatchLossArgs } from '../../models/train.js';
import { gaussianStart, innerModel, pgdMaximise } from './inner-max.js';
import { oneCycleLearningRate } from './one-cycle.js';
import { CYCLIC_PARAM, defaultStepSize, PGD_INNER_PARAMS } from './params.js';
import { type MethodHooks, type TrainingMethod, type TrainingSettings, trainingDefense } from './training-defense.js';

export interface TradesSettings {
  eps: number;
  steps: number;
  stepSize: number;
  beta: number;
  range: [number, number];
}

/** Batch mean of KL(softmax(clean) ‖ softmax(adv)) = Σ_j p_j (log p_j − log q_j), from logits. */
export function tradesKl(cleanLogits: tf.Tensor2D, advLogits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(cleanLogits);
    const logQ = tf.logSoftmax(advLogits);
    return tf.mean(tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), 1)) as tf.Scalar;
  });
}

/** The TRADES objective from clean and adversarial logits: mean CE(clean, y) + β · mean KL(clean ‖ adv). */
export function tradesLoss(
  cleanLogits: tf.Tensor2D,
  advLogits: tf.Tensor2D,
  y: tf.Tensor1D,
  numClasses: number,
  beta: number,
): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(y, numClasses);
    const ce = tf.losses.softmaxCrossEntropy(oneHot, cleanLogits, undefined, 0, tf.Reduction.MEAN);
    return tf.add(ce, tf.mul(tradesKl(cleanLogits, advLogits), beta)) as tf.Scalar;
  });
}

export function tradesHooks(s: TradesSettings): MethodHooks {
  return {
    // x' maximises KL(f(x) ‖ f(x')) for the fixed clean prediction p = f(x): its input gradient is
    // that of the cross-entropy against p (the entropy of p does not depend on x').
    perturbBatch: (x: tf.Tensor, _y: tf.Tensor1D, ctx: BatchContext) => {
      const rng = new Rng(ctx.seed);
      const clean = tf.tidy(() => tf.softmax(ctx.logits(x)));
      try {
        const start = gaussianStart(x, rng);
        return pgdMaximise(innerModel(ctx.logits, ctx.numClasses), x, clean, start, s);
      } finally {
        clean.dispose();
      }
    },
    batchLoss: ({ x, xPerturbed, y, logits, numClasses }: BatchLossArgs) => {
      const clean = logits(x);
      const adv = logits(xPerturbed);
      return { loss: tradesLoss(clean, adv, y, numClasses, s.beta), logits: adv };
    },
  };
}

function tradesSettings(s: TrainingSettings): TradesSettings {
  const steps = s.params.steps as number;
  return {
    eps: s.eps,
    steps,
    stepSize: defaultStepSize(s.eps, steps, s.params.stepSize as number),
    beta: s.params.beta as number,
    range: s.range,
  };
}

export const tradesMethod: TrainingMethod = {
  name: 'trades',
  title: 'TRADES (robustness-accuracy trade-off)',
  citation:
    'Zhang, Yu, Jiao, Xing, El Ghaoui & Jordan 2019, "Theoretically Principled Trade-off between Robustness and Accuracy", ICML',
  params: {
    ...PGD_INNER_PARAMS,
    ...CYCLIC_PARAM,
    beta: { type: 'number', default: 6, min: 0, description: 'weight of the KL (robustness) term' },
  },
  hooks: (s) => ({
    ...tradesHooks(tradesSettings(s)),
    ...(s.params.cyclic ? { learningRateSchedule: oneCycleLearningRate(s.learningRate) } : {}),
  }),
  describe: (s) => {
    const { steps, stepSize, beta } = tradesSettings(s);
    const learningRateSchedule = s.params.cyclic ? 'one-cycle' : 'constant';
    return {
      loss: 'TRADES: CE(f(x), y) + beta·KL(f(x) ‖ f(x′))',
      steps,
      stepSize,
      beta,
      start: 'x + 0.001·N(0,1)',
      learningRateSchedule,
    };
  },
};

/** Defense 'trades'. Params: eps 0.1, steps 10, stepSize 2.5·eps/steps, beta 6, epochs 10, batchSize 128, learningRate 1e-3, cyclic false, fineTune false. */
export const tradesDefense = trainingDefense(tradesMethod);
