/**
 * Plumbing shared by the black-box evasion attacks (Square, HopSkipJump). They see the model
 * only through a QueryCountingModel at their own access level, keep examples as flat
 * Float32Array rows, and send rows to the model in batches. Rows report the queries used.
 */
import { AccessError, AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import { type Access, accessCovers, type ThreatModel } from '../../core/threat-model.js';
import { type Model, requireAccess } from '../../models/model.js';
import { QueryCountingModel } from '../../models/query-counter.js';

/**
 * Checks that both the model and the threat model grant `need`, then returns the window the
 * attack may use: a query-counting view of the model at exactly that access level.
 */
export function blackBoxView(model: Model, threat: ThreatModel, need: Access, who: string): QueryCountingModel {
  requireAccess(model, need, who);
  if (!accessCovers(threat.access, need)) {
    throw new AccessError(`${who} needs '${need}' access, but the threat model grants only '${threat.access}'`);
  }
  return new QueryCountingModel(model, need);
}

/** Query budget per example: the smaller of options.steps and threat.queryBudget, else `fallback`. */
export function queriesPerExample(steps: number | undefined, threat: ThreatModel, fallback: number): number {
  if (steps !== undefined && (!Number.isInteger(steps) || steps <= 0)) {
    throw new AegisInputError(`option steps must be a positive integer, got ${steps}`);
  }
  const limits = [steps, threat.queryBudget].filter((v): v is number => v !== undefined);
  return limits.length ? Math.min(...limits) : fallback;
}

/** Copies a tensor's values into a fresh Float32Array (row-major, one row per example). */
export function toRows(x: tf.Tensor): Float32Array {
  const values = x.dataSync();
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new AegisInputError(`input value ${i} is ${values[i]}; inputs must be finite numbers`);
    }
  }
  return Float32Array.from(values);
}

/** Predicted labels for `count` rows of `rows`, sent `batchSize` rows at a time. */
export async function queryLabels(
  model: Model,
  rows: Float32Array,
  count: number,
  shape: number[],
  batchSize: number,
): Promise<Int32Array> {
  const per = shape.reduce((a, b) => a * b, 1);
  const out = new Int32Array(count);
  for (let start = 0; start < count; start += batchSize) {
    const size = Math.min(batchSize, count - start);
    const batch = tf.tensor(rows.subarray(start * per, (start + size) * per), [size, ...shape]);
    try {
      out.set(await model.predictLabels(batch), start);
    } finally {
      batch.dispose();
    }
  }
  return out;
}

/** Class probabilities for `count` rows, flattened [count, classes]. */
export async function queryScores(
  model: Model,
  rows: Float32Array,
  count: number,
  shape: number[],
  batchSize: number,
): Promise<Float32Array> {
  const per = shape.reduce((a, b) => a * b, 1);
  const k = model.info.numClasses;
  const out = new Float32Array(count * k);
  for (let start = 0; start < count; start += batchSize) {
    const size = Math.min(batchSize, count - start);
    const batch = tf.tensor(rows.subarray(start * per, (start + size) * per), [size, ...shape]);
    try {
      const scores = await model.predictScores(batch);
      try {
        out.set(await scores.data(), start * k);
      } finally {
        scores.dispose();
      }
    } finally {
      batch.dispose();
    }
  }
  return out;
}
