/**
 * Parameters of a linear softmax classifier (multinomial logistic regression): logits = x·W + b,
 * W d×k row-major as a Dense kernel. Softmax is shift invariant, so only differences between
 * classes are identifiable: parameters are compared after normalising class 0's to zero.
 */
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import { buildLogisticRegression } from '../../models/builders.js';
import type { Model } from '../../models/model.js';
import { TfjsModel } from '../../models/tfjs-model.js';

export interface LinearParameters {
  /** d×k, row-major (feature-major, as a Dense kernel). */
  weights: Float64Array;
  /** k. */
  bias: Float64Array;
}

/** The same classifier with class 0's weights and bias subtracted from every class. */
export function normaliseToClass0(p: LinearParameters): LinearParameters {
  const k = p.bias.length;
  const d = p.weights.length / k;
  const weights = new Float64Array(p.weights.length);
  for (let f = 0; f < d; f++) {
    const w0 = p.weights[f * k] as number;
    for (let j = 0; j < k; j++) weights[f * k + j] = (p.weights[f * k + j] as number) - w0;
  }
  const b0 = p.bias[0] as number;
  return { weights, bias: p.bias.map((b) => b - b0) };
}

/** Largest absolute difference between two classifiers' parameters, both normalised to class 0. */
export function maxParameterError(a: LinearParameters, b: LinearParameters): number {
  if (a.weights.length !== b.weights.length || a.bias.length !== b.bias.length) {
    throw new AegisInputError(
      `cannot compare parameters of different shapes (${a.weights.length}+${a.bias.length} vs ${b.weights.length}+${b.bias.length})`,
    );
  }
  const na = normaliseToClass0(a);
  const nb = normaliseToClass0(b);
  let worst = 0;
  for (let i = 0; i < na.weights.length; i++) {
    worst = Math.max(worst, Math.abs((na.weights[i] as number) - (nb.weights[i] as number)));
  }
  for (let i = 0; i < na.bias.length; i++)
    worst = Math.max(worst, Math.abs((na.bias[i] as number) - (nb.bias[i] as number)));
  return worst;
}

/** The parameters of a white-box TfjsModel that is one Dense layer (after an optional Flatten), else undefined. */
export function linearParametersOf(model: Model): LinearParameters | undefined {
  if (!(model instanceof TfjsModel)) return undefined;
  const layers = model.network.layers.filter((l) => !['InputLayer', 'Flatten'].includes(l.getClassName()));
  const dense = layers[0];
  if (layers.length !== 1 || !dense || dense.getClassName() !== 'Dense') return undefined;
  const config = dense.getConfig();
  if (config.activation !== undefined && config.activation !== 'linear' && config.activation !== 'softmax') {
    return undefined;
  }
  const [kernel, bias] = dense.getWeights();
  if (!kernel) return undefined;
  const weights = Float64Array.from(kernel.dataSync());
  const k = kernel.shape[1] ?? 0;
  return { weights, bias: bias ? Float64Array.from(bias.dataSync()) : new Float64Array(k) };
}

/** A white-box linear softmax classifier with these parameters (float32, as tfjs computes). */
export function linearModel(
  p: LinearParameters,
  inputShape: number[],
  options: { name: string; classNames?: string[]; inputRange?: [number, number] },
): TfjsModel {
  const k = p.bias.length;
  const d = p.weights.length / k;
  const network = buildLogisticRegression({ inputShape, numClasses: k, name: options.name });
  const kernel = tf.tensor2d(Float32Array.from(p.weights), [d, k]);
  const bias = tf.tensor1d(Float32Array.from(p.bias));
  network.setWeights([kernel, bias]);
  tf.dispose([kernel, bias]);
  return new TfjsModel(network, { name: options.name, classNames: options.classNames, inputRange: options.inputRange });
}
