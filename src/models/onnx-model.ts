/**
 * A Model backed by ONNX Runtime (onnxruntime-node): any classifier exported to ONNX from
 * PyTorch, Keras or scikit-learn. ONNX Runtime gives no gradients, so the access level is
 * 'scores'; for white-box attacks import the graph into tfjs instead (onnx-import.ts).
 */
import { basename } from 'node:path';
import * as ort from 'onnxruntime-node';
import { AegisInputError } from '../core/errors.js';
import { tf } from '../core/runtime.js';
import type { Model, ModelInfo } from './model.js';
import {
  checkInputShape,
  endsInSoftmax,
  type OnnxFile,
  type ResolvedInput,
  readOnnxFile,
  realInputs,
  resolveInput,
  valueDims,
} from './onnx-graph.js';

export interface OnnxModelOptions {
  name?: string;
  inputRange?: [number, number];
  classNames?: string[];
  /** Overrides the detected image layout of the model's input. */
  layout?: 'nchw' | 'nhwc';
  /** One example's shape (NHWC for images), needed when the model declares symbolic dims. */
  inputShape?: number[];
  /** Which output holds the class scores (default: the first float output). */
  outputName?: string;
  /**
   * ONNX Runtime threads per run. Default 1: on the 2-core machines Aegis targets, 1 thread
   * was faster than 2 at batch 100 in 5 of 6 interleaved runs of bench/onnx-forward.ts
   * (e.g. 44k vs 40k images/s; 2 threads lose badly when the other core is busy).
   */
  intraOpNumThreads?: number;
  /** Examples per session run (default 256). */
  batchSize?: number;
}

export class OnnxModel implements Model {
  readonly info: ModelInfo;
  /** True when the graph ends in Softmax: its outputs are probabilities already. */
  readonly outputsProbabilities: boolean;

  constructor(
    private readonly session: ort.InferenceSession,
    readonly input: ResolvedInput,
    readonly outputName: string,
    info: ModelInfo,
    outputsProbabilities: boolean,
    private readonly batchSize: number,
  ) {
    this.info = info;
    this.outputsProbabilities = outputsProbabilities;
  }

  /** The model's raw output [n, numClasses] as a flat Float32Array (logits, or probabilities after Softmax). */
  async predictOutputs(x: tf.Tensor): Promise<Float32Array> {
    checkInputShape(x.shape, this.info.inputShape, this.info.name);
    const n = x.shape[0];
    const flat = await this.modelOrder(x);
    return this.run(flat, n);
  }

  /**
   * The raw output for `n` examples given as flat NHWC rows, without tfjs: the gateway's path,
   * where a tensor, a tfjs transpose and a read-back cost more than the model run on small inputs.
   */
  async predictRows(rows: Float32Array, n: number): Promise<Float32Array> {
    const per = this.info.inputShape.reduce((a, b) => a * b, 1);
    if (!(n >= 1) || rows.length !== n * per) {
      throw new AegisInputError(
        `model '${this.info.name}' expects ${n} × ${per} values (inputs [${n}, ${this.info.inputShape.join(', ')}]), got ${rows.length}`,
      );
    }
    return this.run(this.input.layout === 'nchw' ? nhwcToNchw(rows, n, this.info.inputShape) : rows, n);
  }

  async predictScores(x: tf.Tensor): Promise<tf.Tensor2D> {
    const out = await this.predictOutputs(x);
    const k = this.info.numClasses;
    const raw = tf.tensor2d(out, [x.shape[0], k]);
    if (this.outputsProbabilities) return raw;
    const scores = tf.softmax(raw) as tf.Tensor2D;
    raw.dispose();
    return scores;
  }

  async predictLabels(x: tf.Tensor): Promise<Int32Array> {
    const out = await this.predictOutputs(x);
    const k = this.info.numClasses;
    const labels = new Int32Array(x.shape[0]);
    for (let i = 0; i < labels.length; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (out[i * k + j] > out[i * k + best]) best = j;
      labels[i] = best;
    }
    return labels;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }

  /** NHWC tensor → flat values in the model's layout. */
  private async modelOrder(x: tf.Tensor): Promise<Float32Array> {
    if (this.input.layout !== 'nchw' && x.dtype === 'float32') return (await x.data()) as Float32Array;
    const t = tf.tidy(() => {
      const f = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
      return this.input.layout === 'nchw' ? tf.transpose(f, [0, 3, 1, 2]) : tf.clone(f);
    });
    try {
      return (await t.data()) as Float32Array;
    } finally {
      t.dispose();
    }
  }

  /** Runs `n` examples in chunks (of the model's fixed batch size, if it has one), padding the last. */
  private async run(flat: Float32Array, n: number): Promise<Float32Array> {
    const per = this.input.modelShape.reduce((a, b) => a * b, 1);
    const k = this.info.numClasses;
    const chunk = this.input.fixedBatch ?? this.batchSize;
    const out = new Float32Array(n * k);
    for (let start = 0; start < n; start += chunk) {
      const b = this.input.fixedBatch ?? Math.min(chunk, n - start);
      const take = Math.min(b, n - start);
      let values = flat.subarray(start * per, (start + take) * per);
      if (take < b) {
        const padded = new Float32Array(b * per);
        padded.set(values);
        values = padded;
      }
      const feed = { [this.input.name]: new ort.Tensor('float32', values, [b, ...this.input.modelShape]) };
      const result = (await this.session.run(feed))[this.outputName];
      const data = result.data;
      if (result.dims.length !== 2 || result.dims[1] !== k) {
        throw new AegisInputError(
          `model '${this.info.name}': output '${this.outputName}' has shape [${result.dims}], expected [${b}, ${k}]`,
        );
      }
      if (data instanceof Float32Array) out.set(data.subarray(0, take * k), start * k);
      else for (let i = 0; i < take * k; i++) out[start * k + i] = Number(data[i]);
    }
    return out;
  }
}

/** Loads an ONNX classifier for ONNX Runtime; the file's problems raise AegisInputError. */
export async function loadOnnxModel(path: string, opts: OnnxModelOptions = {}): Promise<OnnxModel> {
  const file = readOnnxFile(path);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file.bytes, {
      intraOpNumThreads: opts.intraOpNumThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    throw new AegisInputError(`ONNX Runtime cannot load '${path}': ${(error as Error).message}`, { cause: error });
  }
  try {
    return await wrapSession(session, file, opts);
  } catch (error) {
    await session.release();
    throw error;
  }
}

async function wrapSession(session: ort.InferenceSession, file: OnnxFile, opts: OnnxModelOptions): Promise<OnnxModel> {
  const inputs = realInputs(file.graph);
  if (inputs.length !== 1) {
    throw new AegisInputError(
      `'${file.path}' has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); Aegis needs a single-input classifier`,
    );
  }
  const meta = session.inputMetadata.find((m) => m.name === inputs[0].name);
  if (meta?.isTensor && meta.type !== 'float32') {
    throw new AegisInputError(`'${file.path}': input '${meta.name}' is ${meta.type}; Aegis feeds float32`);
  }
  const input = resolveInput(inputs[0].name ?? '', valueDims(inputs[0]), opts);
  const outputName = pickOutput(session, file.path, opts.outputName);
  const outMeta = session.outputMetadata.find((m) => m.name === outputName);
  const declared = outMeta?.isTensor ? outMeta.shape : [];
  const name = opts.name ?? basename(file.path);
  const info: ModelInfo = {
    name,
    access: 'scores',
    inputShape: input.inputShape,
    numClasses: 0,
    inputRange: opts.inputRange ?? [0, 1],
    sha256: file.sha256,
    source: file.path,
    classNames: opts.classNames,
  };
  const model = new OnnxModel(
    session,
    input,
    outputName,
    info,
    endsInSoftmax(file.graph, outputName),
    opts.batchSize ?? 256,
  );
  const k = declared[declared.length - 1];
  info.numClasses = typeof k === 'number' && k > 0 ? k : await probeClasses(session, input, outputName, file.path);
  if (info.numClasses < 2) {
    throw new AegisInputError(
      `'${file.path}': output '${outputName}' has ${info.numClasses} column(s); need ≥ 2 classes`,
    );
  }
  if (opts.classNames && opts.classNames.length !== info.numClasses) {
    throw new AegisInputError(
      `'${file.path}' has ${info.numClasses} classes but ${opts.classNames.length} class names were given`,
    );
  }
  return model;
}

function pickOutput(session: ort.InferenceSession, path: string, wanted?: string): string {
  if (wanted !== undefined) {
    if (!session.outputNames.includes(wanted)) {
      throw new AegisInputError(`'${path}' has no output '${wanted}' (outputs: ${session.outputNames.join(', ')})`);
    }
    return wanted;
  }
  const float = session.outputMetadata.find((m) => m.isTensor && (m.type === 'float32' || m.type === 'float64'));
  if (!float) {
    throw new AegisInputError(`'${path}' has no float tensor output (outputs: ${session.outputNames.join(', ')})`);
  }
  return float.name;
}

/** Finds the number of classes by running one zero batch (for outputs with a symbolic class dim). */
async function probeClasses(
  session: ort.InferenceSession,
  input: ResolvedInput,
  outputName: string,
  path: string,
): Promise<number> {
  const b = input.fixedBatch ?? 1;
  const per = input.modelShape.reduce((a, c) => a * c, 1);
  try {
    const out = await session.run({
      [input.name]: new ort.Tensor('float32', new Float32Array(b * per), [b, ...input.modelShape]),
    });
    const dims = out[outputName].dims;
    return dims.length === 2 ? dims[1] : 0;
  } catch (error) {
    throw new AegisInputError(`ONNX Runtime cannot run '${path}': ${(error as Error).message}`, { cause: error });
  }
}

/** Flat NHWC rows → flat NCHW rows (the same array when there is one channel: the order is unchanged). */
function nhwcToNchw(rows: Float32Array, n: number, [h, w, c]: readonly number[]): Float32Array {
  if (c === 1) return rows;
  const H = h as number;
  const W = w as number;
  const C = c as number;
  const out = new Float32Array(rows.length);
  const plane = H * W;
  for (let i = 0; i < n; i++) {
    const base = i * plane * C;
    for (let p = 0; p < plane; p++)
      for (let ch = 0; ch < C; ch++) out[base + ch * plane + p] = rows[base + p * C + ch] as number;
  }
  return out;
}
