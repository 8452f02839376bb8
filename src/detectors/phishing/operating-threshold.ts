// Operating threshold from out-of-fold benign scores: the empirical order statistic (Fawcett 2006) or a peaks-over-threshold tail fit (Siffer et al., KDD 2017), checked by nested cross-validation (Varma & Simon 2006).
/**
 * Two rules pick the logit above which an event is flagged, both from scores of legitimate
 * TRAINING events scored out-of-fold:
 *
 * - 'order-statistic': flag at most ⌊targetFpr · n⌋ of them (metrics.ts thresholdAtFpr). At
 *   0.1% of ~3,000 scores this is the 3rd-highest legitimate score alone.
 * - 'tail-fit': the generalized-Pareto estimate of the (1 − targetFpr) quantile (./tail-threshold.ts),
 *   which uses the top 2% of the scores and so varies less from sample to sample.
 *
 * nestedThresholdCheck says how a rule would have done on unseen legitimate mail without touching
 * test data: the threshold is chosen from k − 1 folds' out-of-fold scores and applied to the k-th,
 * for each k; the false positives and catches are summed over the k held-out folds.
 */
import { AegisInputError } from '../../core/errors.js';
import { thresholdAtFpr } from '../metrics.js';
import { type TailFitOptions, tailThreshold } from './tail-threshold.js';

export const THRESHOLD_RULES = ['order-statistic', 'tail-fit'] as const;
export type ThresholdRule = (typeof THRESHOLD_RULES)[number];

export function parseThresholdRule(text: string): ThresholdRule {
  if (!(THRESHOLD_RULES as readonly string[]).includes(text)) {
    throw new AegisInputError(`threshold rule must be one of ${THRESHOLD_RULES.join(', ')}, got '${text}'`);
  }
  return text as ThresholdRule;
}

/** The logit threshold of `rule` on benign (legitimate) scores: flag when score > threshold. */
export function chooseThreshold(
  benignScores: ArrayLike<number>,
  targetFpr: number,
  rule: ThresholdRule,
  tail: TailFitOptions = {},
): number {
  if (rule === 'order-statistic') return thresholdAtFpr(benignScores, targetFpr);
  if (rule === 'tail-fit') return tailThreshold(benignScores, targetFpr, tail).threshold;
  throw new AegisInputError(`unknown threshold rule '${String(rule)}'`);
}

export interface NestedCheck {
  rule: ThresholdRule;
  /** Legitimate events flagged in the held-out folds, of `legitimate`. */
  falsePositives: number;
  legitimate: number;
  falsePositiveRate: number;
  /** Share of phishing events flagged in the held-out folds. */
  recall: number;
  /** The threshold chosen without each fold, in fold order. */
  thresholds: number[];
}

/** Nested check of a threshold rule on out-of-fold scores (see the header). */
export function nestedThresholdCheck(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  fold: ArrayLike<number>,
  targetFpr: number,
  rule: ThresholdRule,
  tail: TailFitOptions = {},
): NestedCheck {
  if (scores.length !== labels.length || scores.length !== fold.length) {
    throw new AegisInputError(
      `nested threshold check: ${scores.length} scores, ${labels.length} labels, ${fold.length} fold ids`,
    );
  }
  const k = Math.max(...Array.from(fold)) + 1;
  let falsePositives = 0;
  let legitimate = 0;
  let caught = 0;
  let phishing = 0;
  const thresholds: number[] = [];
  for (let f = 0; f < k; f++) {
    const benign: number[] = [];
    for (let i = 0; i < scores.length; i++) if (labels[i] === 0 && fold[i] !== f) benign.push(scores[i] as number);
    const t = chooseThreshold(benign, targetFpr, rule, tail);
    thresholds.push(t);
    for (let i = 0; i < scores.length; i++) {
      if (fold[i] !== f) continue;
      const flagged = (scores[i] as number) > t;
      if (labels[i] === 1) {
        phishing++;
        if (flagged) caught++;
      } else {
        legitimate++;
        if (flagged) falsePositives++;
      }
    }
  }
  return {
    rule,
    falsePositives,
    legitimate,
    falsePositiveRate: legitimate === 0 ? 0 : falsePositives / legitimate,
    recall: phishing === 0 ? 0 : caught / phishing,
    thresholds,
  };
}
