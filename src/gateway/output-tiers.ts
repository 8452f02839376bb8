/**
 * Output hardening per caller tier: how much of the class probabilities a response carries.
 * The transforms are the output defenses of src/defenses/output (top-k zeroes all but the k
 * largest scores, Shokri et al. 2017; rounding and label-only, Tramèr et al. 2016), so a tier
 * answers exactly what the matching defended Model answers to an attack run in-process.
 *
 *   full     every score
 *   top-k    the k largest scores, the others 0 (not renormalised)
 *   rounded  every score rounded to `decimals` places
 *   label    no scores, the predicted class only
 *
 * Labels are the argmax of the returned scores (first index on ties), as OutputHardenedModel
 * defines them, so labels and scores in one response always agree.
 */
import { argmaxRows } from '../defenses/output/output-model.js';
import { roundScores } from '../defenses/output/rounding.js';
import { topKScores } from '../defenses/output/top-k.js';
import type { TierConfig } from './config.js';
import type { OutputMode } from './types.js';

/** What a caller of an unknown tier gets: the least revealing answer (fail closed). */
export const FALLBACK_TIER: TierConfig = { output: 'label' };

export interface ShapedOutput {
  labels: Int32Array;
  /** n rows of numClasses numbers; absent in label mode. */
  scores?: number[][];
}

/** The tier config for a principal's tier name; unknown names get FALLBACK_TIER. */
export function tierFor(tiers: Record<string, TierConfig>, name: string): { tier: TierConfig; known: boolean } {
  const tier = Object.hasOwn(tiers, name) ? tiers[name] : undefined;
  return tier ? { tier, known: true } : { tier: FALLBACK_TIER, known: false };
}

/** Short description for GET /v1/models and the audit log: 'full', 'top-3', 'rounded-2', 'label'. */
export function describeTier(tier: TierConfig): string {
  if (tier.output === 'top-k') return `top-${tier.k}`;
  if (tier.output === 'rounded') return `rounded-${tier.decimals}`;
  return tier.output;
}

/** What GET /v1/models tells a caller about its own output. */
export function tierSummary(tier: TierConfig): { mode: OutputMode; k?: number; decimals?: number } {
  if (tier.output === 'top-k') return { mode: tier.output, k: tier.k };
  if (tier.output === 'rounded') return { mode: tier.output, decimals: tier.decimals };
  return { mode: tier.output };
}

/** Applies the tier to n×k probabilities (row-major). */
export function shapeOutput(tier: TierConfig, scores: Float32Array, numClasses: number): ShapedOutput {
  if (tier.output === 'label') return { labels: argmaxRows(scores, numClasses) };
  if (tier.output === 'full') return { labels: argmaxRows(scores, numClasses), scores: rows(scores, numClasses) };
  if (tier.output === 'top-k') {
    const kept = topKScores(scores, numClasses, Math.min(tier.k ?? 1, numClasses));
    return { labels: argmaxRows(kept, numClasses), scores: rows(kept, numClasses) };
  }
  const decimals = tier.decimals ?? 2;
  const rounded = roundScores(scores, decimals);
  // roundScores keeps float32, whose nearest value to 0.87 prints as 0.8700000047683716 in JSON;
  // rounding that float32 value again in float64 gives the number the tier promises (0.87).
  const scale = 10 ** decimals;
  return {
    labels: argmaxRows(rounded, numClasses),
    scores: rows(rounded, numClasses, (v) => Math.round(v * scale) / scale),
  };
}

function rows(values: Float32Array, k: number, map?: (v: number) => number): number[][] {
  const n = values.length / k;
  const out = new Array<number[]>(n);
  for (let i = 0; i < n; i++) {
    const row = new Array<number>(k);
    for (let j = 0; j < k; j++) {
      const v = values[i * k + j] as number;
      row[j] = map ? map(v) : v;
    }
    out[i] = row;
  }
  return out;
}
