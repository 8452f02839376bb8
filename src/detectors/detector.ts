/**
 * The Detector contract shared by every defender-side detector (network, phishing, behaviour,
 * triage): a streaming scorer for security events, as River's learn_one/predict_one, plus
 * batch fit for training and benchmarks, as scikit-learn's estimators.
 *
 *   const verdict = detector.score(event);   // {score: 0.97, label: 'phishing', reasons: [...]}
 *   detector.learn(event);                   // update state online (baselines, counters), O(1)-ish
 *
 * Scores are "higher = more suspicious" in [0, 1] where that is natural (probabilities) or an
 * unbounded anomaly score otherwise (say which in `scoreKind`); the label applies the detector's
 * operating threshold, chosen on training data, never on test data. Reasons say why, in terms an
 * analyst reads: the top features that pushed the score up.
 */

/** One contributing cause of a verdict. */
export interface Reason {
  /** Stable machine name of the feature or rule, e.g. 'reply-to-mismatch', 'src_bytes'. */
  feature: string;
  /** Human sentence: "Reply-To domain evil.example differs from From domain bank.example". */
  detail: string;
  /** Contribution to the score (same units as the score, or a relative weight); larger = more suspicious. */
  weight: number;
}

export interface Verdict {
  score: number;
  /** The detector's decision at its operating threshold, e.g. 'normal' / 'attack', 'ham' / 'phishing', or a class name. */
  label: string;
  /** Most important first; empty when the detector cannot explain itself. */
  reasons: Reason[];
}

export interface Detector<E> {
  /** Short stable name: 'nids-supervised', 'nids-autoencoder', 'phishing-mail', 'uba-baseline'. */
  readonly name: string;
  /** 'probability' (in [0, 1]) or 'anomaly' (unbounded, higher = stranger). */
  readonly scoreKind: 'probability' | 'anomaly';
  /** Scores one event. Pure with respect to the detector's state. */
  score(event: E): Verdict;
  /** Updates the detector's state with one event (online learning); batch-trained detectors may do nothing (documented). */
  learn(event: E): void;
}

/** A detector trained in batch (supervised `labels`, or unsupervised when omitted). */
export interface TrainableDetector<E, L = number> extends Detector<E> {
  fit(events: readonly E[], labels?: readonly L[], options?: { seed?: number; progress?: boolean }): Promise<void>;
}
