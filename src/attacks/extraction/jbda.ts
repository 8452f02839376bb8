// Papernot, McDaniel, Goodfellow, Jha, Celik & Swami 2017, "Practical Black-Box Attacks against Machine Learning", AsiaCCS.
/**
 * Jacobian-based dataset augmentation: from a small seed set labelled by the victim (labels
 * access suffices), train a substitute F, then grow the set with
 *   x' = clip(x + λ_ρ · sign(∂F_{O(x)}(x)/∂x))
 * for every x in it — a step along the substitute's Jacobian row of the victim's label, which
 * moves towards the victim's decision boundaries — label the new points by the victim, and
 * retrain; ρ rounds. Periodic step size (the paper's §6 refinement): λ_ρ = λ·(−1)^⌊ρ/τ⌋.
 * When a round would exceed the query budget, a seeded random subset of the new points fitting
 * the budget is kept (the paper's reservoir sampling). The substitute keeps training across
 * rounds (warm start), as the authors' code does. F is the substitute's softmax output.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import { makeThreatModel } from '../../core/threat-model.js';
import { type Dataset, size, take, toTensor } from '../../data/dataset.js';
import type { Model } from '../../models/model.js';
import { QueryCountingModel } from '../../models/query-counter.js';
import { networkLogits, TfjsModel } from '../../models/tfjs-model.js';
import {
  checkBudgets,
  EXTRACTION_ATLAS,
  type ExtractionOutcome,
  type ExtractionRow,
  fidelityChart,
  secondsSince,
} from './extraction-attack.js';
import type { FidelityEvaluator } from './fidelity.js';
import { checkTransferSet } from './knockoff.js';
import { SoftLabelTrainer } from './soft-label-training.js';
import { type Architecture, buildSurrogate, defaultArchitecture, queryTargets } from './surrogate.js';

export const JBDA = {
  name: 'jbda',
  title: 'Jacobian-based dataset augmentation (substitute training)',
  citation:
    'Papernot, McDaniel, Goodfellow, Jha, Celik & Swami 2017, "Practical Black-Box Attacks against Machine Learning", AsiaCCS',
} as const;

export interface JbdaOptions {
  /** Query budget (the largest is used; rows come per round). */
  budgets: number[];
  seed: number;
  /** Seed-set size, drawn from the attacker's own data. Default 150 (the paper's MNIST setting). */
  seedSize?: number;
  /** Substitute training rounds ρ (augmentations = rounds − 1). Default 6. */
  rounds?: number;
  /** Augmentation step λ. Default 0.1. */
  lambda?: number;
  /** Periodic step size: flip λ's sign every τ rounds (undefined = constant λ). */
  tau?: number;
  surrogate?: Architecture;
  /** Substitute training epochs per round. Default 10. */
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  onProgress?: (done: number, total: number) => void;
}

/** λ_ρ = λ·(−1)^⌊ρ/τ⌋ (periodic), or λ. */
export function jbdaStep(lambda: number, round: number, tau?: number): number {
  return tau ? lambda * (Math.floor(round / tau) % 2 === 0 ? 1 : -1) : lambda;
}

/** x + λ·sign(∂softmax(F(x))_y/∂x), clipped to the domain. */
export function jacobianAugment(
  network: Parameters<typeof networkLogits>[0],
  x: tf.Tensor,
  labels: Int32Array,
  lambda: number,
  range: [number, number],
  batchSize = 128,
): tf.Tensor {
  const k = network.outputs[0]?.shape[1] as number;
  const n = x.shape[0] ?? 0;
  const parts: tf.Tensor[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    parts.push(
      tf.tidy(() => {
        const xb = tf.slice(x, start, count);
        const mask = tf.oneHot(tf.tensor1d(labels.subarray(start, start + count), 'int32'), k);
        // Σ_i F_{y_i}(x_i): its gradient wrt x_i is row y_i of F's Jacobian at x_i.
        const grad = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tf.softmax(networkLogits(network, input)), mask)))(xb);
        return tf.clipByValue(tf.add(xb, tf.mul(tf.sign(grad), lambda)), range[0], range[1]);
      }),
    );
  }
  const out = tf.concat(parts);
  tf.dispose(parts);
  return out;
}

function argmaxRows(targets: Float32Array, k: number): Int32Array {
  const n = targets.length / k;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if ((targets[i * k + j] as number) > (targets[i * k + best] as number)) best = j;
    out[i] = best;
  }
  return out;
}

export async function jacobianAugmentation(
  victim: Model,
  attackerData: Dataset | undefined,
  evaluator: FidelityEvaluator,
  options: JbdaOptions,
): Promise<ExtractionOutcome> {
  const data = checkTransferSet(victim, attackerData, 'jbda (for its seed set)');
  const budgets = checkBudgets(options.budgets, 'jbda');
  const budget = budgets[budgets.length - 1] as number;
  const seedSize = options.seedSize ?? 150;
  const rounds = options.rounds ?? 6;
  const lambda = options.lambda ?? 0.1;
  if (!Number.isInteger(seedSize) || seedSize <= 0)
    throw new AegisInputError(`jbda: seed size must be a positive integer, got ${seedSize}`);
  if (!Number.isInteger(rounds) || rounds <= 0)
    throw new AegisInputError(`jbda: rounds must be a positive integer, got ${rounds}`);
  if (!(lambda > 0 && Number.isFinite(lambda)))
    throw new AegisInputError(`jbda: λ must be a positive number, got ${lambda}`);
  if (options.tau !== undefined && !(Number.isInteger(options.tau) && options.tau > 0)) {
    throw new AegisInputError(`jbda: τ must be a positive integer, got ${options.tau}`);
  }
  const initial = Math.min(seedSize, budget);
  if (initial > size(data)) {
    throw new AegisInputError(
      `jbda: a seed set of ${initial} needs that many examples; '${data.name}' has ${size(data)}`,
    );
  }
  const { inputShape, numClasses: k, inputRange } = victim.info;
  const arch = options.surrogate ?? defaultArchitecture(inputShape);
  // Labels access is all JBDA needs, so that is all it asks for.
  const counted = new QueryCountingModel(victim, 'labels');
  const rng = new Rng(options.seed);
  const network = buildSurrogate(arch, inputShape, k, rng.fork() & 0x7fffffff, 'jbda-substitute');
  const trainer = new SoftLabelTrainer(network, options.learningRate ?? 1e-3);
  const substitute = new TfjsModel(network, { name: network.name, classNames: victim.info.classNames, inputRange });
  const t0 = performance.now();
  const rows: ExtractionRow[] = [];
  let x = toTensor(take(data, rng.permutation(size(data)).subarray(0, initial)));
  let targets = await queryTargets(counted, x, 'labels');
  try {
    for (let round = 0; round < rounds; round++) {
      const t = tf.tensor2d(targets, [targets.length / k, k]);
      try {
        await trainer.fit(x, t, { epochs: options.epochs ?? 10, batchSize: options.batchSize, seed: rng.fork() });
      } finally {
        t.dispose();
      }
      rows.push({
        queries: counted.queries,
        ...(await evaluator.evaluate(substitute)),
        round,
        seconds: secondsSince(t0),
      });
      options.onProgress?.(counted.queries, budget);
      const remaining = budget - counted.queries;
      if (round === rounds - 1 || remaining <= 0) break;
      const labels = argmaxRows(targets, k);
      let fresh = jacobianAugment(network, x, labels, jbdaStep(lambda, round, options.tau), inputRange);
      if ((fresh.shape[0] ?? 0) > remaining) {
        const keep = tf.tensor1d(rng.permutation(fresh.shape[0] ?? 0).subarray(0, remaining), 'int32');
        const subset = tf.gather(fresh, keep);
        tf.dispose([fresh, keep]);
        fresh = subset;
      }
      const freshTargets = await queryTargets(counted, fresh, 'labels');
      const grown = tf.concat([x, fresh]);
      tf.dispose([x, fresh]);
      x = grown;
      const all = new Float32Array(targets.length + freshTargets.length);
      all.set(targets);
      all.set(freshTargets, targets.length);
      targets = all;
    }
  } catch (error) {
    substitute.dispose();
    throw error;
  } finally {
    x.dispose();
    trainer.dispose();
  }
  const threatModel = makeThreatModel({
    access: 'labels',
    epsilons: [],
    inputRange,
    knowledge:
      `${initial} unlabeled seed examples of its own ('${data.name}'); the victim's predicted labels only; ` +
      `at most ${budget} queries; substitute architecture ${arch}, λ ${lambda}${options.tau ? `, periodic τ ${options.tau}` : ''}`,
  });
  return {
    result: {
      attack: JBDA.name,
      title: JBDA.title,
      citation: JBDA.citation,
      atlas: EXTRACTION_ATLAS,
      threatModel,
      rows,
      charts: [fidelityChart(JBDA.title, rows)],
    },
    surrogate: substitute,
  };
}
