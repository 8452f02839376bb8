// Carlini, Chien, Nasr, Song, Terzis & Tramèr 2022, "Membership Inference Attacks From First Principles", IEEE S&P.
/**
 * LiRA against an output defense, by an attacker who knows the defense: its shadow models'
 * probabilities pass through the same post-processing before φ = log(p_y / (1 − p_y)) is taken,
 * so the shadows' φ distributions describe what the defended target returns. (The project's
 * liraAttacks compares the defended target with undefended shadows: a defense then "wins" only
 * because the two no longer match.) Shadows are trained once by trainLiraShadows — the same
 * inclusion pattern, augmentations and Gaussian fits as src/attacks/membership/lira.ts — and
 * reused for every defense; scores are its online and offline tests.
 */

import {
  type Augmentation,
  augmentImages,
  IDENTITY,
  isImageShape,
  liraAugmentations,
} from '../../attacks/membership/augment.js';
import { FIXED_VARIANCE_BELOW, fitGaussians, inclusionMatrix, liraScores } from '../../attacks/membership/lira.js';
import {
  candidates,
  checkMembershipData,
  type MembershipData,
  type MembershipResult,
  membershipResult,
  secondsSince,
  splitScores,
} from '../../attacks/membership/membership-attack.js';
import { logitScaledConfidences } from '../../attacks/membership/scores.js';
import { type ShadowSpec, trainShadows } from '../../attacks/membership/shadow-training.js';
import { MembershipTarget } from '../../attacks/membership/target.js';
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { makeThreatModel } from '../../core/threat-model.js';
import { type Dataset, featureShape, size } from '../../data/dataset.js';
import type { Model } from '../../models/model.js';
import { outputTransformOf, type ScoreTransform } from './output-model.js';

const CITATION =
  'Carlini, Chien, Nasr, Song, Terzis & Tramèr 2022, "Membership Inference Attacks From First Principles", IEEE S&P';
export const AWARE_LIRA_ONLINE = {
  attack: 'lira-online-aware',
  title: 'LiRA online, shadows answered through the defense',
  citation: CITATION,
};
export const AWARE_LIRA_OFFLINE = {
  attack: 'lira-offline-aware',
  title: 'LiRA offline, shadows answered through the defense',
  citation: CITATION,
};

export interface LiraShadowOptions {
  shadows: number;
  spec: ShadowSpec;
  seed: number;
  /** Default: flip × {no shift, ±1 pixel} for images (10 queries), identity otherwise. */
  augmentations?: Augmentation[];
  workers?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Trained shadows' logits on every candidate under every augmentation, with who trained on what. */
export interface LiraShadowSet {
  data: MembershipData;
  all: Dataset;
  augmentations: Augmentation[];
  /** keep[s][r] = 1 when shadow s trained on candidate r. */
  keep: Uint8Array[];
  /** Per shadow: logits [augmentations][records][k]. */
  logits: Float32Array[];
  numClasses: number;
  spec: ShadowSpec;
  seconds: number;
}

/** Trains the shadows once (each on a random half of the candidates, every record IN for half of them). */
export async function trainLiraShadows(
  data: MembershipData,
  numClasses: number,
  options: LiraShadowOptions,
): Promise<LiraShadowSet> {
  if (!Number.isInteger(options.shadows) || options.shadows < 2) {
    throw new AegisInputError(`LiRA needs at least 2 shadow models, got ${options.shadows}`);
  }
  const all = candidates(data);
  const shape = featureShape(all);
  const augmentations = options.augmentations ?? (isImageShape(shape) ? liraAugmentations(1) : [IDENTITY]);
  const rng = new Rng(options.seed);
  const keep = inclusionMatrix(options.shadows, size(all), rng);
  const jobs = keep.map((row) => ({
    indices: Int32Array.from(Array.from(row.keys()).filter((i) => row[i] === 1)),
    seed: rng.fork() & 0x7fffffff,
  }));
  const start = performance.now();
  const logits = await trainShadows({
    spec: options.spec,
    pool: { x: all.x, y: all.y, shape, numClasses },
    queries: { x: all.x, augmentations },
    jobs,
    workers: options.workers,
    onProgress: options.onProgress,
  });
  return { data, all, augmentations, keep, logits, numClasses, spec: options.spec, seconds: secondsSince(start) };
}

/** softmax of each row in float64, stored as float32 like a served model's answer. */
function softmaxRows(logits: Float32Array, k: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length / k; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[i * k + j] as number);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp((logits[i * k + j] as number) - max);
    for (let j = 0; j < k; j++) out[i * k + j] = Math.exp((logits[i * k + j] as number) - max) / sum;
  }
  return out;
}

/** φ of returned probabilities, with MembershipTarget's floor for zeros (log 1e-38). */
function phiOfScores(scores: Float32Array, labels: Int32Array, k: number): Float64Array {
  const logs = scores.map((p) => Math.log(Math.max(p, 1e-38)));
  return logitScaledConfidences(logs, labels, k);
}

/** One shadow's φ [augmentations][records] after the defense's post-processing. */
function shadowPhi(set: LiraShadowSet, logits: Float32Array, transform: ScoreTransform): Float64Array {
  const n = size(set.all);
  const k = set.numClasses;
  const out = new Float64Array(set.augmentations.length * n);
  for (let a = 0; a < set.augmentations.length; a++) {
    const answered = transform(softmaxRows(logits.subarray(a * n * k, (a + 1) * n * k), k), k);
    out.set(phiOfScores(answered, set.all.y, k), a * n);
  }
  return out;
}

/** Runs LiRA online and offline against `model` (scores needed) with the shared shadows. */
export async function defenseAwareLira(
  model: Model,
  set: LiraShadowSet,
  options: { auditCount?: number } = {},
): Promise<[MembershipResult, MembershipResult]> {
  checkMembershipData(model, set.data);
  const target = new MembershipTarget(model, 'scores');
  target.require('scores', 'LiRA');
  const transform = outputTransformOf(model);
  const { all, augmentations: augs, keep } = set;
  const n = size(all);
  const k = set.numClasses;
  const start = performance.now();
  const phi = set.logits.map((l) => shadowPhi(set, l, transform));
  const fixed = set.logits.length < FIXED_VARIANCE_BELOW;
  const fitIn = fitGaussians(phi, n, augs.length, (s, r) => keep[s]?.[r] === 1, fixed);
  const fitOut = fitGaussians(phi, n, augs.length, (s, r) => keep[s]?.[r] === 0, fixed);

  const shape = featureShape(all);
  const observed = new Float64Array(augs.length * n);
  for (let a = 0; a < augs.length; a++) {
    const aug = augs[a] as Augmentation;
    const x = !aug.flip && !aug.dx && !aug.dy ? all.x : augmentImages(all.x, shape, aug);
    // log(max(p, 1e-38)) of the returned scores, as phiOfScores does for the shadows.
    observed.set(logitScaledConfidences(await target.logits(x, shape, 'LiRA'), all.y, k), a * n);
  }
  const { online, offline } = liraScores(observed, fitIn, fitOut, n, augs.length);
  const m = size(set.data.members);
  const cost = { queries: target.queries, seconds: secondsSince(start) + set.seconds, shadows: set.logits.length };
  const threat = makeThreatModel({
    access: 'scores',
    epsilons: [],
    queryBudget: augs.length,
    knowledge: `the candidate records and their labels, the training recipe and the output defense (${set.logits.length} ${set.spec.arch} shadow models, ${set.spec.epochs} epochs, each on a random half of the ${n} candidates, answered through the defense; ${augs.length} augmented queries per record${fixed ? '; fixed variance' : ''})`,
  });
  return [
    membershipResult(AWARE_LIRA_ONLINE, threat, set.data, splitScores(online, m), cost, options.auditCount),
    membershipResult(AWARE_LIRA_OFFLINE, threat, set.data, splitScores(offline, m), cost, options.auditCount),
  ];
}
