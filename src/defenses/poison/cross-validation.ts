/**
 * Out-of-sample class probabilities by k-fold cross-validation (what confident learning needs,
 * Northcutt et al. 2021 §4): each row is scored by a victim trained, with the user's own recipe,
 * on the other folds only. Folds come from one seeded permutation.
 */

import type { VictimTrainer } from '../../attacks/poisoning/poisoning-attack.js';
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import { type Dataset, featureShape, featureSize, size, take } from '../../data/dataset.js';

export interface CrossValidationOptions {
  /** Default 4. */
  folds?: number;
  seed: number;
  /** Called after each fold's model is trained and has scored its held-out rows. */
  onFold?: (done: number, total: number) => void;
}

/** Rows per forward pass when scoring a held-out fold. */
const SCORE_BATCH = 256;

/** [n, numClasses] probabilities, each row from the model that did not see it. */
export async function crossValidatedProbabilities(
  train: Dataset,
  trainVictim: VictimTrainer,
  options: CrossValidationOptions,
): Promise<Float32Array> {
  const folds = options.folds ?? 4;
  const n = size(train);
  if (!Number.isInteger(folds) || folds < 2) {
    throw new AegisInputError(`cross-validation: folds must be an integer >= 2, got ${folds}`);
  }
  if (n < folds) throw new AegisInputError(`cross-validation: ${n} rows cannot be split into ${folds} folds`);
  const k = train.classNames.length;
  const rng = new Rng(options.seed);
  const order = rng.permutation(n);
  const probabilities = new Float32Array(n * k);
  const per = featureSize(train);
  for (let f = 0; f < folds; f++) {
    const held = order.filter((_, p) => p % folds === f).sort();
    const rest = order.filter((_, p) => p % folds !== f).sort();
    const model = await trainVictim(take(train, rest), rng.fork() & 0x7fffffff);
    try {
      if (model.info.numClasses !== k) {
        throw new AegisInputError(`cross-validation: the victim has ${model.info.numClasses} outputs for ${k} classes`);
      }
      const heldData = take(train, held);
      for (let start = 0; start < held.length; start += SCORE_BATCH) {
        const count = Math.min(SCORE_BATCH, held.length - start);
        const x = tf.tensor(heldData.x.subarray(start * per, (start + count) * per), [count, ...featureShape(train)]);
        const scores = await model.predictScores(x).finally(() => x.dispose());
        const values = (await scores.data()) as Float32Array;
        scores.dispose();
        for (let r = 0; r < count; r++) {
          probabilities.set(values.subarray(r * k, (r + 1) * k), (held[start + r] as number) * k);
        }
      }
    } finally {
      await model.dispose();
    }
    options.onFold?.(f + 1, folds);
  }
  return probabilities;
}
