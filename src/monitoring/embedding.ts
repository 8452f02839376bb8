/**
 * What the MMD test compares. Raw images have hundreds of correlated pixels, too many for a kernel test on a few
 * hundred examples, so they are embedded first:
 *   projection — a fixed seeded Gaussian random projection of the inputs to `dims` (default 32) dimensions. The
 *                default for inputs wider than `dims`: it needs nothing from the model, sees input changes the model
 *                may be blind to, and keeps pixel-space distances (Johnson-Lindenstrauss). Rabanser et al. 2019
 *                ("Failing Loudly") found MMD on such random projections among the strongest shift detectors.
 *   scores     — the model's class probabilities (their "BBSD" softmax embedding): reacts to shifts that change
 *                predictions, blind to ones the model ignores. Aegis models expose scores, not penultimate features.
 *   features   — the raw inputs standardised by the reference mean and standard deviation, for narrow (tabular) inputs.
 */
import { AegisInputError } from '../core/errors.js';
import { gaussianProjection, type Projection, project } from './random-projection.js';

export const EMBEDDINGS = ['projection', 'scores', 'features'] as const;
export type EmbeddingKind = (typeof EMBEDDINGS)[number];

/** Default embedding width for random projections. */
export const EMBEDDING_DIMS = 32;

export interface Embedder {
  kind: EmbeddingKind;
  dims: number;
  /** Embeds the rows at `indices` → indices.length × dims. */
  embed(rows: Float32Array, scores: Float32Array, indices: ArrayLike<number>): Float64Array;
}

export interface EmbedderOptions {
  kind?: EmbeddingKind | 'auto';
  rowSize: number;
  numClasses: number;
  dims?: number;
  seed: number;
  /** Reference rows (row-major, n × rowSize), for the standardisation of 'features'. */
  reference?: { rows: Float32Array; n: number };
}

function gather(rows: Float32Array, width: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * width);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r] as number;
    out.set(rows.subarray(i * width, (i + 1) * width), r * width);
  }
  return out;
}

export function createEmbedder(opts: EmbedderOptions): Embedder {
  const dims = opts.dims ?? EMBEDDING_DIMS;
  const kind =
    opts.kind === undefined || opts.kind === 'auto' ? (opts.rowSize > dims ? 'projection' : 'features') : opts.kind;
  if (kind === 'scores') {
    if (opts.numClasses < 2) throw new AegisInputError("the 'scores' embedding needs model scores (no model given)");
    const k = opts.numClasses;
    return { kind, dims: k, embed: (_rows, scores, indices) => Float64Array.from(gather(scores, k, indices)) };
  }
  if (kind === 'projection') {
    const p: Projection = gaussianProjection(opts.rowSize, dims, opts.seed);
    return {
      kind,
      dims,
      embed: (rows, _scores, indices) => project(p, gather(rows, opts.rowSize, indices), 0, indices.length),
    };
  }
  const d = opts.rowSize;
  const mean = new Float64Array(d);
  const scale = new Float64Array(d).fill(1);
  const ref = opts.reference;
  if (ref && ref.n > 0) {
    for (let i = 0; i < ref.n; i++) for (let f = 0; f < d; f++) mean[f] += ref.rows[i * d + f] as number;
    for (let f = 0; f < d; f++) mean[f] = (mean[f] as number) / ref.n;
    const v = new Float64Array(d);
    for (let i = 0; i < ref.n; i++) {
      for (let f = 0; f < d; f++) v[f] += ((ref.rows[i * d + f] as number) - (mean[f] as number)) ** 2;
    }
    for (let f = 0; f < d; f++) {
      const sd = Math.sqrt((v[f] as number) / ref.n);
      scale[f] = sd > 0 ? 1 / sd : 1;
    }
  }
  return {
    kind: 'features',
    dims: d,
    embed: (rows, _scores, indices) => {
      const out = new Float64Array(indices.length * d);
      for (let r = 0; r < indices.length; r++) {
        const i = indices[r] as number;
        for (let f = 0; f < d; f++) {
          out[r * d + f] = ((rows[i * d + f] as number) - (mean[f] as number)) * (scale[f] as number);
        }
      }
      return out;
    },
  };
}
