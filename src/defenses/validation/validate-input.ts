/**
 * Validates an input against its schema before any model call:
 *
 *   const result = validateInput(schema, body.inputs);
 *   if (!result.ok) reply(400, result.issues);     // [{path: 'inputs[3][14][2]', message: 'expected …, got NaN'}]
 *   const x = toInputTensor(result);               // a tensor only once everything has passed
 *
 * Tensor schemas take nested arrays of numbers (JSON) or a tfjs tensor; tabular schemas an
 * array of records; text schemas a string or an array of strings. Issues carry an exact path
 * and "expected …, got …"; the first `maxIssues` are listed and the rest counted.
 */
import { tf } from '../../core/runtime.js';
import { DEFAULT_MAX_ISSUES, type InputIssue, InputValidationError, IssueList } from './input-issues.js';
import type { InputSchema } from './input-schema.js';
import { type ValidTabularInput, validateTabularJson } from './validate-tabular.js';
import { type ValidTensorInput, validateTensorJson, validateTensorValue } from './validate-tensor.js';
import { type ValidTextInput, validateTextJson } from './validate-text.js';

export type ValidInput = ValidTensorInput | ValidTabularInput | ValidTextInput;

export interface InvalidInput {
  ok: false;
  /** The first `maxIssues` issues, in input order. */
  issues: InputIssue[];
  /** How many more issues were found but not listed. */
  omitted: number;
}

export type ValidationResult = ValidInput | InvalidInput;

export interface ValidateOptions {
  /** Name of the value at the root of every path. Default: inputs (tensor), records (tabular), text (text). */
  root?: string;
  /** Issues listed before the rest are only counted. Default 10. */
  maxIssues?: number;
}

const DEFAULT_ROOT: Record<InputSchema['kind'], string> = { tensor: 'inputs', tabular: 'records', text: 'text' };

export function validateInput(schema: InputSchema, value: unknown, options: ValidateOptions = {}): ValidationResult {
  const root = options.root ?? DEFAULT_ROOT[schema.kind];
  const issues = new IssueList(options.maxIssues ?? DEFAULT_MAX_ISSUES);
  let valid: ValidInput | undefined;
  if (schema.kind === 'tensor') {
    valid =
      value instanceof tf.Tensor
        ? validateTensorValue(schema, value, root, issues)
        : validateTensorJson(schema, value, root, issues);
  } else if (schema.kind === 'tabular') {
    valid = validateTabularJson(schema, value, root, issues);
  } else {
    valid = validateTextJson(schema, value, root, issues);
  }
  if (valid && issues.ok) return valid;
  return { ok: false, issues: issues.issues, omitted: issues.omitted };
}

/** validateInput that throws InputValidationError (an AegisInputError listing the issues) on bad input. */
export function assertValidInput(
  schema: InputSchema,
  value: unknown,
  options: ValidateOptions & { what?: string } = {},
): ValidInput {
  const result = validateInput(schema, value, options);
  if (!result.ok) throw new InputValidationError(result.issues, result.omitted, options.what);
  return result;
}
