// Gradient × input attributions: Shrikumar, Greenside, Shcherbina & Kundaje 2016, "Not Just a Black Box: Learning Important Features Through Propagating Activation Differences", arXiv:1605.01713.
/**
 * Why a flow was flagged, in the raw columns an analyst knows. Three sources of per-feature
 * contributions, all over the encoded features (standardised numerics, one-hot categoricals):
 * - the classifier: gradient × input of the attack log-odds log(Σ_attack p) − log p(normal); the
 *   encoding puts the training mean at 0, so this is gradient × (x − mean), the first-order share
 *   of each feature in moving the log-odds away from an average flow;
 * - the autoencoder: each feature's squared reconstruction error (its share of the novelty score);
 * - the isolation forest: its depth-weighted split attributions.
 * One-hot blocks collapse to their column (the active slot carries the contribution), so the
 * reasons read 'service = private', 'src_bytes = 0', not 'service=private (dim 57)'.
 */

import { tf } from '../../core/runtime.js';
import type { TfjsModel } from '../../models/tfjs-model.js';
import type { Reason } from '../detector.js';
import type { FlowEncoder } from './encoder.js';
import type { FlowTable } from './read-flows.js';

/** Gradient × input of the attack log-odds for rows x[n × d]; normalIndex is the normal class. */
export function classifierContributions(
  model: TfjsModel,
  x: Float32Array,
  rows: number,
  normalIndex: number,
): Float32Array {
  const d = model.info.inputShape[0] as number;
  const k = model.info.numClasses;
  const logOdds = (input: tf.Tensor): tf.Scalar =>
    tf.tidy(() => {
      const logp = tf.logSoftmax(model.logits(input));
      const normal = tf.slice(logp, [0, normalIndex], [-1, 1]);
      const mask = tf.tensor2d(
        Array.from({ length: k }, (_, c) => (c === normalIndex ? -1e9 : 0)),
        [1, k],
      );
      const attack = tf.logSumExp(tf.add(logp, mask), 1, true);
      return tf.sum(tf.sub(attack, normal)) as tf.Scalar;
    });
  const out = tf.tidy(() => {
    const input = tf.tensor2d(x, [rows, d]);
    return tf.mul(tf.grad(logOdds)(input), input);
  });
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

export interface ColumnContribution {
  column: string;
  /** Summed contribution of the column's encoded features. */
  weight: number;
  /** Encoded feature that carries it (the active one-hot slot, or the numeric feature). */
  feature: number;
}

/** Collapses one row's per-feature contributions to raw columns, largest first. */
export function byColumn(encoder: FlowEncoder, contributions: ArrayLike<number>, offset = 0): ColumnContribution[] {
  const out = new Map<string, ColumnContribution>();
  const d = encoder.dimension;
  for (let k = 0; k < d; k++) {
    const w = contributions[offset + k] as number;
    const column = encoder.columnOf(k);
    const prev = out.get(column);
    if (!prev) out.set(column, { column, weight: w, feature: k });
    else {
      if (Math.abs(w) > Math.abs((contributions[offset + prev.feature] as number) ?? 0)) prev.feature = k;
      prev.weight += w;
    }
  }
  return [...out.values()].sort((a, b) => b.weight - a.weight);
}

/** 'src_bytes = 1480' or 'service = private' for row i of the table. */
export function describeValue(table: FlowTable, i: number, column: string): string {
  const j = table.numericNames.indexOf(column);
  if (j >= 0) {
    const v = table.numeric[i * table.numericNames.length + j] as number;
    return `${column} = ${Number.isInteger(v) ? v : Number(v.toPrecision(4))}`;
  }
  const c = table.categoricalNames.indexOf(column);
  if (c >= 0) return `${column} = ${(table.categorical[c] as string[])[i]}`;
  return column;
}

/** Reasons from column contributions: the `top` largest positive ones. */
export function reasonsFrom(
  contributions: ColumnContribution[],
  table: FlowTable,
  i: number,
  source: string,
  explain: (c: ColumnContribution) => string,
  top = 3,
): Reason[] {
  return contributions
    .filter((c) => c.weight > 0)
    .slice(0, top)
    .map((c) => ({
      feature: c.column,
      detail: `${describeValue(table, i, c.column)}: ${explain(c)} (${source})`,
      weight: Number(c.weight.toPrecision(4)),
    }));
}
