// Orekondy, Schiele & Fritz 2019, "Knockoff Nets: Stealing Functionality of Black-Box Models", CVPR.
/**
 * KnockoffNets: the attacker owns an unlabeled transfer set, queries the victim on images from
 * it, and trains a surrogate of its own architecture on the answers (soft labels; with a
 * labels-only victim, one-hot hard labels). Two query strategies:
 *
 * - random: a uniform sample (without replacement) of the transfer set;
 * - adaptive: the paper's gradient-bandit policy over actions, rewarded by
 *   certainty (top-1 − top-2 victim probability) + diversity (Σ_k max(0, y_k − ȳ_k) against the
 *   mean answer of the last Δ = 25 queries) + loss (cross-entropy of an online surrogate against
 *   the victim's answer). Simplification: the paper's actions are nodes of a label hierarchy
 *   over the transfer set's own classes; an unlabeled transfer set has none, so the actions
 *   here are k-means clusters of the transfer images (block-averaged pixels), one level deep.
 *   Each reward term is standardised by its running mean and deviation before summing, so no
 *   term dominates by scale (our choice). The online surrogate takes one Adam step per round.
 *
 * At every budget checkpoint a fresh surrogate is trained (as the paper does after querying) on
 * all answers so far and evaluated; the rows form the fidelity-vs-queries curve.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import { makeThreatModel } from '../../core/threat-model.js';
import { type Dataset, featureShape, size, take, toTensor, validateDataset } from '../../data/dataset.js';
import type { Model } from '../../models/model.js';
import { QueryCountingModel } from '../../models/query-counter.js';
import { TfjsModel } from '../../models/tfjs-model.js';
import {
  checkBudgets,
  EXTRACTION_ATLAS,
  type ExtractionOutcome,
  type ExtractionRow,
  fidelityChart,
  secondsSince,
} from './extraction-attack.js';
import type { FidelityEvaluator } from './fidelity.js';
import { GradientBandit } from './gradient-bandit.js';
import { clusteringFeatures, kMeans } from './kmeans.js';
import { SoftLabelTrainer } from './soft-label-training.js';
import {
  type AnswerKind,
  type Architecture,
  answerKind,
  buildSurrogate,
  defaultArchitecture,
  queryTargets,
} from './surrogate.js';

export const KNOCKOFF_CITATION =
  'Orekondy, Schiele & Fritz 2019, "Knockoff Nets: Stealing Functionality of Black-Box Models", CVPR';

export const KNOCKOFF_STRATEGIES = ['random', 'adaptive'] as const;
export type KnockoffStrategy = (typeof KNOCKOFF_STRATEGIES)[number];

export interface KnockoffOptions {
  /** Query-budget checkpoints: a surrogate is trained and evaluated at each. */
  budgets: number[];
  strategy: KnockoffStrategy;
  seed: number;
  /** Surrogate architecture (default: cnn for images, else mlp). */
  surrogate?: Architecture;
  /** Surrogate training epochs at each checkpoint. Default 10. */
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Adaptive: number of k-means clusters (actions). Default: the victim's number of classes. */
  clusters?: number;
  /** Adaptive: queries per bandit round (one online-surrogate step each). Default 32. */
  roundSize?: number;
  /** Adaptive: bandit step size α. Default 0.05. */
  banditStepSize?: number;
  /** Called with queries made and the largest budget. */
  onProgress?: (done: number, total: number) => void;
}

/** Diversity window Δ (queries). */
const DIVERSITY_WINDOW = 25;

export function checkTransferSet(victim: Model, transfer: Dataset | undefined, who: string): Dataset {
  if (!transfer) throw new AegisInputError(`${who} needs a transfer set of the attacker's own (unlabeled) data`);
  validateDataset(transfer);
  const want = victim.info.inputShape.join(',');
  if (featureShape(transfer).join(',') !== want) {
    throw new AegisInputError(
      `transfer set '${transfer.name}' has examples of shape [${featureShape(transfer)}] but model '${victim.info.name}' expects [${want}]`,
    );
  }
  return transfer;
}

/** Running mean and variance (Welford), for reward standardisation. */
class RunningStats {
  private n = 0;
  private mean = 0;
  private m2 = 0;

  standardise(value: number): number {
    this.n++;
    const delta = value - this.mean;
    this.mean += delta / this.n;
    this.m2 += delta * (value - this.mean);
    const sd = this.n > 1 ? Math.sqrt(this.m2 / (this.n - 1)) : 0;
    return sd > 1e-12 ? (value - this.mean) / sd : 0;
  }
}

/** Certainty, diversity and loss rewards of one answer y (k) given the online surrogate's ŷ (k). */
export function knockoffRewards(
  y: ArrayLike<number>,
  predicted: ArrayLike<number>,
  recentMean: ArrayLike<number>,
): { certainty: number; diversity: number; loss: number } {
  let top1 = 0;
  let top2 = 0;
  let diversity = 0;
  let loss = 0;
  for (let j = 0; j < y.length; j++) {
    const v = y[j] as number;
    if (v > top1) {
      top2 = top1;
      top1 = v;
    } else if (v > top2) top2 = v;
    diversity += Math.max(0, v - (recentMean[j] as number));
    loss -= v * Math.log(Math.max(predicted[j] as number, 1e-12));
  }
  return { certainty: top1 - top2, diversity, loss };
}

/** Chooses query indices into the transfer set with the adaptive policy; fills targets as it goes. */
class AdaptiveSampler {
  private readonly bandit: GradientBandit;
  private readonly members: number[][];
  private readonly trainer: SoftLabelTrainer;
  private readonly network;
  private readonly stats = [new RunningStats(), new RunningStats(), new RunningStats()];
  private readonly recent: Float32Array[] = [];

  constructor(
    private readonly transfer: Dataset,
    private readonly victim: Model,
    private readonly kind: AnswerKind,
    arch: Architecture,
    options: KnockoffOptions,
    rng: Rng,
  ) {
    const k = victim.info.numClasses;
    const clusters = options.clusters ?? k;
    const { x, d } = clusteringFeatures(transfer);
    const { assignments } = kMeans(x, size(transfer), d, clusters, rng);
    this.members = Array.from({ length: clusters }, () => [] as number[]);
    for (const i of rng.permutation(size(transfer))) this.members[assignments[i] as number]?.push(i);
    this.bandit = new GradientBandit(clusters, options.banditStepSize ?? 0.05, rng);
    this.members.forEach((m, a) => {
      if (m.length === 0) this.bandit.disable(a);
    });
    this.network = buildSurrogate(arch, victim.info.inputShape, k, rng.fork() & 0x7fffffff, 'knockoff-online');
    this.trainer = new SoftLabelTrainer(this.network, options.learningRate ?? 1e-3);
  }

  /** Queries `count` examples chosen by the policy; returns their indices and the victim's targets. */
  async round(count: number): Promise<{ indices: number[]; targets: Float32Array }> {
    const k = this.victim.info.numClasses;
    const actions: number[] = [];
    const indices: number[] = [];
    for (let q = 0; q < count && this.bandit.hasActions(); q++) {
      const a = this.bandit.sample();
      const pool = this.members[a] as number[];
      indices.push(pool.pop() as number);
      actions.push(a);
      if (pool.length === 0) this.bandit.disable(a);
    }
    const batch = take(this.transfer, indices);
    const x = toTensor(batch);
    try {
      const targets = await queryTargets(this.victim, x, this.kind);
      const predicted = tf.tidy(() => tf.softmax(this.network.apply(x, { training: false }) as tf.Tensor2D));
      const p = (await predicted.data()) as Float32Array;
      predicted.dispose();
      const [cert, div, loss] = this.stats as [RunningStats, RunningStats, RunningStats];
      actions.forEach((a, i) => {
        const y = targets.subarray(i * k, (i + 1) * k);
        this.recent.push(y);
        if (this.recent.length > DIVERSITY_WINDOW) this.recent.shift();
        const mean = new Float64Array(k);
        for (const r of this.recent)
          for (let j = 0; j < k; j++) mean[j] = (mean[j] as number) + (r[j] as number) / this.recent.length;
        const rewards = knockoffRewards(y, p.subarray(i * k, (i + 1) * k), mean);
        const reward =
          cert.standardise(rewards.certainty) + div.standardise(rewards.diversity) + loss.standardise(rewards.loss);
        this.bandit.update(a, reward);
      });
      const t = tf.tensor2d(targets, [indices.length, k]);
      tf.dispose([this.trainer.step(x, t), t]);
      return { indices, targets };
    } finally {
      x.dispose();
    }
  }

  /** The current policy over clusters (for reports and tests). */
  policy(): Float64Array {
    return this.bandit.policy();
  }

  dispose(): void {
    this.trainer.dispose();
    this.network.dispose();
  }
}

export async function knockoffNets(
  victim: Model,
  transferSet: Dataset | undefined,
  evaluator: FidelityEvaluator,
  options: KnockoffOptions,
): Promise<ExtractionOutcome> {
  const who = `knockoff (${options.strategy})`;
  if (!(KNOCKOFF_STRATEGIES as readonly string[]).includes(options.strategy)) {
    throw new AegisInputError(
      `unknown knockoff strategy '${options.strategy}'; choose ${KNOCKOFF_STRATEGIES.join(' or ')}`,
    );
  }
  const transfer = checkTransferSet(victim, transferSet, who);
  const budgets = checkBudgets(options.budgets, who);
  const total = budgets[budgets.length - 1] as number;
  if (total > size(transfer)) {
    throw new AegisInputError(
      `${who}: a budget of ${total} queries exceeds the ${size(transfer)} examples of transfer set '${transfer.name}' (each is queried once); give a larger transfer set or a smaller budget`,
    );
  }
  const { inputShape, numClasses: k } = victim.info;
  const arch = options.surrogate ?? defaultArchitecture(inputShape);
  const kind = answerKind(victim);
  const counted = new QueryCountingModel(victim, kind);
  const rng = new Rng(options.seed);
  const surrogateSeed = rng.fork() & 0x7fffffff;
  const trainSeed = rng.fork();
  const order = rng.permutation(size(transfer));
  const sampler =
    options.strategy === 'adaptive' ? new AdaptiveSampler(transfer, counted, kind, arch, options, rng) : undefined;
  const queried: number[] = [];
  const targets = new Float32Array(total * k);
  const rows: ExtractionRow[] = [];
  const t0 = performance.now();
  let surrogate: TfjsModel | undefined;
  try {
    for (const budget of budgets) {
      while (queried.length < budget) {
        const count = Math.min(options.roundSize ?? (sampler ? 32 : 256), budget - queried.length);
        if (sampler) {
          const got = await sampler.round(count);
          targets.set(got.targets, queried.length * k);
          queried.push(...got.indices);
        } else {
          const indices = order.subarray(queried.length, queried.length + count);
          const x = toTensor(take(transfer, indices));
          try {
            targets.set(await queryTargets(counted, x, kind), queried.length * k);
          } finally {
            x.dispose();
          }
          queried.push(...indices);
        }
        options.onProgress?.(queried.length, total);
      }
      const network = buildSurrogate(arch, inputShape, k, surrogateSeed, `knockoff-${options.strategy}-surrogate`);
      const trainer = new SoftLabelTrainer(network, options.learningRate ?? 1e-3);
      const x = toTensor(take(transfer, queried));
      const t = tf.tensor2d(targets.subarray(0, queried.length * k), [queried.length, k]);
      try {
        await trainer.fit(x, t, { epochs: options.epochs ?? 10, batchSize: options.batchSize, seed: trainSeed });
      } finally {
        tf.dispose([x, t]);
        trainer.dispose();
      }
      surrogate?.dispose();
      surrogate = new TfjsModel(network, {
        name: network.name,
        classNames: victim.info.classNames,
        inputRange: victim.info.inputRange,
      });
      rows.push({ queries: counted.queries, ...(await evaluator.evaluate(surrogate)), seconds: secondsSince(t0) });
    }
  } catch (error) {
    surrogate?.dispose();
    throw error;
  } finally {
    sampler?.dispose();
  }
  const hard = kind === 'labels' ? ', hard labels' : '';
  const title = `KnockoffNets (${options.strategy} queries${hard})`;
  const threatModel = makeThreatModel({
    access: kind,
    epsilons: [],
    inputRange: victim.info.inputRange,
    knowledge:
      `a transfer set of ${size(transfer)} unlabeled examples it owns ('${transfer.name}'); ` +
      `the victim answers with ${kind === 'scores' ? 'class probabilities' : 'its predicted label only (trained on one-hot targets)'}; ` +
      `at most ${total} queries; surrogate architecture ${arch}`,
  });
  return {
    result: {
      attack: `knockoff-${options.strategy}`,
      title,
      citation: KNOCKOFF_CITATION,
      atlas: EXTRACTION_ATLAS,
      threatModel,
      rows,
      charts: [fidelityChart(title, rows)],
    },
    surrogate: surrogate as TfjsModel,
  };
}
