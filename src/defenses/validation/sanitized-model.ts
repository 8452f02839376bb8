/**
 * A model behind an input sanitiser (bit-depth reduction, median smoothing, JPEG-style
 * quantisation): every input is transformed, then classified by the wrapped model.
 *
 * What the wrapper reveals depends on whether the transform has a useful gradient:
 * - 'exact': the transform is differentiable almost everywhere (median smoothing selects one
 *   input value per pixel, like max pooling), so the wrapper is white-box if the wrapped model
 *   is, and its logits differentiate through the transform — adaptive attacks get true gradients.
 * - 'none' (default for rounding transforms): bit depth and JPEG round, so their gradient is
 *   zero almost everywhere. Claiming 'gradients' would hand attacks a masked (useless) gradient,
 *   and attacks must not silently get the undefended model's gradient either; the wrapper
 *   therefore grants at most 'scores'.
 * - 'bpda' (opt-in, `bpda: true`): Backward Pass Differentiable Approximation (Athalye, Carlini
 *   & Wagner 2018, ICML): the forward pass runs the real transform, the backward pass treats it
 *   as the identity (straight-through), so adaptive white-box attacks can target the defence.
 */
import { AccessError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import { accessCovers } from '../../core/threat-model.js';
import { type DifferentiableModel, isDifferentiable, type Model, type ModelInfo } from '../../models/model.js';

export interface Sanitizer {
  /** Short name shown in the defended model's name, e.g. 'bit-depth-4'. */
  readonly name: string;
  /** The transform on a batch [n, ...inputShape] (synchronous tf ops; allocates, call in tf.tidy). */
  transform(x: tf.Tensor): tf.Tensor;
  /** True when the transform's own tfjs gradient is meaningful (not zero almost everywhere). */
  readonly differentiable: boolean;
}

export type SanitizerGradient = 'exact' | 'bpda' | 'none';

export interface SanitizedModelOptions {
  /** For non-differentiable transforms: expose straight-through (BPDA) gradients. Default false. */
  bpda?: boolean;
  /** Examples transformed and classified at a time (bounds memory). Default 256. */
  batchSize?: number;
}

/** fn on the forward pass, the identity on the backward pass (BPDA, Athalye et al. 2018). */
export function straightThrough(fn: (x: tf.Tensor) => tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad((...inputs) => {
    const x = inputs[0] as tf.Tensor;
    return { value: tf.tidy(() => fn(x)), gradFunc: (dy: tf.Tensor) => dy };
  }) as (x: tf.Tensor) => tf.Tensor;
}

export class SanitizedModel implements DifferentiableModel {
  readonly info: ModelInfo;
  /** How gradients reach the input: through the transform, straight through it, or not at all. */
  readonly gradient: SanitizerGradient;
  readonly crossEntropyGradient?: DifferentiableModel['crossEntropyGradient'];
  private readonly batchSize: number;
  private readonly forward: (x: tf.Tensor) => tf.Tensor;

  constructor(
    readonly inner: Model,
    readonly sanitizer: Sanitizer,
    options: SanitizedModelOptions = {},
  ) {
    this.gradient = sanitizer.differentiable ? 'exact' : options.bpda ? 'bpda' : 'none';
    const access = this.gradient === 'none' && accessCovers(inner.info.access, 'scores') ? 'scores' : inner.info.access;
    this.info = { ...inner.info, name: `${inner.info.name}+${sanitizer.name}`, access };
    this.batchSize = options.batchSize ?? 256;
    this.forward =
      this.gradient === 'bpda' ? straightThrough((x) => sanitizer.transform(x)) : (x) => sanitizer.transform(x);
    const fast =
      isDifferentiable(inner) && this.gradient !== 'none' ? inner.crossEntropyGradient?.bind(inner) : undefined;
    if (fast) this.crossEntropyGradient = (x, oneHot) => this.fastGradient(fast, x, oneHot);
  }

  /** The sanitised input (caller disposes). */
  sanitize(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.sanitizer.transform(x));
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    if (this.gradient === 'none' || !isDifferentiable(this.inner)) {
      throw new AccessError(
        `model '${this.info.name}' grants '${this.info.access}' access: ${this.sanitizer.name} has no useful gradient (pass bpda: true for straight-through gradients)`,
      );
    }
    const inner = this.inner;
    return tf.tidy(() => inner.logits(this.forward(x)));
  }

  async predictScores(x: tf.Tensor): Promise<tf.Tensor2D> {
    const parts = await this.inBatches(x, (t) => this.inner.predictScores(t));
    if (parts.length === 1) return parts[0] as tf.Tensor2D;
    const out = tf.concat(parts) as tf.Tensor2D;
    tf.dispose(parts);
    return out;
  }

  async predictLabels(x: tf.Tensor): Promise<Int32Array> {
    const parts = await this.inBatches(x, (t) => this.inner.predictLabels(t));
    const labels = new Int32Array(x.shape[0] ?? 0);
    let offset = 0;
    for (const part of parts) {
      labels.set(part, offset);
      offset += part.length;
    }
    return labels;
  }

  /** The wrapped model belongs to the caller (Defense.apply does not dispose its input). */
  dispose(): void {}

  /** Sanitises slices of at most batchSize examples and runs `fn` on each. */
  private async inBatches<T>(x: tf.Tensor, fn: (t: tf.Tensor) => Promise<T>): Promise<T[]> {
    const n = x.shape[0] ?? 0;
    const out: T[] = [];
    for (let start = 0; start < Math.max(n, 1); start += this.batchSize) {
      const size = Math.min(this.batchSize, n - start);
      const t = tf.tidy(() => this.sanitizer.transform(n <= this.batchSize ? x : tf.slice(x, start, size)));
      try {
        out.push(await fn(t));
      } finally {
        if (t !== x) t.dispose(); // a transform may hand back its input unchanged
      }
    }
    return out;
  }

  /**
   * The wrapped model's own fast input gradient (e.g. ONNX Runtime), taken at the sanitised
   * input, then carried back to x: unchanged for BPDA, through the transform's vector-Jacobian
   * product for an exact gradient.
   */
  private async fastGradient(
    fast: NonNullable<DifferentiableModel['crossEntropyGradient']>,
    x: tf.Tensor,
    oneHot: tf.Tensor,
  ): Promise<{ grad: tf.Tensor; logits: tf.Tensor2D }> {
    const t = this.sanitize(x);
    let result: { grad: tf.Tensor; logits: tf.Tensor2D };
    try {
      result = await fast(t, oneHot);
    } finally {
      if (t !== x) t.dispose();
    }
    if (this.gradient === 'bpda') return result;
    const upstream = result.grad;
    const grad = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(this.sanitizer.transform(v), upstream)))(x));
    upstream.dispose();
    return { grad, logits: result.logits };
  }
}
