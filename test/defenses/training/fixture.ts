/**
 * Shared by the adversarial-training tests: 1500 bundled Fashion-MNIST training images, 300 test
 * images, a one-hidden-layer MLP, and accuracy under PGD-10 at eps 0.1 (the defenses' default eps).
 * A standard-trained MLP reaches ~0.17 there; the adversarially trained ones ~0.35–0.39.
 */
import { loadFashionMnist } from '../../../src/data/fashion-mnist.js';
import { evaluateRobustness } from '../../../src/defenses/training/evaluate-robustness.js';
import { buildMlp } from '../../../src/models/builders.js';
import type { Model } from '../../../src/models/model.js';
import { TfjsModel } from '../../../src/models/tfjs-model.js';
import { trainModel } from '../../../src/models/train.js';

export const EPS = 0.1;
export const train = loadFashionMnist({ split: 'train', source: 'bundled', limit: 1500 });
export const test = loadFashionMnist({ split: 'test', source: 'bundled', limit: 300 });

/** The architecture to harden: flatten → Dense(64) ReLU → Dense(10). */
export function mlp(seed = 1): TfjsModel {
  return new TfjsModel(buildMlp({ inputShape: [28, 28, 1], numClasses: 10, hidden: [64], seed, name: 'fmnist-mlp' }));
}

/** The same MLP with standard training (3 epochs, batch 64, Adam 2e-3). */
export async function standardMlp(seed = 1): Promise<TfjsModel> {
  const model = mlp(seed);
  await trainModel(model.network, train, { epochs: 3, batchSize: 64, learningRate: 2e-3, seed, progress: false });
  return model;
}

/** Clean accuracy and accuracy under PGD-10 (step eps/10, random start) on the 300 test images. */
export async function robustness(model: Model): Promise<{ clean: number; pgd: number }> {
  const r = await evaluateRobustness(model, test, { eps: EPS, seed: 3, pgdSteps: 10, squareExamples: 0 });
  return { clean: r.cleanAccuracy, pgd: r.pgd.accuracy };
}

/** Settings the method tests share: 3 epochs, batch 64 (learning rate as each method's test says). */
export const SHORT_RUN = { epochs: 3, batchSize: 64 } as const;
