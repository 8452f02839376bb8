/**
 * Per-example statistics of a model's output that membership attacks threshold or model: loss,
 * confidence and LiRA's logit-scaled confidence. Inputs are logits [n, k] row-major (any additive
 * constant per row is harmless, so log-probabilities work too); all arithmetic is float64.
 */

function logSumExp(row: ArrayLike<number>, offset: number, k: number, skip = -1): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < k; j++) if (j !== skip) max = Math.max(max, row[offset + j] as number);
  if (max === Number.NEGATIVE_INFINITY) return max;
  let sum = 0;
  for (let j = 0; j < k; j++) if (j !== skip) sum += Math.exp((row[offset + j] as number) - max);
  return max + Math.log(sum);
}

/** Cross-entropy loss −log p_y per example. */
export function crossEntropyLosses(logits: ArrayLike<number>, labels: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    out[i] = logSumExp(logits, i * k, k) - (logits[i * k + (labels[i] as number)] as number);
  }
  return out;
}

/** Largest class probability per example (needs no label). */
export function maxProbabilities(logits: ArrayLike<number>, n: number, k: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[i * k + j] as number);
    out[i] = Math.exp(max - logSumExp(logits, i * k, k));
  }
  return out;
}

/**
 * LiRA's φ = log(p_y / (1 − p_y)), computed as z_y − logsumexp_{j≠y} z_j so that it stays exact
 * when p_y rounds to 1 (Carlini et al. 2022, §IV-C: the scaled confidence is close to Gaussian).
 */
export function logitScaledConfidences(logits: ArrayLike<number>, labels: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    out[i] = (logits[i * k + y] as number) - logSumExp(logits, i * k, k, y);
  }
  return out;
}

/** log-softmax of every row, clipped below at `floor` (features for the shadow attack model). */
export function logSoftmaxRows(logits: ArrayLike<number>, n: number, k: number, floor = -50): Float64Array {
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const lse = logSumExp(logits, i * k, k);
    for (let j = 0; j < k; j++) out[i * k + j] = Math.max(floor, (logits[i * k + j] as number) - lse);
  }
  return out;
}
