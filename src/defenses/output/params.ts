/**
 * Reading an output defense's settings from DefenseContext.params: values arrive as numbers or
 * booleans from the library and as strings from the CLI; unknown names and bad values are
 * AegisInputErrors that name the defense, the parameter and what is allowed.
 */
import { AegisInputError } from '../../core/errors.js';
import type { DefenseContext } from '../defense.js';

export type ParamValue = number | string | boolean;

export interface NumberParam {
  type: 'integer' | 'number';
  default: number;
  /** Inclusive lower bound (integer) or exclusive lower bound (number, when `positive`). */
  min?: number;
  max?: number;
  /** Numbers only: must be > 0. */
  positive?: boolean;
  description: string;
}

export interface BooleanParam {
  type: 'boolean';
  default: boolean;
  description: string;
}

export type ParamSpec = NumberParam | BooleanParam;

type Parsed<S extends Record<string, ParamSpec>> = {
  [K in keyof S]: S[K] extends BooleanParam ? boolean : number;
};

function parseNumber(defense: string, name: string, value: ParamValue, spec: NumberParam): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  const where = `${defense}: parameter '${name}'`;
  if (!Number.isFinite(n)) throw new AegisInputError(`${where} must be a number, got '${value}'`);
  if (spec.type === 'integer' && !Number.isInteger(n)) {
    throw new AegisInputError(`${where} must be a whole number, got ${n}`);
  }
  if (spec.positive && !(n > 0)) throw new AegisInputError(`${where} must be positive, got ${n}`);
  if (spec.min !== undefined && n < spec.min)
    throw new AegisInputError(`${where} must be at least ${spec.min}, got ${n}`);
  if (spec.max !== undefined && n > spec.max)
    throw new AegisInputError(`${where} must be at most ${spec.max}, got ${n}`);
  return n;
}

function parseBoolean(defense: string, name: string, value: ParamValue): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1' || value === 1) return true;
  if (value === 'false' || value === '0' || value === 0) return false;
  throw new AegisInputError(`${defense}: parameter '${name}' must be true or false, got '${value}'`);
}

/** The defense's settings with defaults filled in; throws on unknown names and bad values. */
export function readParams<S extends Record<string, ParamSpec>>(
  defense: string,
  specs: S,
  params: DefenseContext['params'],
): Parsed<S> {
  const given = params ?? {};
  for (const name of Object.keys(given)) {
    if (!(name in specs)) {
      const valid = Object.keys(specs);
      throw new AegisInputError(
        `${defense}: unknown parameter '${name}'; ${valid.length ? `valid: ${valid.join(', ')}` : 'it takes none'}`,
      );
    }
  }
  const out: Record<string, number | boolean> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = given[name];
    if (value === undefined) out[name] = spec.default;
    else if (spec.type === 'boolean') out[name] = parseBoolean(defense, name, value);
    else out[name] = parseNumber(defense, name, value, spec);
  }
  return out as Parsed<S>;
}
