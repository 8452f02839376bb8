// Choquette-Choo, Tramèr, Carlini & Papernot 2021, "Label-Only Membership Inference Attacks", ICML (boundary distance, §4.2).
/**
 * Label-only membership inference, boundary-distance variant: training records lie farther from
 * the decision boundary, so the L2 distance to the nearest misclassified input — found with
 * HopSkipJumpAttack from labels alone — is the membership score. A record the target already
 * misclassifies scores 0; one whose search finds no adversarial within the budget scores the
 * largest distance seen (it is at least that robust).
 */
import { Rng } from '../../core/rng.js';
import { makeThreatModel } from '../../core/threat-model.js';
import { featureShape, size } from '../../data/dataset.js';
import { hopSkipJump } from '../evasion/hop-skip-jump.js';
import {
  candidates,
  type MembershipData,
  type MembershipResult,
  membershipResult,
  secondsSince,
  splitScores,
} from './membership-attack.js';
import type { MembershipTarget } from './target.js';

export const LABEL_ONLY_BOUNDARY = {
  attack: 'label-only-boundary',
  title: 'Label-only, boundary distance via HopSkipJump (Choquette-Choo et al.)',
  citation: 'Choquette-Choo, Tramèr, Carlini & Papernot 2021, "Label-Only Membership Inference Attacks", ICML',
};

export interface BoundaryOptions {
  seed: number;
  /** HopSkipJump iterations. Default 10. */
  iterations?: number;
  /** Queries per record. Default 1000. */
  queryBudget?: number;
  auditCount?: number;
  onProgress?: (done: number, total: number) => void;
}

export async function labelOnlyBoundaryAttack(
  target: MembershipTarget,
  data: MembershipData,
  options: BoundaryOptions,
): Promise<MembershipResult> {
  target.require('labels', 'the label-only boundary attack');
  const all = candidates(data);
  const iterations = options.iterations ?? 10;
  const budget = options.queryBudget ?? 1000;
  const start = performance.now();
  const counted = new CountingView(target);
  const outcome = await hopSkipJump({
    model: counted,
    x: all.x,
    y: all.y,
    shape: featureShape(all),
    settings: { norm: 'l2', iterations, queryBudget: budget, range: target.model.info.inputRange, batchSize: 1024 },
    rng: new Rng(options.seed),
    onIteration: (t) => options.onProgress?.(t, iterations),
  });
  let largest = 0;
  for (let i = 0; i < size(all); i++) if (outcome.found[i]) largest = Math.max(largest, outcome.distances[i] as number);
  const scores = Float64Array.from(outcome.distances, (d, i) => (outcome.found[i] ? d : largest));
  const threat = makeThreatModel({
    access: 'labels',
    epsilons: [],
    queryBudget: budget,
    knowledge: `the candidate records and their labels; predicted labels only (HopSkipJump, ${iterations} iterations)`,
  });
  return membershipResult(
    LABEL_ONLY_BOUNDARY,
    threat,
    data,
    splitScores(scores, size(data.members)),
    { queries: counted.queries, seconds: secondsSince(start) },
    options.auditCount,
  );
}

/** HopSkipJump takes a Model; this one answers labels through the counted target and refuses scores. */
class CountingView {
  queries = 0;
  constructor(private readonly target: MembershipTarget) {}
  get info() {
    return { ...this.target.model.info, access: 'labels' as const };
  }
  async predictLabels(x: import('../../core/runtime.js').tf.Tensor): Promise<Int32Array> {
    this.queries += x.shape[0] ?? 0;
    this.target.queries += x.shape[0] ?? 0;
    return this.target.model.predictLabels(x);
  }
  async predictScores(): Promise<never> {
    throw new Error('the label-only boundary attack uses labels only');
  }
  dispose(): void {}
}
