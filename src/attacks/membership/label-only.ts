// Choquette-Choo, Tramèr, Carlini & Papernot 2021, "Label-Only Membership Inference Attacks", ICML.
/**
 * Label-only membership inference from predicted labels alone, data-augmentation variant: a model
 * keeps classifying augmented copies of its training records correctly more often than copies of
 * unseen records. Each candidate is queried under flips and pixel shifts (images) or small
 * Gaussian noise (other data); the score is the fraction of copies classified as the true label.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { makeThreatModel } from '../../core/threat-model.js';
import { featureShape, size } from '../../data/dataset.js';
import { augmentImages, isImageShape, shiftGrid } from './augment.js';
import {
  candidates,
  type MembershipData,
  type MembershipResult,
  membershipResult,
  secondsSince,
  splitScores,
} from './membership-attack.js';
import type { MembershipTarget } from './target.js';

export const LABEL_ONLY = {
  attack: 'label-only',
  title: 'Label-only, data augmentation (Choquette-Choo et al.)',
  citation: 'Choquette-Choo, Tramèr, Carlini & Papernot 2021, "Label-Only Membership Inference Attacks", ICML',
};

export interface LabelOnlyOptions {
  seed: number;
  /** Largest pixel shift for images (grid of flips × shifts in [−r, r]²). Default 1 (18 copies). */
  shiftRadius?: number;
  /** Copies per record for non-image data. Default 20. */
  noiseCopies?: number;
  /** Noise std for non-image data, as a fraction of the input range. Default 0.05. */
  noiseScale?: number;
  /** Queries per record allowed; fewer copies are used when it is smaller. */
  queryBudget?: number;
  inputRange?: [number, number];
  auditCount?: number;
  onProgress?: (done: number, total: number) => void;
}

export async function labelOnlyAttack(
  target: MembershipTarget,
  data: MembershipData,
  options: LabelOnlyOptions,
): Promise<MembershipResult> {
  target.require('labels', 'the label-only attack');
  const all = candidates(data);
  const shape = featureShape(all);
  const n = size(all);
  const images = isImageShape(shape);
  const [low, high] = options.inputRange ?? target.model.info.inputRange;
  let copies: ((x: Float32Array) => Float32Array)[];
  if (images) {
    copies = shiftGrid(options.shiftRadius ?? 1).map((aug) => (x: Float32Array) => augmentImages(x, shape, aug));
  } else {
    const rng = new Rng(options.seed);
    const sd = (options.noiseScale ?? 0.05) * (high - low);
    copies = Array.from({ length: options.noiseCopies ?? 20 }, () => {
      const seed = rng.fork();
      return (x: Float32Array) => {
        const noise = new Rng(seed);
        return x.map((v) => Math.min(high, Math.max(low, v + sd * noise.normal())));
      };
    });
  }
  if (options.queryBudget !== undefined) {
    if (!(Number.isInteger(options.queryBudget) && options.queryBudget > 0)) {
      throw new AegisInputError(
        `the label-only attack: the query budget must be a positive number of queries per record, got ${options.queryBudget}`,
      );
    }
    copies = copies.slice(0, options.queryBudget);
  }
  const start = performance.now();
  const before = target.queries;
  const correct = new Float64Array(n);
  for (let c = 0; c < copies.length; c++) {
    const labels = await target.labels((copies[c] as (x: Float32Array) => Float32Array)(all.x), shape);
    for (let i = 0; i < n; i++) if (labels[i] === all.y[i]) correct[i] = (correct[i] as number) + 1;
    options.onProgress?.(c + 1, copies.length);
  }
  const scores = correct.map((v) => v / copies.length);
  const threat = makeThreatModel({
    access: 'labels',
    epsilons: [],
    queryBudget: copies.length,
    knowledge: `the candidate records and their labels; predicted labels of ${copies.length} ${images ? 'flipped/shifted' : 'noisy'} copies each`,
  });
  return membershipResult(
    LABEL_ONLY,
    threat,
    data,
    splitScores(scores, size(data.members)),
    { queries: target.queries - before, seconds: secondsSince(start) },
    options.auditCount,
  );
}
