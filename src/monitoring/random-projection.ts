// Gaussian random projection (Johnson & Lindenstrauss 1984; Achlioptas 2003): a fixed seeded d × k matrix with
// N(0, 1/k) entries keeps pairwise distances within a factor 1 ± ε with high probability, so a kernel test on the
// k-dimensional projection sees the same geometry as on the raw pixels. "SRP" in Rabanser, Günnemann & Lipton 2019.
import { Rng } from '../core/rng.js';

export interface Projection {
  inDim: number;
  outDim: number;
  /** Row-major inDim × outDim. */
  matrix: Float32Array;
}

export function gaussianProjection(inDim: number, outDim: number, seed: number): Projection {
  const rng = new Rng(seed);
  const matrix = rng.normalArray(inDim * outDim);
  const scale = 1 / Math.sqrt(outDim);
  for (let i = 0; i < matrix.length; i++) matrix[i] = (matrix[i] as number) * scale;
  return { inDim, outDim, matrix };
}

/** Projects `count` rows of `rows` starting at row `start` → count × outDim. */
export function project(
  p: Projection,
  rows: Float32Array,
  start: number,
  count: number,
  out?: Float64Array,
): Float64Array {
  const result = out ?? new Float64Array(count * p.outDim);
  const { inDim, outDim, matrix } = p;
  for (let r = 0; r < count; r++) {
    const src = (start + r) * inDim;
    const dst = r * outDim;
    for (let k = 0; k < outDim; k++) result[dst + k] = 0;
    for (let i = 0; i < inDim; i++) {
      const v = rows[src + i] as number;
      if (v === 0) continue; // images are mostly background: skip zero pixels
      const mrow = i * outDim;
      for (let k = 0; k < outDim; k++) result[dst + k] += v * (matrix[mrow + k] as number);
    }
  }
  return result;
}
