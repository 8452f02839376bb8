/**
 * Small synthetic membership fixtures: tabular records in [0, 1]^d with 3 classes from a random
 * linear rule and 30% label noise (so an MLP that fits its training set memorises the noisy
 * labels — the leak membership attacks detect), and a deliberately overfit target.
 */
import { Rng } from '../../../src/core/rng.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { buildMlp } from '../../../src/models/builders.js';
import { TfjsModel } from '../../../src/models/tfjs-model.js';
import { trainModel } from '../../../src/models/train.js';

export const D = 12;
export const CLASSES = 3;
export const TARGET_SPEC = { arch: 'mlp' as const, hidden: [64], epochs: 150, batchSize: 16, learningRate: 3e-3 };

/** `n` records from the fixed distribution, drawn with `seed`. */
export function records(n: number, seed: number, name: string): Dataset {
  const rule = new Rng(12345); // the same rule for every draw
  const w = rule.normalArray(D * CLASSES);
  const rng = new Rng(seed);
  const x = rng.uniformArray(n * D, 0, 1);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < CLASSES; c++) {
      let v = 0;
      for (let f = 0; f < D; f++) v += ((x[i * D + f] as number) - 0.5) * (w[f * CLASSES + c] as number);
      if (v > bestValue) [best, bestValue] = [c, v];
    }
    y[i] = rng.next() < 0.3 ? rng.int(CLASSES) : best;
  }
  return { name, x, y, shape: [n, D], classNames: ['a', 'b', 'c'] };
}

/** An MLP trained to (over)fit `train` with the recipe the attacker's shadows also use. */
export async function overfitTarget(train: Dataset, seed = 1): Promise<TfjsModel> {
  const net = buildMlp({ inputShape: [D], numClasses: CLASSES, hidden: TARGET_SPEC.hidden, seed });
  await trainModel(net, train, {
    epochs: TARGET_SPEC.epochs,
    batchSize: TARGET_SPEC.batchSize,
    learningRate: TARGET_SPEC.learningRate,
    seed,
    progress: false,
  });
  return new TfjsModel(net, { name: 'overfit-mlp', classNames: train.classNames });
}
