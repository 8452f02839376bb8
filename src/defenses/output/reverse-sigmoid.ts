// Lee, Edwards, Molloy & Su 2019, "Defending Against NN Model Stealing Attacks Using Deceptive Perturbations", IEEE S&P Workshops (arXiv:1806.00054).
/**
 * Reverse sigmoid perturbation: each class probability y is moved by
 *   r(y) = β · (s(γ · s⁻¹(y)) − 1/2),   s the sigmoid, s⁻¹(y) = log(y / (1 − y)) the logit,
 * then the perturbed vector is clipped to [0, 1] and renormalised to sum to 1:
 *   y' = clip(y − r(y), 0, 1) / Σ_j clip(y_j − r(y_j), 0, 1).
 * This is IBM ART's ReverseSigmoid postprocessor exactly (art/defences/postprocessor/
 * reverse_sigmoid.py): y is clipped to [1e-9, 1 − 1e-9] inside the logit only, and the defaults are
 * ART's, β = 1 and γ = 0.1 (the paper tunes β and γ per dataset). For γ < 1 the map y ↦ y − r(y)
 * is not monotone near 0 and 1 — that is what misleads a surrogate trained on the scores — so the
 * top-1 label is NOT kept for every input: it is kept whenever the top probability is at least
 * reverseSigmoidSafeConfidence(β, γ) (≈ 0.376 for ART's defaults); below that a near-zero class can
 * overtake it (see docs/output-hardening.md for measured label agreement).
 *
 * Params: beta (> 0; default 1), gamma (> 0; default 0.1).
 */
import type { Model } from '../../models/model.js';
import type { Defense, DefenseContext } from '../defense.js';
import { OutputHardenedModel } from './output-model.js';
import { type ParamSpec, readParams } from './params.js';

export const REVERSE_SIGMOID_PARAMS = {
  beta: { type: 'number', default: 1, positive: true, description: 'perturbation magnitude β' },
  gamma: { type: 'number', default: 0.1, positive: true, description: 'convergence (steepness) parameter γ' },
} satisfies Record<string, ParamSpec>;

/** ART's clip of y inside the logit. */
const CLIP = 1e-9;

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** y − r(y), clipped to [0, 1], before renormalisation. */
export function reverseSigmoidUnnormalised(y: number, beta: number, gamma: number): number {
  const c = Math.min(1 - CLIP, Math.max(CLIP, y));
  const r = beta * (sigmoid(gamma * Math.log(c / (1 - c))) - 0.5);
  return Math.min(1, Math.max(0, y - r));
}

/** The reverse-sigmoid-perturbed, renormalised scores of every row. */
export function reverseSigmoidScores(scores: Float32Array, k: number, beta: number, gamma: number): Float32Array {
  const out = new Float32Array(scores.length);
  const row = new Float64Array(k);
  for (let i = 0; i < scores.length / k; i++) {
    let sum = 0;
    for (let j = 0; j < k; j++) {
      row[j] = reverseSigmoidUnnormalised(scores[i * k + j] as number, beta, gamma);
      sum += row[j] as number;
    }
    // sum > 0 always: some class has y < 1/2 (k ≥ 3, or k = 2 off the tie), and there r(y) < 0.
    for (let j = 0; j < k; j++) out[i * k + j] = sum > 0 ? (row[j] as number) / sum : 1 / k;
  }
  return out;
}

/**
 * The smallest top-class probability p* such that every input whose top probability is ≥ p* keeps
 * its top-1 label under the perturbation, whatever the other scores (they are each ≤ min(p, 1 − p)).
 * Checked on a grid of `steps` + 1 points in [0, 1]; 0 would mean "always kept".
 */
export function reverseSigmoidSafeConfidence(beta: number, gamma: number, steps = 10_000): number {
  const f = Float64Array.from({ length: steps + 1 }, (_, i) => reverseSigmoidUnnormalised(i / steps, beta, gamma));
  const prefixMax = new Float64Array(steps + 1);
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i <= steps; i++) {
    max = Math.max(max, f[i] as number);
    prefixMax[i] = max;
  }
  let safe = steps + 1;
  for (let i = steps; i >= 1; i--) {
    // Other classes: q < p and q ≤ 1 − p.
    const highest = Math.min(i - 1, steps - i);
    const ok = highest < 0 || (f[i] as number) > (prefixMax[highest] as number);
    if (!ok) break;
    safe = i;
  }
  return safe / steps;
}

export class ReverseSigmoidModel extends OutputHardenedModel {
  constructor(
    inner: Model,
    readonly beta: number,
    readonly gamma: number,
  ) {
    super(inner, `reverse-sigmoid(β=${beta},γ=${gamma})`, (scores, k) => reverseSigmoidScores(scores, k, beta, gamma));
  }
}

export const reverseSigmoidDefense: Defense = {
  name: 'reverse-sigmoid',
  title: 'Reverse sigmoid perturbation',
  citation:
    'Lee, Edwards, Molloy & Su 2019, "Defending Against NN Model Stealing Attacks Using Deceptive Perturbations", IEEE S&P Workshops',
  kind: 'output',
  mitigations: ['AML.M0002'],
  async apply(model: Model, context: DefenseContext): Promise<Model> {
    const { beta, gamma } = readParams('reverse-sigmoid', REVERSE_SIGMOID_PARAMS, context.params);
    return new ReverseSigmoidModel(model, beta, gamma);
  },
};
