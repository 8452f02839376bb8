/**
 * Runs a list of evasion attacks against one model on one dataset: the suite the CLI's
 * `aegis attack evasion` and the default demo call. Each attack gets a threat model with
 * the access it needs (checked against what the model grants) and the shared budgets.
 */
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import { makeThreatModel, type Norm } from '../../core/threat-model.js';
import { type Dataset, size, toTensor, validateDataset } from '../../data/dataset.js';
import { type Model, requireAccess } from '../../models/model.js';
import { predictLabelsBatched } from './budget-rows.js';
import type { AttackOptions, EvasionResult } from './evasion-attack.js';
import { getEvasionAttack } from './registry.js';

export interface EvasionSuiteOptions {
  attacks: string[];
  epsilons: number[];
  norm: Norm;
  seed: number;
  steps?: number;
  stepSize?: number;
  restarts?: number;
  batchSize?: number;
  /** Queries per example for black-box attacks. */
  queryBudget?: number;
  keepExamples?: number;
  /** Called when an attack starts and as it progresses. */
  onProgress?: (attack: string, done: number, total: number) => void;
}

export interface EvasionSuiteResult {
  cleanAccuracy: number;
  results: EvasionResult[];
}

/** Checks names, norms, access and shapes before any attack runs, so errors come first. */
function checkSuite(model: Model, data: Dataset, options: EvasionSuiteOptions) {
  validateDataset(data);
  const expected = model.info.inputShape.join(',');
  const got = data.shape.slice(1).join(',');
  if (expected !== got) {
    throw new AegisInputError(`data examples have shape [${got}] but model '${model.info.name}' expects [${expected}]`);
  }
  const k = model.info.numClasses;
  const outside = data.y.findIndex((label) => label >= k);
  if (outside >= 0) {
    throw new AegisInputError(
      `label ${data.y[outside]} of example ${outside} is outside the classes of model '${model.info.name}' [0, ${k - 1}]`,
    );
  }
  if (data.classNames.length > k) {
    throw new AegisInputError(
      `data has ${data.classNames.length} classes but model '${model.info.name}' outputs ${model.info.numClasses}`,
    );
  }
  if (options.epsilons.length === 0) throw new AegisInputError('give at least one budget (eps)');
  return options.attacks.map((name) => {
    const attack = getEvasionAttack(name);
    if (!attack.norms.includes(options.norm)) {
      throw new AegisInputError(
        `attack '${name}' supports ${attack.norms.join(', ')} only, not ${options.norm}; run it with --norm ${attack.norms[0]}`,
      );
    }
    requireAccess(model, attack.access, `attack '${name}'`);
    const threat = makeThreatModel({
      access: attack.access,
      norm: options.norm,
      epsilons: options.epsilons,
      queryBudget: attack.access === 'gradients' ? undefined : options.queryBudget,
      inputRange: model.info.inputRange,
    });
    return { attack, threat };
  });
}

export async function runEvasionSuite(
  model: Model,
  data: Dataset,
  options: EvasionSuiteOptions,
): Promise<EvasionSuiteResult> {
  const plan = checkSuite(model, data, options);
  const x = toTensor(data);
  try {
    const clean = await predictLabelsBatched(model, x);
    let correct = 0;
    for (let i = 0; i < clean.length; i++) if (clean[i] === data.y[i]) correct++;
    const results: EvasionResult[] = [];
    for (const { attack, threat } of plan) {
      const attackOptions: AttackOptions = {
        seed: options.seed,
        steps: options.steps,
        stepSize: options.stepSize,
        restarts: options.restarts,
        batchSize: options.batchSize,
        keepExamples: options.keepExamples,
        onProgress: (done, total) => options.onProgress?.(attack.name, done, total),
      };
      results.push(await attack.run(model, { x, y: data.y }, threat, attackOptions));
    }
    return { cleanAccuracy: size(data) ? correct / size(data) : 0, results };
  } finally {
    tf.dispose(x);
  }
}
