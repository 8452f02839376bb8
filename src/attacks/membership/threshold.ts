// Yeom, Giacomelli, Fredrikson & Jha 2018, "Privacy Risk in Machine Learning: Analyzing the Connection to Overfitting", IEEE CSF.
/**
 * The loss threshold attack: a record is a member when the target's loss on it is low, so the
 * membership score is −cross-entropy. The confidence variant thresholds the largest class
 * probability instead and needs no label (Salem et al. 2019, ML-Leaks, "metric-based" attack).
 * One query per record; the threshold is swept by the ROC metrics.
 */
import { makeThreatModel } from '../../core/threat-model.js';
import { featureShape, size } from '../../data/dataset.js';
import {
  candidates,
  type MembershipData,
  type MembershipResult,
  membershipResult,
  secondsSince,
  splitScores,
} from './membership-attack.js';
import { crossEntropyLosses, maxProbabilities } from './scores.js';
import type { MembershipTarget } from './target.js';

export const LOSS_THRESHOLD = {
  attack: 'loss-threshold',
  title: 'Loss threshold (Yeom et al.)',
  citation:
    'Yeom, Giacomelli, Fredrikson & Jha 2018, "Privacy Risk in Machine Learning: Analyzing the Connection to Overfitting", IEEE CSF',
};

export const CONFIDENCE_THRESHOLD = {
  attack: 'confidence-threshold',
  title: 'Confidence threshold (label-free)',
  citation:
    'Salem et al. 2019, "ML-Leaks: Model and Data Independent Membership Inference Attacks and Defenses on Machine Learning Models", NDSS',
};

export interface ThresholdOptions {
  auditCount?: number;
}

/** Runs both threshold attacks on one set of queries; returns [loss, confidence]. */
export async function thresholdAttacks(
  target: MembershipTarget,
  data: MembershipData,
  options: ThresholdOptions = {},
): Promise<[MembershipResult, MembershipResult]> {
  target.require('scores', 'the loss threshold attack');
  const all = candidates(data);
  const start = performance.now();
  const before = target.queries;
  const logits = await target.logits(all.x, featureShape(all), 'the loss threshold attack');
  const k = target.numClasses;
  const losses = crossEntropyLosses(logits, all.y, k);
  const lossScores = losses.map((l) => -l);
  const confidence = maxProbabilities(logits, size(all), k);
  const cost = { queries: target.queries - before, seconds: secondsSince(start) };
  const threat = makeThreatModel({
    access: 'scores',
    epsilons: [],
    queryBudget: 1,
    knowledge: 'the candidate records and their labels (one query each)',
  });
  const m = size(data.members);
  return [
    membershipResult(LOSS_THRESHOLD, threat, data, splitScores(lossScores, m), cost, options.auditCount),
    membershipResult(
      CONFIDENCE_THRESHOLD,
      { ...threat, knowledge: 'the candidate records (labels not needed; one query each)' },
      data,
      splitScores(confidence, m),
      cost,
      options.auditCount,
    ),
  ];
}
