/**
 * How well model inversion worked, as Fredrikson et al. 2015 judged it and as later work measures
 * it: (a) identification accuracy — the fraction of reconstructions a separately trained
 * evaluation classifier assigns to the targeted class; (b) SSIM (./ssim.ts) between each
 * reconstruction and the mean training image of its class.
 */
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import { type Dataset, featureSize, size } from '../../data/dataset.js';
import type { Model } from '../../models/model.js';
import { ssim } from './ssim.js';

/** Mean example of each class, in class order; a class without examples is an input error. */
export function classMeans(data: Dataset): Float32Array[] {
  const per = featureSize(data);
  const k = data.classNames.length;
  const sums = Array.from({ length: k }, () => new Float64Array(per));
  const counts = new Int32Array(k);
  for (let i = 0; i < size(data); i++) {
    const y = data.y[i] as number;
    const sum = sums[y] as Float64Array;
    for (let j = 0; j < per; j++) sum[j] = (sum[j] as number) + (data.x[i * per + j] as number);
    counts[y] = (counts[y] as number) + 1;
  }
  return sums.map((sum, c) => {
    if (counts[c] === 0) {
      throw new AegisInputError(`dataset '${data.name}' has no examples of class '${data.classNames[c]}' to average`);
    }
    return Float32Array.from(sum, (v) => v / (counts[c] as number));
  });
}

/** [h, w, c] of image-shaped examples; SSIM needs images. */
export function imageShapeOf(shape: number[], where: string): [number, number, number] {
  if (shape.length === 3) return shape as [number, number, number];
  if (shape.length === 2) return [shape[0] as number, shape[1] as number, 1];
  throw new AegisInputError(
    `${where}: model inversion is evaluated on images [h, w, c], got examples of shape [${shape}]`,
  );
}

export interface InversionEvaluation {
  identificationAccuracy: number;
  /** Mean SSIM of reconstruction vs its class's mean training image. */
  ssim: number;
  /** Evaluation classifier's label per reconstruction. */
  predictions: Int32Array;
  /** Its labels for the class means (a sanity check of the evaluator). */
  meanPredictions: Int32Array;
  ssimPerClass: number[];
}

async function labelsOf(model: Model, rows: Float32Array[], shape: number[]): Promise<Int32Array> {
  const flat = new Float32Array(rows.length * (rows[0]?.length ?? 0));
  rows.forEach((r, i) => {
    flat.set(r, i * r.length);
  });
  const x = tf.tensor(flat, [rows.length, ...shape], 'float32');
  try {
    return await model.predictLabels(x);
  } finally {
    x.dispose();
  }
}

/** Scores reconstructions of `classes` against the class means with an evaluation classifier. */
export async function evaluateReconstructions(
  reconstructions: Float32Array[],
  classes: number[],
  means: Float32Array[],
  evaluator: Model,
  exampleShape: number[],
): Promise<InversionEvaluation> {
  if (reconstructions.length !== classes.length) {
    throw new AegisInputError(`${reconstructions.length} reconstructions for ${classes.length} classes`);
  }
  const [h, w, c] = imageShapeOf(exampleShape, 'inversion evaluation');
  const want = evaluator.info.inputShape.join(',');
  if (want !== exampleShape.join(',')) {
    throw new AegisInputError(
      `evaluation model '${evaluator.info.name}' expects inputs [${want}] but reconstructions are [${exampleShape}]`,
    );
  }
  if (reconstructions.length === 0) {
    return {
      identificationAccuracy: 0,
      ssim: 0,
      predictions: new Int32Array(0),
      meanPredictions: new Int32Array(0),
      ssimPerClass: [],
    };
  }
  const targets = classes.map((k) => means[k] as Float32Array);
  const predictions = await labelsOf(evaluator, reconstructions, exampleShape);
  const meanPredictions = await labelsOf(evaluator, targets, exampleShape);
  const ssimPerClass = reconstructions.map((r, i) => ssim(r, targets[i] as Float32Array, h, w, { channels: c }));
  const hits = classes.filter((k, i) => predictions[i] === k).length;
  return {
    identificationAccuracy: hits / classes.length,
    ssim: ssimPerClass.reduce((a, b) => a + b, 0) / ssimPerClass.length,
    predictions,
    meanPredictions,
    ssimPerClass,
  };
}
