/**
 * Input validation and sanitisers (src/defenses/validation/), four parts:
 *
 * - throughput: validateInput on 256×28×28×1 batches (nested JSON arrays, as a request body
 *   carries them, and tfjs tensors), on tabular records (an NSL-KDD-like schema: 38 numbers and
 *   3 categories) and on short texts; medians over rounds, in examples per second;
 * - sanitiser cost: milliseconds per 256-image batch of each transform, beside one forward pass
 *   of the small CNN;
 * - accuracy: the small CNN trained on the bundled Fashion-MNIST subset (4000 images, seed 0),
 *   evaluated on the 1000 bundled test images, clean and under FGSM and PGD-40 (L-inf eps 0.1 or
 *   --eps, step eps/10, one random start), each sanitiser both ways: non-adaptive (adversarial
 *   examples crafted on the undefended model, then sent to the defended one) and adaptive (the
 *   attack runs against the defended model itself: exact gradients through median smoothing,
 *   straight-through BPDA gradients for bit depth and JPEG — Athalye, Carlini & Wagner 2018);
 * - square: Square Attack (scores only, L-inf eps) against each defended model on the first
 *   200 test images with 1000 queries each — a gradient-free check that a sanitiser does not
 *   merely mask gradients.
 *
 * Prints one JSON document. Usage: npx tsx bench/validation.ts [--parts throughput,cost,accuracy,square]
 *   [--epochs 5] [--rounds 5] [--test 1000] [--eps 0.1] [--square-images 200] [--square-queries 1000]
 */
import { parseArgs } from 'node:util';
import { fgsm } from '../src/attacks/evasion/fgsm.js';
import { lossGradient, oneHotLabels } from '../src/attacks/evasion/loss-gradient.js';
import { pgd, pgdBatch } from '../src/attacks/evasion/pgd.js';
import { squareAttack } from '../src/attacks/evasion/square-attack.js';
import { Rng } from '../src/core/rng.js';
import { initRuntime, tf } from '../src/core/runtime.js';
import { makeThreatModel } from '../src/core/threat-model.js';
import { toTensor } from '../src/data/dataset.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { reduceBitDepth, withBitDepthReduction } from '../src/defenses/validation/bit-depth.js';
import type { InputSchema } from '../src/defenses/validation/input-schema.js';
import { jpegQuantize, withJpegQuantization } from '../src/defenses/validation/jpeg-quantization.js';
import { medianSmooth, withMedianSmoothing } from '../src/defenses/validation/median-smoothing.js';
import type { SanitizedModel } from '../src/defenses/validation/sanitized-model.js';
import { validateInput } from '../src/defenses/validation/validate-input.js';
import { ValidatingModel } from '../src/defenses/validation/validating-model.js';
import type { Model } from '../src/models/model.js';
import type { TfjsModel } from '../src/models/tfjs-model.js';
import { trainClassifier } from '../src/models/train-classifier.js';

const { values: args } = parseArgs({
  options: {
    parts: { type: 'string', default: 'throughput,cost,accuracy' },
    epochs: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '5' },
    test: { type: 'string', default: '1000' },
    eps: { type: 'string', default: '0.1' },
    'square-images': { type: 'string', default: '200' },
    'square-queries': { type: 'string', default: '1000' },
  },
});
const parts = String(args.parts).split(',');
const rounds = Number(args.rounds);
const epochs = Number(args.epochs);
const testSize = Number(args.test);
const eps = Number(args.eps);
const squareImages = Number(args['square-images']);
const squareQueries = Number(args['square-queries']);

const backend = await initRuntime();
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
const round = (v: number, digits = 3) => Number(v.toFixed(digits));

/** Median seconds of `fn` over the rounds, after one warm-up call. */
function time(fn: () => void): number {
  fn();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    fn();
    samples.push((performance.now() - t0) / 1000);
  }
  return median(samples);
}

const test = loadFashionMnist({ split: 'test', source: 'bundled', limit: testSize });
const imageSchema: InputSchema = {
  kind: 'tensor',
  shape: [null, 28, 28, 1],
  dtype: 'float32',
  range: [0, 1],
  finite: true,
};

function throughput(): Record<string, unknown> {
  const batch = 256;
  const x = tf.tensor(test.x.subarray(0, batch * 784), [batch, 28, 28, 1]);
  const json = x.arraySync();
  const body = JSON.stringify({ inputs: json });
  const jsonSeconds = time(() => {
    if (!validateInput(imageSchema, json).ok) throw new Error('valid batch rejected');
  });
  const parseSeconds = time(() => JSON.parse(body));
  const tensorSeconds = time(() => {
    if (!validateInput(imageSchema, x).ok) throw new Error('valid tensor rejected');
  });
  // What ValidatingModel does before each model call: checks on the backend, no copy of the values.
  const guard = new ValidatingModel({
    info: { name: 'bench', access: 'scores', inputShape: [28, 28, 1], numClasses: 10, inputRange: [0, 1] },
  } as Model);
  const guardSeconds = time(() => guard.check(x));
  x.dispose();

  const rng = new Rng(0);
  const protocols = ['icmp', 'tcp', 'udp'];
  const services = Array.from({ length: 70 }, (_, i) => `service_${i}`);
  const flags = ['OTH', 'REJ', 'RSTO', 'RSTOS0', 'RSTR', 'S0', 'S1', 'S2', 'S3', 'SF', 'SH'];
  const numeric = Array.from({ length: 38 }, (_, i) => `f${i}`);
  const tabular: InputSchema = {
    kind: 'tabular',
    features: [
      ...numeric.slice(0, 1).map((name) => ({ name, type: 'number' as const, min: 0, integer: true })),
      { name: 'protocol_type', type: 'category', values: protocols },
      { name: 'service', type: 'category', values: services },
      { name: 'flag', type: 'category', values: flags },
      ...numeric.slice(1).map((name) => ({ name, type: 'number' as const, min: 0 })),
    ],
  };
  const records = Array.from({ length: 1000 }, () => {
    const r: Record<string, number | string> = {
      protocol_type: protocols[rng.int(3)] as string,
      service: services[rng.int(70)] as string,
      flag: flags[rng.int(11)] as string,
    };
    for (const name of numeric) r[name] = name === 'f0' ? rng.int(1000) : rng.uniform(0, 1000);
    return r;
  });
  const tabularSeconds = time(() => {
    if (!validateInput(tabular, records).ok) throw new Error('valid records rejected');
  });

  const text: InputSchema = {
    kind: 'text',
    maxLength: 280,
    charClasses: ['letters', 'digits', 'punctuation', 'whitespace', 'emoji'],
    normalization: 'NFKC',
  };
  const words = ['Your', 'parcel', 'is', 'waiting,', 'confirm', 'at', 'once!', 'Thanks', '🙂', 'ok.'];
  const texts = Array.from({ length: 1000 }, () =>
    Array.from({ length: 30 }, () => words[rng.int(words.length)])
      .join(' ')
      .slice(0, 200),
  );
  const textSeconds = time(() => {
    if (!validateInput(text, texts).ok) throw new Error('valid texts rejected');
  });

  return {
    images: {
      batch: [batch, 28, 28, 1],
      jsonExamplesPerSecond: Math.round(batch / jsonSeconds),
      jsonMicrosecondsPerExample: round((jsonSeconds / batch) * 1e6, 2),
      jsonParseMicrosecondsPerExample: round((parseSeconds / batch) * 1e6, 2),
      tensorExamplesPerSecond: Math.round(batch / tensorSeconds),
      tensorMicrosecondsPerExample: round((tensorSeconds / batch) * 1e6, 2),
      validatingModelCheckMicrosecondsPerExample: round((guardSeconds / batch) * 1e6, 2),
    },
    tabular: {
      records: records.length,
      features: 41,
      recordsPerSecond: Math.round(records.length / tabularSeconds),
      microsecondsPerRecord: round((tabularSeconds / records.length) * 1e6, 2),
    },
    text: {
      texts: texts.length,
      meanCharacters: Math.round(texts.reduce((s, t) => s + t.length, 0) / texts.length),
      textsPerSecond: Math.round(texts.length / textSeconds),
    },
  };
}

async function trainModel(): Promise<{ model: TfjsModel; trainSeconds: number }> {
  const train = loadFashionMnist({ split: 'train', source: 'bundled' });
  const t0 = performance.now();
  const { model } = await trainClassifier('cnn', train, { seed: 0, epochs, progress: false });
  return { model, trainSeconds: (performance.now() - t0) / 1000 };
}

/** Milliseconds per 256-image batch; the transforms take turns each round so machine load hits them alike. */
function sanitiserCost(model: TfjsModel): Record<string, number> {
  const x = tf.tensor(test.x.subarray(0, 256 * 784), [256, 28, 28, 1]);
  const ops: Record<string, (t: tf.Tensor) => tf.Tensor> = {
    forwardPassMs: (t) => model.logits(t),
    bitDepth4Ms: (t) => reduceBitDepth(t, 4),
    median2x2Ms: (t) => medianSmooth(t, 2),
    median3x3Ms: (t) => medianSmooth(t, 3),
    jpegQ75Ms: (t) => jpegQuantize(t, 75),
  };
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(ops).map((k) => [k, []]));
  for (let r = 0; r <= rounds; r++) {
    for (const [name, op] of Object.entries(ops)) {
      const t0 = performance.now();
      const out = op(x);
      out.dataSync();
      out.dispose();
      if (r > 0) samples[name]?.push(performance.now() - t0); // round 0 warms up
    }
  }
  x.dispose();
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, round(median(v), 2)]));
}

interface Variant {
  name: string;
  /** What attacks see: the sanitiser with honest access, or with BPDA gradients for the adaptive attack. */
  defended: Model;
  adaptive: Model;
  gradient: string;
}

function variants(model: TfjsModel): Variant[] {
  const pair = (make: (bpda: boolean) => SanitizedModel): Omit<Variant, 'name'> => {
    const honest = make(false);
    const bpda = make(true);
    return { defended: honest, adaptive: bpda, gradient: `${honest.gradient} (adaptive: ${bpda.gradient})` };
  };
  return [
    { name: 'none', defended: model, adaptive: model, gradient: 'exact' },
    { name: 'bit-depth 4', ...pair((bpda) => withBitDepthReduction(model, 4, { bpda })) },
    { name: 'bit-depth 1', ...pair((bpda) => withBitDepthReduction(model, 1, { bpda })) },
    { name: 'median 2x2', ...pair(() => withMedianSmoothing(model, 2)) },
    { name: 'median 3x3', ...pair(() => withMedianSmoothing(model, 3)) },
    { name: 'jpeg q75', ...pair((bpda) => withJpegQuantization(model, 75, { bpda })) },
    { name: 'jpeg q25', ...pair((bpda) => withJpegQuantization(model, 25, { bpda })) },
  ];
}

async function accuracyOf(model: Model, x: tf.Tensor): Promise<number> {
  const labels = await model.predictLabels(x);
  return round(labels.reduce((c, v, i) => c + (v === test.y[i] ? 1 : 0), 0) / labels.length);
}

/** FGSM and PGD-40 examples crafted on the undefended model (batch 100). */
async function transferExamples(model: TfjsModel, x: tf.Tensor): Promise<{ fgsm: tf.Tensor; pgd: tf.Tensor }> {
  const oneHot = oneHotLabels(test.y, 10);
  const gradient = lossGradient(model, oneHot);
  const fgsmX = tf.tidy(() => tf.clipByValue(tf.add(x, tf.mul(tf.sign(gradient(x)), eps)), 0, 1));
  oneHot.dispose();
  const rng = new Rng(0);
  const parts: tf.Tensor[] = [];
  const n = test.y.length;
  for (let start = 0; start < n; start += 100) {
    const size = Math.min(100, n - start);
    const xb = tf.slice(x, start, size);
    const settings = {
      eps,
      stepSize: eps / 10,
      steps: 40,
      restarts: 1,
      norm: 'linf' as const,
      range: [0, 1] as [number, number],
    };
    parts.push((await pgdBatch(model, xb, test.y.subarray(start, start + size), settings, rng)).xAdv);
    xb.dispose();
  }
  const pgdX = tf.concat(parts);
  tf.dispose(parts);
  return { fgsm: fgsmX, pgd: pgdX };
}

async function accuracy(model: TfjsModel): Promise<unknown[]> {
  const x = toTensor(test);
  const crafted = await transferExamples(model, x);
  const threat = makeThreatModel({ access: 'gradients', norm: 'linf', epsilons: [eps] });
  const data = { x, y: test.y };
  const rows: unknown[] = [];
  for (const v of variants(model)) {
    const t0 = performance.now();
    const fgsmAdaptive = await fgsm.run(v.adaptive, data, threat, { seed: 0, keepExamples: 0 });
    const pgdAdaptive = await pgd.run(v.adaptive, data, threat, {
      seed: 0,
      steps: 40,
      stepSize: eps / 10,
      keepExamples: 0,
    });
    rows.push({
      defense: v.name,
      access: v.defended.info.access,
      gradient: v.gradient,
      clean: await accuracyOf(v.defended, x),
      fgsm: {
        nonAdaptive: await accuracyOf(v.defended, crafted.fgsm),
        adaptive: round(fgsmAdaptive.rows[0]!.accuracy),
      },
      pgd40: { nonAdaptive: await accuracyOf(v.defended, crafted.pgd), adaptive: round(pgdAdaptive.rows[0]!.accuracy) },
      seconds: round((performance.now() - t0) / 1000, 1),
    });
    process.stderr.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
  }
  tf.dispose([x, crafted.fgsm, crafted.pgd]);
  return rows;
}

/** Square Attack against each defended model as deployed (scores access), on the first test images. */
async function square(model: TfjsModel): Promise<unknown[]> {
  const n = Math.min(squareImages, test.y.length);
  const x = tf.tensor(test.x.subarray(0, n * 784), [n, 28, 28, 1]);
  const y = test.y.subarray(0, n);
  const threat = makeThreatModel({ access: 'scores', norm: 'linf', epsilons: [eps], queryBudget: squareQueries });
  const rows: unknown[] = [];
  for (const v of variants(model)) {
    const labels = await v.defended.predictLabels(x);
    const result = await squareAttack.run(v.defended, { x, y }, threat, { seed: 0, keepExamples: 0 });
    const row = result.rows[0]!;
    rows.push({
      defense: v.name,
      images: n,
      clean: round(labels.reduce((c, l, i) => c + (l === y[i] ? 1 : 0), 0) / n),
      square: round(row.accuracy),
      meanQueries: Math.round(row.queries / n),
      seconds: round(row.seconds, 1),
    });
    process.stderr.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
  }
  x.dispose();
  return rows;
}

const started = performance.now();
const result: Record<string, unknown> = { backend, rounds, testImages: test.y.length, eps };
if (parts.includes('throughput')) result.throughput = throughput();
if (parts.includes('cost') || parts.includes('accuracy') || parts.includes('square')) {
  const { model, trainSeconds } = await trainModel();
  result.model = {
    architecture: 'small CNN',
    trainImages: 4000,
    epochs,
    seed: 0,
    trainSeconds: round(trainSeconds, 1),
  };
  if (parts.includes('cost')) result.sanitiserCostPer256Images = sanitiserCost(model);
  if (parts.includes('accuracy')) result.accuracy = await accuracy(model);
  if (parts.includes('square')) {
    result.square = { eps, queriesPerImage: squareQueries, rows: await square(model) };
  }
  model.dispose();
}
result.seconds = round((performance.now() - started) / 1000, 1);
console.log(JSON.stringify(result, null, 2));
