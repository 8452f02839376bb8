/**
 * Stage 7, onSend: every API request — served or refused — is appended to the audit log before
 * its response leaves, with the decisions each stage took. The append is synchronous and durable
 * once it returns, so every 200 a client ever saw is in the log. If the append fails, the caller
 * gets a 500 instead of an answer the log does not hold.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, GatewayError } from '../errors.js';
import type { AuditEntry } from '../types.js';
import type { GatewayContext } from './context.js';

export function auditHook(ctx: GatewayContext, routeOf: (request: FastifyRequest) => string) {
  const audit = ctx.services.audit;
  return function appendAudit(
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (err: Error | null, payload?: unknown) => void,
  ): void {
    const state = request.aegis;
    if (!audit || !state) {
      done(null, payload);
      return;
    }
    const entry: AuditEntry = {
      time: state.time,
      requestId: request.id,
      keyId: state.principal?.id ?? null,
      model: state.model?.name ?? null,
      method: request.method,
      route: routeOf(request),
      status: reply.statusCode,
      inputDigest: state.inputDigest,
      outputSummary: state.outputSummary,
      decisions: state.decisions,
      latencyMs: Math.round(reply.elapsedTime * 1000) / 1000,
    };
    try {
      audit.append(entry);
    } catch (error) {
      request.log.error({ err: error }, 'audit append failed; answering 500');
      ctx.metrics.rejection('audit', 'internal');
      reply.code(500);
      reply.header('content-type', 'application/json; charset=utf-8');
      // The answer that would have gone out is withheld: the log does not hold it.
      state.outputSummary = { error: 'internal' };
      done(null, JSON.stringify(errorBody(new GatewayError('internal', 'internal error'), request.id)));
      return;
    }
    done(null, payload);
  };
}
