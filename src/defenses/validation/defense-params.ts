/**
 * Reading a defense's settings from DefenseContext.params (CLI flags or library options):
 * documented defaults, and AegisInputError naming the parameter when a value is wrong.
 */
import { AegisInputError } from '../../core/errors.js';
import type { DefenseContext } from '../defense.js';

type Params = DefenseContext['params'];

/** An integer parameter in [min, max], or its default. Numeric strings (from the CLI) are accepted. */
export function intParam(
  params: Params,
  defense: string,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = params?.[name];
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new AegisInputError(
      `${defense}: parameter ${name} must be an integer in [${min}, ${max}], got ${String(raw)}`,
    );
  }
  return value;
}

/** A boolean parameter ('true'/'false' strings accepted), or its default. */
export function boolParam(params: Params, defense: string, name: string, fallback: boolean): boolean {
  const raw = params?.[name];
  if (raw === undefined) return fallback;
  if (typeof raw === 'boolean') return raw;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new AegisInputError(`${defense}: parameter ${name} must be true or false, got ${String(raw)}`);
}
