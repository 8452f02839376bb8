/**
 * Small classifiers to train from scratch: logistic regression, an MLP and the reference CNN of
 * /work/shared/baseline (LeCun et al. 1998 style: conv-pool-conv-pool-dense). Every network ends
 * in a Dense layer WITHOUT softmax, so its output is logits. Initial weights are seeded: the same
 * seed gives the same network.
 * Initialisers: He et al. 2015 (ReLU layers), Glorot & Bengio 2010 (output layer).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';

export interface BuilderOptions {
  /** Shape of one example (no batch dimension): [features] or [height, width, channels]. */
  inputShape: number[];
  numClasses: number;
  /** Seed for the initial weights (and dropout masks). Default 0. */
  seed?: number;
  /** Model name (shown in reports). */
  name?: string;
}

export interface MlpOptions extends BuilderOptions {
  /** Units per hidden ReLU layer. Default [128, 64]. */
  hidden?: number[];
  /** Dropout rate after each hidden layer (0 = none). */
  dropout?: number;
}

export interface CnnOptions extends Partial<BuilderOptions> {
  /** Filters of the two 3x3 conv layers. Default [16, 32]. */
  filters?: [number, number];
  /** Units of the hidden dense layer. Default 64. */
  dense?: number;
}

/** Seeds for successive layers, derived from one seed. */
function seeds(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.uint32() & 0x7fffffff;
}

function checkOptions(o: BuilderOptions, who: string): void {
  if (o.inputShape.length === 0 || o.inputShape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new AegisInputError(`${who}: inputShape [${o.inputShape}] must be positive integers`);
  }
  if (!Number.isInteger(o.numClasses) || o.numClasses < 2) {
    throw new AegisInputError(`${who}: numClasses must be an integer >= 2, got ${o.numClasses}`);
  }
}

/** The output layer: logits, Glorot-uniform initialised. */
function logitsLayer(numClasses: number, seed: number): tfl.layers.Layer {
  return tfl.layers.dense({
    units: numClasses,
    kernelInitializer: tfl.initializers.glorotUniform({ seed }),
    name: 'logits',
  });
}

function reluDense(units: number, seed: number): tfl.layers.Layer {
  return tfl.layers.dense({ units, activation: 'relu', kernelInitializer: tfl.initializers.heNormal({ seed }) });
}

/** Multinomial logistic regression: (flatten) → Dense(numClasses). */
export function buildLogisticRegression(o: BuilderOptions): tfl.Sequential {
  checkOptions(o, 'logistic regression');
  const next = seeds(o.seed ?? 0);
  const model = tfl.sequential({ name: o.name ?? 'logistic-regression' });
  model.add(tfl.layers.inputLayer({ inputShape: o.inputShape }));
  if (o.inputShape.length > 1) model.add(tfl.layers.flatten());
  model.add(logitsLayer(o.numClasses, next()));
  return model;
}

/** Multi-layer perceptron: (flatten) → [Dense(h) ReLU (Dropout)]* → Dense(numClasses). */
export function buildMlp(o: MlpOptions): tfl.Sequential {
  checkOptions(o, 'mlp');
  const hidden = o.hidden ?? [128, 64];
  const rate = o.dropout ?? 0;
  if (hidden.some((h) => !Number.isInteger(h) || h <= 0)) {
    throw new AegisInputError(`mlp: hidden layer sizes [${hidden}] must be positive integers`);
  }
  if (!(rate >= 0 && rate < 1)) throw new AegisInputError(`mlp: dropout ${rate} must be in [0, 1)`);
  const next = seeds(o.seed ?? 0);
  const model = tfl.sequential({ name: o.name ?? `mlp-${hidden.join('-')}` });
  model.add(tfl.layers.inputLayer({ inputShape: o.inputShape }));
  if (o.inputShape.length > 1) model.add(tfl.layers.flatten());
  for (const units of hidden) {
    model.add(reluDense(units, next()));
    if (rate > 0) model.add(tfl.layers.dropout({ rate, seed: next() }));
  }
  model.add(logitsLayer(o.numClasses, next()));
  return model;
}

/**
 * The reference CNN (baseline/README.md), NHWC:
 * Conv(16,3x3) ReLU MaxPool2 Conv(32,3x3) ReLU MaxPool2 Flatten Dense(64) ReLU Dense(numClasses).
 * For 28x28x1 inputs the flattened size is 5*5*32 = 800, as in the PyTorch model.
 */
export function buildSmallCnn(o: CnnOptions = {}): tfl.Sequential {
  const full: BuilderOptions = { ...o, inputShape: o.inputShape ?? [28, 28, 1], numClasses: o.numClasses ?? 10 };
  checkOptions(full, 'small cnn');
  if (full.inputShape.length !== 3) {
    throw new AegisInputError(`small cnn: inputShape must be [height, width, channels], got [${full.inputShape}]`);
  }
  const [f1, f2] = o.filters ?? [16, 32];
  const next = seeds(full.seed ?? 0);
  const conv = (filters: number) =>
    tfl.layers.conv2d({
      filters,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: tfl.initializers.heNormal({ seed: next() }),
    });
  const model = tfl.sequential({ name: o.name ?? 'small-cnn' });
  model.add(tfl.layers.inputLayer({ inputShape: full.inputShape }));
  model.add(conv(f1));
  model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  model.add(conv(f2));
  model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tfl.layers.flatten());
  model.add(reluDense(o.dense ?? 64, next()));
  model.add(logitsLayer(full.numClasses, next()));
  return model;
}
