/**
 * Counts the queries (examples sent) a black-box attack makes, by wrapping the model.
 * The wrapper is itself a Model, so attacks stay unaware of it.
 */
import { AccessError } from '../core/errors.js';
import type { tf } from '../core/runtime.js';
import type { Access } from '../core/threat-model.js';
import type { Model, ModelInfo } from './model.js';

export class QueryCountingModel implements Model {
  readonly info: ModelInfo;
  queries = 0;

  /** `access` can lower what the wrapped model reveals (e.g. a white-box model seen as labels-only). */
  constructor(
    private readonly inner: Model,
    access?: Access,
  ) {
    this.info = { ...inner.info, access: access ?? inner.info.access };
  }

  async predictLabels(x: tf.Tensor): Promise<Int32Array> {
    this.queries += x.shape[0] ?? 0;
    return this.inner.predictLabels(x);
  }

  async predictScores(x: tf.Tensor): Promise<tf.Tensor2D> {
    if (this.info.access === 'labels') {
      throw new AccessError(`model '${this.info.name}' grants labels only, not scores`);
    }
    this.queries += x.shape[0] ?? 0;
    return this.inner.predictScores(x);
  }

  dispose(): void {}
}
