// Tramèr, Zhang, Juels, Reiter & Ristenpart 2016, "Stealing Machine Learning Models via Prediction APIs", USENIX Security (countermeasure: rounding confidences).
/**
 * Rounded scores: every class probability is rounded to d decimals, as a prediction API that
 * prints "0.87" would (Tramèr et al.; IBM ART's Rounded postprocessor, default there 3). The
 * rounded vector is not renormalised, so its sum may differ from 1 by up to k·0.5·10^-d, and
 * probabilities below 0.5·10^-d become exactly 0. Halves round up (Math.round on the float32 value
 * times 10^d; ART's np.around rounds halves to even — exact halves are vanishingly rare in float32
 * probabilities).
 *
 * Params: decimals (integer 1–8; default 2).
 */
import type { Model } from '../../models/model.js';
import type { Defense, DefenseContext } from '../defense.js';
import { OutputHardenedModel } from './output-model.js';
import { type ParamSpec, readParams } from './params.js';

export const ROUNDING_PARAMS = {
  decimals: { type: 'integer', default: 2, min: 1, max: 8, description: 'decimal places kept' },
} satisfies Record<string, ParamSpec>;

/** Each score rounded to `decimals` decimal places. */
export function roundScores(scores: Float32Array, decimals: number): Float32Array {
  const scale = 10 ** decimals;
  return scores.map((p) => Math.round(p * scale) / scale);
}

export class RoundedModel extends OutputHardenedModel {
  constructor(
    inner: Model,
    readonly decimals: number,
  ) {
    super(inner, `rounded-${decimals}`, (scores) => roundScores(scores, decimals));
  }
}

export const roundingDefense: Defense = {
  name: 'rounding',
  title: 'Rounded scores',
  citation:
    'Tramèr, Zhang, Juels, Reiter & Ristenpart 2016, "Stealing Machine Learning Models via Prediction APIs", USENIX Security',
  kind: 'output',
  mitigations: ['AML.M0002'],
  async apply(model: Model, context: DefenseContext): Promise<Model> {
    const { decimals } = readParams('rounding', ROUNDING_PARAMS, context.params);
    return new RoundedModel(model, decimals);
  },
};
