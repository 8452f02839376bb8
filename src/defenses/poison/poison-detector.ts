/**
 * The poison-detector contract (a dataset defense, DESIGN.md): given a training set's
 * feature representations (usually a trained model's penultimate-layer activations) and its
 * labels, score every row for how likely it is poison and flag the most suspicious ones.
 * Detectors never see which rows are poison; `evaluateDetection` compares afterwards.
 */

export interface PoisonDetectionInput {
  /** Row-major [n, dim] representation of each training row. */
  features: Float32Array;
  dim: number;
  /** Training label per row (as given, possibly poisoned). */
  labels: Int32Array;
  numClasses: number;
  /**
   * Out-of-sample predicted probabilities [n, numClasses] (e.g. from cross-validation), for
   * label-consistency methods; detectors that need them throw AegisInputError when absent.
   */
  probabilities?: Float32Array;
  /** Upper bound on the poisoned share the defender budgets for (Tran et al. remove 1.5x it). */
  expectedPoisonFraction?: number;
  seed: number;
}

export interface PoisonDetectionResult {
  method: string;
  /** Suspicion per row: higher = more likely poison. */
  scores: Float32Array;
  /** Rows flagged for removal, ascending. */
  flagged: Int32Array;
}

export interface PoisonDetector {
  /** CLI name: 'spectral-signatures', 'activation-clustering', 'label-consistency'. */
  name: string;
  citation: string;
  detect(input: PoisonDetectionInput): PoisonDetectionResult;
}

export interface DetectionMetrics {
  /** Flagged rows that are poison / flagged rows (1 when nothing is flagged). */
  precision: number;
  /** Poison rows flagged / poison rows (1 when there is no poison). */
  recall: number;
  flaggedCount: number;
  /** Flagged rows / all rows. */
  flaggedFraction: number;
}
