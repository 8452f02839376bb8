/**
 * Victims trained the way Fredrikson, Jha & Ristenpart (CCS 2015, §5) trained their face
 * recognisers: softmax regression, and an MLP with one layer of sigmoid hidden units (the paper:
 * 3000; default here 500), both fit by plain gradient descent (with momentum) on the
 * cross-entropy of all training images at once. Softmax-regression weights start at zero, so
 * they stay in the span of the training faces — which is what makes its inversions look like
 * faces; Adam with random initial weights leaves per-pixel noise in the weights instead.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import { type Dataset, featureShape, toTensor, validateDataset } from '../../data/dataset.js';
import { TfjsModel } from '../../models/tfjs-model.js';

export type PaperVictim = 'softmax' | 'mlp';

export interface PaperVictimOptions {
  /** MLP hidden sigmoid units. Default 500. */
  hidden?: number;
  /** Full-batch gradient steps. Default 300. */
  epochs?: number;
  /** Default 0.05 (softmax) or 0.1 (mlp). */
  learningRate?: number;
  /** Default 0.9. */
  momentum?: number;
  seed: number;
  name?: string;
  /** Called every 25 steps with the step and loss. */
  onStep?: (step: number, loss: number) => void;
}

export async function trainPaperVictim(kind: PaperVictim, data: Dataset, opts: PaperVictimOptions): Promise<TfjsModel> {
  validateDataset(data);
  const epochs = opts.epochs ?? 300;
  if (!Number.isInteger(epochs) || epochs < 1) throw new AegisInputError(`epochs must be ≥ 1, got ${epochs}`);
  const k = data.classNames.length;
  const rng = new Rng(opts.seed);
  const seed = () => rng.uint32() & 0x7fffffff;
  const name = opts.name ?? `${data.name}-${kind}`;
  const net = tfl.sequential({ name });
  net.add(tfl.layers.flatten({ inputShape: featureShape(data) }));
  if (kind === 'mlp') {
    const hidden = opts.hidden ?? 500;
    net.add(
      tfl.layers.dense({
        units: hidden,
        activation: 'sigmoid',
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed() }),
      }),
    );
    net.add(tfl.layers.dense({ units: k, kernelInitializer: tfl.initializers.glorotUniform({ seed: seed() }) }));
  } else {
    net.add(tfl.layers.dense({ units: k, kernelInitializer: 'zeros' }));
  }
  const optimizer = tf.train.momentum(opts.learningRate ?? (kind === 'mlp' ? 0.1 : 0.05), opts.momentum ?? 0.9);
  const x = toTensor(data);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(data.y, 'int32'), k));
  try {
    for (let step = 1; step <= epochs; step++) {
      const loss = optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(y, net.apply(x) as tf.Tensor2D) as tf.Scalar,
        true,
      ) as tf.Scalar;
      if (opts.onStep && (step % 25 === 0 || step === epochs)) opts.onStep(step, (await loss.data())[0] as number);
      loss.dispose();
    }
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
  }
  return new TfjsModel(net, { name, classNames: data.classNames });
}
