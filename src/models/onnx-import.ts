/**
 * Imports an ONNX classifier into tfjs as a differentiable Model, so white-box attacks
 * (FGSM, PGD, C&W) run on models exported from PyTorch or Keras. The graph is interpreted
 * op by op with tfjs ops (onnx-ops.ts); weights become tensors once, at load.
 */
import { basename } from 'node:path';
import { AegisInputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { initRuntime, tf } from '../core/runtime.js';
import type { DifferentiableModel, ModelInfo } from './model.js';
import {
  compareWithTfjs,
  createGradientSession,
  type LossGradient,
  type OnnxGradientSession,
} from './onnx-gradient-model.js';
import {
  Attrs,
  type ConstValue,
  checkInputShape,
  decodeTensor,
  type OnnxFile,
  producerOf,
  type ResolvedInput,
  readOnnxFile,
  realInputs,
  resolveInput,
  valueDims,
} from './onnx-graph.js';
import { loadOnnxModel, type OnnxModel } from './onnx-model.js';
import { type NodeInfo, OPS, type OpContext, type OpImpl, plain, type Value } from './onnx-ops.js';

export interface OnnxImportOptions {
  name?: string;
  inputRange?: [number, number];
  classNames?: string[];
  /** Overrides the detected image layout of the model's input. */
  layout?: 'nchw' | 'nhwc';
  /** One example's shape (NHWC for images), needed when the model declares symbolic dims. */
  inputShape?: number[];
  /** Examples per forward pass in predictScores/predictLabels (default 256). */
  batchSize?: number;
  /** Use fused conv/matmul+bias+relu kernels when no gradient is recorded (default true). */
  fusedInference?: boolean;
  /**
   * Compute the attacks' cross-entropy gradient in ONNX Runtime over a gradient graph built from
   * the ONNX graph (default true). Graphs it cannot handle fall back to tfjs gradients silently;
   * `gradientRoute` says which route is in use and why.
   */
  ortGradients?: boolean;
  /** ONNX Runtime threads for that gradient (default 1; see OnnxGradientOptions). */
  ortGradientThreads?: number;
  /**
   * Run predictScores/predictLabels through an ONNX Runtime session on the same file (default
   * true; the reference CNN predicts 57k images/s that way vs 15k in tfjs at batch 100). Kept
   * only if its outputs agree with the tfjs import at load; `predictionRoute` says which engine
   * predicts and why. logits() always runs in tfjs (it must be differentiable).
   */
  ortPredictions?: boolean;
  /**
   * Under a gradient tape, pool Conv → Relu → MaxPool chains before the bias and Relu (default
   * true): the same values and gradients with less work (see conv in onnx-ops.ts). Off only to
   * compare against the graph's own order.
   */
  poolBeforeRelu?: boolean;
}

/** Which engine computes an imported model's cross-entropy gradient for FGSM/PGD, and why not ONNX Runtime. */
export interface GradientRoute {
  engine: 'onnxruntime' | 'tfjs';
  /** Why the ONNX Runtime route is not used, or (with engine 'onnxruntime') why it was not cross-checked. */
  reason?: string;
}

/** Which engine runs an imported model's predictScores/predictLabels, and why not ONNX Runtime. */
export interface PredictionRoute {
  engine: 'onnxruntime' | 'tfjs';
  /** Why the ONNX Runtime session is not used. */
  reason?: string;
}

interface PreparedNode extends NodeInfo {
  impl: OpImpl;
  inputs: string[];
  outputs: string[];
  /**
   * The node passes its input on, its op being applied by the node before it: when running fused
   * (a Relu fused into a Conv/Gemm), when not (the MaxPool of a `poolFirst` Conv), or always (the
   * Relu of a `poolFirst` Conv that is also fused).
   */
  absorbed?: 'fused' | 'unfused' | 'always';
}

export class ImportedOnnxModel implements DifferentiableModel {
  readonly info: ModelInfo;
  private readonly cache = new Map<string, tf.Tensor>();
  private readonly ctx: OpContext;
  private disposed = false;
  private gradientSession: OnnxGradientSession | undefined;
  /** Set when ONNX Runtime computes the cross-entropy gradient (the fast path of FGSM and PGD). */
  crossEntropyGradient?: (x: tf.Tensor, oneHot: tf.Tensor) => Promise<LossGradient>;
  gradientRoute: GradientRoute = { engine: 'tfjs', reason: 'ONNX Runtime gradients were not requested' };
  private predictor: OnnxModel | undefined;
  predictionRoute: PredictionRoute = { engine: 'tfjs', reason: 'ONNX Runtime predictions were not requested' };

  constructor(
    private readonly nodes: PreparedNode[],
    private readonly constants: Map<string, Value>,
    private readonly hostConstants: Map<string, ConstValue>,
    readonly input: ResolvedInput,
    private readonly outputName: string,
    /** The graph's final Softmax node, skipped by logits() so attacks get pre-softmax values. */
    private readonly finalSoftmax: PreparedNode | undefined,
    opset: number,
    info: ModelInfo,
    private readonly batchSize: number,
    private readonly fusedInference = true,
  ) {
    this.info = info;
    this.ctx = {
      opset,
      cached: (key, make) => {
        let t = this.cache.get(key);
        if (!t) {
          t = tf.keep(make());
          this.cache.set(key, t);
        }
        return t;
      },
      constant: (name) => this.hostConstants.get(name),
      fused: false,
    };
  }

  /** True when the ONNX graph itself ends in Softmax (logits() then returns its input). */
  get endsInSoftmax(): boolean {
    return this.finalSoftmax !== undefined;
  }

  /**
   * Pre-softmax class scores [n, numClasses] for NHWC input. Synchronous and differentiable,
   * so it runs inside tf.grad. If the graph ends in Softmax, that node is skipped: attacks
   * need logits, and softmax(logits()) still equals the graph's output.
   */
  logits(x: tf.Tensor): tf.Tensor2D {
    if (this.disposed) throw new Error(`model '${this.info.name}' is disposed`);
    checkInputShape(x.shape, this.info.inputShape, this.info.name);
    if (x.dtype !== 'float32') return tf.tidy(() => this.logits(tf.cast(x, 'float32')));
    const b = this.input.fixedBatch;
    const n = x.shape[0];
    if (b === undefined || b === n) return tf.tidy(() => this.evaluate(x));
    // The graph fixes its batch size: run chunks of exactly b examples, zero-padding the last.
    return tf.tidy(() => {
      const parts: tf.Tensor2D[] = [];
      for (let start = 0; start < n; start += b) {
        const take = Math.min(b, n - start);
        let chunk = tf.slice(x, start, take);
        if (take < b) chunk = tf.concat([chunk, tf.zeros([b - take, ...this.info.inputShape])]);
        parts.push(tf.slice(this.evaluate(chunk), 0, take));
      }
      return tf.concat(parts) as tf.Tensor2D;
    });
  }

  async predictScores(x: tf.Tensor): Promise<tf.Tensor2D> {
    checkInputShape(x.shape, this.info.inputShape, this.info.name);
    if (this.disposed) throw new Error(`model '${this.info.name}' is disposed`);
    if (this.predictor) return this.predictor.predictScores(x);
    const parts: tf.Tensor2D[] = [];
    for (let start = 0; start < x.shape[0]; start += this.batchSize) {
      const take = Math.min(this.batchSize, x.shape[0] - start);
      parts.push(tf.tidy(() => tf.softmax(this.logits(tf.slice(x, start, take))) as tf.Tensor2D));
    }
    if (parts.length === 1) return parts[0];
    const out = tf.concat(parts) as tf.Tensor2D;
    for (const p of parts) p.dispose();
    return out;
  }

  async predictLabels(x: tf.Tensor): Promise<Int32Array> {
    checkInputShape(x.shape, this.info.inputShape, this.info.name);
    if (this.disposed) throw new Error(`model '${this.info.name}' is disposed`);
    if (this.predictor) return this.predictor.predictLabels(x);
    const labels = new Int32Array(x.shape[0]);
    for (let start = 0; start < x.shape[0]; start += this.batchSize) {
      const take = Math.min(this.batchSize, x.shape[0] - start);
      const arg = tf.tidy(() => tf.argMax(this.logits(tf.slice(x, start, take)), 1));
      labels.set(await arg.data(), start);
      arg.dispose();
    }
    return labels;
  }

  /** Routes crossEntropyGradient through an ONNX Runtime gradient session (released on dispose). */
  useGradientSession(session: OnnxGradientSession, note?: string): void {
    this.gradientSession = session;
    this.crossEntropyGradient = (x, oneHot) => session.crossEntropyGradient(x, oneHot);
    this.gradientRoute = note ? { engine: 'onnxruntime', reason: note } : { engine: 'onnxruntime' };
  }

  /** Routes predictScores/predictLabels through an ONNX Runtime model of the same file (released on dispose). */
  usePredictor(predictor: OnnxModel): void {
    this.predictor = predictor;
    this.predictionRoute = { engine: 'onnxruntime' };
  }

  /** Frees the tensors at once; the returned promise settles when the ONNX Runtime sessions are released. */
  dispose(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.disposed = true;
    this.crossEntropyGradient = undefined;
    for (const t of this.cache.values()) t.dispose();
    for (const v of this.constants.values()) if (v.kind === 'tensor') v.t.dispose();
    this.cache.clear();
    const sessions = [this.gradientSession?.release(), this.predictor?.dispose()];
    this.gradientSession = undefined;
    this.predictor = undefined;
    return Promise.all(sessions).then(
      () => undefined,
      () => undefined,
    );
  }

  /** Runs the graph on one batch (callers wrap it in tf.tidy). */
  private evaluate(x: tf.Tensor): tf.Tensor2D {
    // Fused conv/matmul kernels are faster but their gradients also compute the (unneeded)
    // weight gradients; use them only when no gradient tape is recording.
    this.ctx.fused = this.fusedInference && !tf.engine().isTapeOn();
    const env = new Map<string, Value>(this.constants);
    env.set(this.input.name, { kind: 'tensor', t: x, nhwc: this.input.layout === 'nchw' });
    for (const node of this.nodes) {
      const inputs = node.inputs.map((name) => (name === '' ? undefined : env.get(name)));
      if (
        node === this.finalSoftmax ||
        node.absorbed === 'always' ||
        node.absorbed === (this.ctx.fused ? 'fused' : 'unfused')
      ) {
        env.set(node.outputs[0], inputs[0] as Value);
        continue;
      }
      const outputs = node.impl(inputs, node, this.ctx);
      node.outputs.forEach((name, i) => {
        const v = outputs[i];
        if (name !== '' && v) env.set(name, v);
      });
    }
    const out = env.get(this.outputName);
    if (!out) throw new AegisInputError(`model '${this.info.name}': output '${this.outputName}' was not computed`);
    const t = plain(out);
    if (t.rank !== 2) {
      throw new AegisInputError(
        `model '${this.info.name}': output '${this.outputName}' has shape [${t.shape}], not [n, k]`,
      );
    }
    return t as tf.Tensor2D;
  }
}

/** Op types the importer lacks, as 'domain.Op' for custom domains. */
function missingOps(types: { opType?: string | null; domain?: string | null }[]): string[] {
  const missing = new Set<string>();
  for (const { opType, domain } of types) {
    const custom = domain && domain !== 'ai.onnx';
    if (custom || !(opType && (opType in OPS || opType === 'Constant'))) {
      missing.add(custom ? `${domain}.${opType}` : String(opType));
    }
  }
  return [...missing].sort();
}

/** Evaluates a Constant node's value attribute. */
function constantValue(attrs: Attrs, where: string): ConstValue {
  const t = attrs.tensor('value');
  if (t) return decodeTensor(t, where);
  const f = attrs.floats('value_floats');
  if (f) return { kind: 'float', dims: [f.length], values: Float32Array.from(f) };
  if (attrs.has('value_float'))
    return { kind: 'float', dims: [], values: Float32Array.of(attrs.float('value_float', 0)) };
  const i = attrs.ints('value_ints');
  if (i) return { kind: 'int', dims: [i.length], values: i };
  if (attrs.has('value_int')) return { kind: 'int', dims: [], values: [attrs.int('value_int', 0)] };
  throw new AegisInputError(`${where}: Constant without a supported value attribute`);
}

function toValue(name: string, c: ConstValue): Value {
  if (c.kind === 'int') return { kind: 'ints', values: c.values, dims: c.dims };
  return { kind: 'tensor', t: tf.tensor(c.values, c.dims, 'float32'), nhwc: false, constName: name };
}

/**
 * Loads an ONNX classifier as a differentiable tfjs model (access 'gradients').
 * Unsupported ops, corrupt files and graphs that do not run raise AegisInputError.
 */
export async function importOnnxModel(path: string, opts: OnnxImportOptions = {}): Promise<ImportedOnnxModel> {
  await initRuntime();
  const file = readOnnxFile(path);
  const { graph } = file;
  const graphNodes = graph.node ?? [];
  const missing = missingOps(graphNodes);
  if (missing.length > 0) {
    throw new AegisInputError(
      `'${path}' uses ONNX ops the tfjs importer does not support: ${missing.join(', ')} ` +
        `(supported: ${Object.keys(OPS).sort().join(', ')}, Constant); use it through ONNX Runtime (scores access) instead`,
    );
  }
  const inputs = realInputs(graph);
  if (inputs.length !== 1) {
    throw new AegisInputError(`'${path}' has ${inputs.length} inputs; Aegis needs a single-input classifier`);
  }
  const input = resolveInput(inputs[0].name ?? '', valueDims(inputs[0]), opts);
  const outputName = graph.output?.[0]?.name ?? '';

  const hostConstants = new Map<string, ConstValue>();
  for (const init of graph.initializer ?? []) {
    hostConstants.set(init.name ?? '', decodeTensor(init, `'${path}': initializer`));
  }
  const nodes: PreparedNode[] = [];
  const defined = new Set<string>([input.name, ...hostConstants.keys()]);
  graphNodes.forEach((node, i) => {
    const attrs = new Attrs(node);
    const id = `${i}:${node.opType}`;
    const outputs = (node.output ?? []).map(String);
    if (node.opType === 'Constant') {
      hostConstants.set(outputs[0], constantValue(attrs, `'${path}': Constant node '${node.name || id}'`));
    } else {
      const ins = (node.input ?? []).map(String);
      const unknown = ins.find((name) => name !== '' && !defined.has(name));
      if (unknown !== undefined) {
        throw new AegisInputError(
          `'${path}': node '${node.name || id}' reads '${unknown}', which no earlier node produces (truncated or unsorted graph)`,
        );
      }
      nodes.push({ node, attrs, id, impl: OPS[node.opType as string], inputs: ins, outputs });
    }
    for (const o of outputs) defined.add(o);
  });
  if (!defined.has(outputName)) throw new AegisInputError(`'${path}': graph output '${outputName}' is never computed`);

  markReluFusion(nodes, outputName);
  if (opts.poolBeforeRelu ?? true) markPoolFirst(nodes, outputName);
  const constants = new Map<string, Value>();
  for (const [name, c] of hostConstants) constants.set(name, toValue(name, c));
  const softmaxNode = producerOf(graph, outputName);
  const finalSoftmax = softmaxNode?.opType === 'Softmax' ? nodes.find((p) => p.node === softmaxNode) : undefined;

  const info: ModelInfo = {
    name: opts.name ?? basename(path),
    access: 'gradients',
    inputShape: input.inputShape,
    numClasses: 0,
    inputRange: opts.inputRange ?? [0, 1],
    sha256: file.sha256,
    source: path,
    classNames: opts.classNames,
  };
  const model = new ImportedOnnxModel(
    nodes,
    constants,
    hostConstants,
    input,
    outputName,
    finalSoftmax,
    file.opset,
    info,
    opts.batchSize ?? 256,
    opts.fusedInference ?? true,
  );
  try {
    info.numClasses = dryRun(model, path);
  } catch (error) {
    model.dispose();
    throw error;
  }
  if (opts.classNames && opts.classNames.length !== info.numClasses) {
    model.dispose();
    throw new AegisInputError(
      `'${path}' has ${info.numClasses} classes but ${opts.classNames.length} class names were given`,
    );
  }
  if (opts.ortGradients ?? true) await attachOrtGradients(model, file, opts.ortGradientThreads);
  if (opts.ortPredictions ?? true) await attachOrtPredictions(model, path, outputName, opts);
  return model;
}

/**
 * Opens an ONNX Runtime session on the file for predictions and keeps it if its outputs agree
 * with the tfjs import on seeded inputs; otherwise the model predicts with tfjs and records why.
 */
async function attachOrtPredictions(
  model: ImportedOnnxModel,
  path: string,
  outputName: string,
  opts: OnnxImportOptions,
): Promise<void> {
  let predictor: OnnxModel | undefined;
  try {
    predictor = await loadOnnxModel(path, {
      name: model.info.name,
      inputRange: model.info.inputRange,
      layout: model.input.layout === 'plain' ? undefined : model.input.layout,
      inputShape: model.info.inputShape,
      outputName,
      batchSize: opts.batchSize,
      intraOpNumThreads: 1,
    });
    if (predictor.info.sha256 !== model.info.sha256) throw new AegisInputError('the file changed while loading');
    if (predictor.info.numClasses !== model.info.numClasses) {
      throw new AegisInputError(
        `ONNX Runtime finds ${predictor.info.numClasses} classes, tfjs ${model.info.numClasses}`,
      );
    }
    const gap = await outputGap(predictor, model);
    if (!(gap <= 1e-4)) {
      throw new AegisInputError(`ONNX Runtime's outputs differ from the tfjs import by ${gap.toExponential(2)}`);
    }
    model.usePredictor(predictor);
  } catch (error) {
    await predictor?.dispose().catch(() => undefined);
    model.predictionRoute = { engine: 'tfjs', reason: (error as Error).message };
  }
}

/**
 * Largest difference between ONNX Runtime's raw outputs and the tfjs import's (logits, or
 * probabilities when the graph ends in Softmax) on seeded inputs, relative to 1 + the largest
 * output. NaN counts as a difference.
 */
async function outputGap(predictor: OnnxModel, model: ImportedOnnxModel): Promise<number> {
  const n = model.input.fixedBatch ?? 8;
  const shape = [n, ...model.info.inputShape];
  const [low, high] = model.info.inputRange;
  const x = tf.tensor(
    new Rng(4321).uniformArray(
      shape.reduce((a, b) => a * b, 1),
      low,
      high,
    ),
    shape,
  );
  try {
    const ort = await predictor.predictOutputs(x);
    const ours = tf.tidy(() => {
      const logits = model.logits(x);
      return (predictor.outputsProbabilities ? tf.softmax(logits) : logits).dataSync();
    });
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < ours.length; i++) {
      const d = Math.abs(ort[i] - ours[i]);
      worst = d <= worst ? worst : Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
      scale = Math.max(scale, Math.abs(ours[i]));
    }
    return worst / (1 + scale);
  } finally {
    x.dispose();
  }
}

/**
 * Builds the ONNX Runtime gradient route and keeps it if it agrees with tfjs on a seeded batch;
 * otherwise the model keeps tfjs gradients and records why.
 */
async function attachOrtGradients(model: ImportedOnnxModel, file: OnnxFile, threads?: number): Promise<void> {
  let session: OnnxGradientSession | undefined;
  try {
    session = await createGradientSession(file, model.input, model.info.numClasses, model.info.name, {
      intraOpNumThreads: threads,
    });
    const check = await compareWithTfjs(session, (x) => model.logits(x), model.info.inputRange);
    if (check.mismatch) throw new AegisInputError(`the ONNX Runtime gradient graph is off: ${check.mismatch}`);
    model.useGradientSession(session, check.unchecked && `not cross-checked: ${check.unchecked}`);
  } catch (error) {
    await session?.release();
    model.gradientRoute = { engine: 'tfjs', reason: (error as Error).message };
  }
}

/** The nodes reading each value (a node reading a value twice is listed twice). */
function readersOf(nodes: PreparedNode[]): Map<string, PreparedNode[]> {
  const readers = new Map<string, PreparedNode[]>();
  for (const node of nodes) {
    for (const name of node.inputs) readers.set(name, [...(readers.get(name) ?? []), node]);
  }
  return readers;
}

/** Marks Conv/Gemm nodes whose only consumer is a Relu, so fused mode applies the Relu inside. */
function markReluFusion(nodes: PreparedNode[], outputName: string): void {
  const consumers = readersOf(nodes);
  for (const node of nodes) {
    if (node.node.opType !== 'Conv' && node.node.opType !== 'Gemm') continue;
    const out = node.outputs[0];
    const users = consumers.get(out) ?? [];
    if (out === outputName || users.length !== 1 || users[0].node.opType !== 'Relu') continue;
    node.fuseRelu = true;
    users[0].absorbed = 'fused';
  }
}

/**
 * Marks Conv → Relu → MaxPool chains whose intermediate values have no other reader: when not
 * fused (under a gradient tape), the Conv pools first and applies its bias and the Relu to the
 * smaller pooled map (same values and gradient, see conv in onnx-ops.ts), and the Relu and
 * MaxPool nodes pass the result on. Fused, the Conv applies the Relu and the MaxPool runs.
 */
function markPoolFirst(nodes: PreparedNode[], outputName: string): void {
  const readers = readersOf(nodes);
  const onlyReader = (name: string) => {
    const users = readers.get(name) ?? [];
    return name !== outputName && users.length === 1 ? users[0] : undefined;
  };
  for (const conv of nodes) {
    if (conv.node.opType !== 'Conv') continue;
    const relu = onlyReader(conv.outputs[0]);
    if (relu?.node.opType !== 'Relu') continue;
    const pool = onlyReader(relu.outputs[0]);
    if (pool?.node.opType !== 'MaxPool' || pool.outputs.slice(1).some((o) => o !== '')) continue;
    conv.poolFirst = pool;
    relu.absorbed = relu.absorbed === 'fused' ? 'always' : 'unfused';
    pool.absorbed = 'unfused';
  }
}

/**
 * Runs two zero examples once: finds the class count, prepares the cached weight layouts,
 * and turns graphs that cannot run (shape errors, batch size fixed in a Reshape) into a
 * clear error at load rather than mid-attack.
 */
function dryRun(model: ImportedOnnxModel, path: string): number {
  const n = model.input.fixedBatch ?? 2;
  return tf.tidy(() => {
    let out: tf.Tensor2D;
    try {
      out = model.logits(tf.zeros([n, ...model.info.inputShape]));
    } catch (error) {
      const why = error instanceof AegisInputError ? error.message : `tfjs failed: ${(error as Error).message}`;
      throw new AegisInputError(`'${path}' cannot be evaluated: ${why}`, { cause: error });
    }
    if (out.shape[0] !== n) {
      throw new AegisInputError(
        `'${path}': a batch of ${n} gives ${out.shape[0]} outputs; the graph probably fixes its batch size (export it with a dynamic batch axis)`,
      );
    }
    const k = out.shape[1];
    if (k < 2) throw new AegisInputError(`'${path}': output has ${k} column(s); need ≥ 2 classes`);
    return k;
  });
}
