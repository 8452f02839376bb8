/**
 * DSSE v1, Dead Simple Signing Envelope (secure-systems-lab/dsse, protocol.md and envelope.md):
 * the signature covers PAE(payloadType, payload), so the type cannot be swapped without breaking it.
 * Signatures here are Ed25519 (node:crypto).
 */
import { type KeyObject, sign, verify } from 'node:crypto';
import { AegisInputError } from '../../core/errors.js';

export interface DsseSignature {
  /** Unauthenticated hint naming the key; never used for a security decision. */
  keyid?: string;
  /** Base64 of the raw signature bytes. */
  sig: string;
}

export interface DsseEnvelope {
  /** Base64 of the serialized body. */
  payload: string;
  payloadType: string;
  signatures: DsseSignature[];
}

/** The outcome of checking an envelope against one trusted key. */
export type DsseVerification =
  | { verified: true; payloadType: string; payload: Buffer; keyid?: string }
  | { verified: false; keyids: string[] };

/**
 * Pre-Authentication Encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, where LEN is the
 * ASCII decimal byte length (of the UTF-8 type and of the body).
 */
export function pae(payloadType: string, body: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  const header = Buffer.from(`DSSEv1 ${type.length} `, 'ascii');
  const middle = Buffer.from(` ${body.length} `, 'ascii');
  return Buffer.concat([header, type, middle, body]);
}

/** Signs `body` as `payloadType` with an Ed25519 private key; one signature in the envelope. */
export function signEnvelope(
  payloadType: string,
  body: Uint8Array,
  privateKey: KeyObject,
  keyid: string,
): DsseEnvelope {
  const sig = sign(null, pae(payloadType, body), privateKey);
  return {
    payload: Buffer.from(body).toString('base64'),
    payloadType,
    signatures: [{ keyid, sig: sig.toString('base64') }],
  };
}

const BASE64_CHARS = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Strict base64: standard or URL-safe alphabet (DSSE verifiers must accept either), not both mixed. */
export function decodeBase64(text: string, what: string): Buffer {
  const body = text.replace(/=+$/, '');
  const padded = body.length !== text.length;
  const valid =
    BASE64_CHARS.test(text) &&
    body.length % 4 !== 1 &&
    (!padded || text.length % 4 === 0) &&
    !(/[+/]/.test(body) && /[-_]/.test(body));
  if (!valid) throw new AegisInputError(`${what} is not valid base64`);
  return Buffer.from(text, 'base64');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses an envelope's JSON text; any structural problem is an AegisInputError naming `source`. */
export function parseEnvelope(text: string, source: string): DsseEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AegisInputError(`${source} is not JSON (${(error as Error).message})`, { cause: error });
  }
  const bad = (what: string) => new AegisInputError(`${source} is not a DSSE envelope: ${what}`);
  if (!isRecord(json)) throw bad('expected a JSON object');
  const { payload, payloadType, signatures } = json;
  if (typeof payload !== 'string') throw bad("'payload' must be a base64 string");
  if (typeof payloadType !== 'string') throw bad("'payloadType' must be a string");
  if (!Array.isArray(signatures) || signatures.length === 0) throw bad("'signatures' must be a non-empty list");
  decodeBase64(payload, `${source}: 'payload'`);
  const parsed = signatures.map((entry, i): DsseSignature => {
    if (!isRecord(entry) || typeof entry.sig !== 'string') throw bad(`signatures[${i}].sig must be a base64 string`);
    if (entry.keyid !== undefined && typeof entry.keyid !== 'string')
      throw bad(`signatures[${i}].keyid must be a string`);
    decodeBase64(entry.sig, `${source}: signatures[${i}].sig`);
    return entry.keyid === undefined ? { sig: entry.sig } : { keyid: entry.keyid, sig: entry.sig };
  });
  return { payload, payloadType, signatures: parsed };
}

/**
 * Checks the envelope against one trusted Ed25519 public key: verified when any signature verifies
 * over PAE(payloadType, payload). The payload is handed out only after that (the protocol parses
 * nothing unauthenticated). Key ids are hints, so every signature is tried.
 */
export function verifyEnvelope(envelope: DsseEnvelope, publicKey: KeyObject): DsseVerification {
  const payload = decodeBase64(envelope.payload, "envelope 'payload'");
  const message = pae(envelope.payloadType, payload);
  for (const signature of envelope.signatures) {
    const sig = decodeBase64(signature.sig, 'envelope signature');
    let ok = false;
    try {
      ok = verify(null, message, publicKey, sig);
    } catch {
      ok = false; // a signature of the wrong length is simply not valid
    }
    if (ok) return { verified: true, payloadType: envelope.payloadType, payload, keyid: signature.keyid };
  }
  return { verified: false, keyids: envelope.signatures.flatMap((s) => (s.keyid ? [s.keyid] : [])) };
}

export function envelopeJson(envelope: DsseEnvelope): string {
  return `${JSON.stringify(envelope, null, 2)}\n`;
}
