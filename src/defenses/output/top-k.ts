// Shokri, Stronati, Song & Shmatikov 2017, "Membership Inference Attacks Against Machine Learning Models", IEEE S&P (mitigation: restrict the prediction vector to the top k classes).
/**
 * Top-k output: every class score outside the k largest is set to 0. The kept scores are NOT
 * renormalised by default — Shokri et al. return "the probabilities of the most likely k
 * classes" as they are, and IBM ART's HighConfidence postprocessor (the closest thing ART has:
 * zero every score under a cutoff) does not renormalise either. `renormalise: true` rescales the
 * kept scores to sum to 1 (then top-1 returns a one-hot vector: no confidence left at all).
 * Ties at the k-th place are broken by the lower class index, so exactly k scores survive.
 *
 * Params: k (integer ≥ 1, ≤ classes; default 3), renormalise (boolean; default false).
 */
import type { Model } from '../../models/model.js';
import type { Defense, DefenseContext } from '../defense.js';
import { OutputHardenedModel } from './output-model.js';
import { type ParamSpec, readParams } from './params.js';

export const TOP_K_PARAMS = {
  k: { type: 'integer', default: 3, min: 1, description: 'classes whose scores are returned' },
  renormalise: { type: 'boolean', default: false, description: 'rescale the kept scores to sum to 1' },
} satisfies Record<string, ParamSpec>;

/** Zeroes all but the k largest scores of each row (ties: lower index kept); optionally renormalises. */
export function topKScores(scores: Float32Array, numClasses: number, k: number, renormalise = false): Float32Array {
  const out = new Float32Array(scores.length);
  const n = scores.length / numClasses;
  const order = Array.from({ length: numClasses }, (_, j) => j);
  for (let i = 0; i < n; i++) {
    const row = scores.subarray(i * numClasses, (i + 1) * numClasses);
    order.sort((a, b) => (row[b] as number) - (row[a] as number) || a - b);
    let kept = 0;
    for (let r = 0; r < k && r < numClasses; r++) kept += row[order[r] as number] as number;
    for (let r = 0; r < k && r < numClasses; r++) {
      const j = order[r] as number;
      const v = row[j] as number;
      out[i * numClasses + j] = renormalise && kept > 0 ? v / kept : v;
    }
  }
  return out;
}

export class TopKModel extends OutputHardenedModel {
  constructor(
    inner: Model,
    readonly k: number,
    readonly renormalise = false,
  ) {
    super(inner, `top-${k}`, (scores, numClasses) => topKScores(scores, numClasses, k, renormalise));
  }
}

export const topKDefense: Defense = {
  name: 'top-k',
  title: 'Top-k scores only',
  citation:
    'Shokri, Stronati, Song & Shmatikov 2017, "Membership Inference Attacks Against Machine Learning Models", IEEE S&P',
  kind: 'output',
  mitigations: ['AML.M0002'],
  async apply(model: Model, context: DefenseContext): Promise<Model> {
    const p = readParams(
      'top-k',
      { ...TOP_K_PARAMS, k: { ...TOP_K_PARAMS.k, max: model.info.numClasses } },
      context.params,
    );
    return new TopKModel(model, p.k, p.renormalise);
  },
};
