/**
 * The attacked model as a membership attack sees it: batched queries on flat rows, counted, at
 * the access level the threat model grants. With 'gradients' access the real logits are read;
 * with 'scores' the log-probabilities (the same up to a constant per row, which every statistic
 * in scores.ts ignores); 'labels' allows decisions only.
 */
import { AccessError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import { type Access, accessCovers } from '../../core/threat-model.js';
import { isDifferentiable, type Model } from '../../models/model.js';

/** Examples per model call. */
export const QUERY_BATCH = 512;

export class MembershipTarget {
  queries = 0;

  constructor(
    readonly model: Model,
    /** What the adversary may use (at most what the model grants). */
    readonly access: Access = model.info.access,
  ) {
    if (!accessCovers(model.info.access, access)) {
      throw new AccessError(`model '${model.info.name}' grants '${model.info.access}' access, not '${access}'`);
    }
  }

  get numClasses(): number {
    return this.model.info.numClasses;
  }

  /** Throws AccessError naming the attack and what is missing. */
  require(need: Access, who: string): void {
    if (!accessCovers(this.access, need)) {
      const what = need === 'scores' ? 'class scores (probabilities)' : need;
      throw new AccessError(
        `${who} needs '${need}' access (${what}), but model '${this.model.info.name}' is attacked with '${this.access}' access only`,
      );
    }
  }

  /** Logits (or log-probabilities) [n, k] for rows of `shape`. */
  async logits(x: Float32Array, shape: number[], who: string): Promise<Float32Array> {
    this.require('scores', who);
    const per = shape.reduce((a, b) => a * b, 1);
    const n = x.length / per;
    const k = this.numClasses;
    const out = new Float32Array(n * k);
    const model = this.model;
    for (let start = 0; start < n; start += QUERY_BATCH) {
      const count = Math.min(QUERY_BATCH, n - start);
      const batch = tf.tensor(x.subarray(start * per, (start + count) * per), [count, ...shape], 'float32');
      try {
        let result: tf.Tensor;
        if (this.access === 'gradients' && isDifferentiable(model)) result = model.logits(batch);
        else {
          const probs = await model.predictScores(batch);
          result = tf.tidy(() => tf.log(tf.maximum(probs, 1e-38)));
          probs.dispose();
        }
        out.set((await result.data()) as Float32Array, start * k);
        result.dispose();
      } finally {
        batch.dispose();
      }
      this.queries += count;
    }
    return out;
  }

  /** Predicted labels for rows of `shape` (every access level allows this). */
  async labels(x: Float32Array, shape: number[]): Promise<Int32Array> {
    const per = shape.reduce((a, b) => a * b, 1);
    const n = x.length / per;
    const out = new Int32Array(n);
    for (let start = 0; start < n; start += QUERY_BATCH) {
      const count = Math.min(QUERY_BATCH, n - start);
      const batch = tf.tensor(x.subarray(start * per, (start + count) * per), [count, ...shape], 'float32');
      try {
        out.set(await this.model.predictLabels(batch), start);
      } finally {
        batch.dispose();
      }
      this.queries += count;
    }
    return out;
  }
}
