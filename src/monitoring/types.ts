/** The nouns of drift monitoring: detector verdicts per window and the JSON report the gateway serves. */
import type { Alert } from '../gateway/types.js';

export const DRIFT_DETECTORS = ['ks', 'psi', 'mmd', 'chi-square', 'confidence'] as const;
export type DriftDetector = (typeof DRIFT_DETECTORS)[number];

/** Alert source of each detector. */
export const DRIFT_SOURCES: Readonly<Record<DriftDetector, string>> = {
  ks: 'drift/ks',
  psi: 'drift/psi',
  mmd: 'drift/mmd',
  'chi-square': 'drift/chi-square',
  confidence: 'drift/confidence',
};

/** One detector's verdict on one window. */
export interface DetectorResult {
  detector: DriftDetector;
  /** Alert source: 'drift/ks', 'drift/psi', … */
  source: string;
  drift: boolean;
  statistic: number;
  pValue: number | null;
  /** The p-value must fall below it (thresholdOn 'p-value') or the statistic rise above it ('statistic'). */
  threshold: number;
  thresholdOn: 'p-value' | 'statistic';
  detail: Record<string, unknown>;
}

/** What one window evaluation found. */
export interface WindowEvaluation {
  /** 1-based count of evaluated windows. */
  window: number;
  /** Stream position (0-based, counting every observed example) of the window's first example. */
  firstExample: number;
  examples: number;
  /** When the evaluation finished (ISO 8601). */
  time: string;
  /** Milliseconds spent running the evaluation (wall clock inside its own slices, not the gaps between them). */
  ms: number;
  results: DetectorResult[];
  /** Alerts raised by this window (a detector that was already drifting raises none). */
  alerts: Alert[];
}

export interface DetectorReport {
  status: 'pending' | 'ok' | 'drift' | 'off';
  source: string;
  /** Why a detector is off. */
  reason?: string;
  windowsFlagged: number;
  /** Drift episodes so far (= alerts raised by this detector). */
  episodes: number;
  last: DetectorResult | null;
}

/** JSON-serialisable state for GET /v1/monitoring/:model and `aegis monitor --json`. */
export interface MonitoringReport {
  model: string;
  enabled: boolean;
  windowSize: number;
  alpha: number;
  psiThreshold: number;
  confidenceDrop: number;
  examplesSeen: number;
  windowsEvaluated: number;
  reference: { source: 'given' | 'live'; examples: number; ready: boolean };
  currentWindow: { examples: number; size: number };
  /** True while a full window is being evaluated in the background. */
  evaluating: boolean;
  lastEvaluation: string | null;
  lastEvaluationMs: number | null;
  /** Message of the last evaluation that failed (background mode keeps serving). */
  lastError: string | null;
  detectors: Record<DriftDetector, DetectorReport>;
  alerts: { raised: number; bySource: Record<string, number>; recent: Alert[] };
}
