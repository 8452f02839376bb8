/**
 * Seeded synthetic datasets for the model tests: Gaussian blobs (tabular) and 28x28 images whose
 * class is the position of a bright horizontal bar.
 */
import { Rng } from '../../src/core/rng.js';
import type { Dataset } from '../../src/data/dataset.js';

/** `classes` well separated Gaussian blobs in `dims` dimensions (centers in [0.2, 0.8]). */
export function blobs(seed: number, n: number, dims = 8, classes = 3, spread = 0.08): Dataset {
  const rng = new Rng(seed);
  const centers = Array.from({ length: classes }, () => rng.uniformArray(dims, 0.2, 0.8));
  const x = new Float32Array(n * dims);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    y[i] = c;
    for (let d = 0; d < dims; d++) x[i * dims + d] = (centers[c]?.[d] ?? 0) + spread * rng.normal();
  }
  return {
    name: `blobs-${seed}`,
    x,
    shape: [n, dims],
    y,
    classNames: Array.from({ length: classes }, (_, c) => `c${c}`),
  };
}

/** 28x28x1 noise images with a bright 2-pixel bar at a row that depends on the class. */
export function barImages(seed: number, n: number, classes = 10): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(classes);
    y[i] = c;
    const row = 2 + c * 2;
    for (let p = 0; p < 784; p++) {
      const r = Math.floor(p / 28);
      x[i * 784 + p] = r === row || r === row + 1 ? 0.7 + 0.3 * rng.next() : 0.3 * rng.next();
    }
  }
  return {
    name: `bars-${seed}`,
    x,
    shape: [n, 28, 28, 1],
    y,
    classNames: Array.from({ length: classes }, (_, c) => `bar${c}`),
  };
}
