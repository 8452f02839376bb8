/**
 * Stage 2, preValidation (the body is parsed, not yet validated): extraction status, then the
 * rate limit and query budget of this key on this model.
 *
 *   extraction detection blocked this client   → 403 'blocked'
 *   extraction detection throttles this client → the stricter limiter (extraction.throttle)
 *   over the rate                              → 429 'rate_limited' with Retry-After
 *   query budget spent                         → 429 'budget_exhausted' with Retry-After
 *
 * A budget counts examples, so a request is charged the length of its `inputs` (at most maxBatch).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import type { GatewayContext } from './context.js';
import { claimedExamples } from './predict-body.js';

export function limitsHook(ctx: GatewayContext) {
  const { extraction, limits } = ctx.services;
  const maxBatch = ctx.config.server.maxBatch;
  return async function limit(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const state = request.aegis;
    if (!state?.principal || !state.model) return;
    const keyId = state.principal.id;
    const model = state.model.name;
    if (extraction) {
      const status = extraction.status(keyId, model);
      if (status === 'blocked') {
        state.decide('extraction', 'blocked');
        throw new GatewayError('blocked', 'this key is blocked from this model', { stage: 'extraction' });
      }
      if (status === 'throttled') {
        state.throttled = true;
        state.decide('extraction', 'throttled');
      }
    }
    if (!limits) return;
    const examples = claimedExamples(request.body, maxBatch);
    const verdict = await limits.consume(keyId, model, examples, state.throttled ? { throttled: true } : undefined);
    if (verdict.allowed) {
      state.charged = examples;
      state.decide('limits', 'allowed');
      return;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil(verdict.retryAfterSeconds));
    if (verdict.reason === 'budget') {
      state.decide('limits', 'budget_exhausted');
      throw new GatewayError('budget_exhausted', 'the query budget of this key for this model is spent', {
        retryAfterSeconds,
        stage: 'limits',
      });
    }
    state.decide('limits', 'rate_limited');
    throw new GatewayError('rate_limited', 'too many requests', { retryAfterSeconds, stage: 'limits' });
  };
}
