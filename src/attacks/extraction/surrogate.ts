/**
 * The attacker's surrogate network (its own choice of architecture, trained from scratch on
 * what the victim answers) and the victim query helpers every extraction attack uses.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import { buildLogisticRegression, buildMlp, buildSmallCnn } from '../../models/builders.js';
import type { Model } from '../../models/model.js';
import { type Architecture, parseArchitecture } from '../../models/train-classifier.js';

export { type Architecture, parseArchitecture };

/** Default surrogate: the small CNN for images, an MLP otherwise. */
export function defaultArchitecture(inputShape: number[]): Architecture {
  return inputShape.length === 3 ? 'cnn' : 'mlp';
}

export function buildSurrogate(
  arch: Architecture,
  inputShape: number[],
  numClasses: number,
  seed: number,
  name: string,
): tfl.Sequential {
  if (arch === 'cnn') {
    if (inputShape.length !== 3) {
      throw new AegisInputError(
        `surrogate architecture 'cnn' needs image inputs [h, w, c]; the victim takes [${inputShape}]`,
      );
    }
    return buildSmallCnn({ inputShape, numClasses, seed, name });
  }
  if (arch === 'mlp') return buildMlp({ inputShape, numClasses, seed, name });
  return buildLogisticRegression({ inputShape, numClasses, seed, name });
}

/** What the victim answers: its probabilities, or (labels access) one-hot labels. */
export type AnswerKind = 'scores' | 'labels';

/** The answer kind a victim allows: scores when it grants them, else hard labels. */
export function answerKind(victim: Model): AnswerKind {
  return victim.info.access === 'labels' ? 'labels' : 'scores';
}

/**
 * Queries the victim on x ([n, ...inputShape]) in batches; returns n×k targets: probabilities,
 * or one-hot vectors of the predicted labels.
 */
export async function queryTargets(
  victim: Model,
  x: tf.Tensor,
  kind: AnswerKind,
  batchSize = 256,
): Promise<Float32Array> {
  const n = x.shape[0] ?? 0;
  const k = victim.info.numClasses;
  const out = new Float32Array(n * k);
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const batch = tf.slice(x, start, count);
    try {
      if (kind === 'scores') {
        const scores = await victim.predictScores(batch);
        out.set(await scores.data(), start * k);
        scores.dispose();
      } else {
        const labels = await victim.predictLabels(batch);
        labels.forEach((label, i) => {
          out[(start + i) * k + label] = 1;
        });
      }
    } finally {
      batch.dispose();
    }
  }
  return out;
}
