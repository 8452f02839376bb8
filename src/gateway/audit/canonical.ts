/**
 * The audit chain's byte format. Each row keeps `record`, the canonical JSON of {seq, ...entry}, and
 *   hash = SHA-256( prev_hash ‖ record )
 * over the UTF-8 bytes of the 64 lowercase hex characters of prev_hash followed by the record text.
 * The first row's prev_hash is GENESIS_HASH (64 zeros). prev_hash has a fixed length, so the
 * concatenation is unambiguous; a verifier hashes the stored text and never re-encodes, so it needs
 * no JSON library that formats numbers the way JavaScript does (see docs/gateway-audit.md).
 */
import { createHash } from 'node:crypto';
import type { AuditEntry } from '../types.js';

export const GENESIS_HASH = '0'.repeat(64);

/** A 64-character lowercase hex SHA-256. */
export const HASH_PATTERN = /^[0-9a-f]{64}$/;

/**
 * JSON with object keys sorted (by UTF-16 code units, Array.prototype.sort's order) at every depth
 * and no whitespace, so one value always gives the same text. Otherwise JSON.stringify's rules:
 * strings escaped as JSON.stringify does (lone surrogates as \udxxx, so the text is valid UTF-8),
 * non-finite numbers as null, undefined / function properties dropped (null inside arrays),
 * toJSON honoured (Date → ISO string).
 */
export function canonicalJson(value: unknown): string {
  // Fast path: copy with keys inserted in sorted order and let JSON.stringify write it (about
  // twice as fast). JSON.stringify lists integer-like keys ("2", "10") first whatever the
  // insertion order, so values with such keys take the reference encoder.
  const sorted = sortedCopy(value);
  return sorted === INTEGER_KEY ? canonicalJsonReference(value) : (JSON.stringify(sorted) ?? 'null');
}

/** The same text as canonicalJson, written out field by field: the definition, and the slow path. */
export function canonicalJsonReference(value: unknown): string {
  return encode(value, true) ?? 'null';
}

const INTEGER_KEY = Symbol('integer-like key');

function isIntegerLike(key: string): boolean {
  const c = key.charCodeAt(0);
  return c >= 48 && c <= 57 && /^(?:0|[1-9]\d*)$/.test(key) && Number(key) < 2 ** 32 - 1;
}

function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return sortedCopy(withJson.toJSON());
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const v = sortedCopy(value[i]);
      if (v === INTEGER_KEY) return INTEGER_KEY;
      out[i] = v;
    }
    return out;
  }
  const obj = value as Record<string, unknown>;
  // No prototype, so an own "__proto__" key stays a plain property.
  const out: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(obj).sort()) {
    if (isIntegerLike(key)) return INTEGER_KEY;
    const v = sortedCopy(obj[key]);
    if (v === INTEGER_KEY) return INTEGER_KEY;
    out[key] = v;
  }
  return out;
}

function encode(value: unknown, inArray: boolean): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      throw new TypeError('canonicalJson: BigInt has no JSON form');
    case 'undefined':
    case 'function':
    case 'symbol':
      return inArray ? 'null' : undefined;
  }
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === 'function') return encode(withJson.toJSON(), inArray);
  if (Array.isArray(value)) return `[${value.map((v) => encode(v, true)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    const v = encode(obj[key], false);
    if (v !== undefined) parts.push(`${JSON.stringify(key)}:${v}`);
  }
  return `{${parts.join(',')}}`;
}

/** The text a row stores and hashes: the entry with its sequence number, canonically encoded. */
export function auditRecord(seq: number, entry: AuditEntry): string {
  return auditRecordFast(seq, entry) ?? canonicalJson({ ...entry, seq });
}

/** AuditEntry's fields and `seq`, in canonical (sorted) order. */
const RECORD_KEYS = [
  'decisions',
  'inputDigest',
  'keyId',
  'latencyMs',
  'method',
  'model',
  'outputSummary',
  'requestId',
  'route',
  'seq',
  'status',
  'time',
] as const;
const RECORD_KEY_SET: ReadonlySet<string> = new Set(RECORD_KEYS);
const QUOTED_KEYS = RECORD_KEYS.map((k) => `"${k}":`);

/** A scalar as canonicalJson writes it inside an object; undefined: leave the key out; null: not a scalar. */
function scalar(v: unknown): string | undefined | null {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    default:
      return v === null ? 'null' : null;
  }
}

/**
 * The same text as canonicalJson({...entry, seq}), written field by field in the fixed sorted key
 * order (a quarter of the generic encoder's cost per request). Only the open-ended outputSummary
 * and odd decisions go through canonicalJson. Null when the entry has a field AuditEntry does not
 * (or a toJSON): the caller then takes the generic encoder, so the text never differs.
 */
function auditRecordFast(seq: number, entry: AuditEntry): string | null {
  const e = entry as unknown as Record<string, unknown>;
  if (typeof e.toJSON === 'function') return null;
  for (const key of Object.keys(e)) if (!RECORD_KEY_SET.has(key)) return null;
  let out = '{';
  let first = true;
  for (let i = 0; i < RECORD_KEYS.length; i++) {
    const key = RECORD_KEYS[i] as (typeof RECORD_KEYS)[number];
    let text: string | undefined;
    const v = key === 'seq' ? seq : e[key];
    const s = scalar(v);
    if (s === null) {
      // An object whose toJSON gives undefined would drop the key: leave such entries to the generic encoder.
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return null;
      text = key === 'decisions' && Array.isArray(v) ? decisionsText(v) : canonicalJson(v);
    } else text = s;
    if (text === undefined) continue;
    out += first ? QUOTED_KEYS[i] + text : `,${QUOTED_KEYS[i]}${text}`;
    first = false;
  }
  return `${out}}`;
}

/** Decisions ({detail?, outcome, stage} of strings) written directly; anything else as canonicalJson does. */
function decisionsText(value: unknown[]): string {
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    const d = value[i] as Record<string, unknown> | null;
    if (i > 0) out += ',';
    if (
      d !== null &&
      typeof d === 'object' &&
      Object.getPrototypeOf(d) === Object.prototype &&
      typeof d.stage === 'string' &&
      typeof d.outcome === 'string' &&
      (d.detail === undefined || typeof d.detail === 'string') &&
      Object.keys(d).length === (d.detail === undefined ? ('detail' in d ? 3 : 2) : 3)
    ) {
      out +=
        d.detail === undefined
          ? `{"outcome":${JSON.stringify(d.outcome)},"stage":${JSON.stringify(d.stage)}}`
          : `{"detail":${JSON.stringify(d.detail)},"outcome":${JSON.stringify(d.outcome)},"stage":${JSON.stringify(d.stage)}}`;
    } else {
      out += canonicalJson(d);
    }
  }
  return `${out}]`;
}

/** SHA-256(prev_hash ‖ record) as lowercase hex. */
export function chainHash(prevHash: string, record: string): string {
  return createHash('sha256').update(prevHash, 'utf8').update(record, 'utf8').digest('hex');
}
