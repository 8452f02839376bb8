/**
 * Stage 7, onSend: every API request — served or refused — is appended to the audit log before
 * its response leaves, with the decisions each stage took. The append is synchronous and durable
 * once it returns, so every 200 a client ever saw is in the log. If the append fails, the caller
 * gets a 500 instead of an answer the log does not hold.
 *
 * Group commit: responses ready in the same turn of the event loop are appended in one SQLite
 * transaction (each entry still chained and hashed on its own, no savepoint per entry), and all
 * of them are released once it commits. The sqlite limits store's pending budget changes are
 * written in the same transaction, so an answered request's budget is as durable as its audit
 * row. Under concurrent load that saves commits per request; a lone request waits only one
 * setImmediate. If the batch fails, each entry is retried alone, so one bad entry costs only its
 * own request a 500.
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
  // With the sqlite limits store, budget changes are written in the audit batch's transaction
  // (before any answer of the batch leaves): one commit per batch instead of one more per request.
  const budgetWrites = audit ? ctx.services.limits?.deferWrites?.() : undefined;
  let pending: Pending[] = [];

  const commitTx = db.transaction((entries: AuditEntry[]) => {
    budgetWrites?.write();
    if (!audit) return;
    if (audit.appendMany) audit.appendMany(entries);
    else for (const entry of entries) audit.append(entry);
  });
  /** One IMMEDIATE transaction: the budget's pending writes, then the entries; throws when it rolled back. */
  const commit = (entries: AuditEntry[]) => {
    try {
      commitTx.immediate(entries);
    } catch (error) {
      budgetWrites?.undo();
      throw error;
    }
  };

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
      let failure: unknown;
      try {
        commit(part.map((p) => p.entry));
      } catch (error) {
        failure = error;
      }
      if (failure === undefined) {
        for (const p of part) p.done(null, p.payload);
        continue;
      }
      if (part.length === 1) {
        refuse(part[0] as Pending, failure);
        continue;
      }
      // Retried one by one: only the entries that fail on their own get a 500.
      for (const p of part) {
        try {
          commit([p.entry]);
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
