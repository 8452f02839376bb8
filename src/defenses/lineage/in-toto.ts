/**
 * in-toto Statement v1 (in-toto/attestation, spec/v1/statement.md) for a signed model: one subject
 * per file {name: path relative to the model root with '/' separators, digest: {sha256}}, and the
 * OpenSSF model_signing predicate type with its "serialization" description (method "files").
 */
import { z } from 'zod';

/** DSSE payloadType of an in-toto statement serialized as JSON. */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/**
 * Aegis's own predicate type. The predicate body follows model_signing v1.0's `serialization`
 * names, but the statement keeps one subject per file (the issue's ask, and model_signing's
 * pre-1.0 layout), which v1.0's predicate type forbids — so claiming that type would mislead
 * its verifiers.
 */
export const MODEL_SIGNING_PREDICATE_TYPE = 'https://aegis.dev/model-signature/v1';

export interface Subject {
  name: string;
  digest: { sha256: string };
}

/** How the model was turned into subjects (model_signing's "serialization" field names). */
export interface FileSerialization {
  method: 'files';
  hash_type: 'sha256';
  allow_symlinks: boolean;
  /** Paths relative to the model root that were left out (the signature file, git metadata …). */
  ignore_paths: string[];
}

export interface ModelSigningPredicate {
  serialization: FileSerialization;
}

export interface ModelStatement {
  _type: typeof STATEMENT_TYPE;
  subject: Subject[];
  predicateType: typeof MODEL_SIGNING_PREDICATE_TYPE;
  predicate: ModelSigningPredicate;
}

/** A relative POSIX path with no empty, '.' or '..' segment: it cannot point outside the root. */
export function isRelativeModelPath(name: string): boolean {
  if (name.length === 0 || name.startsWith('/') || name.includes('\0') || name.includes('\\')) return false;
  return name.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** Orders paths segment by segment (bytewise UTF-8), so 'a/b' sorts before 'a.b' as in a tree walk. */
export function comparePaths(a: string, b: string): number {
  const sa = a.split('/');
  const sb = b.split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const c = Buffer.compare(Buffer.from(sa[i], 'utf8'), Buffer.from(sb[i], 'utf8'));
    if (c !== 0) return c;
  }
  return sa.length - sb.length;
}

export function buildStatement(
  files: readonly { name: string; sha256: string }[],
  serialization: FileSerialization,
): ModelStatement {
  const subject = [...files]
    .sort((a, b) => comparePaths(a.name, b.name))
    .map((f) => ({ name: f.name, digest: { sha256: f.sha256 } }));
  return {
    _type: STATEMENT_TYPE,
    subject,
    predicateType: MODEL_SIGNING_PREDICATE_TYPE,
    predicate: {
      serialization: { ...serialization, ignore_paths: [...serialization.ignore_paths].sort(comparePaths) },
    },
  };
}

export function statementBytes(statement: ModelStatement): Buffer {
  return Buffer.from(JSON.stringify(statement), 'utf8');
}

const modelPath = z.string().refine(isRelativeModelPath, 'must be a relative path inside the model');

// Unknown extra fields are allowed (and ignored), as the in-toto and model_signing specs ask.
const statementSchema = z.object({
  _type: z.literal(STATEMENT_TYPE),
  subject: z
    .array(
      z.object({
        name: modelPath,
        digest: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits') }),
      }),
    )
    .min(1),
  predicateType: z.literal(MODEL_SIGNING_PREDICATE_TYPE),
  predicate: z.object({
    serialization: z.object({
      method: z.literal('files'),
      hash_type: z.literal('sha256'),
      allow_symlinks: z.boolean(),
      ignore_paths: z.array(modelPath),
    }),
  }),
});

export type StatementParse = { ok: true; statement: ModelStatement } | { ok: false; reason: string };

/** Parses a signed payload into a model statement, or says what about its shape is wrong. */
export function parseStatement(payload: Uint8Array): StatementParse {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `the signed payload is not JSON (${(error as Error).message})` };
  }
  const result = statementSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path.length > 0 ? issue.path.join('.') : 'statement';
    return { ok: false, reason: `the signed statement is not a model signing statement: ${where}: ${issue.message}` };
  }
  const seen = new Set<string>();
  for (const s of result.data.subject) {
    if (seen.has(s.name)) return { ok: false, reason: `the signed statement names '${s.name}' twice` };
    seen.add(s.name);
  }
  return { ok: true, statement: result.data as ModelStatement };
}
