/**
 * The gateway's shared nouns. Each request walks the pipeline
 *   auth → limits → input schema → adversarial-input detector → model → output hardening → audit
 * and every stage appends a Decision, so the audit log records what was decided and why.
 * Stages live in their own folders (auth/, limits/, extraction/, audit/; drift detectors in
 * src/monitoring/) behind the small interfaces below; server.ts wires them as fastify hooks.
 */

/** What a key or token may do. */
export const GATEWAY_ACTIONS = ['predict', 'list', 'monitor'] as const;
export type GatewayAction = (typeof GATEWAY_ACTIONS)[number];

/** Permission on one model ('*' = every model) for some actions. */
export interface Scope {
  model: string;
  actions: GatewayAction[];
}

/** The authenticated caller. */
export interface Principal {
  /** Stable id: an API key's id, or `jwt:<sub>` for a bearer token. Never the secret. */
  id: string;
  /** Human name (key name or token subject). */
  name: string;
  /** Output tier (a key of config.tiers); decides how much of the scores the caller sees. */
  tier: string;
  scopes: Scope[];
  via: 'api-key' | 'jwt';
}

export const PIPELINE_STAGES = [
  'auth',
  'limits',
  'validation',
  'detector',
  'model',
  'output',
  'extraction',
  'monitoring',
] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

/** One stage's verdict on a request, e.g. {stage: 'limits', outcome: 'allowed'}. */
export interface Decision {
  stage: PipelineStage;
  /** Short machine word: allowed, denied, rejected, flagged, throttled, blocked, served, top-k, … */
  outcome: string;
  /** Optional human detail for the audit log (never a secret or a stack). */
  detail?: string;
}

/** One request as the audit log keeps it. */
export interface AuditEntry {
  /** ISO 8601 time the request arrived. */
  time: string;
  requestId: string;
  /** Principal id, or null when authentication failed. */
  keyId: string | null;
  /** Model name from the URL when it named a served model, else null. */
  model: string | null;
  method: string;
  route: string;
  status: number;
  /** SHA-256 (hex) of the raw request body, or null when there was none. */
  inputDigest: string | null;
  /** E.g. {rows: 1, labels: [3]} or {error: 'invalid input'}; small, no raw scores. */
  outputSummary: Record<string, unknown> | null;
  decisions: Decision[];
  latencyMs: number;
}

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** Something a detector raised: extraction suspected, budget exhausted, drift. */
export interface Alert {
  time: string;
  /** Which detector: 'prada', 'query-budget', 'drift/ks', 'drift/psi', 'drift/mmd', 'drift/chi-square', 'drift/confidence'. */
  source: string;
  model: string | null;
  /** Principal id the alert is about, when it is about one client. */
  keyId: string | null;
  severity: AlertSeverity;
  message: string;
  /** Detector figures (statistic, threshold, window, queries so far…). */
  detail: Record<string, unknown>;
}

/** What extraction detection does to a client once it raised an alarm. */
export const EXTRACTION_ACTIONS = ['log', 'throttle', 'block'] as const;
export type ExtractionAction = (typeof EXTRACTION_ACTIONS)[number];

/** How much of the scores a tier returns. */
export const OUTPUT_MODES = ['full', 'top-k', 'rounded', 'label'] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];
