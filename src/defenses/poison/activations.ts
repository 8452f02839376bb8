/**
 * Penultimate-layer activations: the representation poison detectors look at (Tran et al. 2018
 * and Chen et al. 2018 both use the input of the final classification layer). For networks from
 * src/models/builders.ts that is the input of the Dense layer named 'logits'; for other networks,
 * the input of the last Dense layer.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { TransferModel } from '../../attacks/poisoning/feature-extractor.js';
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import { type Dataset, featureShape, featureSize, size } from '../../data/dataset.js';
import type { Model } from '../../models/model.js';
import { TfjsModel } from '../../models/tfjs-model.js';

export interface Activations {
  /** Row-major [n, dim]. */
  features: Float32Array;
  dim: number;
}

/** Rows per forward pass (bounds memory on large datasets). */
export const ACTIVATION_BATCH = 256;

/** The layer whose input is the penultimate representation: 'logits', else the last Dense layer. */
export function finalDenseLayer(net: tfl.LayersModel): tfl.layers.Layer {
  const named = net.layers.find((l) => l.name === 'logits');
  if (named) return named;
  for (let i = net.layers.length - 1; i >= 0; i--) {
    const layer = net.layers[i] as tfl.layers.Layer;
    if (layer.getClassName() === 'Dense') return layer;
  }
  throw new AegisInputError(`model '${net.name}' has no Dense layer, so it has no penultimate representation`);
}

/**
 * A model sharing `net`'s weights that outputs the input of its final Dense layer. It owns no
 * weights of its own: do not dispose it (that would dispose `net`'s weights).
 */
export function penultimateModel(net: tfl.LayersModel): tfl.LayersModel {
  const layer = finalDenseLayer(net);
  const input = layer.input;
  if (Array.isArray(input)) {
    throw new AegisInputError(`layer '${layer.name}' of model '${net.name}' has several inputs`);
  }
  return tfl.model({ inputs: net.inputs, outputs: input, name: `${net.name}-penultimate` });
}

/** The network inside a Model, for models that have one (tfjs models); else an input error. */
export function networkOf(model: Model | tfl.LayersModel): tfl.LayersModel {
  if (model instanceof TfjsModel) return model.network;
  if (model instanceof tfl.LayersModel) return model;
  throw new AegisInputError(
    `model '${model.info.name}' is not a tfjs network, so its penultimate-layer activations cannot be read; ` +
      'train one (aegis train) or pass a saved tfjs model directory',
  );
}

/**
 * Penultimate-layer activations of every row of `data`, batched, leaving no tensors behind.
 * A transfer-learning victim (frozen extractor + trained last layer) gives its extracted features.
 */
export async function penultimateActivations(
  model: Model | tfl.LayersModel,
  data: Dataset,
  batchSize = ACTIVATION_BATCH,
): Promise<Activations> {
  if (model instanceof TransferModel) {
    const extracted = await model.extractor.extract(data);
    return { features: extracted.x, dim: model.extractor.dim };
  }
  const net = networkOf(model);
  const want = net.inputs[0]?.shape.slice(1) ?? [];
  const got = featureShape(data);
  if (want.join(',') !== got.join(',')) {
    throw new AegisInputError(
      `dataset '${data.name}' has examples of shape [${got}] but model '${net.name}' expects [${want}]`,
    );
  }
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new AegisInputError(`batch size must be a positive integer, got ${batchSize}`);
  }
  const sub = penultimateModel(net);
  const outShape = sub.outputs[0]?.shape ?? [];
  const dim = outShape.slice(1).reduce((a: number, b) => a * (b ?? 0), 1);
  if (!(dim > 0)) throw new AegisInputError(`model '${net.name}': penultimate layer has no fixed size [${outShape}]`);
  const n = size(data);
  const per = featureSize(data);
  const features = new Float32Array(n * dim);
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const out = tf.tidy(() => {
      const x = tf.tensor(data.x.subarray(start * per, (start + count) * per), [count, ...got], 'float32');
      return tf.reshape(sub.apply(x, { training: false }) as tf.Tensor, [count, dim]);
    });
    try {
      features.set((await out.data()) as Float32Array, start * dim);
    } finally {
      out.dispose();
    }
  }
  return { features, dim };
}
