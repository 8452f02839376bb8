/**
 * What the adversarial-training defenses share: a method is a set of hooks for the shared
 * training loop (src/models/train.ts) — the inner maximisation (perturbBatch), a loss override
 * (TRADES) and a learning-rate schedule (FBF) — and applying it trains a NEW network with the
 * architecture of the given tfjs model (fresh seeded weights, or a copy with fineTune) on
 * context.train, returning it as a white-box TfjsModel.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import type { Dataset } from '../../data/dataset.js';
import type { Model } from '../../models/model.js';
import { TfjsModel } from '../../models/tfjs-model.js';
import { type TrainOptions, type TrainResult, trainingSummary, trainModel } from '../../models/train.js';
import type { Defense, DefenseContext } from '../defense.js';
import type { ParamSpec } from '../output/params.js';
import { cloneNetwork } from './clone-network.js';
import { COMMON_TRAINING_PARAMS, readTrainingParams } from './params.js';

/** The loop hooks a method contributes. */
export type MethodHooks = Pick<TrainOptions, 'perturbBatch' | 'batchLoss' | 'learningRateSchedule'>;

/** Settings every method gets after parsing (method-specific ones ride along in `params`). */
export interface TrainingSettings {
  eps: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Input domain of the model (perturbed inputs are clipped to it). */
  range: [number, number];
  params: Record<string, number | boolean>;
}

export interface TrainingMethod {
  name: string;
  title: string;
  citation: string;
  /** Method-specific parameters (beside COMMON_TRAINING_PARAMS). */
  params: Record<string, ParamSpec>;
  hooks(settings: TrainingSettings): MethodHooks;
  /** What the model's aegis.json records about the method (resolved step sizes etc.). */
  describe(settings: TrainingSettings): Record<string, unknown>;
}

/** Options of adversarial training as a library call. */
export interface AdversarialTrainingRun {
  seed: number;
  progress?: TrainOptions['progress'];
  checkpointDir?: string;
  checkpointEvery?: number;
  resumeFrom?: string;
}

/** Trains `network` in place with the method's hooks. */
export async function trainWithMethod(
  method: TrainingMethod,
  network: TfjsModel['network'],
  data: Dataset,
  settings: TrainingSettings,
  run: AdversarialTrainingRun,
): Promise<{ result: TrainResult; options: TrainOptions; seconds: number }> {
  const options: TrainOptions = {
    epochs: settings.epochs,
    batchSize: settings.batchSize,
    learningRate: settings.learningRate,
    seed: run.seed,
    progress: run.progress,
    checkpointDir: run.checkpointDir,
    checkpointEvery: run.checkpointEvery,
    resumeFrom: run.resumeFrom,
    ...method.hooks(settings),
  };
  const t0 = performance.now();
  const result = await trainModel(network, data, options);
  return { result, options, seconds: (performance.now() - t0) / 1000 };
}

/** The given model as a tfjs network, or a clear error (training needs the architecture and its weights). */
export function requireTfjsModel(model: Model, defense: string): TfjsModel {
  if (model instanceof TfjsModel) return model;
  throw new AegisInputError(
    `${defense}: adversarial training needs a tfjs model (a model.json directory or one built by aegis train); ` +
      `'${model.info.name}' is not one`,
  );
}

/** Reads and checks the settings of `method` from DefenseContext.params. */
export function readSettings(method: TrainingMethod, model: Model, context: DefenseContext) {
  const p = readTrainingParams(method.name, { ...COMMON_TRAINING_PARAMS, ...method.params }, context.params);
  const range = model.info.inputRange;
  if (p.eps > range[1] - range[0]) {
    throw new AegisInputError(
      `${method.name}: eps ${p.eps} is larger than the input range [${range[0]}, ${range[1]}] of model '${model.info.name}'`,
    );
  }
  const settings: TrainingSettings = {
    eps: p.eps,
    epochs: p.epochs,
    batchSize: p.batchSize,
    learningRate: p.learningRate,
    range,
    params: p as unknown as Record<string, number | boolean>,
  };
  return { settings, fineTune: p.fineTune, checkpointEvery: p.checkpointEvery, paths: p };
}

/** The Defense of a training method (kind 'training', ATLAS AML.M0003 Model Hardening). */
export function trainingDefense(method: TrainingMethod): Defense {
  return {
    name: method.name,
    title: method.title,
    citation: method.citation,
    kind: 'training',
    mitigations: ['AML.M0003'],
    async apply(model: Model, context: DefenseContext): Promise<Model> {
      const { settings, fineTune, checkpointEvery, paths } = readSettings(method, model, context);
      const source = requireTfjsModel(model, method.name);
      const data = context.train;
      if (!data) throw new AegisInputError(`${method.name}: needs training data (context.train, --data)`);
      const rng = new Rng(context.seed);
      const name = `${source.info.name}+${method.name}`;
      const network = await cloneNetwork(source.network, { seed: rng.fork(), copyWeights: fineTune, name });
      try {
        const { result, options, seconds } = await trainWithMethod(method, network, data, settings, {
          seed: rng.fork() & 0x7fffffff,
          progress: context.progress ?? false,
          checkpointDir: paths.checkpointDir,
          checkpointEvery,
          resumeFrom: paths.resumeFrom,
        });
        const training = {
          ...trainingSummary(result, options, data),
          defense: method.name,
          eps: settings.eps,
          norm: 'linf',
          fineTune,
          seconds,
          ...method.describe(settings),
        };
        return new TfjsModel(
          network,
          { name, classNames: source.info.classNames ?? data.classNames, inputRange: source.info.inputRange },
          { training },
        );
      } catch (error) {
        network.dispose();
        throw error;
      }
    },
  };
}
