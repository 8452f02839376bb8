/**
 * Fidelity and accuracy of a surrogate on held-out data. The victim's labels on that data are
 * computed once, by the harness (not counted as attack queries: it is the auditor measuring).
 */
import { AegisInputError } from '../../core/errors.js';
import { type Dataset, featureShape, size, validateDataset } from '../../data/dataset.js';
import { predictDataset } from '../../models/evaluate.js';
import type { Model } from '../../models/model.js';

export class FidelityEvaluator {
  private constructor(
    readonly data: Dataset,
    /** The victim's labels on `data`. */
    readonly victimLabels: Int32Array,
  ) {}

  static async create(victim: Model, data: Dataset): Promise<FidelityEvaluator> {
    validateDataset(data);
    if (size(data) === 0) throw new AegisInputError(`held-out data '${data.name}' is empty`);
    const want = victim.info.inputShape.join(',');
    if (featureShape(data).join(',') !== want) {
      throw new AegisInputError(
        `held-out data '${data.name}' has examples of shape [${featureShape(data)}] but model '${victim.info.name}' expects [${want}]`,
      );
    }
    return new FidelityEvaluator(data, await predictDataset(victim, data));
  }

  /** Victim accuracy on the held-out labels. */
  victimAccuracy(): number {
    return agreement(this.victimLabels, this.data.y);
  }

  async evaluate(surrogate: Model): Promise<{ fidelity: number; accuracy: number }> {
    const labels = await predictDataset(surrogate, this.data);
    return { fidelity: agreement(labels, this.victimLabels), accuracy: agreement(labels, this.data.y) };
  }
}

/** Fraction of positions where a and b agree. */
export function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return a.length ? same / a.length : 0;
}
