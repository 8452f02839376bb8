/**
 * Settings of the adversarial-training defenses (DefenseContext.params), with their documented
 * defaults. Numbers and booleans go through the output defenses' checked reader (numeric strings
 * from the CLI accepted, unknown names rejected); checkpointDir and resumeFrom are paths.
 */
import { AegisInputError } from '../../core/errors.js';
import type { DefenseContext } from '../defense.js';
import { type ParamSpec, readParams } from '../output/params.js';

/** Parameters every adversarial-training defense takes. */
export const COMMON_TRAINING_PARAMS = {
  eps: { type: 'number', default: 0.1, positive: true, description: 'L-inf budget of the training attack' },
  epochs: { type: 'integer', default: 10, min: 1, description: 'training epochs' },
  batchSize: { type: 'integer', default: 128, min: 1, description: 'examples per batch' },
  learningRate: { type: 'number', default: 1e-3, positive: true, description: 'Adam step size (peak, with cyclic)' },
  fineTune: {
    type: 'boolean',
    default: false,
    description: 'start from a copy of the given weights instead of fresh seeded ones',
  },
  checkpointEvery: { type: 'integer', default: 1, min: 1, description: 'epochs between checkpoints' },
} satisfies Record<string, ParamSpec>;

/** PGD-based inner maximisation (PGD-AT, TRADES). stepSize 0 means the default 2.5·eps/steps. */
export const PGD_INNER_PARAMS = {
  steps: { type: 'integer', default: 10, min: 1, description: 'PGD steps of the inner maximisation' },
  stepSize: { type: 'number', default: 0, min: 0, description: 'PGD step size (0 = 2.5·eps/steps, Madry et al.)' },
} satisfies Record<string, ParamSpec>;

/** Optional one-cycle learning rate for the PGD-based methods (FBF has it on by default). */
export const CYCLIC_PARAM = {
  cyclic: { type: 'boolean', default: false, description: 'one-cycle learning rate peaking at learningRate' },
} satisfies Record<string, ParamSpec>;

/** Path-valued parameters, outside readParams (which reads numbers and booleans). */
const PATH_PARAMS = ['checkpointDir', 'resumeFrom'] as const;

export interface PathParams {
  checkpointDir?: string;
  resumeFrom?: string;
}

/** The defense's numeric/boolean settings (defaults filled in) and its path settings. */
export function readTrainingParams<S extends Record<string, ParamSpec>>(
  defense: string,
  specs: S,
  params: DefenseContext['params'],
): ReturnType<typeof readParams<S>> & PathParams {
  const rest: Record<string, number | string | boolean> = { ...(params ?? {}) };
  const paths: PathParams = {};
  for (const name of PATH_PARAMS) {
    const value = rest[name];
    delete rest[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.trim() === '') {
      throw new AegisInputError(`${defense}: parameter '${name}' must be a directory path, got '${String(value)}'`);
    }
    paths[name] = value;
  }
  return { ...readParams(defense, specs, rest), ...paths };
}

/** Default PGD step: 2.5·eps/steps, enough to cross the ball and back (Madry et al. 2018). */
export function defaultStepSize(eps: number, steps: number, stepSize: number): number {
  return stepSize > 0 ? stepSize : (2.5 * eps) / steps;
}
