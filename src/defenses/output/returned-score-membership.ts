// Salem, Zhang, Humbert, Berrang, Fritz & Backes 2019, "ML-Leaks: Model and Data Independent Membership Inference Attacks and Defenses on Machine Learning Models", NDSS.
/**
 * Membership scores read straight off the returned vector, as it is returned — the defense-aware
 * counterpart of the project's threshold attacks (src/attacks/membership/threshold.ts), which
 * renormalise the scores through a softmax of their logarithms. Renormalising is harmless on a
 * plain model but hides what an output defense leaves: top-1 without renormalisation returns
 * (0, …, p_max, …, 0), whose renormalised confidence is always 1 while p_max itself leaks exactly
 * as much as before. Two scores, one query per record:
 *   returned-confidence: the largest returned score (label-free, Salem et al.'s metric attack);
 *   returned-true-score: the returned score of the record's true class (Yeom et al.'s loss
 *     attack without the log; 0 when a defense zeroed it).
 */

import {
  candidates,
  checkMembershipData,
  type MembershipData,
  type MembershipResult,
  membershipResult,
  secondsSince,
  splitScores,
} from '../../attacks/membership/membership-attack.js';
import { MembershipTarget } from '../../attacks/membership/target.js';
import { makeThreatModel } from '../../core/threat-model.js';
import { featureShape, size } from '../../data/dataset.js';
import type { Model } from '../../models/model.js';

const SALEM =
  'Salem, Zhang, Humbert, Berrang, Fritz & Backes 2019, "ML-Leaks: Model and Data Independent Membership Inference Attacks and Defenses on Machine Learning Models", NDSS';
const YEOM =
  'Yeom, Giacomelli, Fredrikson & Jha 2018, "Privacy Risk in Machine Learning: Analyzing the Connection to Overfitting", IEEE CSF';

export const RETURNED_CONFIDENCE = {
  attack: 'returned-confidence',
  title: 'Largest returned score, not renormalised (defense-aware)',
  citation: SALEM,
};
export const RETURNED_TRUE_SCORE = {
  attack: 'returned-true-score',
  title: 'Returned score of the true class, not renormalised (defense-aware)',
  citation: YEOM,
};

/** Runs both scores on one query per record; returns [returned-confidence, returned-true-score]. */
export async function returnedScoreAttacks(
  model: Model,
  data: MembershipData,
  options: { auditCount?: number } = {},
): Promise<[MembershipResult, MembershipResult]> {
  checkMembershipData(model, data);
  // 'scores': read what the API returns, never a white-box model's logits.
  const target = new MembershipTarget(model, 'scores');
  target.require('scores', 'the returned-score membership attack');
  const all = candidates(data);
  const n = size(all);
  const k = target.numClasses;
  const start = performance.now();
  // target.logits returns log(max(p, 1e-38)) of the returned p: exp gives the scores back.
  const logs = await target.logits(all.x, featureShape(all), 'the returned-score membership attack');
  const confidence = new Float64Array(n);
  const trueScore = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let max = 0;
    for (let j = 0; j < k; j++) max = Math.max(max, Math.exp(logs[i * k + j] as number));
    confidence[i] = max;
    trueScore[i] = Math.exp(logs[i * k + (all.y[i] as number)] as number);
  }
  const cost = { queries: target.queries, seconds: secondsSince(start) };
  const threat = makeThreatModel({
    access: 'scores',
    epsilons: [],
    queryBudget: 1,
    knowledge: 'the candidate records and their labels, and that the scores are post-processed (one query each)',
  });
  const m = size(data.members);
  return [
    membershipResult(
      RETURNED_CONFIDENCE,
      { ...threat, knowledge: 'the candidate records (labels not needed; one query each)' },
      data,
      splitScores(confidence, m),
      cost,
      options.auditCount,
    ),
    membershipResult(RETURNED_TRUE_SCORE, threat, data, splitScores(trueScore, m), cost, options.auditCount),
  ];
}
