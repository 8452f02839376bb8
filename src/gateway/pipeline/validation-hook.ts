/** Stage 3, preHandler: the body against the model's input schema (400 with every issue's path). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import type { GatewayContext } from './context.js';
import { readPredictBody } from './predict-body.js';

export function validationHook(ctx: GatewayContext) {
  const maxBatch = ctx.config.server.maxBatch;
  return async function validate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const state = request.aegis;
    if (!state?.model) return;
    try {
      const { rows, n } = readPredictBody(request.body, state.model, maxBatch);
      state.rows = rows;
      state.n = n;
    } catch (error) {
      if (error instanceof GatewayError)
        state.decide('validation', 'rejected', `${error.extra.issues?.length ?? 0} issue(s)`);
      throw error;
    }
    state.decide('validation', 'passed');
  };
}
