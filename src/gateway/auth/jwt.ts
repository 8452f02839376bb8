/**
 * JWT bearer tokens (RFC 7519) signed with EdDSA (Ed25519, RFC 8037) or ES256 (P-256, RFC 7518),
 * verified with jose against the public keys of config.auth.jwt.keys (PEM SPKI or JWK / JWK Set
 * files). Only asymmetric keys are loaded and only the configured algorithms are accepted, so
 * `alg: none` and HS* tokens (including HS256 "signed" with a public key) never verify.
 *
 * Claims: `sub` → Principal.id `jwt:<sub>`; `scope` → space-separated `<action>:<model>` entries;
 * optional `aegis_tier`. `exp` is required (a token without one would never expire); `nbf`,
 * `iss` and `aud` are checked when present / configured, with no clock tolerance.
 *
 * Verified tokens are cached until their `exp` (bounded LRU keyed by SHA-256 of the token), so a
 * client reusing its token costs a hash lookup; rejected tokens are remembered for a few seconds
 * (except "not yet valid" ones, which may become valid).
 */
import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, decodeProtectedHeader, errors, type JWK, type JWTPayload, jwtVerify } from 'jose';
import { AegisInputError } from '../../core/errors.js';
import type { JwtConfig } from '../config.js';
import type { Principal } from '../types.js';
import { LruCache } from './lru-cache.js';
import { freezeScopes, parseScopeClaim } from './scopes.js';

export type JwtAlgorithm = JwtConfig['algorithms'][number];
export type JwtVerifier = (token: string) => Promise<Principal | null>;

/** A public key a token may be signed with. */
export interface JwtVerificationKey {
  alg: JwtAlgorithm;
  key: KeyObject;
  /** The JWK's kid, and its RFC 7638 thumbprint; a token naming either is tried against this key first. */
  kid: string | null;
  thumbprint: string;
  /** File it came from (for error messages). */
  source: string;
}

export interface JwtVerifierOptions {
  /** Verified tokens kept (LRU, each until its exp). Default 10,000. */
  cacheSize?: number;
  /** Rejected tokens remembered, and for how long (ms). Default 10,000 for 10 s. */
  failureCacheSize?: number;
  failureTtlMs?: number;
  /** Clock (ms); tests move it. */
  now?: () => number;
}

/** Compact JWS: three base64url parts (a non-empty signature: unsigned tokens are not JWTs to us). */
export const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Longer tokens are refused unparsed. */
export const MAX_TOKEN_LENGTH = 8192;
const SUBJECT_MAX = 256;
const TIER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export async function createJwtVerifier(config: JwtConfig, options: JwtVerifierOptions = {}): Promise<JwtVerifier> {
  const keys = (await Promise.all(config.keys.map((path) => loadJwtKeys(path, config.algorithms)))).flat();
  const now = options.now ?? Date.now;
  const verified = new LruCache<{ principal: Principal }>(options.cacheSize ?? 10_000);
  const rejected = new LruCache<true>(options.failureCacheSize ?? 10_000);
  const failureTtlMs = options.failureTtlMs ?? 10_000;

  return async (token: string): Promise<Principal | null> => {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token)) return null;
    const digest = createHash('sha256').update(token).digest('base64');
    const at = now();
    const hit = verified.get(digest, at);
    if (hit !== undefined) return hit.principal;
    if (rejected.get(digest, at) !== undefined) return null;
    const outcome = await verifyToken(token, keys, config, at);
    if (outcome.principal !== null) {
      verified.set(digest, { principal: outcome.principal }, outcome.expiresAt);
    } else if (!outcome.notYetValid) {
      rejected.set(digest, true, at + failureTtlMs);
    }
    return outcome.principal;
  };
}

interface Outcome {
  principal: Principal | null;
  expiresAt: number;
  notYetValid: boolean;
}

const REJECTED: Outcome = { principal: null, expiresAt: 0, notYetValid: false };

async function verifyToken(
  token: string,
  keys: readonly JwtVerificationKey[],
  config: JwtConfig,
  at: number,
): Promise<Outcome> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return REJECTED;
  }
  const alg = header.alg;
  if (typeof alg !== 'string' || !(config.algorithms as readonly string[]).includes(alg)) return REJECTED;
  const sameAlg = keys.filter((k) => k.alg === alg);
  const named =
    typeof header.kid === 'string' ? sameAlg.filter((k) => k.kid === header.kid || k.thumbprint === header.kid) : [];
  // A kid that names a configured key picks it; otherwise every key of that algorithm is tried.
  for (const candidate of named.length > 0 ? named : sameAlg) {
    try {
      const { payload } = await jwtVerify(token, candidate.key, {
        algorithms: [candidate.alg],
        issuer: config.issuer,
        audience: config.audience,
        currentDate: new Date(at),
        requiredClaims: ['exp', 'sub'],
      });
      const principal = toPrincipal(payload, config.defaultTier);
      return principal === null
        ? REJECTED
        : { principal, expiresAt: (payload.exp as number) * 1000, notYetValid: false };
    } catch (error) {
      if (error instanceof errors.JWSSignatureVerificationFailed) continue;
      const notYetValid = error instanceof errors.JWTClaimValidationFailed && error.claim === 'nbf';
      return { ...REJECTED, notYetValid };
    }
  }
  return REJECTED;
}

function toPrincipal(payload: JWTPayload, defaultTier: string): Principal | null {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > SUBJECT_MAX) return null;
  const tierClaim = payload.aegis_tier;
  if (tierClaim !== undefined && (typeof tierClaim !== 'string' || !TIER_PATTERN.test(tierClaim))) return null;
  return Object.freeze({
    id: `jwt:${sub}`,
    name: sub,
    tier: tierClaim ?? defaultTier,
    scopes: freezeScopes(parseScopeClaim(payload.scope)),
    via: 'jwt' as const,
  });
}

/** The public keys in one file (PEM SPKI, a JWK, or a JWK Set); throws AegisInputError naming the file. */
export async function loadJwtKeys(path: string, algorithms: readonly JwtAlgorithm[]): Promise<JwtVerificationKey[]> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AegisInputError(`auth.jwt.keys: cannot read '${path}': ${(error as Error).message}`);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      throw new AegisInputError(`auth.jwt.keys: '${path}' is not valid JSON: ${(error as Error).message}`);
    }
    const set = value as { keys?: unknown };
    const jwks = Array.isArray(set.keys) ? set.keys : [value];
    if (jwks.length === 0) throw new AegisInputError(`auth.jwt.keys: '${path}' holds an empty JWK Set`);
    return Promise.all(
      jwks.map((jwk, i) => fromJwk(jwk, Array.isArray(set.keys) ? `${path} keys[${i}]` : path, algorithms)),
    );
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(trimmed)) {
    throw new AegisInputError(`auth.jwt.keys: '${path}' is a private key; give the gateway only the public key (SPKI)`);
  }
  if (!trimmed.includes('-----BEGIN PUBLIC KEY-----')) {
    throw new AegisInputError(`auth.jwt.keys: '${path}' is neither a PEM public key (SPKI) nor a JWK (JSON)`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: trimmed, format: 'pem' });
  } catch (error) {
    throw new AegisInputError(`auth.jwt.keys: '${path}' is not a readable PEM public key: ${(error as Error).message}`);
  }
  return [await describe(key, path, null, algorithms)];
}

async function fromJwk(value: unknown, source: string, algorithms: readonly JwtAlgorithm[]) {
  if (value === null || typeof value !== 'object') throw new AegisInputError(`auth.jwt.keys: ${source} is not a JWK`);
  const jwk = value as JWK;
  if (jwk.kty === 'oct') {
    throw new AegisInputError(`auth.jwt.keys: ${source} is a symmetric (oct) key; only EdDSA and ES256 public keys`);
  }
  if ('d' in jwk) throw new AegisInputError(`auth.jwt.keys: ${source} is a private key; give only the public JWK`);
  if (jwk.use !== undefined && jwk.use !== 'sig') {
    throw new AegisInputError(`auth.jwt.keys: ${source} has use '${jwk.use}', not 'sig'`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch (error) {
    throw new AegisInputError(`auth.jwt.keys: ${source} is not a usable public JWK: ${(error as Error).message}`);
  }
  const described = await describe(key, source, typeof jwk.kid === 'string' ? jwk.kid : null, algorithms);
  if (jwk.alg !== undefined && jwk.alg !== described.alg && !(jwk.alg === 'Ed25519' && described.alg === 'EdDSA')) {
    throw new AegisInputError(`auth.jwt.keys: ${source} says alg '${jwk.alg}' but is a ${described.alg} key`);
  }
  return described;
}

async function describe(
  key: KeyObject,
  source: string,
  kid: string | null,
  algorithms: readonly JwtAlgorithm[],
): Promise<JwtVerificationKey> {
  let alg: JwtAlgorithm;
  if (key.asymmetricKeyType === 'ed25519') alg = 'EdDSA';
  else if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') alg = 'ES256';
  else {
    const kind = key.asymmetricKeyType === 'ec' ? `EC ${key.asymmetricKeyDetails?.namedCurve}` : key.asymmetricKeyType;
    throw new AegisInputError(`auth.jwt.keys: ${source} is a ${kind} key; supported: Ed25519 (EdDSA), P-256 (ES256)`);
  }
  if (!algorithms.includes(alg)) {
    throw new AegisInputError(
      `auth.jwt.keys: ${source} is a ${alg} key but auth.jwt.algorithms allows only ${algorithms.join(', ')}`,
    );
  }
  const thumbprint = await calculateJwkThumbprint(key.export({ format: 'jwk' }) as JWK);
  return { alg, key, kid, thumbprint, source };
}
