/**
 * Builds, trains and wraps a classifier in one call: what `aegis train` and the default
 * demo do. The architecture is picked by name; the result is a white-box TfjsModel.
 */
import { AegisInputError } from '../core/errors.js';
import { type Dataset, featureShape } from '../data/dataset.js';
import { buildLogisticRegression, buildMlp, buildSmallCnn } from './builders.js';
import { TfjsModel } from './tfjs-model.js';
import { type TrainOptions, type TrainResult, trainModel } from './train.js';

export const ARCHITECTURES = ['cnn', 'mlp', 'logistic'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export function parseArchitecture(name: string): Architecture {
  if (!(ARCHITECTURES as readonly string[]).includes(name)) {
    throw new AegisInputError(`unknown architecture '${name}'; choose one of ${ARCHITECTURES.join(', ')}`);
  }
  return name as Architecture;
}

function build(arch: Architecture, data: Dataset, seed: number, name: string) {
  const inputShape = featureShape(data);
  const numClasses = data.classNames.length;
  if (arch === 'cnn') {
    if (inputShape.length !== 3) {
      throw new AegisInputError(`the cnn architecture needs image data [h, w, c]; '${data.name}' has [${inputShape}]`);
    }
    return buildSmallCnn({ inputShape, numClasses, seed, name });
  }
  if (arch === 'mlp') return buildMlp({ inputShape, numClasses, seed, name });
  return buildLogisticRegression({ inputShape, numClasses, seed, name });
}

export async function trainClassifier(
  arch: Architecture,
  data: Dataset,
  options: TrainOptions & { name?: string },
): Promise<{ model: TfjsModel; result: TrainResult }> {
  const name = options.name ?? `${data.name}-${arch}`;
  const network = build(arch, data, options.seed, name);
  const result = await trainModel(network, data, options);
  return { model: new TfjsModel(network, { name, classNames: data.classNames }), result };
}
