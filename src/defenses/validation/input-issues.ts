/**
 * Validation issues: where (an exact path such as `inputs[3][14][2]` or `records[2].protocol_type`)
 * and what (expected vs got). A list keeps the first N and counts the rest, so a batch of a
 * million bad values costs one counter, not a million strings.
 */
import { AegisInputError } from '../../core/errors.js';

export interface InputIssue {
  path: string;
  message: string;
}

/** Issues kept by default; the rest are only counted. */
export const DEFAULT_MAX_ISSUES = 10;

export class IssueList {
  readonly issues: InputIssue[] = [];
  /** Issues found beyond `max`. */
  omitted = 0;

  constructor(readonly max = DEFAULT_MAX_ISSUES) {}

  /** `path` may be a function so valid-looking batches never build path strings they do not need. */
  add(path: string | (() => string), message: string | (() => string)): void {
    if (this.issues.length >= this.max) {
      this.omitted++;
      return;
    }
    this.issues.push({
      path: typeof path === 'function' ? path() : path,
      message: typeof message === 'function' ? message() : message,
    });
  }

  get count(): number {
    return this.issues.length + this.omitted;
  }

  get ok(): boolean {
    return this.count === 0;
  }
}

/** Raised by assertValidInput and ValidatingModel: an AegisInputError carrying the issues. */
export class InputValidationError extends AegisInputError {
  constructor(
    readonly issues: InputIssue[],
    /** Issues found beyond those listed. */
    readonly omitted: number,
    what = 'invalid input',
  ) {
    super(`${what}: ${formatIssues(issues, omitted)}`);
    this.name = 'InputValidationError';
  }
}

/** "2 problems: inputs[0]: expected 28 items, got 27; inputs[1][3]: … (and 5 more)". */
export function formatIssues(issues: readonly InputIssue[], omitted = 0): string {
  const total = issues.length + omitted;
  const listed = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  const more = omitted > 0 ? ` (and ${omitted} more)` : '';
  return `${total} problem${total === 1 ? '' : 's'}: ${listed}${more}`;
}

/** A field name as a path step: `.name` when it is an identifier, else `["odd name"]`. */
export function fieldStep(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

/** A value as it appears in "got …": numbers as written (NaN, Infinity), strings quoted and cut short. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') {
    const text = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return `the string ${JSON.stringify(text)}`;
  }
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** "in [0, 1]", "≥ 0", "≤ 255" or "" for the message of a bounded number. */
export function boundsText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` in [${min}, ${max}]`;
  if (min !== undefined) return ` >= ${min}`;
  if (max !== undefined) return ` <= ${max}`;
  return '';
}
