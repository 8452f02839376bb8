/**
 * Stage 7, onSend: every API request — served or refused — is recorded in the audit log before
 * its response leaves, with the decisions each stage took, so every 200 a client ever saw is in
 * the log (also after `kill -9`). If recording fails, the caller gets a 500 instead of an answer
 * the log does not hold.
 *
 * Two modes (config audit.mode):
 * - journal (default): the entry is appended to the write-ahead journal (one write(2)) and the
 *   answer leaves at once; journaled-audit.ts folds the journal into the hash chain moments later.
 * - commit: the answer waits for the entry's SQLite commit. Group commit: responses ready in the
 *   same turn of the event loop are appended in one transaction (each entry still chained and
 *   hashed on its own), released together once it commits, with the sqlite limits store's pending
 *   budget changes in the same transaction. A lone request waits one setImmediate. If a batch
 *   fails, each entry is retried alone, so one bad entry costs only its own request a 500.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { auditCommit } from '../audit/audit-commit.js';
import { errorBody, GatewayError } from '../errors.js';
import type { AuditEntry } from '../types.js';
import type { GatewayContext } from './context.js';

type Done = (err: Error | null, payload?: unknown) => void;
type AuditHook = (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: Done) => void;

interface Pending {
  entry: AuditEntry;
  request: FastifyRequest;
  reply: FastifyReply;
  payload: unknown;
  done: Done;
}

/** Most entries per transaction (bounds how long one commit holds the write lock). */
const MAX_BATCH = 64;

/** The entry for this request; null when the request is not audited (routes outside the API). */
function entryOf(request: FastifyRequest, reply: FastifyReply, routeOf: (r: FastifyRequest) => string) {
  const state = request.aegis;
  if (!state) return null;
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
  return entry;
}

/** Withholds the answer that would have gone out (the log does not hold it) and sends a 500 instead. */
function refuse(ctx: GatewayContext, request: FastifyRequest, reply: FastifyReply, done: Done, error: unknown): void {
  request.log.error({ err: error }, 'audit append failed; answering 500');
  ctx.metrics.rejection('audit', 'internal');
  reply.code(500);
  reply.header('content-type', 'application/json; charset=utf-8');
  const state = request.aegis;
  if (state) state.outputSummary = { error: 'internal' };
  done(null, JSON.stringify(errorBody(new GatewayError('internal', 'internal error'), request.id)));
}

export function auditHook(ctx: GatewayContext, routeOf: (request: FastifyRequest) => string): AuditHook {
  const { audit, auditJournal } = ctx.services;
  if (!audit) return (_request, _reply, payload, done) => done(null, payload);
  if (auditJournal) {
    return function journalAudit(request, reply, payload, done) {
      const entry = entryOf(request, reply, routeOf);
      if (entry === null) {
        done(null, payload);
        return;
      }
      const charged = request.aegis?.charged ?? 0;
      try {
        auditJournal.record(entry, charged > 0 ? charged : undefined);
      } catch (error) {
        refuse(ctx, request, reply, done, error);
        return;
      }
      done(null, payload);
    };
  }
  return groupCommitHook(ctx, routeOf);
}

/** audit.mode commit: answers wait for their entries' SQLite commit (see the file comment). */
function groupCommitHook(ctx: GatewayContext, routeOf: (request: FastifyRequest) => string): AuditHook {
  const { audit, db } = ctx.services;
  // With the sqlite limits store, budget changes are written in the audit batch's transaction
  // (before any answer of the batch leaves): one commit per batch instead of one more per request.
  const commit = auditCommit(db, audit as NonNullable<typeof audit>, ctx.services.limits?.deferWrites?.());
  let pending: Pending[] = [];

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
        const p = part[0] as Pending;
        refuse(ctx, p.request, p.reply, p.done, failure);
        continue;
      }
      // Retried one by one: only the entries that fail on their own get a 500.
      for (const p of part) {
        try {
          commit([p.entry]);
        } catch (error) {
          refuse(ctx, p.request, p.reply, p.done, error);
          continue;
        }
        p.done(null, p.payload);
      }
    }
  };

  return function appendAudit(request, reply, payload, done) {
    const entry = entryOf(request, reply, routeOf);
    if (entry === null) {
      done(null, payload);
      return;
    }
    if (pending.length === 0) setImmediate(flush);
    pending.push({ entry, request, reply, payload, done });
  };
}
