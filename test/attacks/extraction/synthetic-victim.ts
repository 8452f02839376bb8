/**
 * A synthetic extraction target: a random "teacher" MLP on inputs uniform in [0, 1]^dims, its
 * first layer centred on 0.5 so every class gets a share of the input space, and data sets
 * drawn from the same distribution (labels are the teacher's own predictions).
 */
import { Rng } from '../../../src/core/rng.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import type { Dataset } from '../../../src/data/dataset.js';
import { buildMlp } from '../../../src/models/builders.js';
import { TfjsModel } from '../../../src/models/tfjs-model.js';

export async function teacherVictim(seed: number, dims = 10, classes = 4, hidden = 24): Promise<TfjsModel> {
  await initRuntime();
  const network = buildMlp({ inputShape: [dims], numClasses: classes, hidden: [hidden], seed, name: 'teacher' });
  const [w1, b1, w2] = network.getWeights() as [tf.Tensor2D, tf.Tensor1D, tf.Tensor2D];
  // bias = −0.5·Σ_f W[f, :] puts each hidden unit's hyperplane through the cube's centre.
  const centred = tf.tidy(() => tf.add(b1, tf.mul(tf.sum(w1, 0), -0.5)));
  const rng = new Rng(seed + 1);
  const b2Random = tf.tensor1d(rng.normalArray(classes).map((v) => 0.1 * v));
  network.setWeights([w1, centred, w2, b2Random]);
  tf.dispose([centred, b2Random]);
  return new TfjsModel(network, { name: 'teacher' });
}

/** n points uniform in [0, 1]^dims, labelled by the victim. */
export async function teacherData(victim: TfjsModel, n: number, seed: number, name = 'uniform'): Promise<Dataset> {
  const dims = victim.info.inputShape[0] as number;
  const x = new Rng(seed).uniformArray(n * dims, 0, 1);
  const t = tf.tensor2d(x, [n, dims]);
  const y = await victim.predictLabels(t);
  t.dispose();
  return {
    name,
    x,
    shape: [n, dims],
    y,
    classNames: Array.from({ length: victim.info.numClasses }, (_, i) => `c${i}`),
  };
}
