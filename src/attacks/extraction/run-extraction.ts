/**
 * Runs the chosen extraction attacks against one victim, then a transfer attack from each
 * stolen surrogate: what `aegis attack extraction` calls. Every check (names, access, data,
 * budgets) happens before the first query, so errors come first.
 */
import { AegisInputError } from '../../core/errors.js';
import type { Dataset } from '../../data/dataset.js';
import { type Model, requireAccess } from '../../models/model.js';
import { equationSolving } from './equation-solving.js';
import { checkBudgets, type ExtractionOutcome, type ExtractionResult } from './extraction-attack.js';
import { FidelityEvaluator } from './fidelity.js';
import { jacobianAugmentation } from './jbda.js';
import { checkTransferSet, KNOCKOFF_STRATEGIES, type KnockoffStrategy, knockoffNets } from './knockoff.js';
import { linearParametersOf } from './linear-parameters.js';
import type { Architecture } from './surrogate.js';
import { type TransferResult, transferAttack } from './transfer.js';

export const EXTRACTION_ATTACKS = ['equation-solving', 'knockoff', 'jbda'] as const;
export type ExtractionAttackName = (typeof EXTRACTION_ATTACKS)[number];

export interface ExtractionSuiteOptions {
  attacks: string[];
  /** Query-budget checkpoints (equation-solving: default d+1 when omitted). */
  budgets?: number[];
  seed: number;
  surrogate?: Architecture;
  /** KnockoffNets query strategies. Default ['random']. */
  strategies?: KnockoffStrategy[];
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  jbda?: { seedSize?: number; rounds?: number; lambda?: number; tau?: number };
  /** Transfer attack: evasion attack on the surrogate, budgets and held-out examples. 'none' skips it. */
  transferAttack?: string;
  transferEpsilons?: number[];
  transferLimit?: number;
  transferSteps?: number;
  onProgress?: (task: string, done: number, total: number) => void;
}

export interface ExtractionSuiteResult {
  /** Victim accuracy on the held-out data. */
  victimAccuracy: number;
  /** Extraction results, each followed by its transfer-attack result. */
  results: (ExtractionResult | TransferResult)[];
}

export function parseExtractionAttack(name: string): ExtractionAttackName {
  if (!(EXTRACTION_ATTACKS as readonly string[]).includes(name)) {
    throw new AegisInputError(`unknown extraction attack '${name}'; valid names: ${EXTRACTION_ATTACKS.join(', ')}`);
  }
  return name as ExtractionAttackName;
}

export function parseKnockoffStrategy(name: string): KnockoffStrategy {
  if (!(KNOCKOFF_STRATEGIES as readonly string[]).includes(name)) {
    throw new AegisInputError(`unknown knockoff strategy '${name}'; choose ${KNOCKOFF_STRATEGIES.join(' or ')}`);
  }
  return name as KnockoffStrategy;
}

function checkSuite(
  victim: Model,
  transfer: Dataset | undefined,
  options: ExtractionSuiteOptions,
): ExtractionAttackName[] {
  const names = options.attacks.map(parseExtractionAttack);
  if (names.length === 0) throw new AegisInputError('give at least one extraction attack');
  if (options.budgets) checkBudgets(options.budgets, 'extraction');
  for (const name of names) {
    if (name === 'equation-solving') {
      requireAccess(victim, 'scores', 'equation-solving (it solves for parameters from the returned confidences)');
    } else {
      if (!options.budgets) throw new AegisInputError(`${name} needs a query budget (--budget)`);
      checkTransferSet(victim, transfer, `${name} (give the attacker's own data with --transfer)`);
    }
  }
  return names;
}

export async function runExtractionSuite(
  victim: Model,
  heldOut: Dataset,
  transfer: Dataset | undefined,
  options: ExtractionSuiteOptions,
): Promise<ExtractionSuiteResult> {
  const names = checkSuite(victim, transfer, options);
  const evaluator = await FidelityEvaluator.create(victim, heldOut);
  const training = {
    surrogate: options.surrogate,
    epochs: options.epochs,
    batchSize: options.batchSize,
    learningRate: options.learningRate,
  };
  const results: (ExtractionResult | TransferResult)[] = [];
  const progress = (task: string) => (done: number, total: number) => options.onProgress?.(task, done, total);
  for (const name of names) {
    const outcomes: ExtractionOutcome[] = [];
    if (name === 'equation-solving') {
      outcomes.push(
        await equationSolving(victim, evaluator, {
          budgets: options.budgets,
          seed: options.seed,
          reference: linearParametersOf(victim),
        }),
      );
    } else if (name === 'knockoff') {
      for (const strategy of options.strategies ?? ['random']) {
        outcomes.push(
          await knockoffNets(victim, transfer, evaluator, {
            budgets: options.budgets as number[],
            strategy,
            seed: options.seed,
            ...training,
            onProgress: progress(`knockoff-${strategy}`),
          }),
        );
      }
    } else {
      outcomes.push(
        await jacobianAugmentation(victim, transfer, evaluator, {
          budgets: options.budgets as number[],
          seed: options.seed,
          ...options.jbda,
          ...training,
          onProgress: progress('jbda'),
        }),
      );
    }
    for (const { result, surrogate } of outcomes) {
      try {
        results.push(result);
        if (options.transferAttack === 'none') continue;
        const transferred = await transferAttack(surrogate, victim, heldOut, {
          attack: options.transferAttack,
          epsilons: options.transferEpsilons,
          seed: options.seed,
          steps: options.transferSteps,
          limit: options.transferLimit,
          source: result.attack,
        });
        const last = result.rows[result.rows.length - 1];
        if (last && transferred.rows[0]) last.transferSuccessRate = transferred.rows[0].successRate;
        results.push(transferred);
      } finally {
        surrogate.dispose();
      }
    }
  }
  return { victimAccuracy: evaluator.victimAccuracy(), results };
}
