/**
 * Query streams for the PRADA tests: natural Fashion-MNIST images (the bundled test subset) and
 * a JBDA-like synthetic stream (Papernot et al. 2017): a few natural seeds, then rounds in which
 * every sample so far is sent again moved by ±λ per pixel (clipped to [0, 1]), as Jacobian-based
 * augmentation does with the substitute's gradient signs (random signs here, seeded).
 */
import { Rng } from '../../../src/core/rng.js';
import { type Dataset, featureSize, size } from '../../../src/data/dataset.js';
import { loadFashionMnist } from '../../../src/data/fashion-mnist.js';

export interface QueryStream {
  rows: Float32Array;
  labels: Int32Array;
  rowSize: number;
}

let cachedTest: Dataset | undefined;
let cachedTrain: Dataset | undefined;

export function bundledTest(): Dataset {
  cachedTest ??= loadFashionMnist({ split: 'test', source: 'bundled' });
  return cachedTest;
}

function bundledTrain(): Dataset {
  cachedTrain ??= loadFashionMnist({ split: 'train', source: 'bundled' });
  return cachedTrain;
}

/** `count` bundled test images in a seeded random order, labelled with their true class. */
export function naturalStream(count: number, seed: number): QueryStream {
  const data = bundledTest();
  const d = featureSize(data);
  const order = new Rng(seed).permutation(size(data)).subarray(0, count);
  const rows = new Float32Array(order.length * d);
  const labels = new Int32Array(order.length);
  order.forEach((i, q) => {
    rows.set(data.x.subarray(i * d, (i + 1) * d), q * d);
    labels[q] = data.y[i] as number;
  });
  return { rows, labels, rowSize: d };
}

/** `seeds` natural training images, then JBDA-like rounds until `count` queries; labels stay the seed's. */
export function jbdaLikeStream(count: number, seeds: number, lambda: number, seed: number): QueryStream {
  const data = bundledTrain();
  const d = featureSize(data);
  const rng = new Rng(seed);
  const rows = new Float32Array(count * d);
  const labels = new Int32Array(count);
  const start = rng.permutation(size(data)).subarray(0, Math.min(seeds, count));
  start.forEach((i, q) => {
    rows.set(data.x.subarray(i * d, (i + 1) * d), q * d);
    labels[q] = data.y[i] as number;
  });
  let n = start.length;
  while (n < count) {
    for (let parent = 0, existing = n; parent < existing && n < count; parent++, n++) {
      for (let j = 0; j < d; j++) {
        const v = (rows[parent * d + j] as number) + (rng.next() < 0.5 ? -lambda : lambda);
        rows[n * d + j] = Math.min(1, Math.max(0, v));
      }
      labels[n] = labels[parent] as number;
    }
  }
  return { rows, labels, rowSize: d };
}
