// Tramèr, Zhang, Juels, Reiter & Ristenpart 2016, "Stealing Machine Learning Models via Prediction APIs", USENIX Security (countermeasure: omit confidences, return class labels only).
/**
 * Label-only output: the model answers with its predicted class and nothing else (IBM ART's
 * ClassLabels postprocessor returns the same information as a one-hot vector). The wrapper's
 * access is 'labels', so predictScores refuses with an AccessError and every attack that needs
 * scores is refused before it queries; label-only attacks (JBDA, label-only membership) still run.
 * Works on any model, whatever access it grants. No params.
 */
import type { tf } from '../../core/runtime.js';
import { type Model, type ModelInfo, requireAccess } from '../../models/model.js';
import type { Defense, DefenseContext } from '../defense.js';
import { readParams } from './params.js';

export class LabelOnlyModel implements Model {
  readonly info: ModelInfo;

  constructor(
    /** The undefended model (not owned: dispose it yourself). */
    readonly inner: Model,
  ) {
    this.info = { ...inner.info, name: `${inner.info.name}+label-only`, access: 'labels' };
  }

  predictLabels(x: tf.Tensor): Promise<Int32Array> {
    return this.inner.predictLabels(x);
  }

  async predictScores(_x: tf.Tensor): Promise<tf.Tensor2D> {
    requireAccess(this, 'scores', 'reading class scores');
    throw new Error('unreachable: a label-only model never grants scores');
  }

  dispose(): void {}
}

export const labelOnlyDefense: Defense = {
  name: 'label-only',
  title: 'Predicted label only',
  citation:
    'Tramèr, Zhang, Juels, Reiter & Ristenpart 2016, "Stealing Machine Learning Models via Prediction APIs", USENIX Security',
  kind: 'output',
  mitigations: ['AML.M0002'],
  async apply(model: Model, context: DefenseContext): Promise<Model> {
    readParams('label-only', {}, context.params);
    return new LabelOnlyModel(model);
  },
};
