/**
 * A model whose answers are given in advance: input [n, 1] holds row indices into `rows`, and
 * predictScores returns those rows — so wrapper tests can feed exact, hand-made score vectors.
 */
import { tf } from '../../../src/core/runtime.js';
import type { Access } from '../../../src/core/threat-model.js';
import type { Model, ModelInfo } from '../../../src/models/model.js';

export class FixedScoresModel implements Model {
  readonly info: ModelInfo;
  scoreCalls = 0;

  constructor(
    private readonly rows: number[][],
    access: Access = 'scores',
  ) {
    const k = rows[0]?.length ?? 0;
    this.info = { name: 'fixed', access, inputShape: [1], numClasses: k, inputRange: [0, rows.length] };
  }

  /** Input selecting rows `indices`. */
  static input(indices: number[]): tf.Tensor2D {
    return tf.tensor2d(indices, [indices.length, 1]);
  }

  private async pick(x: tf.Tensor): Promise<number[][]> {
    const idx = await x.data();
    return Array.from(idx, (i) => this.rows[i] as number[]);
  }

  async predictScores(x: tf.Tensor): Promise<tf.Tensor2D> {
    this.scoreCalls++;
    return tf.tensor2d(await this.pick(x));
  }

  async predictLabels(x: tf.Tensor): Promise<Int32Array> {
    return Int32Array.from(await this.pick(x), (row) => row.indexOf(Math.max(...row)));
  }

  dispose(): void {}
}

/** Scores of `x` through `model`, as plain rows. */
export async function scoreRows(model: Model, indices: number[]): Promise<number[][]> {
  const x = FixedScoresModel.input(indices);
  try {
    const s = await model.predictScores(x);
    const rows = (await s.array()) as number[][];
    s.dispose();
    return rows;
  } finally {
    x.dispose();
  }
}

export async function labelsOf(model: Model, indices: number[]): Promise<number[]> {
  const x = FixedScoresModel.input(indices);
  try {
    return Array.from(await model.predictLabels(x));
  } finally {
    x.dispose();
  }
}
