/**
 * Errors the user can fix (bad input, bad flags, unreadable files). The CLI prints
 * only the message of these and exits with code 2; anything else is a bug and keeps
 * its stack trace.
 */
export class AegisInputError extends Error {
  readonly exitCode = 2;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AegisInputError';
  }
}

/** The model does not grant the access an attack needs (e.g. gradients from an HTTP API). */
export class AccessError extends AegisInputError {
  constructor(message: string) {
    super(message);
    this.name = 'AccessError';
  }
}

export function isInputError(error: unknown): error is AegisInputError {
  return error instanceof AegisInputError;
}

/** Throws AegisInputError unless `condition` holds. */
export function require(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AegisInputError(message);
}
