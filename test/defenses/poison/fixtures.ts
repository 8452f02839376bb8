/**
 * Poisoned training sets for the poison-detection tests, on the bundled Fashion-MNIST subset:
 * a BadNets-style patch backdoor planted on rows of one source class relabelled as the target
 * (the single source → target setting of Tran et al. 2018), and random label flips.
 */

import type { PoisonedTrainingSet, VictimTrainer } from '../../../src/attacks/poisoning/poisoning-attack.js';
import { applyTrigger, type Trigger } from '../../../src/attacks/poisoning/triggers.js';
import { architectureVictim } from '../../../src/attacks/poisoning/victims.js';
import { Rng } from '../../../src/core/rng.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { loadFashionMnist } from '../../../src/data/fashion-mnist.js';

export const TRIGGER: Trigger = { kind: 'patch' };
export const SOURCE = 1; // Trouser
export const TARGET = 9; // Ankle boot

/** The first `n` bundled training images. */
export function cleanTrain(n = 2000): Dataset {
  return loadFashionMnist({ split: 'train', source: 'bundled', limit: n });
}

/** `count` seeded rows of class SOURCE get the trigger and label TARGET. */
export function plantBackdoor(clean: Dataset, count: number, seed = 1): PoisonedTrainingSet {
  const candidates: number[] = [];
  clean.y.forEach((y, i) => {
    if (y === SOURCE) candidates.push(i);
  });
  const order = new Rng(seed).permutation(candidates.length);
  const poisonIndices = Int32Array.from(order.subarray(0, count), (j) => candidates[j] as number).sort();
  const triggered = applyTrigger(clean, TRIGGER, { indices: poisonIndices });
  const y = Int32Array.from(clean.y);
  for (const i of poisonIndices) y[i] = TARGET;
  return { train: { ...triggered, y }, poisonIndices, targetClass: TARGET };
}

/** `count` seeded rows get a random other label. */
export function flipLabels(clean: Dataset, count: number, seed = 2): PoisonedTrainingSet {
  const rng = new Rng(seed);
  const k = clean.classNames.length;
  const poisonIndices = rng.permutation(clean.y.length).subarray(0, count).sort();
  const y = Int32Array.from(clean.y);
  for (const i of poisonIndices) y[i] = ((y[i] as number) + 1 + rng.int(k - 1)) % k;
  return { train: { ...clean, y }, poisonIndices };
}

/** The victim recipe of these tests: the default MLP (128-64), Adam, `epochs` epochs. */
export function mlpVictim(epochs = 20): VictimTrainer {
  return architectureVictim('mlp', { epochs });
}

export interface SyntheticRepresentations {
  features: Float32Array;
  dim: number;
  labels: Int32Array;
  numClasses: number;
  poisonIndices: Int32Array;
}

/**
 * Representations as a trained network gives them: each class a Gaussian blob around its own
 * centre (anisotropic: a few strong directions), and `poisonCount` extra rows labelled
 * `poisonClass` that sit around a centre `shift` away from it — the spectral signature.
 */
export function syntheticRepresentations(o: {
  numClasses?: number;
  perClass?: number;
  dim?: number;
  poisonClass?: number;
  poisonCount?: number;
  shift?: number;
  seed?: number;
}): SyntheticRepresentations {
  const numClasses = o.numClasses ?? 4;
  const perClass = o.perClass ?? 200;
  const dim = o.dim ?? 16;
  const poisonClass = o.poisonClass ?? 1;
  const poisonCount = o.poisonCount ?? 0;
  const shift = o.shift ?? 10;
  const rng = new Rng(o.seed ?? 7);
  const scale = Float64Array.from({ length: dim }, (_, j) => (j < 3 ? 2 : 0.7));
  const centres = Array.from({ length: numClasses + 1 }, () =>
    Float64Array.from({ length: dim }, () => 10 * rng.normal()),
  );
  const direction = Float64Array.from({ length: dim }, () => rng.normal());
  const norm = Math.hypot(...direction);
  const n = numClasses * perClass + poisonCount;
  const features = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  const poisonIndices = new Int32Array(poisonCount);
  // Rows interleaved so poison is not a contiguous block.
  const order = rng.permutation(n);
  for (let r = 0; r < n; r++) {
    const row = order[r] as number;
    const poison = r >= numClasses * perClass;
    const label = poison ? poisonClass : Math.floor(r / perClass);
    labels[row] = label;
    for (let j = 0; j < dim; j++) {
      const base = (centres[label] as Float64Array)[j] as number;
      const offset = poison ? (shift * (direction[j] as number)) / norm : 0;
      features[row * dim + j] = base + offset + (scale[j] as number) * rng.normal() * (poison ? 0.1 : 1);
    }
    if (poison) poisonIndices[r - numClasses * perClass] = row;
  }
  poisonIndices.sort();
  return { features, dim, labels, numClasses, poisonIndices };
}
