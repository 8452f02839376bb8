/**
 * Output hardening as a model wrapper: the wrapped model's class probabilities pass through a
 * fixed post-processing function (top-k, rounding, reverse sigmoid) before anyone sees them.
 *
 * Access: the wrapper grants 'scores' at most, never 'gradients', and has no `logits`. The point
 * of these defenses is to hide the exact probabilities (and with them the logits), so an attack
 * must not silently differentiate the undefended network behind the wrapper. Labels are the
 * argmax of the returned scores (first index on ties), so predictLabels and predictScores always
 * agree — a defense that moves the argmax costs accuracy, and the utility metrics show it.
 *
 * The post-processing runs in float64 on the downloaded scores (batches are small: k values per
 * example), which keeps the transforms pure functions that tests check exactly.
 */
import { tf } from '../../core/runtime.js';
import { type Model, type ModelInfo, requireAccess } from '../../models/model.js';

/** Rewrites n rows of k probabilities (row-major); returns a new array. */
export type ScoreTransform = (scores: Float32Array, k: number) => Float32Array;

/** Index of the largest value in row `row` (first one on ties). */
export function argmaxRow(values: ArrayLike<number>, row: number, k: number): number {
  let best = 0;
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < k; j++) {
    const v = values[row * k + j] as number;
    if (v > max) {
      max = v;
      best = j;
    }
  }
  return best;
}

/** argmax of every row of an n×k row-major array. */
export function argmaxRows(values: ArrayLike<number>, k: number): Int32Array {
  const n = Math.floor(values.length / k);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = argmaxRow(values, i, k);
  return out;
}

export class OutputHardenedModel implements Model {
  readonly info: ModelInfo;

  constructor(
    /** The undefended model (not owned: dispose it yourself). */
    readonly inner: Model,
    /** Defense name, appended to the model's name. */
    readonly defense: string,
    /** The post-processing, public so a defense-aware attacker can apply it to its own shadow models. */
    readonly transform: ScoreTransform,
  ) {
    requireAccess(inner, 'scores', `the '${defense}' output defense (it post-processes class scores)`);
    this.info = { ...inner.info, name: `${inner.info.name}+${defense}`, access: 'scores' };
  }

  /** The defended probabilities as plain numbers, n×k row-major. */
  async scoresOf(x: tf.Tensor): Promise<Float32Array> {
    const raw = await this.inner.predictScores(x);
    try {
      return this.transform((await raw.data()) as Float32Array, this.info.numClasses);
    } finally {
      raw.dispose();
    }
  }

  async predictScores(x: tf.Tensor): Promise<tf.Tensor2D> {
    const scores = await this.scoresOf(x);
    return tf.tensor2d(scores, [scores.length / this.info.numClasses, this.info.numClasses]);
  }

  async predictLabels(x: tf.Tensor): Promise<Int32Array> {
    return argmaxRows(await this.scoresOf(x), this.info.numClasses);
  }

  /** Holds no memory of its own; the inner model stays alive. */
  dispose(): void {}
}

/** What a model does to its probabilities: the wrapper's transform, or none (identity) for a plain model. */
export function outputTransformOf(model: Model): ScoreTransform {
  return model instanceof OutputHardenedModel ? model.transform : (scores) => scores.slice();
}
