/**
 * Runs the chosen membership attacks against one target: checks every input and the access each
 * attack needs before any shadow model trains, then runs them in order. `threshold` yields the
 * loss and confidence rows, `lira` the online and offline rows (one set of shadows for both).
 */
import { AegisInputError } from '../../core/errors.js';
import type { Access } from '../../core/threat-model.js';
import { type Dataset, featureShape } from '../../data/dataset.js';
import { evaluateAccuracy } from '../../models/evaluate.js';
import type { Model } from '../../models/model.js';
import { labelOnlyAttack } from './label-only.js';
import { labelOnlyBoundaryAttack } from './label-only-boundary.js';
import { liraAttacks } from './lira.js';
import { checkMembershipData, type MembershipData, type MembershipResult, rocChart } from './membership-attack.js';
import { shadowAttack } from './shadow-attack.js';
import type { ShadowSpec } from './shadow-training.js';
import { MembershipTarget } from './target.js';
import { thresholdAttacks } from './threshold.js';

export const MEMBERSHIP_ATTACKS = ['threshold', 'shadow', 'lira', 'label-only', 'boundary'] as const;
export type MembershipAttackName = (typeof MEMBERSHIP_ATTACKS)[number];

const NEEDS: Record<MembershipAttackName, { access: Access; who: string }> = {
  threshold: { access: 'scores', who: 'the loss threshold attack' },
  shadow: { access: 'scores', who: 'the shadow-model attack' },
  lira: { access: 'scores', who: 'LiRA' },
  'label-only': { access: 'labels', who: 'the label-only attack' },
  boundary: { access: 'labels', who: 'the label-only boundary attack' },
};

export function parseMembershipAttacks(names: string[]): MembershipAttackName[] {
  if (names.length === 0) throw new AegisInputError(`--attack needs at least one of ${MEMBERSHIP_ATTACKS.join(', ')}`);
  for (const name of names) {
    if (!(MEMBERSHIP_ATTACKS as readonly string[]).includes(name)) {
      throw new AegisInputError(`unknown membership attack '${name}'; choose from ${MEMBERSHIP_ATTACKS.join(', ')}`);
    }
  }
  return [...new Set(names)] as MembershipAttackName[];
}

export interface MembershipSuiteOptions {
  attacks: MembershipAttackName[];
  seed: number;
  /** Access the adversary gets (default: what the model grants). */
  access?: Access;
  /** Shadow models for `shadow` and `lira`. */
  shadows?: number;
  shadowSpec?: ShadowSpec;
  /** Attacker's own data for the shadow attack (and optionally LiRA's pool, see liraExtra). */
  shadowData?: Dataset;
  /** Add shadowData to LiRA's shadow pool (default false: the pool is the candidates). */
  liraExtra?: boolean;
  /** Queries per record (LiRA augmentations, label-only copies, HopSkipJump budget). */
  queryBudget?: number;
  workers?: number;
  /** Most exposed members listed per attack. Default 10. */
  auditCount?: number;
  onProgress?: (task: string, done: number, total: number) => void;
}

export interface MembershipSuiteResult {
  results: MembershipResult[];
  /** Target accuracy on the members (training) and non-members (held out). */
  memberAccuracy: number;
  nonMemberAccuracy: number;
}

function checkOptions(model: Model, data: MembershipData, o: MembershipSuiteOptions, target: MembershipTarget): void {
  checkMembershipData(model, data);
  for (const name of o.attacks) target.require(NEEDS[name].access, NEEDS[name].who);
  const needsShadows = o.attacks.includes('shadow') || o.attacks.includes('lira');
  if (needsShadows) {
    if (o.shadows === undefined || !Number.isInteger(o.shadows) || o.shadows < 1) {
      throw new AegisInputError(`shadow models: the number of shadows must be a positive integer, got ${o.shadows}`);
    }
    if (o.attacks.includes('lira') && o.shadows < 2) {
      throw new AegisInputError(`LiRA needs at least 2 shadow models (with and without each record), got ${o.shadows}`);
    }
    if (!o.shadowSpec) throw new AegisInputError('shadow models: no architecture/epochs given');
  }
  if (o.attacks.includes('shadow') && !o.shadowData) {
    throw new AegisInputError(
      'the shadow-model attack needs shadow data: records of the attacker from the same distribution (--shadow-data)',
    );
  }
  if (o.shadowData && featureShape(o.shadowData).join(',') !== model.info.inputShape.join(',')) {
    throw new AegisInputError(
      `shadow data '${o.shadowData.name}' has examples of shape [${featureShape(o.shadowData)}] but the model expects [${model.info.inputShape}]`,
    );
  }
  if (o.queryBudget !== undefined && !(Number.isInteger(o.queryBudget) && o.queryBudget > 0)) {
    throw new AegisInputError(`query budget must be a positive number of queries per record, got ${o.queryBudget}`);
  }
}

export async function runMembershipSuite(
  model: Model,
  data: MembershipData,
  options: MembershipSuiteOptions,
): Promise<MembershipSuiteResult> {
  const target = new MembershipTarget(model, options.access ?? model.info.access);
  checkOptions(model, data, options, target);
  const progress = (task: string) => (done: number, total: number) => options.onProgress?.(task, done, total);
  const common = { seed: options.seed, auditCount: options.auditCount };
  const results: MembershipResult[] = [];
  for (const name of options.attacks) {
    if (name === 'threshold') results.push(...(await thresholdAttacks(target, data, common)));
    else if (name === 'shadow') {
      results.push(
        await shadowAttack(target, data, {
          ...common,
          shadows: options.shadows as number,
          spec: options.shadowSpec as ShadowSpec,
          shadowData: options.shadowData as Dataset,
          workers: options.workers,
          onProgress: progress('shadow'),
        }),
      );
    } else if (name === 'lira') {
      results.push(
        ...(await liraAttacks(target, data, {
          ...common,
          shadows: options.shadows as number,
          spec: options.shadowSpec as ShadowSpec,
          extra: options.liraExtra ? options.shadowData : undefined,
          queryBudget: options.queryBudget,
          workers: options.workers,
          onProgress: progress('lira'),
        })),
      );
    } else if (name === 'label-only') {
      results.push(
        await labelOnlyAttack(target, data, {
          ...common,
          queryBudget: options.queryBudget,
          onProgress: progress('label-only'),
        }),
      );
    } else {
      results.push(
        await labelOnlyBoundaryAttack(target, data, {
          ...common,
          queryBudget: options.queryBudget,
          onProgress: progress('boundary'),
        }),
      );
    }
  }
  if (results.length > 1) {
    // One chart comparing every attack, under the first.
    const all = rocChart(
      'All membership attacks: ROC (log-log)',
      results.map((r) => ({ name: r.attack, ...r.scores })),
    );
    results[0]?.charts.unshift(all);
  }
  return {
    results,
    memberAccuracy: await evaluateAccuracy(model, data.members),
    nonMemberAccuracy: await evaluateAccuracy(model, data.nonMembers),
  };
}
