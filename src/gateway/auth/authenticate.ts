/**
 * Who is calling, and may they do this. A request carries one credential:
 *   Authorization: Bearer <token>   — a JWT when it has three base64url parts, else an API key
 *   x-api-key: <key>
 * Anything else — no credential, two credentials, a duplicated header, an unknown scheme's
 * garbage — is no principal (null), never an exception. authorize() denies by default: only an
 * explicit scope for the model (or '*') and the action grants it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { GatewayAction, Principal } from '../types.js';
import type { ApiKeyStore } from './api-keys.js';
import { JWT_SHAPE, MAX_TOKEN_LENGTH } from './jwt.js';

export interface AuthenticatorOptions {
  apiKeys?: ApiKeyStore;
  jwt?: (token: string) => Promise<Principal | null>;
}

const BEARER = /^Bearer +([!-~]+) *$/i;

/** The bearer token of an Authorization header, or null (absent, another scheme, malformed). */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string' || header.length > MAX_TOKEN_LENGTH + 16) return null;
  const match = BEARER.exec(header);
  return match ? match[1] : null;
}

/** A principal, null, or a promise of one when the answer needs work (scrypt, JWT signature check). */
export type Authentication = Principal | null | Promise<Principal | null>;

/** The request's principal; an API key verified before is answered synchronously (no promise). */
export function createAuthenticator(opts: AuthenticatorOptions): (headers: IncomingHttpHeaders) => Authentication {
  const { apiKeys, jwt } = opts;
  return (headers) => {
    if (headers === null || typeof headers !== 'object') return null;
    const bearer = bearerToken(headers.authorization);
    const headerKey = headers['x-api-key'];
    // One credential per request: with both, which one speaks for the caller would be a guess.
    if (headerKey !== undefined && (bearer !== null || typeof headerKey !== 'string')) return null;
    if (bearer !== null && JWT_SHAPE.test(bearer)) return jwt ? jwt(bearer) : null;
    const key = bearer ?? headerKey;
    if (typeof key !== 'string' || apiKeys === undefined) return null;
    const presented = key.trim();
    const cached = apiKeys.verifyCached(presented);
    return cached !== undefined ? cached : apiKeys.verifyAsync(presented);
  };
}

/**
 * May `principal` take `action` on `model`? `model` null is an action on no particular model
 * (e.g. listing): granted when any scope grants the action. Deny by default.
 */
export function authorize(principal: Principal, model: string | null, action: GatewayAction): boolean {
  const scopes = principal?.scopes;
  if (!Array.isArray(scopes)) return false;
  for (const scope of scopes) {
    if (!scope.actions.includes(action)) continue;
    if (model === null || scope.model === '*' || scope.model === model) return true;
  }
  return false;
}

/** The names among `models` the principal may take `action` on (e.g. what GET /v1/models shows). */
export function allowedModels(principal: Principal, models: Iterable<string>, action: GatewayAction): string[] {
  return [...models].filter((model) => authorize(principal, model, action));
}
