/**
 * The ONNX Runtime fast path for white-box attacks on imported ONNX models: one session over
 * the gradient graph (onnx-gradient-graph.ts) that returns the logits and ∂(Σ softmax
 * cross-entropy)/∂x for a batch. The graph takes and returns NHWC, so tensors cross between
 * tfjs and ONNX Runtime as flat Float32Arrays with no transposes in JS.
 */
import * as ort from 'onnxruntime-node';
import { AegisInputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { tf } from '../core/runtime.js';
import { GRADIENT_IO, gradientModel, planGradient, probeModel } from './onnx-gradient-graph.js';
import { checkInputShape, int64, type OnnxFile, type ResolvedInput } from './onnx-graph.js';

export interface LossGradient {
  grad: tf.Tensor;
  logits: tf.Tensor2D;
}

export interface OnnxGradientOptions {
  /**
   * ONNX Runtime threads per run. Default 1: on the 2-core machines Aegis targets, PGD-40 at
   * batch 100 (bench/evasion.ts) ran at 251–279 images/s with 1 thread and 222 with 2, and the
   * gradient alone took 6.7 vs 13.4 ms when the other core was busy.
   */
  intraOpNumThreads?: number;
}

async function createSession(bytes: Uint8Array, threads: number, what: string): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    throw new AegisInputError(`ONNX Runtime rejected the ${what}: ${(error as Error).message}`, { cause: error });
  }
}

/** Dims of every differentiable value, from one forward run at the model's batch size (or 2). */
async function probeShapes(bytes: Uint8Array, outputs: string[], input: ResolvedInput): Promise<Map<string, number[]>> {
  const session = await createSession(bytes, 1, 'shape probe of the gradient graph');
  try {
    const n = input.fixedBatch ?? 2;
    const size = n * input.inputShape.reduce((a, b) => a * b, 1);
    const feed = { [GRADIENT_IO.x]: new ort.Tensor('float32', new Float32Array(size), [n, ...input.inputShape]) };
    const result = await session.run(feed);
    return new Map(outputs.map((name) => [name, [...result[name].dims]]));
  } catch (error) {
    if (error instanceof AegisInputError) throw error;
    throw new AegisInputError(`ONNX Runtime cannot run the forward graph: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await session.release();
  }
}

export class OnnxGradientSession {
  private released = false;

  constructor(
    private readonly session: ort.InferenceSession,
    readonly input: ResolvedInput,
    readonly numClasses: number,
    private readonly modelName: string,
  ) {}

  /** Logits and ∂(softmax cross-entropy summed over the batch)/∂x for an NHWC batch x and one-hot labels. */
  async crossEntropyGradient(x: tf.Tensor, oneHot: tf.Tensor): Promise<LossGradient> {
    if (this.released) throw new Error(`model '${this.modelName}' is disposed`);
    checkInputShape(x.shape, this.input.inputShape, this.modelName);
    const n = x.shape[0];
    const k = this.numClasses;
    if (oneHot.shape.length !== 2 || oneHot.shape[0] !== n || oneHot.shape[1] !== k) {
      throw new AegisInputError(
        `model '${this.modelName}': one-hot labels have shape [${oneHot.shape}], expected [${n}, ${k}]`,
      );
    }
    const xs = await floatData(x);
    const ys = await floatData(oneHot);
    const per = xs.length / Math.max(n, 1);
    const grad = new Float32Array(xs.length);
    const logits = new Float32Array(n * k);
    // A graph with a fixed batch size runs in chunks of exactly that size; padded rows have zero labels.
    const chunk = this.input.fixedBatch ?? Math.max(n, 1);
    for (let start = 0; start < n; start += chunk) {
      const take = Math.min(chunk, n - start);
      let xChunk = xs.subarray(start * per, (start + take) * per);
      let yChunk = ys.subarray(start * k, (start + take) * k);
      if (take < chunk) {
        xChunk = padded(xChunk, chunk * per);
        yChunk = padded(yChunk, chunk * k);
      }
      const out = await this.session.run({
        [GRADIENT_IO.x]: new ort.Tensor('float32', xChunk, [chunk, ...this.input.inputShape]),
        [GRADIENT_IO.oneHot]: new ort.Tensor('float32', yChunk, [chunk, k]),
      });
      grad.set((out[GRADIENT_IO.grad].data as Float32Array).subarray(0, take * per), start * per);
      logits.set((out[GRADIENT_IO.logits].data as Float32Array).subarray(0, take * k), start * k);
    }
    return { grad: tf.tensor(grad, x.shape, 'float32'), logits: tf.tensor2d(logits, [n, k]) };
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

/** A tensor's values as a Float32Array (what ONNX Runtime accepts; backends may hand back other arrays). */
async function floatData(t: tf.Tensor): Promise<Float32Array> {
  if (t.dtype === 'float32') {
    const values = await t.data();
    return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  }
  const cast = tf.cast(t, 'float32');
  try {
    return Float32Array.from(await cast.data());
  } finally {
    cast.dispose();
  }
}

function padded(values: Float32Array, size: number): Float32Array {
  const out = new Float32Array(size);
  out.set(values);
  return out;
}

/**
 * Builds the gradient graph of an ONNX classifier and opens an ONNX Runtime session on it.
 * Throws AegisInputError when the graph has ops without a backward rule or ONNX Runtime
 * rejects it (callers fall back to tfjs gradients).
 */
export async function createGradientSession(
  file: OnnxFile,
  input: ResolvedInput,
  numClasses: number,
  modelName: string,
  opts: OnnxGradientOptions = {},
): Promise<OnnxGradientSession> {
  const plan = planGradient(
    file.graph,
    { opset: file.opset, irVersion: int64(file.model.irVersion), opsetImports: file.model.opsetImport ?? [] },
    input,
  );
  const probe = probeModel(plan);
  const shapes = await probeShapes(probe.bytes, probe.outputs, input);
  const bytes = gradientModel(plan, shapes, numClasses);
  const session = await createSession(bytes, opts.intraOpNumThreads ?? 1, 'gradient graph');
  return new OnnxGradientSession(session, input, numClasses, modelName);
}

/** Outcome of the load-time cross-check: a mismatch, or a note when tfjs could not be compared. */
export interface CrossCheck {
  mismatch?: string;
  unchecked?: string;
}

/**
 * Checks the session against the tfjs import on a few seeded random inputs (logits, and the
 * gradient when tfjs can differentiate the graph). Guards against graphs whose op semantics
 * differ between ONNX Runtime and the importer.
 */
export async function compareWithTfjs(
  session: OnnxGradientSession,
  logits: (x: tf.Tensor) => tf.Tensor2D,
  range: [number, number],
): Promise<CrossCheck> {
  const n = session.input.fixedBatch ?? 4;
  const k = session.numClasses;
  const shape = [n, ...session.input.inputShape];
  const size = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(new Rng(1234).uniformArray(size, range[0], range[1]), shape);
  const classes = Int32Array.from({ length: n }, (_, i) => i % k);
  const labels = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(classes, 'int32'), k), 'float32'));
  try {
    const fast = await session.crossEntropyGradient(x, labels);
    const [ortGrad, ortLogits] = [await fast.grad.data(), await fast.logits.data()];
    fast.grad.dispose();
    fast.logits.dispose();
    const tfLogits = tf.tidy(() => logits(x).dataSync());
    const logitGap = maxAbsDiff(ortLogits, tfLogits) / (1 + maxAbs(tfLogits));
    if (logitGap > 1e-3) {
      return { mismatch: `its logits differ from the tfjs import by ${logitGap.toExponential(2)} (relative)` };
    }
    let tfGrad: Float32Array;
    try {
      const loss = (v: tf.Tensor) =>
        tf.losses.softmaxCrossEntropy(labels, logits(v), undefined, 0, tf.Reduction.SUM) as tf.Scalar;
      tfGrad = tf.tidy(() => tf.grad(loss)(x).dataSync() as Float32Array);
    } catch (error) {
      // ONNX Runtime is then the only route that differentiates this graph.
      return { unchecked: `tfjs cannot differentiate this graph (${(error as Error).message})` };
    }
    // The tfjs import splits the gradient of tied maxima (tiled max pooling) where ONNX Runtime
    // gives it to the first: allow a few such positions, not a systematic difference.
    const tolerance = 1e-3 * maxAbs(tfGrad) + 1e-6;
    let off = 0;
    for (let i = 0; i < tfGrad.length; i++) if (!(Math.abs(ortGrad[i] - tfGrad[i]) <= tolerance)) off++;
    if (off > 0.005 * tfGrad.length) {
      return { mismatch: `its gradient differs from the tfjs import at ${off} of ${tfGrad.length} positions` };
    }
    return {};
  } finally {
    x.dispose();
    labels.dispose();
  }
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}
