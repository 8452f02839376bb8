/**
 * Forward throughput (images/s, batch 100) of the Fashion-MNIST CNN through ONNX Runtime
 * (1 and 2 intra-op threads) and through the tfjs import (fused inference path, and the
 * unfused ops logits() runs under a gradient tape), plus one input-gradient step.
 * Rounds are interleaved so machine load hits all variants alike; prints medians as JSON.
 * Usage: npx tsx bench/onnx-forward.ts [model.onnx] [rounds]
 */
import { initRuntime, tf } from '../src/core/runtime.js';
import { importOnnxModel } from '../src/models/onnx-import.js';
import { loadOnnxModel } from '../src/models/onnx-model.js';

const path = process.argv[2] ?? 'test/fixtures/fmnist_cnn.onnx';
const rounds = Number(process.argv[3] ?? 7);
const batch = 100;
const reps = 20;

const backend = await initRuntime();
const ort1 = await loadOnnxModel(path, { intraOpNumThreads: 1 });
const ort2 = await loadOnnxModel(path, { intraOpNumThreads: 2 });
const imported = await importOnnxModel(path, { ortPredictions: false, ortGradients: false });
// The unfused ops are what logits() runs under a gradient tape (attacks).
const unfused = await importOnnxModel(path, { fusedInference: false, ortPredictions: false, ortGradients: false });
const x = tf.randomUniform([batch, ...imported.info.inputShape], 0, 1, 'float32', 7);
const labels = tf.oneHot(
  tf.tensor1d(
    new Int32Array(batch).map((_, i) => i % imported.info.numClasses),
    'int32',
  ),
  10,
);
const lossGrad = tf.grad((xx: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, imported.logits(xx)));

const variants: Record<string, () => Promise<void>> = {
  ortThreads1: async () => void (await ort1.predictLabels(x)),
  ortThreads2: async () => void (await ort2.predictLabels(x)),
  importFused: async () => void (await imported.predictLabels(x)),
  importUnfused: async () => void (await unfused.predictLabels(x)),
  importInputGradient: async () => {
    const g = lossGrad(x);
    await g.data();
    g.dispose();
  },
};

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (const run of Object.values(variants)) for (let i = 0; i < 3; i++) await run();
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(variants)) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) await run();
    samples[name].push((reps * batch) / ((performance.now() - t0) / 1000));
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(
  JSON.stringify({
    backend,
    model: path,
    batch,
    rounds,
    imagesPerSecond: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Math.round(median(v))])),
  }),
);
await ort1.dispose();
await ort2.dispose();
imported.dispose();
unfused.dispose();
