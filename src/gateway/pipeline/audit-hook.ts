/**
 * Stage 7, onSend: every API request — served or refused — is appended to the audit log before
 * its response leaves, with the decisions each stage took. The append is synchronous and durable
 * once it returns, so every 200 a client ever saw is in the log. If the append fails, the caller
 * gets a 500 instead of an answer the log does not hold.
 *
 * Group commit: responses ready in the same turn of the event loop are appended in one SQLite
 * transaction (each entry still chained and hashed on its own), and all of them are released
 * once it commits. Under concurrent load that saves a commit per request; a lone request waits
 * only one setImmediate. If the batch fails, each entry is retried alone, so one bad entry
 * costs only its own request a 500.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, GatewayError } from '../errors.js';
import type { AuditEntry } from '../types.js';
import type { GatewayContext } from './context.js';

type Done = (err: Error | null, payload?: unknown) => void;

interface Pending {
  entry: AuditEntry;
  request: FastifyRequest;
  reply: FastifyReply;
  payload: unknown;
  done: Done;
}

/** Most entries per transaction (bounds how long one commit holds the write lock). */
const MAX_BATCH = 64;

export function auditHook(ctx: GatewayContext, routeOf: (request: FastifyRequest) => string) {
  const { audit, db } = ctx.services;
  let pending: Pending[] = [];

  const refuse = (p: Pending, error: unknown) => {
    p.request.log.error({ err: error }, 'audit append failed; answering 500');
    ctx.metrics.rejection('audit', 'internal');
    p.reply.code(500);
    p.reply.header('content-type', 'application/json; charset=utf-8');
    // The answer that would have gone out is withheld: the log does not hold it.
    const state = p.request.aegis;
    if (state) state.outputSummary = { error: 'internal' };
    p.done(null, JSON.stringify(errorBody(new GatewayError('internal', 'internal error'), p.request.id)));
  };

  const flush = () => {
    const batch = pending;
    pending = [];
    for (let start = 0; start < batch.length; start += MAX_BATCH) {
      const part = batch.slice(start, start + MAX_BATCH);
      let committed = false;
      if (part.length > 1) {
        try {
          db.transaction(() => {
            for (const p of part) audit?.append(p.entry);
          }).immediate();
          committed = true;
        } catch {
          // Retried one by one below: only the entries that fail on their own get a 500.
        }
      }
      for (const p of part) {
        if (committed) {
          p.done(null, p.payload);
          continue;
        }
        try {
          audit?.append(p.entry);
        } catch (error) {
          refuse(p, error);
          continue;
        }
        p.done(null, p.payload);
      }
    }
  };

  return function appendAudit(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: Done): void {
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
    if (pending.length === 0) setImmediate(flush);
    pending.push({ entry, request, reply, payload, done });
  };
}
