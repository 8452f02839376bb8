// Shokri, Stronati, Song & Shmatikov 2017, "Membership Inference Attacks Against Machine Learning Models", IEEE S&P.
/**
 * Shadow models with an attack classifier. The attacker trains k shadow models on data from the
 * target's distribution, each on its own random split into a training half (IN) and a held-out
 * half (OUT), and so knows the membership of every shadow record. An attack classifier per class
 * (as in the paper) learns "member or not" from a shadow's output on a record; applied to the
 * target's output it scores the candidates. Features: the output vector sorted in decreasing
 * order (Salem et al. 2019 showed sorting loses nothing and makes the classifier class-agnostic)
 * plus the probability of the true class, as log-probabilities.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { initRuntime, tf } from '../../core/runtime.js';
import { makeThreatModel } from '../../core/threat-model.js';
import { type Dataset, featureShape, size, validateDataset } from '../../data/dataset.js';
import { buildMlp } from '../../models/builders.js';
import { networkLogits } from '../../models/tfjs-model.js';
import { trainModel } from '../../models/train.js';
import { IDENTITY } from './augment.js';
import {
  candidates,
  type MembershipData,
  type MembershipResult,
  membershipResult,
  secondsSince,
  splitScores,
} from './membership-attack.js';
import { logSoftmaxRows } from './scores.js';
import { type ShadowJob, type ShadowSpec, trainShadows } from './shadow-training.js';
import type { MembershipTarget } from './target.js';

export const SHADOW_ATTACK = {
  attack: 'shadow',
  title: 'Shadow models + attack classifier (Shokri et al.)',
  citation:
    'Shokri, Stronati, Song & Shmatikov 2017, "Membership Inference Attacks Against Machine Learning Models", IEEE S&P',
};

/** A class with fewer IN or OUT examples than this uses the classifier trained on all classes. */
const MIN_PER_CLASS = 20;

export interface ShadowAttackOptions {
  shadows: number;
  spec: ShadowSpec;
  /** The attacker's own records from the target's distribution (disjoint from the candidates). */
  shadowData: Dataset;
  /** Records per shadow training half; default: half of shadowData (capped by its size). */
  shadowTrainSize?: number;
  /** One attack classifier per class (the paper) or a single one. Default true. */
  perClass?: boolean;
  /** Attack classifier: hidden units and epochs. Defaults [64], 60. */
  attackHidden?: number[];
  attackEpochs?: number;
  seed: number;
  workers?: number;
  auditCount?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Features [n, k + 1]: sorted log-probabilities (largest first), then log p_y; scaled to ~[−5, 0]. */
export function attackFeatures(logits: ArrayLike<number>, labels: ArrayLike<number>, k: number): Float32Array {
  const n = labels.length;
  const logp = logSoftmaxRows(logits, n, k);
  const out = new Float32Array(n * (k + 1));
  for (let i = 0; i < n; i++) {
    const row = Array.from(logp.subarray(i * k, (i + 1) * k)).sort((a, b) => b - a);
    for (let j = 0; j < k; j++) out[i * (k + 1) + j] = (row[j] as number) / 10;
    out[i * (k + 1) + k] = (logp[i * k + (labels[i] as number)] as number) / 10;
  }
  return out;
}

interface AttackSet {
  x: Float32Array;
  member: Int32Array;
  cls: Int32Array;
}

/** Trains a 2-class MLP on the rows of `set` selected by `pick`; returns it (caller disposes). */
async function trainAttackModel(set: AttackSet, pick: number[], width: number, options: ShadowAttackOptions) {
  const x = new Float32Array(pick.length * width);
  const y = new Int32Array(pick.length);
  pick.forEach((r, i) => {
    x.set(set.x.subarray(r * width, (r + 1) * width), i * width);
    y[i] = set.member[r] as number;
  });
  const data: Dataset = { name: 'attack-training', x, y, shape: [pick.length, width], classNames: ['out', 'in'] };
  const net = buildMlp({
    inputShape: [width],
    numClasses: 2,
    hidden: options.attackHidden ?? [64],
    seed: options.seed,
  });
  await trainModel(net, data, {
    epochs: options.attackEpochs ?? 60,
    batchSize: 64,
    seed: options.seed,
    progress: false,
  });
  return net;
}

/** Member-vs-not log-odds of a trained attack model on feature rows. */
function memberLogOdds(
  net: import('@tensorflow/tfjs-layers').LayersModel,
  x: Float32Array,
  width: number,
): Float64Array {
  const logits = tf.tidy(() => networkLogits(net, tf.tensor2d(x, [x.length / width, width])));
  const values = logits.dataSync();
  logits.dispose();
  const out = new Float64Array(values.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (values[2 * i + 1] as number) - (values[2 * i] as number);
  return out;
}

export async function shadowAttack(
  target: MembershipTarget,
  data: MembershipData,
  options: ShadowAttackOptions,
): Promise<MembershipResult> {
  target.require('scores', 'the shadow-model attack');
  await initRuntime();
  if (!Number.isInteger(options.shadows) || options.shadows < 1) {
    throw new AegisInputError(`the shadow-model attack needs at least 1 shadow model, got ${options.shadows}`);
  }
  const own = validateDataset(options.shadowData);
  const shape = featureShape(own);
  if (shape.join(',') !== target.model.info.inputShape.join(',')) {
    throw new AegisInputError(
      `shadow data '${own.name}' has examples of shape [${shape}] but the target expects [${target.model.info.inputShape}]`,
    );
  }
  const total = size(own);
  const half = options.shadowTrainSize ?? Math.floor(total / 2);
  if (!(Number.isInteger(half) && half >= 1 && 2 * half <= total)) {
    throw new AegisInputError(
      `the shadow-model attack needs 2 × ${half} shadow records (an IN and an OUT half per shadow), but the shadow data has ${total}`,
    );
  }
  const k = target.numClasses;
  const rng = new Rng(options.seed);
  const splits = Array.from({ length: options.shadows }, () => rng.permutation(total));
  const jobs: ShadowJob[] = splits.map((order) => ({ indices: order.slice(0, half), seed: rng.fork() & 0x7fffffff }));
  const start = performance.now();
  const logits = await trainShadows({
    spec: options.spec,
    pool: { x: own.x, y: own.y, shape, numClasses: k },
    queries: { x: own.x, augmentations: [IDENTITY] },
    jobs,
    workers: options.workers,
    onProgress: options.onProgress,
  });

  // The attack training set: every shadow's IN and OUT halves, labelled with their membership.
  const width = k + 1;
  const rows = options.shadows * 2 * half;
  const set: AttackSet = { x: new Float32Array(rows * width), member: new Int32Array(rows), cls: new Int32Array(rows) };
  let r = 0;
  splits.forEach((order, s) => {
    const features = attackFeatures(logits[s] as Float32Array, own.y, k);
    for (let i = 0; i < 2 * half; i++) {
      const j = order[i] as number;
      set.x.set(features.subarray(j * width, (j + 1) * width), r * width);
      set.member[r] = i < half ? 1 : 0;
      set.cls[r] = own.y[j] as number;
      r++;
    }
  });

  const all = candidates(data);
  const before = target.queries;
  const targetLogits = await target.logits(all.x, featureShape(all), 'the shadow-model attack');
  const queries = target.queries - before;
  const targetFeatures = attackFeatures(targetLogits, all.y, k);
  const scores = new Float64Array(size(all));
  const everyRow = Array.from(set.member.keys());
  const global = await trainAttackModel(set, everyRow, width, options);
  try {
    const byGlobal = memberLogOdds(global, targetFeatures, width);
    scores.set(byGlobal);
    if (options.perClass ?? true) {
      for (let c = 0; c < k; c++) {
        const pick = everyRow.filter((i) => set.cls[i] === c);
        const ins = pick.filter((i) => set.member[i] === 1).length;
        const targets = Array.from(all.y.keys()).filter((i) => all.y[i] === c);
        if (targets.length === 0 || ins < MIN_PER_CLASS || pick.length - ins < MIN_PER_CLASS) continue;
        const net = await trainAttackModel(set, pick, width, options);
        const x = new Float32Array(targets.length * width);
        targets.forEach((t, i) => {
          x.set(targetFeatures.subarray(t * width, (t + 1) * width), i * width);
        });
        memberLogOdds(net, x, width).forEach((v, i) => {
          scores[targets[i] as number] = v;
        });
        net.dispose();
      }
    }
  } finally {
    global.dispose();
  }
  const threat = makeThreatModel({
    access: 'scores',
    epsilons: [],
    queryBudget: 1,
    knowledge: `${total} records of its own from the target's distribution (${options.shadows} ${options.spec.arch} shadow models, ${options.spec.epochs} epochs, ${half} training records each) and the candidates' labels`,
  });
  return membershipResult(
    SHADOW_ATTACK,
    threat,
    data,
    splitScores(scores, size(data.members)),
    { queries, seconds: secondsSince(start), shadows: options.shadows },
    options.auditCount,
  );
}
