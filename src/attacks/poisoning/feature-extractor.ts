/**
 * Transfer learning's two halves: a frozen feature extractor (a pretrained network up to its
 * penultimate layer) and a model that is that extractor plus a freshly trained final layer.
 * Feature collision (Shafahi et al. 2018) attacks exactly this recipe: the victim fine-tunes only
 * the last layer, so a poison that sits on the target in feature space drags the target across.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import { type Dataset, featureShape, size, validateDataset } from '../../data/dataset.js';
import { labelsInSlices, PREDICT_BATCH, scoresInSlices } from '../../models/batched-predict.js';
import type { DifferentiableModel, ModelInfo } from '../../models/model.js';
import { networkInputShape } from '../../models/tfjs-model.js';

/** A network cut at one layer: `features(x)` is that layer's output, flattened to [batch, dim]. */
export class FeatureExtractor {
  readonly inputShape: number[];
  readonly dim: number;
  readonly layerName: string;
  private readonly cut: tfl.LayersModel;

  /** `layer`: index or name of the feature layer; default the penultimate (the input of the last layer). */
  constructor(
    readonly network: tfl.LayersModel,
    layer?: number | string,
  ) {
    this.inputShape = networkInputShape(network);
    const all = network.layers;
    const index =
      layer === undefined ? all.length - 2 : typeof layer === 'number' ? layer : all.findIndex((l) => l.name === layer);
    const chosen = all[index];
    if (!chosen || index >= all.length - 1) {
      throw new AegisInputError(
        `feature layer ${String(layer)} is not a hidden layer of '${network.name}' (layers: ${all.map((l) => l.name).join(', ')})`,
      );
    }
    this.cut = tfl.model({ inputs: network.inputs, outputs: chosen.output as tfl.SymbolicTensor });
    if (this.cut.trainableWeights.length === 0) {
      throw new AegisInputError(
        `'${network.name}' has no learned layer before its output layer (a logistic regression?); feature extraction needs a network with a hidden layer, e.g. cnn or mlp`,
      );
    }
    const out = this.cut.outputs[0]?.shape.slice(1) ?? [];
    this.dim = out.reduce((a: number, b) => a * (b ?? 1), 1);
    this.layerName = chosen.name;
  }

  /** Features [batch, dim] of inputs [batch, ...inputShape]; synchronous and differentiable. */
  features(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const out = this.cut.apply(x, { training: false }) as tf.Tensor;
      return tf.reshape(out, [x.shape[0] ?? 0, this.dim]) as tf.Tensor2D;
    });
  }

  /** The dataset's examples as features: a Dataset [n, dim] with the same labels. */
  async extract(data: Dataset): Promise<Dataset> {
    validateDataset(data);
    const got = featureShape(data);
    if (got.join(',') !== this.inputShape.join(',')) {
      throw new AegisInputError(
        `dataset '${data.name}' has examples [${got}] but the feature extractor expects [${this.inputShape}]`,
      );
    }
    const n = size(data);
    const per = got.reduce((a, b) => a * b, 1);
    const x = new Float32Array(n * this.dim);
    for (let start = 0; start < n; start += PREDICT_BATCH) {
      const count = Math.min(PREDICT_BATCH, n - start);
      const f = tf.tidy(() =>
        this.features(tf.tensor(data.x.subarray(start * per, (start + count) * per), [count, ...got], 'float32')),
      );
      x.set(await f.data(), start * this.dim);
      f.dispose();
    }
    return { name: `${data.name} (features)`, x, shape: [n, this.dim], y: data.y, classNames: data.classNames };
  }
}

/** Frozen extractor + trained head: a white-box Model. dispose() frees the head only. */
export class TransferModel implements DifferentiableModel {
  readonly info: ModelInfo;

  constructor(
    readonly extractor: FeatureExtractor,
    readonly head: tfl.LayersModel,
    info: Partial<ModelInfo> & { numClasses: number },
  ) {
    this.info = {
      name: 'transfer',
      inputRange: [0, 1],
      ...info,
      access: 'gradients',
      inputShape: extractor.inputShape,
    };
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => this.head.apply(this.extractor.features(x), { training: false }) as tf.Tensor2D);
  }

  async predictScores(x: tf.Tensor): Promise<tf.Tensor2D> {
    this.checkInput(x);
    return scoresInSlices(x, (b) => this.logits(b));
  }

  async predictLabels(x: tf.Tensor): Promise<Int32Array> {
    this.checkInput(x);
    return labelsInSlices(x, (b) => this.logits(b));
  }

  dispose(): void {
    this.head.dispose();
  }

  private checkInput(x: tf.Tensor): void {
    const got = x.shape.slice(1);
    if (got.join(',') !== this.info.inputShape.join(',')) {
      throw new AegisInputError(
        `model '${this.info.name}' expects inputs of shape [batch, ${this.info.inputShape}], got [${x.shape}]`,
      );
    }
  }
}
