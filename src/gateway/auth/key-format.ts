/**
 * The API key string: `aegis_<id>_<secret>`. The id (12 hex digits, 48 random bits) is public —
 * it names the key in listings and in the audit log and finds its row; the secret (32 random bytes,
 * base64url, 43 characters) is shown once and only its salted scrypt hash is stored. The id is hex,
 * so the first `_` after it unambiguously starts the secret (base64url may itself contain `_`).
 */
import { randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'aegis_';
export const KEY_ID_PATTERN = /^[0-9a-f]{12}$/;
const API_KEY_PATTERN = /^aegis_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
/** Longest string worth parsing; anything longer is rejected before any work. */
export const API_KEY_LENGTH = API_KEY_PREFIX.length + 12 + 1 + 43;

export interface ParsedApiKey {
  id: string;
  secret: string;
}

export function newKeyId(): string {
  return randomBytes(6).toString('hex');
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function formatApiKey(id: string, secret: string): string {
  return `${API_KEY_PREFIX}${id}_${secret}`;
}

/** The id and secret of a well-formed key, or null for anything else (never throws). */
export function parseApiKey(presented: unknown): ParsedApiKey | null {
  if (typeof presented !== 'string' || presented.length !== API_KEY_LENGTH) return null;
  const match = API_KEY_PATTERN.exec(presented);
  return match ? { id: match[1], secret: match[2] } : null;
}
