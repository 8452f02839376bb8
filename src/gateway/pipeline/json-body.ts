/**
 * The only body parser: application/json, read as bytes so the audit log can keep the SHA-256 of
 * exactly what arrived. Anything else is 415 (fastify, no parser), over bodyLimit 413, bad JSON
 * 400. Plain JSON.parse is safe here: the pipeline reads only `inputs` and `shape`, and never
 * merges a parsed object into another (the prototype-pollution risk secure-json-parse guards).
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';

export function parseJsonBody(
  request: FastifyRequest,
  body: Buffer,
  done: (err: Error | null, body?: unknown) => void,
) {
  const state = request.aegis;
  if (state) state.inputDigest = createHash('sha256').update(body).digest('hex');
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
