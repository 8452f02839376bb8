/**
 * The only body parser: application/json, read as bytes so the audit log can keep the SHA-256 of
 * exactly what arrived (hashed only when the audit log is on). Anything else is 415 (fastify, no
 * parser), as are a charset other than UTF-8 and a Content-Encoding; over bodyLimit 413, bad JSON
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

/** A charset parameter of the Content-Type (JSON is UTF-8: RFC 8259 §8.1). */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;
const UTF8 = /^utf-?8$/i;

/**
 * Why the body cannot be read as the JSON it claims to be, or null: a charset other than UTF-8, a
 * Content-Encoding or a Transfer-Encoding other than chunked (compressed bodies are not supported).
 * Cheap for plain `application/json`.
 */
function unreadableBody(request: FastifyRequest): string | null {
  const { headers } = request;
  const type = headers['content-type'];
  if (type !== undefined && type.length > 16) {
    const charset = CHARSET.exec(type);
    if (charset && !UTF8.test(charset[1] ?? '')) return 'send the request body as UTF-8 JSON (charset=utf-8)';
  }
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return 'send the request body uncompressed (Content-Encoding is not supported)';
  }
  // Node reads `Transfer-Encoding: gzip, chunked` as chunked and hands over the still-compressed bytes.
  const transfer = headers['transfer-encoding'];
  if (transfer !== undefined && transfer !== 'chunked' && transfer.toLowerCase() !== 'chunked') {
    return 'send the request body uncompressed (only the chunked Transfer-Encoding is supported)';
  }
  return null;
}

function parseWithoutDigest(
  request: FastifyRequest,
  body: Buffer,
  done: (err: Error | null, body?: unknown) => void,
): void {
  const unreadable = unreadableBody(request);
  if (unreadable !== null) {
    done(new GatewayError('unsupported_media_type', unreadable, { stage: 'validation' }), undefined);
    return;
  }
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
