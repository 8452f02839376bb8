/**
 * The only body parser: application/json, read as bytes so the audit log can keep the SHA-256 of
 * exactly what arrived (hashed only when the audit log is on). Anything else is 415 (fastify, no parser), over bodyLimit 413, bad JSON
 * 400. Plain JSON.parse is safe here: the pipeline reads only `inputs` and `shape`, and never
 * merges a parsed object into another (the prototype-pollution risk secure-json-parse guards).
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';

export type JsonBodyParser = (
  request: FastifyRequest,
  body: Buffer,
  done: (err: Error | null, body?: unknown) => void,
) => void;

/** The parser; `digest`: keep the body's SHA-256 for the audit log (only worth its cost when there is one). */
export function jsonBodyParser(digest: boolean): JsonBodyParser {
  return digest ? parseJsonBody : parseWithoutDigest;
}

export function parseJsonBody(
  request: FastifyRequest,
  body: Buffer,
  done: (err: Error | null, body?: unknown) => void,
) {
  const state = request.aegis;
  if (state) state.inputDigest = createHash('sha256').update(body).digest('hex');
  parseWithoutDigest(request, body, done);
}

function parseWithoutDigest(
  _request: FastifyRequest,
  body: Buffer,
  done: (err: Error | null, body?: unknown) => void,
): void {
  if (body.length === 0) {
    done(new GatewayError('bad_request', 'the JSON body is empty', { stage: 'validation' }), undefined);
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    done(new GatewayError('bad_request', 'the body is not valid JSON', { stage: 'validation' }), undefined);
    return;
  }
  done(null, value);
}
