/**
 * A model that checks every input tensor against its schema (dtype, shape, finite values,
 * range) before the wrapped model sees it, and throws InputValidationError (an AegisInputError)
 * naming the exact element: `inputs[3][14][2][0]: expected a finite number in [0, 1], got NaN`.
 *
 * Validation is the identity on valid inputs, so the wrapper grants exactly what the wrapped
 * model grants: a differentiable model stays differentiable (its logits and fast gradient are
 * passed through, after the check). Checking reads the input back from the backend once per
 * call — cheap next to a forward pass, but it runs inside every attack step too.
 */
import { AccessError } from '../../core/errors.js';
import type { tf } from '../../core/runtime.js';
import { type DifferentiableModel, isDifferentiable, type Model, type ModelInfo } from '../../models/model.js';
import type { Defense } from '../defense.js';
import { intParam } from './defense-params.js';
import { DEFAULT_MAX_ISSUES, InputValidationError, IssueList } from './input-issues.js';
import { schemaForModel, type TensorInputSchema } from './input-schema.js';
import { checkTensor } from './validate-tensor.js';

export interface ValidatingModelOptions {
  /** Default: schemaForModel(inner) — [any batch, ...inputShape], float32, in inputRange. */
  schema?: TensorInputSchema;
  /** Issues listed in the error. Default 10. */
  maxIssues?: number;
}

export class ValidatingModel implements DifferentiableModel {
  readonly info: ModelInfo;
  readonly schema: TensorInputSchema;
  readonly crossEntropyGradient?: DifferentiableModel['crossEntropyGradient'];
  private readonly maxIssues: number;

  constructor(
    readonly inner: Model,
    options: ValidatingModelOptions = {},
  ) {
    this.info = { ...inner.info };
    this.schema = options.schema ?? schemaForModel(inner);
    this.maxIssues = options.maxIssues ?? DEFAULT_MAX_ISSUES;
    const fast = isDifferentiable(inner) ? inner.crossEntropyGradient?.bind(inner) : undefined;
    if (fast) {
      this.crossEntropyGradient = (x, oneHot) => {
        this.check(x);
        return fast(x, oneHot);
      };
    }
  }

  /** Throws InputValidationError unless `x` satisfies the schema. */
  check(x: tf.Tensor): void {
    const issues = new IssueList(this.maxIssues);
    checkTensor(this.schema, x, 'inputs', issues);
    if (!issues.ok)
      throw new InputValidationError(issues.issues, issues.omitted, `model '${this.info.name}': invalid input`);
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    if (!isDifferentiable(this.inner)) {
      throw new AccessError(`model '${this.info.name}' has no differentiable graph (access '${this.info.access}')`);
    }
    this.check(x);
    return this.inner.logits(x);
  }

  async predictScores(x: tf.Tensor): Promise<tf.Tensor2D> {
    this.check(x);
    return this.inner.predictScores(x);
  }

  async predictLabels(x: tf.Tensor): Promise<Int32Array> {
    this.check(x);
    return this.inner.predictLabels(x);
  }

  /** The wrapped model belongs to the caller (Defense.apply does not dispose its input). */
  dispose(): void {}
}

/**
 * Input validation as a Defense (name 'input-validation'): the model's default tensor schema
 * (schemaForModel). params: maxIssues (issues listed in an error, integer 1–1000, default 10).
 */
export const inputValidationDefense: Defense = {
  name: 'input-validation',
  title: 'Input validation (shape, dtype, finite values, range)',
  citation:
    'Allow-list validation of every input against a declared schema before the model call (OWASP Input Validation Cheat Sheet)',
  kind: 'preprocessor',
  mitigations: ['AML.M0015'],
  async apply(model, context) {
    return new ValidatingModel(model, {
      maxIssues: intParam(context.params, 'input-validation', 'maxIssues', DEFAULT_MAX_ISSUES, 1, 1000),
    });
  },
};
