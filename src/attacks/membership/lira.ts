// Carlini, Chien, Nasr, Song, Terzis & Tramèr 2022, "Membership Inference Attacks From First Principles", IEEE S&P.
/**
 * The Likelihood Ratio Attack (LiRA). N shadow models each train on a random half of a pool that
 * contains the candidate records (every record is IN for exactly half of them, as in the paper's
 * code), so for every record there are shadows that saw it and shadows that did not. The target's
 * logit-scaled confidence φ = log(p_y / (1 − p_y)) on the record is then compared with Gaussians
 * fitted per record to the shadows' φ:
 *   online:  log N(φ; μ_in, σ_in²) − log N(φ; μ_out, σ_out²)   (likelihood ratio, IN vs OUT)
 *   offline: log Pr[Z < φ], Z ~ N(μ_out, σ_out²)                (one-sided test against OUT only)
 * With few shadows the per-record variances are noisy; the paper's fixed-variance option replaces
 * them by one global variance (pooled over records). For images every record is queried under
 * augmentations (flip, ±1-pixel shifts) with one Gaussian per augmentation, and the per-augmentation
 * log-likelihoods are averaged.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { makeThreatModel } from '../../core/threat-model.js';
import { type Dataset, featureShape, size } from '../../data/dataset.js';
import { type Augmentation, augmentImages, IDENTITY, isImageShape, liraAugmentations } from './augment.js';
import { logNormalPdf, logStandardNormalCdf } from './gaussian.js';
import {
  candidates,
  type MembershipData,
  type MembershipResult,
  membershipResult,
  secondsSince,
  splitScores,
} from './membership-attack.js';
import { logitScaledConfidences } from './scores.js';
import { type ShadowJob, type ShadowSpec, trainShadows } from './shadow-training.js';
import type { MembershipTarget } from './target.js';

const CITATION =
  'Carlini, Chien, Nasr, Song, Terzis & Tramèr 2022, "Membership Inference Attacks From First Principles", IEEE S&P';
export const LIRA_ONLINE = { attack: 'lira-online', title: 'LiRA online (likelihood ratio)', citation: CITATION };
export const LIRA_OFFLINE = { attack: 'lira-offline', title: 'LiRA offline (OUT models only)', citation: CITATION };

/** Below this many shadows the paper recommends one global variance. */
export const FIXED_VARIANCE_BELOW = 64;
/** Floor on fitted standard deviations (φ is in nats; keeps a constant φ from dividing by zero). */
const MIN_STD = 1e-3;

export interface LiraOptions {
  shadows: number;
  spec: ShadowSpec;
  seed: number;
  /** Attacker-owned records added to the shadows' pool (never scored). */
  extra?: Dataset;
  /** Queries per record; default: flip × {no shift, ±1 pixel in x and y} for images, identity otherwise. */
  augmentations?: Augmentation[];
  /** Queries per record allowed (the first that many augmentations are used). */
  queryBudget?: number;
  /** Default: true when shadows < 64 (the paper's advice for small N). */
  fixedVariance?: boolean;
  workers?: number;
  auditCount?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Per-record Gaussian fits: value arrays [records][augmentations]. */
export interface Fit {
  mean: Float64Array;
  std: Float64Array;
  count: Int32Array;
}

/**
 * Which pool records each shadow trains on: for every record, a random half of the shadows
 * (exactly ⌊N/2⌋ of them), as Carlini et al.'s code does with `argsort` of uniform draws.
 */
export function inclusionMatrix(shadows: number, records: number, rng: Rng): Uint8Array[] {
  const keep = Array.from({ length: shadows }, () => new Uint8Array(records));
  const half = Math.floor(shadows / 2);
  for (let r = 0; r < records; r++) {
    const order = rng.permutation(shadows);
    for (let s = 0; s < half; s++) (keep[order[s] as number] as Uint8Array)[r] = 1;
  }
  return keep;
}

/** Mean and std of φ per (record, augmentation) over the shadows where `want(s, record)`. */
export function fitGaussians(
  phi: Float64Array[],
  records: number,
  augs: number,
  want: (s: number, r: number) => boolean,
  fixedVariance: boolean,
): Fit {
  const cells = records * augs;
  const mean = new Float64Array(cells);
  const sq = new Float64Array(cells);
  const count = new Int32Array(cells);
  phi.forEach((values, s) => {
    for (let r = 0; r < records; r++) {
      if (!want(s, r)) continue;
      for (let a = 0; a < augs; a++) {
        const v = values[a * records + r] as number;
        const c = r * augs + a;
        mean[c] = (mean[c] as number) + v;
        sq[c] = (sq[c] as number) + v * v;
        count[c] = (count[c] as number) + 1;
      }
    }
  });
  // Pooled within-record variance per augmentation: the global variance used when fixed or when a
  // record has fewer than two shadow values.
  const pooledSum = new Float64Array(augs);
  const pooledDf = new Float64Array(augs);
  const allSum = new Float64Array(augs);
  const allSq = new Float64Array(augs);
  const allN = new Float64Array(augs);
  for (let c = 0; c < cells; c++) {
    const a = c % augs;
    const n = count[c] as number;
    if (n === 0) continue;
    const m = (mean[c] as number) / n;
    allSum[a] = (allSum[a] as number) + (mean[c] as number);
    allSq[a] = (allSq[a] as number) + (sq[c] as number);
    allN[a] = (allN[a] as number) + n;
    mean[c] = m;
    const ss = Math.max(0, (sq[c] as number) - n * m * m);
    sq[c] = ss;
    if (n >= 2) {
      pooledSum[a] = (pooledSum[a] as number) + ss;
      pooledDf[a] = (pooledDf[a] as number) + n - 1;
    }
  }
  const globalStd = Array.from({ length: augs }, (_, a) => {
    if ((pooledDf[a] as number) > 0) return Math.sqrt((pooledSum[a] as number) / (pooledDf[a] as number));
    const n = allN[a] as number; // one value per record: fall back to the spread across records
    const m = (allSum[a] as number) / n;
    return Math.sqrt(Math.max(0, (allSq[a] as number) / n - m * m));
  });
  const std = new Float64Array(cells);
  for (let c = 0; c < cells; c++) {
    const n = count[c] as number;
    const own = n >= 2 ? Math.sqrt((sq[c] as number) / (n - 1)) : Number.NaN;
    std[c] = Math.max(MIN_STD, fixedVariance || !(n >= 2) ? (globalStd[c % augs] as number) : own);
  }
  return { mean, std, count };
}

/**
 * Per record, averaged over augmentations: the online score log p_in(φ) − log p_out(φ) and the
 * offline score log Φ((φ − μ_out)/σ_out). `observed` is [augmentations][records] of the target's φ.
 */
export function liraScores(
  observed: Float64Array,
  fitIn: Fit,
  fitOut: Fit,
  n: number,
  augmentations: number,
): { online: Float64Array; offline: Float64Array } {
  const online = new Float64Array(n);
  const offline = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let on = 0;
    let off = 0;
    for (let a = 0; a < augmentations; a++) {
      const c = r * augmentations + a;
      const v = observed[a * n + r] as number;
      const muOut = fitOut.mean[c] as number;
      const sdOut = fitOut.std[c] as number;
      on += logNormalPdf(v, fitIn.mean[c] as number, fitIn.std[c] as number) - logNormalPdf(v, muOut, sdOut);
      off += logStandardNormalCdf((v - muOut) / sdOut);
    }
    online[r] = on / augmentations;
    offline[r] = off / augmentations;
  }
  return { online, offline };
}

function defaultAugmentations(shape: number[]): Augmentation[] {
  return isImageShape(shape) ? liraAugmentations(1) : [IDENTITY];
}

/** φ of the target on every candidate under every augmentation: [augmentations][records]. */
async function targetPhi(target: MembershipTarget, all: Dataset, augs: Augmentation[]): Promise<Float64Array> {
  const n = size(all);
  const shape = featureShape(all);
  const out = new Float64Array(augs.length * n);
  for (let a = 0; a < augs.length; a++) {
    const aug = augs[a] as Augmentation;
    const x = aug === IDENTITY || (!aug.flip && !aug.dx && !aug.dy) ? all.x : augmentImages(all.x, shape, aug);
    const logits = await target.logits(x, shape, 'LiRA');
    out.set(logitScaledConfidences(logits, all.y, target.numClasses), a * n);
  }
  return out;
}

function concat(a: Dataset, b: Dataset | undefined): Dataset {
  if (!b) return a;
  if (featureShape(a).join(',') !== featureShape(b).join(',')) {
    throw new AegisInputError(
      `LiRA: extra pool records have shape [${featureShape(b)}], candidates [${featureShape(a)}]`,
    );
  }
  const x = new Float32Array(a.x.length + b.x.length);
  x.set(a.x);
  x.set(b.x, a.x.length);
  const y = new Int32Array(a.y.length + b.y.length);
  y.set(a.y);
  y.set(b.y, a.y.length);
  return { ...a, x, y, shape: [y.length, ...featureShape(a)] };
}

/** Runs LiRA; returns [online, offline] from the same shadows and queries. */
export async function liraAttacks(
  target: MembershipTarget,
  data: MembershipData,
  options: LiraOptions,
): Promise<[MembershipResult, MembershipResult]> {
  target.require('scores', 'LiRA');
  if (!Number.isInteger(options.shadows) || options.shadows < 2) {
    throw new AegisInputError(
      `LiRA needs at least 2 shadow models (some trained with each record, some without), got ${options.shadows}`,
    );
  }
  const all = candidates(data);
  const shape = featureShape(all);
  let augs = options.augmentations ?? defaultAugmentations(shape);
  if (options.queryBudget !== undefined) {
    if (!(Number.isInteger(options.queryBudget) && options.queryBudget > 0)) {
      throw new AegisInputError(
        `LiRA: the query budget must be a positive number of queries per record, got ${options.queryBudget}`,
      );
    }
    augs = augs.slice(0, options.queryBudget);
  }
  const n = size(all);
  const rng = new Rng(options.seed);
  const pool = concat(all, options.extra);
  const keep = inclusionMatrix(options.shadows, size(pool), rng);
  const jobs: ShadowJob[] = keep.map((row) => {
    const indices: number[] = [];
    for (let i = 0; i < row.length; i++) if (row[i]) indices.push(i);
    return { indices: Int32Array.from(indices), seed: rng.fork() & 0x7fffffff };
  });

  const start = performance.now();
  const k = target.numClasses;
  const logits = await trainShadows({
    spec: options.spec,
    pool: { x: pool.x, y: pool.y, shape, numClasses: k },
    queries: { x: all.x, augmentations: augs },
    jobs,
    workers: options.workers,
    onProgress: options.onProgress,
  });
  const phi = logits.map((l) => {
    const out = new Float64Array(augs.length * n);
    for (let a = 0; a < augs.length; a++) {
      out.set(logitScaledConfidences(l.subarray(a * n * k, (a + 1) * n * k), all.y, k), a * n);
    }
    return out;
  });
  const fixed = options.fixedVariance ?? options.shadows < FIXED_VARIANCE_BELOW;
  const fitIn = fitGaussians(phi, n, augs.length, (s, r) => keep[s]?.[r] === 1, fixed);
  const fitOut = fitGaussians(phi, n, augs.length, (s, r) => keep[s]?.[r] === 0, fixed);

  const before = target.queries;
  const observed = await targetPhi(target, all, augs);
  const queries = target.queries - before;
  const { online, offline } = liraScores(observed, fitIn, fitOut, n, augs.length);
  const seconds = secondsSince(start);
  const m = size(data.members);
  const cost = { queries, seconds, shadows: options.shadows };
  const threat = makeThreatModel({
    access: 'scores',
    epsilons: [],
    queryBudget: augs.length,
    knowledge: `the candidate records and their labels, data from the same distribution, and the training recipe (${options.shadows} ${options.spec.arch} shadow models, ${options.spec.epochs} epochs, each on a random half of ${size(pool)} records; ${augs.length} augmented queries per record${fixed ? '; fixed variance' : ''})`,
  });
  return [
    membershipResult(LIRA_ONLINE, threat, data, splitScores(online, m), cost, options.auditCount),
    membershipResult(LIRA_OFFLINE, threat, data, splitScores(offline, m), cost, options.auditCount),
  ];
}
