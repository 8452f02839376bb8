/**
 * Errors as the gateway answers them: `{"error": {code, message, requestId, issues?}}` with one
 * HTTP status per code. Messages are fixed phrases or validation issues: never a model path, a
 * key, a hash or a stack. Anything unexpected becomes 500 'internal' with a generic message; the
 * details go to the log (under the request id), not to the caller.
 */
import type { InputIssue } from '../defenses/validation/input-issues.js';
import type { PipelineStage } from './types.js';

export const ERROR_STATUS = {
  bad_request: 400,
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  blocked: 403,
  not_found: 404,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  adversarial_input: 422,
  rate_limited: 429,
  /** Never sent (the client hung up mid-request); recorded in the audit log and metrics (nginx's 499). */
  client_closed: 499,
  budget_exhausted: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type GatewayErrorCode = keyof typeof ERROR_STATUS;

/** One message for every credential failure (missing, malformed, forged, revoked): no oracle. */
export const UNAUTHORIZED_MESSAGE = 'missing or invalid credentials';
/** The same answer whether or not the model exists (no enumeration). */
export const FORBIDDEN_MESSAGE = 'this key may not do that on this model';

export class GatewayError extends Error {
  readonly status: number;

  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    readonly extra: {
      issues?: InputIssue[];
      /** Issues found beyond those listed. */
      omitted?: number;
      retryAfterSeconds?: number;
      /** Pipeline stage that refused the request (metrics label); 'server' for transport-level failures. */
      stage?: PipelineStage | 'server';
    } = {},
  ) {
    super(message);
    this.name = 'GatewayError';
    this.status = ERROR_STATUS[code];
  }
}

export interface ErrorBody {
  error: {
    code: GatewayErrorCode;
    message: string;
    requestId: string;
    issues?: InputIssue[];
    omitted?: number;
  };
}

export function errorBody(error: GatewayError, requestId: string): ErrorBody {
  const body: ErrorBody = { error: { code: error.code, message: error.message, requestId } };
  if (error.extra.issues) body.error.issues = error.extra.issues;
  if (error.extra.omitted) body.error.omitted = error.extra.omitted;
  return body;
}

/** Fastify's own errors (body parsing, routing) mapped to gateway errors; their messages are not echoed. */
const FASTIFY_CODES: Record<string, [GatewayErrorCode, string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 'send the request body as application/json'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['bad_request', 'the Content-Length header does not match the body'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large', 'the request body is larger than the server accepts'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['bad_request', 'the JSON body is empty'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['bad_request', 'the body is not valid JSON'],
  FST_ERR_BAD_URL: ['bad_request', 'the URL is not valid'],
  FST_ERR_MAX_PARAM_LENGTH: ['bad_request', 'the URL is not valid'],
  FST_ERR_ASYNC_CONSTRAINT: ['bad_request', 'the request cannot be routed'],
};

/** Any thrown value as a GatewayError; `internal` for anything not known to be the caller's fault. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const e = error as { code?: string; statusCode?: number; name?: string; type?: string };
  const known = e.code ? FASTIFY_CODES[e.code] : undefined;
  if (known) return new GatewayError(known[0], known[1]);
  if (e instanceof SyntaxError || e.type === 'entity.parse.failed') {
    return new GatewayError('bad_request', 'the body is not valid JSON');
  }
  if (e.statusCode === 503) {
    const retry = (error as { retryAfterSeconds?: number }).retryAfterSeconds;
    return new GatewayError('unavailable', 'temporarily unavailable, retry later', {
      retryAfterSeconds: typeof retry === 'number' ? retry : 1,
    });
  }
  if (e.statusCode === 413)
    return new GatewayError('payload_too_large', 'the request body is larger than the server accepts');
  if (e.statusCode === 415)
    return new GatewayError('unsupported_media_type', 'send the request body as application/json');
  if (e.statusCode === 408) return new GatewayError('request_timeout', 'the request did not arrive in time');
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    return new GatewayError('bad_request', 'the request is malformed');
  }
  return new GatewayError('internal', 'internal error');
}

/** The raw HTTP response for a client error before any request exists (slow headers → 408, header overflow → 431). */
export function rawClientErrorResponse(code: string | undefined): string {
  const [status, text, errorCode, message] =
    code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'request_timeout', 'the request did not arrive in time']
      : code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'bad_request', 'the request headers are too large']
        : [400, 'Bad Request', 'bad_request', 'the request is malformed'];
  const body = JSON.stringify({ error: { code: errorCode, message, requestId: null } });
  return (
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
