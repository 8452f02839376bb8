/**
 * What an output defense buys and what it costs, measured against the project's own attacks:
 *
 * - utility: top-1 accuracy, ECE and label agreement with the undefended model (utility.ts);
 * - model extraction: KnockoffNets and/or JBDA at query budgets (run-extraction.ts), and
 *   equation-solving against a logistic-regression victim wrapped by the same defense; fidelity
 *   is agreement with the labels the defended model returns, on held-out data never queried;
 * - membership inference: the loss and confidence threshold attacks (run-membership.ts), the
 *   defense-aware returned-score attacks, the label-only augmentation attack, and LiRA with
 *   shadows answered through the defense (trained once, shared by every defense).
 *
 * The undefended model is measured first, with the same seeds, so each defended figure has its
 * baseline beside it. An attack the defended model refuses (AccessError: label-only refuses
 * scores) or whose answers it cannot use (equation-solving when every answer has a zero
 * probability) is recorded as refused with the reason, never as a number it did not produce.
 * Configuration errors surface on the undefended run and are thrown.
 */

import { equationSolving } from '../../attacks/extraction/equation-solving.js';
import { FidelityEvaluator } from '../../attacks/extraction/fidelity.js';
import type { KnockoffStrategy } from '../../attacks/extraction/knockoff.js';
import { linearParametersOf } from '../../attacks/extraction/linear-parameters.js';
import { runExtractionSuite } from '../../attacks/extraction/run-extraction.js';
import type { Architecture } from '../../attacks/extraction/surrogate.js';
import type { MembershipData } from '../../attacks/membership/membership-attack.js';
import { runMembershipSuite } from '../../attacks/membership/run-membership.js';
import { AegisInputError } from '../../core/errors.js';
import { type Access, makeThreatModel } from '../../core/threat-model.js';
import type { Dataset } from '../../data/dataset.js';
import { predictDataset } from '../../models/evaluate.js';
import type { Model } from '../../models/model.js';
import type { AttackResultLike } from '../../report/build-report.js';
import type { Defense, DefenseContext } from '../defense.js';
import {
  defenseAwareLira,
  type LiraShadowOptions,
  type LiraShadowSet,
  trainLiraShadows,
} from './defense-aware-lira.js';
import { returnedScoreAttacks } from './returned-score-membership.js';
import { type UtilityMetrics, utilityMetrics } from './utility.js';

export const MEMBERSHIP_CHECKS = ['threshold', 'returned-score', 'label-only', 'lira'] as const;
export type MembershipCheck = (typeof MEMBERSHIP_CHECKS)[number];

/** A defense with its params; no defense = the undefended model. */
export interface OutputDefenseChoice {
  defense?: Defense;
  params?: DefenseContext['params'];
}

export interface ExtractionSettings {
  /** The attacker's own unlabeled data. */
  transfer: Dataset;
  budgets: number[];
  /** Default ['knockoff']. */
  attacks?: ('knockoff' | 'jbda')[];
  /** KnockoffNets strategies. Default ['random']. */
  strategies?: KnockoffStrategy[];
  surrogate?: Architecture;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  jbda?: { seedSize?: number; rounds?: number; lambda?: number; tau?: number };
}

export interface EquationSolvingSettings {
  /** A white-box linear softmax victim (e.g. trainClassifier('logistic', …)); each defense wraps it too. */
  victim: Model;
  /** Default [d + 1]. */
  budgets?: number[];
}

export interface MembershipSettings {
  /** Members and non-members of the victim's training set. */
  data: MembershipData;
  /** Default ['threshold', 'returned-score', 'label-only']; 'lira' trains shadows (costly). */
  attacks?: MembershipCheck[];
  /** Queries per record for the label-only attack (default: its own, 18 for images). */
  labelOnlyQueries?: number;
  /** Needed for 'lira'. */
  lira?: Omit<LiraShadowOptions, 'seed'>;
}

export interface OutputDefenseEvaluationOptions {
  seed: number;
  /** Held-out data: utility and extraction fidelity. */
  test: Dataset;
  extraction?: ExtractionSettings;
  equationSolving?: EquationSolvingSettings;
  membership?: MembershipSettings;
  onProgress?: (message: string) => void;
}

export type AttackFamily = 'extraction' | 'membership';

export interface AttackOutcome {
  family: AttackFamily;
  attack: string;
  /** Set when the attack did not run against this model: why. */
  refused?: string;
  result?: AttackResultLike;
}

export interface DefenseMeasurement {
  /** Defense name, or 'none'. */
  defense: string;
  title: string;
  params: Record<string, number | string | boolean>;
  model: string;
  access: Access;
  mitigations: readonly string[];
  utility: UtilityMetrics;
  attacks: AttackOutcome[];
  seconds: number;
}

export interface OutputDefenseEvaluation {
  /** The undefended model first, then each defense in the order given. */
  measurements: DefenseMeasurement[];
  /** Report-ready: every attack against every model, defended rows carrying the undefended figures (undefended…). */
  results: AttackResultLike[];
}

/** Row metrics whose undefended value is copied beside each defended row. */
const BASELINE_KEYS = [
  'fidelity',
  'accuracy',
  'maxParamError',
  'auc',
  'balancedAccuracy',
  'tprAt1pctFpr',
  'tprAt0_1pctFpr',
] as const;

function describeParams(params: Record<string, unknown>): string {
  const entries = Object.entries(params);
  return entries.length ? ` (${entries.map(([k, v]) => `${k}=${v}`).join(', ')})` : '';
}

function describeChoice(choice: OutputDefenseChoice): string {
  return choice.defense ? `${choice.defense.name}${describeParams(choice.params ?? {})}` : 'undefended';
}

async function applyChoice(choice: OutputDefenseChoice, model: Model, seed: number): Promise<Model> {
  return choice.defense ? choice.defense.apply(model, { seed, params: choice.params }) : model;
}

/**
 * Runs `attempt`; on the undefended model every error is thrown, on a defended one an
 * AegisInputError (refused access, unusable answers) becomes a refusal with its message.
 */
async function tryAttack(
  defended: boolean,
  family: AttackFamily,
  names: string[],
  attempt: () => Promise<AttackResultLike[]>,
): Promise<AttackOutcome[]> {
  try {
    return (await attempt()).map((result) => ({ family, attack: result.attack, result }));
  } catch (error) {
    if (!defended || !(error instanceof AegisInputError)) throw error;
    return names.map((attack) => ({ family, attack, refused: error.message }));
  }
}

async function extractionOutcomes(
  model: Model,
  defended: boolean,
  options: OutputDefenseEvaluationOptions,
): Promise<AttackOutcome[]> {
  const settings = options.extraction;
  if (!settings) return [];
  const out: AttackOutcome[] = [];
  for (const attack of settings.attacks ?? ['knockoff']) {
    const names = attack === 'knockoff' ? (settings.strategies ?? ['random']).map((s) => `knockoff-${s}`) : ['jbda'];
    out.push(
      ...(await tryAttack(defended, 'extraction', names, async () => {
        const suite = await runExtractionSuite(model, options.test, settings.transfer, {
          attacks: [attack],
          budgets: settings.budgets,
          seed: options.seed,
          strategies: settings.strategies,
          surrogate: settings.surrogate,
          epochs: settings.epochs,
          batchSize: settings.batchSize,
          learningRate: settings.learningRate,
          jbda: settings.jbda,
          transferAttack: 'none',
        });
        return suite.results;
      })),
    );
  }
  return out;
}

async function equationSolvingOutcome(
  choice: OutputDefenseChoice,
  options: OutputDefenseEvaluationOptions,
): Promise<AttackOutcome[]> {
  const settings = options.equationSolving;
  if (!settings) return [];
  const victim = await applyChoice(choice, settings.victim, options.seed);
  try {
    return await tryAttack(choice.defense !== undefined, 'extraction', ['equation-solving'], async () => {
      const evaluator = await FidelityEvaluator.create(victim, options.test);
      const { result, surrogate } = await equationSolving(victim, evaluator, {
        budgets: settings.budgets,
        seed: options.seed,
        reference: linearParametersOf(settings.victim),
      });
      surrogate.dispose();
      return [result];
    });
  } finally {
    if (victim !== settings.victim) await victim.dispose();
  }
}

async function membershipOutcomes(
  model: Model,
  defended: boolean,
  options: OutputDefenseEvaluationOptions,
  shadows: LiraShadowSet | undefined,
): Promise<AttackOutcome[]> {
  const settings = options.membership;
  if (!settings) return [];
  const { data } = settings;
  const out: AttackOutcome[] = [];
  for (const check of settings.attacks ?? ['threshold', 'returned-score', 'label-only']) {
    if (check === 'threshold') {
      // 'scores': the API's view, never a white-box model's logits (the same view for every defense).
      const run = async () =>
        (await runMembershipSuite(model, data, { attacks: ['threshold'], seed: options.seed, access: 'scores' }))
          .results;
      out.push(...(await tryAttack(defended, 'membership', ['loss-threshold', 'confidence-threshold'], run)));
    } else if (check === 'returned-score') {
      const run = () => returnedScoreAttacks(model, data);
      out.push(...(await tryAttack(defended, 'membership', ['returned-confidence', 'returned-true-score'], run)));
    } else if (check === 'label-only') {
      const run = async () =>
        (
          await runMembershipSuite(model, data, {
            attacks: ['label-only'],
            seed: options.seed,
            queryBudget: settings.labelOnlyQueries,
          })
        ).results;
      out.push(...(await tryAttack(defended, 'membership', ['label-only'], run)));
    } else {
      if (!shadows) throw new AegisInputError("membership check 'lira' needs shadow settings (membership.lira)");
      const run = () => defenseAwareLira(model, shadows);
      out.push(...(await tryAttack(defended, 'membership', ['lira-online-aware', 'lira-offline-aware'], run)));
    }
  }
  return out;
}

async function measure(
  victim: Model,
  choice: OutputDefenseChoice,
  baselineLabels: Int32Array,
  options: OutputDefenseEvaluationOptions,
  shadows: LiraShadowSet | undefined,
): Promise<DefenseMeasurement> {
  const start = performance.now();
  const name = choice.defense?.name ?? 'none';
  const say = (step: string) => options.onProgress?.(`${describeChoice(choice)}: ${step}`);
  const model = await applyChoice(choice, victim, options.seed);
  const defended = choice.defense !== undefined;
  try {
    say('utility');
    const utility = await utilityMetrics(model, options.test, baselineLabels);
    say('extraction');
    const attacks = [
      ...(await extractionOutcomes(model, defended, options)),
      ...(await equationSolvingOutcome(choice, options)),
    ];
    say('membership');
    attacks.push(...(await membershipOutcomes(model, defended, options, shadows)));
    return {
      defense: name,
      title: choice.defense?.title ?? 'Undefended',
      params: { ...(choice.params ?? {}) },
      model: model.info.name,
      access: model.info.access,
      mitigations: choice.defense?.mitigations ?? [],
      utility,
      attacks,
      seconds: (performance.now() - start) / 1000,
    };
  } finally {
    if (model !== victim) await model.dispose();
  }
}

function withBaseline(row: object, baseline: object | undefined): Record<string, number> {
  const out = { ...(row as Record<string, number>) };
  for (const key of BASELINE_KEYS) {
    const value = (baseline as Record<string, unknown> | undefined)?.[key];
    if (typeof value === 'number') out[`undefended${key[0]?.toUpperCase()}${key.slice(1)}`] = value;
  }
  return out;
}

/** Report results: every outcome, titled with its defense, defended rows beside the undefended ones. */
function reportResults(measurements: DefenseMeasurement[]): AttackResultLike[] {
  const baseline = measurements[0];
  const results: AttackResultLike[] = [];
  for (const m of measurements) {
    const label = m.defense === 'none' ? 'undefended' : `against ${m.defense}${describeParams(m.params)}`;
    for (const outcome of m.attacks) {
      const base = baseline?.attacks.find((o) => o.attack === outcome.attack)?.result;
      if (outcome.result) {
        const r = outcome.result;
        results.push({
          ...r,
          title: `${r.title} — ${label}`,
          rows: m === baseline ? r.rows : r.rows.map((row, i) => withBaseline(row, base?.rows[i])),
          mitigations: m.mitigations.length ? m.mitigations : r.mitigations,
        });
      } else if (base) {
        results.push({
          attack: outcome.attack,
          title: `${base.title} — ${label}: refused (${outcome.refused})`,
          citation: base.citation,
          atlas: base.atlas,
          threatModel: makeThreatModel({ ...base.threatModel, knowledge: `refused: ${outcome.refused}` }),
          rows: [withBaseline({ refused: 1 }, base.rows[base.rows.length - 1])],
          mitigations: m.mitigations,
        });
      }
    }
  }
  return results;
}

/** Measures the undefended victim, then each defense, with the same attacks and seeds. */
export async function evaluateOutputDefenses(
  victim: Model,
  choices: OutputDefenseChoice[],
  options: OutputDefenseEvaluationOptions,
): Promise<OutputDefenseEvaluation> {
  const membership = options.membership;
  let shadows: LiraShadowSet | undefined;
  if (membership?.attacks?.includes('lira')) {
    if (!membership.lira) throw new AegisInputError("membership check 'lira' needs shadow settings (membership.lira)");
    options.onProgress?.(`training ${membership.lira.shadows} LiRA shadow models`);
    shadows = await trainLiraShadows(membership.data, victim.info.numClasses, {
      ...membership.lira,
      seed: options.seed,
    });
  }
  const baselineLabels = await predictDataset(victim, options.test);
  const measurements: DefenseMeasurement[] = [];
  for (const choice of [{}, ...choices.filter((c) => c.defense)]) {
    measurements.push(await measure(victim, choice, baselineLabels, options, shadows));
  }
  return { measurements, results: reportResults(measurements) };
}

/** One defense against the undefended victim. */
export async function evaluateOutputDefense(
  victim: Model,
  defense: Defense,
  options: OutputDefenseEvaluationOptions & { params?: DefenseContext['params'] },
): Promise<OutputDefenseEvaluation> {
  return evaluateOutputDefenses(victim, [{ defense, params: options.params }], options);
}
