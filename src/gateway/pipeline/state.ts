/**
 * Per-request state the pipeline hooks share: who is calling, which model, what each stage
 * decided, and what the audit log and the after-reply observers need. One small object per
 * request, created by the first hook of the API routes.
 */
import type { ServedModel } from '../model-registry.js';
import type { Decision, PipelineStage, Principal } from '../types.js';

export class RequestState {
  /** ISO time the request arrived. */
  readonly time = new Date().toISOString();
  principal: Principal | null = null;
  model: ServedModel | null = null;
  readonly decisions: Decision[] = [];
  /** SHA-256 (hex) of the raw body, set by the JSON parser. */
  inputDigest: string | null = null;
  outputSummary: Record<string, unknown> | null = null;
  /** Examples this request spent from its query budget (0 until the limits stage allowed it). */
  charged = 0;
  /** Extraction detection asked for the stricter limiter. */
  throttled = false;
  /** Validated examples, row-major, and their count. */
  rows: Float32Array | null = null;
  n = 0;
  /** The model's probabilities (before output hardening) and the labels returned. */
  scores: Float32Array | null = null;
  labels: Int32Array | null = null;

  decide(stage: PipelineStage, outcome: string, detail?: string): void {
    this.decisions.push(detail === undefined ? { stage, outcome } : { stage, outcome, detail });
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Null on routes outside the API (health, readiness, metrics). */
    aegis: RequestState | null;
  }
}
