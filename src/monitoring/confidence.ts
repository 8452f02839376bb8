/**
 * Predicted label and top-class confidence of one score row, and the confidence-drop check: a model that meets
 * inputs unlike its training data tends to be less sure of them (Hendrycks & Gimpel 2017, "A baseline for detecting
 * misclassified and out-of-distribution examples"), so a fall in the mean maximum softmax probability is a cheap
 * drift signal that needs no labels.
 */

/** Rows that are not a probability vector (a negative entry, or a sum off 1 by more than this) are treated as logits. */
const PROBABILITY_TOLERANCE = 1e-3;

/** Arg-max class and its probability for the row at `offset` (softmax applied when the row holds logits). */
export function topClass(scores: ArrayLike<number>, offset: number, k: number): { label: number; confidence: number } {
  let label = 0;
  let best = scores[offset] as number;
  let sum = 0;
  let negative = false;
  for (let c = 0; c < k; c++) {
    const v = scores[offset + c] as number;
    sum += v;
    if (v < 0) negative = true;
    if (v > best) {
      best = v;
      label = c;
    }
  }
  if (!negative && Math.abs(sum - 1) <= PROBABILITY_TOLERANCE) return { label, confidence: best };
  // Logits: max softmax probability = 1 / Σ exp(z_c − z_max).
  let denom = 0;
  for (let c = 0; c < k; c++) denom += Math.exp((scores[offset + c] as number) - best);
  return { label, confidence: 1 / denom };
}

export interface ConfidenceDrift {
  reference: number;
  current: number;
  /** reference − current (positive when the model became less sure). */
  drop: number;
  drift: boolean;
}

/** Drift when the mean top-class confidence fell by more than `threshold` (absolute). */
export function confidenceDrift(referenceMean: number, currentMean: number, threshold: number): ConfidenceDrift {
  const drop = referenceMean - currentMean;
  return { reference: referenceMean, current: currentMean, drop, drift: drop > threshold };
}
