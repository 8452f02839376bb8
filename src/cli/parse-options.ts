/** Flag parsers shared by the subcommands: each throws AegisInputError on bad input. */
import { AegisInputError } from '../core/errors.js';
import { ACCESS_LEVELS, type Access, NORMS, type Norm } from '../core/threat-model.js';

export function parseNumberList(flag: string, text: string): number[] {
  const values = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) {
    throw new AegisInputError(`${flag} takes a comma-separated list of numbers, got '${text}'`);
  }
  return values;
}

export function parseNonNegativeList(flag: string, text: string): number[] {
  const values = parseNumberList(flag, text);
  const negative = values.find((v) => v < 0);
  if (negative !== undefined) throw new AegisInputError(`${flag}: ${negative} is negative`);
  return values;
}

export function parsePositiveInt(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) {
    throw new AegisInputError(`${flag} takes a positive whole number, got '${text}'`);
  }
  return value;
}

export function parseNonNegativeInt(flag: string, text: string): number {
  // Number('') is 0: an empty value (e.g. an unset $SEED) must not silently become seed 0.
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw new AegisInputError(`${flag} takes a whole number ≥ 0, got '${text}'`);
  }
  return value;
}

/** A fraction in [0, 1] ([0, 1) with `below1`); an empty value is refused, not read as 0. */
export function parseFraction(flag: string, text: string, below1 = false): number {
  const v = text.trim() === '' ? Number.NaN : Number(text);
  if (!(v >= 0 && (below1 ? v < 1 : v <= 1))) {
    throw new AegisInputError(`${flag} takes a fraction in [0, ${below1 ? '1)' : '1]'}, got '${text}'`);
  }
  return v;
}

export function parsePositiveNumber(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new AegisInputError(`${flag} takes a positive number, got '${text}'`);
  return value;
}

export function parseNorm(text: string): Norm {
  const norm = text.toLowerCase().replace('-', '');
  if (!(NORMS as readonly string[]).includes(norm)) {
    throw new AegisInputError(`--norm must be one of ${NORMS.join(', ')}, got '${text}'`);
  }
  return norm as Norm;
}

export function parseNameList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0);
}

/** --access: gradients, scores or labels (undefined: all the model grants). */
export function parseAccess(text: string | undefined): Access | undefined {
  if (text === undefined) return undefined;
  if (!(ACCESS_LEVELS as readonly string[]).includes(text)) {
    throw new AegisInputError(`--access must be one of ${ACCESS_LEVELS.join(', ')}, got '${text}'`);
  }
  return text as Access;
}
