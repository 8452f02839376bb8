/**
 * Stages 5 and 6, the handler: the model's probabilities for the validated rows, then the
 * caller's tier (output-tiers.ts) decides what of them the answer carries:
 *   {"labels": [3], "scores": [[…]], "model": "cnn", "requestId": "…"}
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import { describeTier, shapeOutput, tierFor } from '../output-tiers.js';
import type { GatewayContext } from './context.js';

export interface PredictAnswer {
  labels: number[];
  scores?: number[][];
  model: string;
  requestId: string;
}

export function predictHandler(ctx: GatewayContext) {
  return async function predict(request: FastifyRequest, _reply: FastifyReply): Promise<PredictAnswer> {
    const state = request.aegis;
    const served = state?.model;
    if (!state?.principal || !served || !state.rows) throw new GatewayError('internal', 'internal error');
    const scores = await served.predict(state.rows, state.n);
    state.scores = scores;
    state.decide('model', 'served');
    const { tier, known } = tierFor(ctx.config.tiers, state.principal.tier);
    const shaped = shapeOutput(tier, scores, served.info.numClasses);
    state.decide('output', describeTier(tier), known ? undefined : `unknown tier '${state.principal.tier}'`);
    state.labels = shaped.labels;
    const labels = Array.from(shaped.labels);
    state.outputSummary = { rows: state.n, labels };
    ctx.metrics.examples(served.name, state.n);
    return shaped.scores
      ? { labels, scores: shaped.scores, model: served.name, requestId: request.id }
      : { labels, model: served.name, requestId: request.id };
  };
}
