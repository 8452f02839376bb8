// Reverse-mode automatic differentiation (Griewank & Walther 2008, "Evaluating Derivatives", ch. 3) written as ONNX ops.
/**
 * From an ONNX classifier, builds a second ONNX model whose inputs are `x` (one batch, NHWC
 * for images, as Aegis passes it) and `onehot` [N, K], and whose outputs are `logits` [N, K]
 * and `grad` = ∂/∂x of the softmax cross-entropy summed over the batch. ONNX Runtime runs
 * it, so white-box attacks on imported models get ONNX Runtime's speed for the gradient.
 *
 * The forward nodes are copied (names prefixed, older opsets modernised), the forward
 * activations the backward pass needs stay as intermediate values, and each node on the
 * path from x to the logits gets its backward rule as ONNX ops (`RULES`). Shapes that the
 * rules need statically (pads, broadcast axes, split sizes) come from a probe run of the
 * forward graph (`probeModel`), done by the caller in ONNX Runtime.
 */
import type onnxProto from 'onnx-proto';
import { AegisInputError } from '../core/errors.js';
import {
  Attrs,
  decodeTensor,
  int64,
  type OnnxGraph,
  type OnnxNode,
  type OnnxTensorProto,
  onnx,
  producerOf,
  type ResolvedInput,
} from './onnx-graph.js';

/** Names of the gradient model's inputs and outputs. */
export const GRADIENT_IO = { x: 'x', oneHot: 'onehot', logits: 'logits', grad: 'grad' } as const;

/** ScatterElements with reduction 'add' (MaxPool backward) needs opset 16. */
const MIN_OPSET = 16;

export interface GradientPlan {
  /** The default-domain opset the gradient model declares. */
  opset: number;
  irVersion: number;
  opsetImports: onnxProto.onnx.IOperatorSetIdProto[];
  input: ResolvedInput;
  /** Prefixed name of the value the logits are read from (the input of a final Softmax, if any). */
  logits: string;
  /** Prefixed name of the model input inside the graph (after the NHWC → NCHW Transpose, if any). */
  modelInput: string;
  /** The forward graph: input adapter, needed nodes (renamed, modernised) and their initializers. */
  forward: GraphWriter;
  /** Forward nodes on the path from x to the logits, in topological order. */
  active: OnnxNode[];
  /** Prefixed names of the float values on that path (the probe reports their shapes). */
  differentiable: Set<string>;
  /** Static dims of constants (initializers and Constant nodes), by prefixed name. */
  constDims: Map<string, number[]>;
  /** Values of integer constants (axes), by prefixed name. */
  constInts: Map<string, number[]>;
  /** Relu outputs read only by a MaxPool: their mask is applied to the pooled gradient instead. */
  reluBeforePool: Set<string>;
  /** Tiled MaxPool input → the stride-1 Conv feeding it (directly or through such a Relu). */
  convBeforePool: Map<string, OnnxNode>;
  /** Float initializer values, decoded on demand, by prefixed name. */
  floatConstant(name: string): Float32Array | undefined;
}

// ---- writing nodes ----

type AttrValue = number | number[] | string | { f: number };
const AT = onnx.AttributeProto.AttributeType;

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  if (typeof v === 'number') return { name, type: AT.INT, i: v };
  if (typeof v === 'string') return { name, type: AT.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AT.INTS, ints: v };
  return { name, type: AT.FLOAT, f: v.f };
}

/** Appends nodes and constants to a graph under fresh names. */
export class GraphWriter {
  nodes: OnnxNode[] = [];
  initializers: OnnxTensorProto[] = [];
  private count = 0;
  private constants = new Map<string, string>();
  private shapes = new Map<string, string>();

  /** An independent copy (the forward part is shared by the probe and the gradient model). */
  clone(): GraphWriter {
    const w = new GraphWriter();
    w.nodes = [...this.nodes];
    w.initializers = [...this.initializers];
    w.count = this.count;
    w.constants = new Map(this.constants);
    w.shapes = new Map(this.shapes);
    return w;
  }

  fresh(hint: string): string {
    return `g${this.count++}:${hint}`;
  }

  push(node: OnnxNode): void {
    this.nodes.push(node);
  }

  /** Adds a node; returns its output names. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(opType));
    this.push({
      name: this.fresh(`node:${opType}`),
      opType,
      domain: '',
      input: inputs,
      output: names,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return names;
  }

  one(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.op(opType, inputs, attrs)[0];
  }

  /** A float32 constant (small ones deduplicated by value). */
  floats(values: ArrayLike<number>, dims: number[]): string {
    const data = Float32Array.from(values);
    const key = data.length <= 16 ? `f:${dims}:${Array.from(data)}` : undefined;
    let name = key ? this.constants.get(key) : undefined;
    if (!name) {
      name = this.fresh('const');
      this.initializers.push({ name, dims, dataType: 1, rawData: new Uint8Array(data.buffer) });
      if (key) this.constants.set(key, name);
    }
    return name;
  }

  scalar(v: number): string {
    return this.floats([v], []);
  }

  int64s(values: number[], dims = [values.length]): string {
    const key = `i:${dims}:${values}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.fresh('ints');
      this.initializers.push({ name, dims, dataType: 7, int64Data: values });
      this.constants.set(key, name);
    }
    return name;
  }

  /** The runtime shape of a value (one Shape node per value). */
  shapeOf(value: string): string {
    let name = this.shapes.get(value);
    if (!name) {
      name = this.one('Shape', [value]);
      this.shapes.set(value, name);
    }
    return name;
  }
}

// ---- planning ----

const PREFIX = 'f:';
const rename = (name: string) => (name === '' ? '' : `${PREFIX}${name}`);

/** Ops whose outputs carry no gradient (shapes, comparisons, rounding): they cut the path. */
const NON_DIFFERENTIABLE = new Set([
  'Shape',
  'Size',
  'ArgMax',
  'ArgMin',
  'Equal',
  'Greater',
  'GreaterOrEqual',
  'Less',
  'LessOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'NonZero',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'ConstantOfShape',
  'EyeLike',
  'RandomNormalLike',
  'RandomUniformLike',
]);

const FLOAT_TYPES = new Set([1, 10, 11, 16]);

function cutsGradient(node: OnnxNode): boolean {
  if (NON_DIFFERENTIABLE.has(node.opType ?? '')) return true;
  return node.opType === 'Cast' && !FLOAT_TYPES.has(new Attrs(node).int('to', 1));
}

function unsupported(what: string): never {
  throw new AegisInputError(`the ONNX Runtime gradient graph cannot be built: ${what}`);
}

/** Rewrites a node of an older opset into its form at MIN_OPSET (attributes that became inputs), into `w`. */
function pushModernized(node: OnnxNode, opset: number, w: GraphWriter): void {
  const attrs = new Attrs(node);
  const name = node.name || node.opType || '?';
  const drop = new Set(['consumed_inputs']);
  const input = [...(node.input ?? [])];
  let output = [...(node.output ?? [])];
  const added: onnxProto.onnx.IAttributeProto[] = [];
  switch (node.opType) {
    case 'Squeeze':
    case 'Unsqueeze':
      if (opset < 13 && attrs.has('axes')) {
        input[1] = w.int64s(attrs.ints('axes') ?? []);
        drop.add('axes');
      }
      break;
    case 'Clip':
      if (opset < 11) {
        input[1] = attrs.has('min') ? w.scalar(attrs.float('min', 0)) : '';
        input[2] = attrs.has('max') ? w.scalar(attrs.float('max', 0)) : '';
        drop.add('min').add('max');
      }
      break;
    case 'Dropout':
      // Inference: Dropout is the identity; its mask output is never read by a classifier.
      w.push({ name: node.name, opType: 'Identity', domain: '', input: [input[0]], output: [output[0]] });
      return;
    case 'BatchNormalization':
      if (attrs.int('training_mode', 0) === 1) unsupported(`BatchNormalization '${name}' is in training mode`);
      if (opset < 9 && attrs.int('spatial', 1) !== 1) unsupported(`BatchNormalization '${name}' has spatial=0`);
      drop.add('spatial').add('is_test');
      output = output.slice(0, 1);
      break;
    case 'Gemm':
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
      if (opset < 7 && attrs.has('axis')) unsupported(`${node.opType} '${name}' uses pre-opset-7 axis broadcasting`);
      drop.add('broadcast');
      break;
    case 'Reshape':
      if (opset < 5) {
        input[1] = w.int64s(attrs.ints('shape') ?? []);
        drop.add('shape');
      }
      break;
    case 'Cast':
      if (opset < 6) unsupported(`Cast '${name}' names its type as a string (opset < 6)`);
      break;
    case 'Concat':
      if (opset < 4 && !attrs.has('axis')) added.push(attribute('axis', 1));
      break;
    case 'Softmax':
    case 'LogSoftmax':
      if (opset < 13) {
        // Before opset 13 these normalise over all dims from `axis` on: flatten, apply on the last axis, reshape back.
        const flat = w.one('Flatten', [input[0]], { axis: attrs.int('axis', 1) });
        const y = w.one(node.opType, [flat], { axis: -1 });
        w.push({ name: node.name, opType: 'Reshape', domain: '', input: [y, w.shapeOf(input[0])], output });
        return;
      }
      break;
  }
  const attribute_ = [...(node.attribute ?? []).filter((a) => !drop.has(a.name ?? '')), ...added];
  w.push({ name: node.name, opType: node.opType, domain: node.domain, input, output, attribute: attribute_ });
}

/** MaxPool over non-overlapping windows inside the input (kernel = stride, no padding, no ceil). */
function isTiledPool(node: OnnxNode): boolean {
  const a = new Attrs(node);
  const kernel = a.ints('kernel_shape') ?? [];
  const strides = a.ints('strides') ?? kernel.map(() => 1);
  const auto = a.string('auto_pad', 'NOTSET');
  return (
    kernel.length === 2 &&
    kernel.every((k, i) => k === strides[i]) &&
    (auto === 'VALID' || (auto === 'NOTSET' && (a.ints('pads') ?? []).every((p) => p === 0))) &&
    (a.ints('dilations') ?? []).every((d) => d === 1) &&
    a.int('ceil_mode', 0) === 0 &&
    a.int('storage_order', 0) === 0
  );
}

/** A 2-D Conv with stride 1, no dilation, one group and explicit (or no) padding. */
function isFoldableConv(node: OnnxNode): boolean {
  const a = new Attrs(node);
  const auto = a.string('auto_pad', 'NOTSET');
  return (
    node.opType === 'Conv' &&
    a.int('group', 1) === 1 &&
    (a.ints('strides') ?? []).every((v) => v === 1) &&
    (a.ints('dilations') ?? []).every((v) => v === 1) &&
    (auto === 'NOTSET' || auto === 'VALID')
  );
}

function renamed(node: OnnxNode): OnnxNode {
  return { ...node, input: (node.input ?? []).map(rename), output: (node.output ?? []).map(rename) };
}

/** Dims and integer values of the graph's constants, by prefixed name. */
function constants(graph: OnnxGraph): { dims: Map<string, number[]>; ints: Map<string, number[]> } {
  const dims = new Map<string, number[]>();
  const ints = new Map<string, number[]>();
  const note = (name: string, t: OnnxTensorProto) => {
    dims.set(
      rename(name),
      (t.dims ?? []).map((d) => int64(d as number)),
    );
    if (t.dataType === 6 || t.dataType === 7) ints.set(rename(name), decodeTensor(t, 'constant').values as number[]);
  };
  for (const t of graph.initializer ?? []) note(t.name ?? '', t);
  for (const node of graph.node ?? []) {
    if (node.opType !== 'Constant') continue;
    const attrs = new Attrs(node);
    const out = node.output?.[0] ?? '';
    const t = attrs.tensor('value');
    if (t) note(out, t);
    else if (attrs.has('value_ints')) {
      const v = attrs.ints('value_ints') ?? [];
      dims.set(rename(out), [v.length]);
      ints.set(rename(out), v);
    } else if (attrs.has('value_floats')) dims.set(rename(out), [(attrs.floats('value_floats') ?? []).length]);
    else if (attrs.has('value_float')) dims.set(rename(out), []);
    else if (attrs.has('value_int')) {
      dims.set(rename(out), []);
      ints.set(rename(out), [attrs.int('value_int', 0)]);
    }
  }
  return { dims, ints };
}

/**
 * Finds the nodes between the input and the logits and checks each has a backward rule.
 * Throws AegisInputError listing the op types that have none (callers then fall back to tfjs).
 */
export function planGradient(
  graph: OnnxGraph,
  model: { opset: number; irVersion: number; opsetImports: onnxProto.onnx.IOperatorSetIdProto[] },
  input: ResolvedInput,
): GradientPlan {
  const nodes = graph.node ?? [];
  const outputName = graph.output?.[0]?.name ?? '';
  const final = producerOf(graph, outputName);
  const logitsSource = final?.opType === 'Softmax' ? (final.input?.[0] ?? '') : outputName;

  // Nodes the logits need, found backwards.
  const needed = new Set([logitsSource]);
  const keep = new Set<OnnxNode>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!(node.output ?? []).some((o) => needed.has(o))) continue;
    keep.add(node);
    for (const name of node.input ?? []) if (name) needed.add(name);
  }
  // Nodes the input reaches through differentiable outputs (only a node's first output carries gradient).
  const reached = new Set([input.name]);
  const active: OnnxNode[] = [];
  for (const node of nodes) {
    if (!keep.has(node) || cutsGradient(node) || !(node.input ?? []).some((n) => reached.has(n))) continue;
    reached.add(node.output?.[0] ?? '');
    active.push(node);
  }
  if (!reached.has(logitsSource)) unsupported(`output '${outputName}' does not depend on input '${input.name}'`);
  const missing = new Set<string>();
  for (const node of active) {
    const custom = node.domain && node.domain !== 'ai.onnx';
    if (custom || !Object.hasOwn(RULES, node.opType ?? '')) {
      missing.add(custom ? `${node.domain}.${node.opType}` : String(node.opType));
    }
  }
  if (missing.size > 0) {
    unsupported(
      `no backward rule for ${[...missing].sort().join(', ')} (supported: ${Object.keys(RULES).sort().join(', ')})`,
    );
  }

  const opset = Math.max(model.opset, MIN_OPSET);
  const forward = new GraphWriter();
  const modelInput = rename(input.name);
  if (input.layout === 'nchw') {
    forward.push({ name: 'to_nchw', opType: 'Transpose', input: [GRADIENT_IO.x], output: [modelInput], attribute: [] });
    forward.nodes[0].attribute = [attribute('perm', [0, 3, 1, 2])];
  } else {
    forward.push({ name: 'input', opType: 'Identity', input: [GRADIENT_IO.x], output: [modelInput] });
  }
  const activeSet = new Set(active);
  const activeRenamed: OnnxNode[] = [];
  for (const node of nodes) {
    if (!keep.has(node)) continue;
    let copy = renamed(node);
    // A general MaxPool's backward scatters into the argmax positions: ask the forward node for them.
    if (activeSet.has(node) && node.opType === 'MaxPool' && !isTiledPool(node) && !(copy.output ?? [])[1]) {
      copy = { ...copy, output: [(copy.output ?? [])[0], `${(copy.output ?? [])[0]}:indices`] };
    }
    const start = forward.nodes.length;
    pushModernized(copy, model.opset, forward);
    if (activeSet.has(node)) activeRenamed.push(...forward.nodes.slice(start));
  }
  const usedNames = new Set([...keep].flatMap((n) => n.input ?? []));
  for (const t of graph.initializer ?? []) {
    if (usedNames.has(t.name ?? '')) forward.initializers.push({ ...t, name: rename(t.name ?? '') });
  }
  const { dims, ints } = constants(graph);
  const readers = new Map<string, OnnxNode[]>();
  for (const node of keep) for (const name of node.input ?? []) readers.set(name, [...(readers.get(name) ?? []), node]);
  const onlyReader = (value: string) => {
    const users = readers.get(value) ?? [];
    return value !== logitsSource && users.length === 1 ? users[0] : undefined;
  };
  const producers = new Map(active.map((node) => [(node.output ?? [])[0] ?? '', node]));
  const initializers = new Map((graph.initializer ?? []).map((t) => [rename(t.name ?? ''), t]));
  const reluBeforePool = new Set<string>();
  const convBeforePool = new Map<string, OnnxNode>();
  for (const pool of active) {
    if (pool.opType !== 'MaxPool') continue;
    let value = (pool.input ?? [])[0] ?? '';
    const relu = producers.get(value);
    if (relu?.opType === 'Relu' && onlyReader(value) === pool) {
      reluBeforePool.add(rename(value));
      value = (relu.input ?? [])[0] ?? '';
    }
    const conv = producers.get(value);
    const weights = initializers.get(rename((conv?.input ?? [])[1] ?? ''));
    if (conv && isTiledPool(pool) && onlyReader(value) && isFoldableConv(conv) && weights?.dataType === 1) {
      convBeforePool.set(rename((pool.input ?? [])[0] ?? ''), renamed(conv));
    }
  }
  const decoded = new Map<string, Float32Array>();
  const floatConstant = (name: string) => {
    const t = initializers.get(name);
    if (t?.dataType !== 1) return undefined;
    if (!decoded.has(name)) decoded.set(name, decodeTensor(t, 'initializer').values as Float32Array);
    return decoded.get(name);
  };
  const differentiable = new Set([modelInput, ...activeRenamed.map((n) => (n.output ?? [])[0])]);
  const imports = model.opsetImports.filter((o) => o.domain && o.domain !== 'ai.onnx');
  return {
    opset,
    irVersion: Math.max(model.irVersion, 8),
    opsetImports: [{ domain: '', version: opset }, ...imports],
    input,
    logits: rename(logitsSource),
    modelInput,
    forward,
    active: activeRenamed,
    differentiable,
    constDims: dims,
    constInts: ints,
    reluBeforePool,
    convBeforePool,
    floatConstant,
  };
}

// ---- backward rules ----

interface RuleContext {
  w: GraphWriter;
  node: OnnxNode;
  attrs: Attrs;
  /** Gradient of the node's first output. */
  g: string;
  /** Does input i carry gradient (is it on the path from x)? */
  dep(i: number): boolean;
  /** Static dims of a value (batch dim as probed). */
  shape(name: string): number[];
  /** Adds a gradient to an earlier value directly (a rule that folds several nodes' backward passes). */
  addGradient(name: string, g: string): void;
  plan: GradientPlan;
}

/** Gradients for the node's inputs (undefined where an input carries none). */
type Rule = (c: RuleContext) => (string | undefined)[];

const X = (c: RuleContext) => (c.node.input ?? [])[0];
const Y = (c: RuleContext) => (c.node.output ?? [])[0];
function fail(c: RuleContext, why: string): never {
  unsupported(`${c.node.opType} '${c.node.name}': ${why}`);
}

/** Sums a broadcast gradient back to the shape of `input` (numpy broadcasting, right-aligned). */
function unbroadcast(c: RuleContext, g: string, input: string): string {
  const inShape = c.shape(input);
  const outShape = c.shape(Y(c));
  const lead = outShape.length - inShape.length;
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    if (i < lead || (inShape[i - lead] === 1 && outShape[i] !== 1)) axes.push(i);
  }
  if (axes.length === 0) return g;
  const summed = c.w.one('ReduceSum', [g, c.w.int64s(axes)], { keepdims: 1 });
  return lead > 0 ? c.w.one('Reshape', [summed, c.w.shapeOf(input)]) : summed;
}

const times = (c: RuleContext, a: string, b: string) => c.w.one('Mul', [a, b]);

/** Rule for y = f(x): dx = g · f'(x), with f' written from x and y. */
function unary(derivative: (c: RuleContext, x: string, y: string) => string): Rule {
  return (c) => [times(c, c.g, derivative(c, X(c), Y(c)))];
}

const passThrough: Rule = (c) => [c.g];
const reshapeBack: Rule = (c) => [c.w.one('Reshape', [c.g, c.w.shapeOf(X(c))])];

/** Where(cond, g, 0): the gradient where `cond` holds. */
const masked = (c: RuleContext, cond: string) => c.w.one('Where', [cond, c.g, c.w.scalar(0)]);
const positive = (c: RuleContext, v: string) => c.w.one('Greater', [v, c.w.scalar(0)]);

function binaryRule(c: RuleContext): (string | undefined)[] {
  const [a, b] = c.node.input ?? [];
  const { w, g } = c;
  const out: (string | undefined)[] = [undefined, undefined];
  switch (c.node.opType) {
    case 'Add':
      if (c.dep(0)) out[0] = unbroadcast(c, g, a);
      if (c.dep(1)) out[1] = unbroadcast(c, g, b);
      break;
    case 'Sub':
      if (c.dep(0)) out[0] = unbroadcast(c, g, a);
      if (c.dep(1)) out[1] = unbroadcast(c, w.one('Neg', [g]), b);
      break;
    case 'Mul':
      if (c.dep(0)) out[0] = unbroadcast(c, times(c, g, b), a);
      if (c.dep(1)) out[1] = unbroadcast(c, times(c, g, a), b);
      break;
    case 'Div':
      if (c.dep(0)) out[0] = unbroadcast(c, w.one('Div', [g, b]), a);
      // d(a/b)/db = −y/b
      if (c.dep(1)) out[1] = unbroadcast(c, w.one('Neg', [w.one('Div', [times(c, g, Y(c)), b])]), b);
      break;
    case 'Pow': {
      if (c.dep(1)) fail(c, 'a computed exponent is not supported');
      // d(a^e)/da = e · a^(e−1)
      const e = b;
      const lower = w.one('Pow', [a, w.one('Sub', [e, w.scalar(1)])]);
      out[0] = unbroadcast(c, times(c, g, times(c, lower, e)), a);
      break;
    }
  }
  return out;
}

/** Explicit [begin..., end...] pads of a conv/pool window (auto_pad resolved with static shapes). */
function windowPads(c: RuleContext, kernel: number[], strides: number[], dilations: number[], inDims: number[]) {
  const auto = c.attrs.string('auto_pad', 'NOTSET');
  const k = kernel.length;
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const total = inDims.map((size, i) => {
      const out = Math.ceil(size / strides[i]);
      return Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size);
    });
    const small = total.map((t) => Math.floor(t / 2));
    const big = total.map((t, i) => t - small[i]);
    return auto === 'SAME_UPPER' ? [...small, ...big] : [...big, ...small];
  }
  if (auto === 'VALID') return new Array(2 * k).fill(0);
  if (auto !== 'NOTSET') fail(c, `unknown auto_pad '${auto}'`);
  return c.attrs.ints('pads') ?? new Array(2 * k).fill(0);
}

/**
 * The transposed convolution that maps a window op's output gradient back onto its input:
 * same kernel, strides, dilations and pads, plus end padding and output_padding so the
 * result has exactly the input's spatial size.
 */
function transposedWindow(c: RuleContext, g: string, weights: string, kernel: number[], group: number): string {
  const xDims = c.shape(X(c)).slice(2);
  const yDims = c.shape(Y(c)).slice(2);
  const k = kernel.length;
  const strides = c.attrs.ints('strides') ?? new Array(k).fill(1);
  const dilations = c.attrs.ints('dilations') ?? new Array(k).fill(1);
  const pads = windowPads(c, kernel, strides, dilations, xDims);
  const outputPadding = xDims.map((size, i) => {
    const span = (kernel[i] - 1) * dilations[i] + 1;
    // ceil_mode windows may run past the end padding: extend it so the sizes line up.
    const extra = Math.max(0, (yDims[i] - 1) * strides[i] + span - (size + pads[i] + pads[k + i]));
    pads[k + i] += extra;
    return size - ((yDims[i] - 1) * strides[i] + span - pads[i] - pads[k + i]);
  });
  if (outputPadding.some((p, i) => p < 0 || p >= Math.max(strides[i], dilations[i]))) {
    fail(c, `cannot map output [${yDims}] back onto input [${xDims}]`);
  }
  return c.w.one('ConvTranspose', [g, weights], {
    kernel_shape: kernel,
    strides,
    dilations,
    pads,
    output_padding: outputPadding,
    group,
  });
}

const conv: Rule = (c) => {
  const w = (c.node.input ?? [])[1];
  if (c.dep(1) || c.dep(2)) fail(c, 'computed weights or bias are not supported');
  const kernel = c.attrs.ints('kernel_shape') ?? c.plan.constDims.get(w)?.slice(2);
  if (!kernel) fail(c, 'kernel shape unknown (no kernel_shape and computed weights)');
  return [transposedWindow(c, c.g, w, kernel, c.attrs.int('group', 1))];
};

/** The pooled gradient, masked by a preceding Relu when that Relu's own rule was folded in here. */
function pooledGradient(c: RuleContext): string {
  return c.plan.reluBeforePool.has(X(c)) ? masked(c, positive(c, Y(c))) : c.g;
}

const maxPool: Rule = (c) => (isTiledPool(c.node) ? tiledMaxPool(c) : scatteredMaxPool(c));

/**
 * General MaxPool: ONNX MaxPool indices are flat over the whole NCHW input, so each gradient
 * is added at its argmax (overlapping windows and ties exactly as the forward pass chose).
 */
function scatteredMaxPool(c: RuleContext): (string | undefined)[] {
  if (c.attrs.int('storage_order', 0) !== 0) fail(c, 'storage_order 1 is not supported');
  const { w } = c;
  const x = X(c);
  const flat = w.int64s([-1]);
  const zeros = w.one('ConstantOfShape', [w.one('Reshape', [w.one('Size', [x]), w.int64s([1])])], {});
  const indices = w.one('Reshape', [(c.node.output ?? [])[1], flat]);
  const summed = w.one('ScatterElements', [zeros, indices, w.one('Reshape', [pooledGradient(c), flat])], {
    axis: 0,
    reduction: 'add',
  });
  return [w.one('Reshape', [summed, w.shapeOf(x)])];
}

/**
 * MaxPool over non-overlapping k×k windows, without the (slow) Indices output: depthwise
 * one-hot convolutions cut the input into its k² window planes; walking them in row-major
 * window order, the first plane equal to the maximum takes the gradient (PyTorch's tie rule);
 * one-hot transposed convolutions put the planes back in place. When a stride-1 Conv feeds
 * the pool, that step and the Conv's own backward pass fold into one transposed convolution.
 */
function tiledMaxPool(c: RuleContext): (string | undefined)[] {
  const { w } = c;
  const channels = c.shape(X(c))[1];
  const kernel = c.attrs.ints('kernel_shape') as number[];
  const taps = kernel[0] * kernel[1];
  const zero = w.scalar(0);
  let remaining = pooledGradient(c);
  const planes: string[] = [];
  for (let j = 0; j < taps; j++) {
    const pick = new Float32Array(channels * taps);
    for (let ch = 0; ch < channels; ch++) pick[ch * taps + j] = 1;
    const plane = w.one('Conv', [X(c), w.floats(pick, [channels, 1, ...kernel])], {
      kernel_shape: kernel,
      strides: kernel,
      group: channels,
    });
    const isMax = w.one('Equal', [plane, Y(c)]);
    const taken = w.one('Where', [isMax, remaining, zero]);
    if (j < taps - 1) remaining = w.one('Sub', [remaining, taken]);
    planes.push(taken);
  }
  const conv = c.plan.convBeforePool.get(X(c));
  const fused = conv ? foldedConvBackward(c, conv, planes, kernel) : undefined;
  if (fused) {
    c.addGradient(fused.input, fused.grad);
    return [];
  }
  return [placePlanes(c, planes, kernel, channels)];
}

/** Window planes [N, C, Ho, Wo] × k² back onto the pool input [N, C, H, W]. */
function placePlanes(c: RuleContext, planes: string[], kernel: number[], channels: number): string {
  const { w } = c;
  const [xDims, yDims] = [c.shape(X(c)), c.shape(Y(c))];
  const taps = kernel[0] * kernel[1];
  // [N, C, k², Ho, Wo] → [N, C·k², Ho, Wo]: input channel ch·k² + j goes to window position j of channel ch.
  const axis = w.int64s([2]);
  const stacked = w.one('Reshape', [
    w.one(
      'Concat',
      planes.map((p) => w.one('Unsqueeze', [p, axis])),
      { axis: 2 },
    ),
    w.int64s([0, channels * taps, yDims[2], yDims[3]]),
  ]);
  const place = new Float32Array(channels * taps * taps);
  for (let i = 0; i < channels * taps; i++) place[i * taps + (i % taps)] = 1;
  return w.one('ConvTranspose', [stacked, w.floats(place, [channels * taps, 1, ...kernel])], {
    kernel_shape: kernel,
    strides: kernel,
    group: channels,
    output_padding: [xDims[2] - yDims[2] * kernel[0], xDims[3] - yDims[3] * kernel[1]],
  });
}

/**
 * The input gradient of Conv → [Relu] → MaxPool from the pool's gradient planes, as one
 * transposed convolution with stride k whose kernel is the conv kernel shifted to each window
 * position (Relu's mask is already in the planes). Undefined when the weights are not constant.
 */
function foldedConvBackward(
  c: RuleContext,
  conv: OnnxNode,
  planes: string[],
  pool: number[],
): { input: string; grad: string } | undefined {
  const [input, weightName] = conv.input ?? [];
  const weights = c.plan.floatConstant(weightName);
  const wDims = c.plan.constDims.get(weightName);
  if (!weights || !wDims || wDims.length !== 4 || !c.plan.differentiable.has(input)) return undefined;
  const [outC, inC, kh, kw] = wDims;
  const [ph, pw] = pool;
  const taps = ph * pw;
  const [fh, fw] = [kh + ph - 1, kw + pw - 1];
  // Folded kernel F[j·C + c, ci, u, v] = W[c, ci, u − a, v − b] for window position j = (a, b).
  const folded = new Float32Array(taps * outC * inC * fh * fw);
  for (let j = 0; j < taps; j++) {
    const [a, b] = [Math.floor(j / pw), j % pw];
    for (let o = 0; o < outC; o++) {
      for (let i = 0; i < inC; i++) {
        for (let u = 0; u < kh; u++) {
          for (let v = 0; v < kw; v++) {
            const to = (((j * outC + o) * inC + i) * fh + u + a) * fw + v + b;
            folded[to] = weights[((o * inC + i) * kh + u) * kw + v];
          }
        }
      }
    }
  }
  const convAttrs = new Attrs(conv);
  const pads = convAttrs.ints('pads') ?? [0, 0, 0, 0];
  const inDims = c.shape(input);
  const convOut = c.shape((conv.output ?? [])[0]);
  const pooled = c.shape(Y(c));
  // Conv output rows the pool leaves out (r) come off the end padding, or become output_padding.
  const ends = [0, 1].map((d) => {
    const rest = convOut[2 + d] - pooled[2 + d] * pool[d];
    const end = pads[2 + d];
    return end >= rest ? { pad: end - rest, extra: 0 } : { pad: 0, extra: rest - end };
  });
  const size = [0, 1].map((d) => pool[d] * (pooled[2 + d] - 1) + ends[d].extra + [fh, fw][d] - pads[d] - ends[d].pad);
  if (size[0] !== inDims[2] || size[1] !== inDims[3]) return undefined;
  const grad = c.w.one(
    'ConvTranspose',
    [c.w.one('Concat', planes, { axis: 1 }), c.w.floats(folded, [taps * outC, inC, fh, fw])],
    {
      kernel_shape: [fh, fw],
      strides: pool,
      pads: [pads[0], pads[1], ends[0].pad, ends[1].pad],
      output_padding: [ends[0].extra, ends[1].extra],
    },
  );
  return { input, grad };
}

const averagePool: Rule = (c) => {
  const xDims = c.shape(X(c));
  const yDims = c.shape(Y(c));
  if (xDims.length !== 4) fail(c, 'only 2-D pooling is supported');
  const kernel = c.attrs.ints('kernel_shape') ?? fail(c, 'kernel_shape is required');
  const strides = c.attrs.ints('strides') ?? [1, 1];
  const pads = windowPads(c, kernel, strides, [1, 1], xDims.slice(2));
  const includePad = c.attrs.int('count_include_pad', 0) === 1;
  // Divisor of each output position: the real (or, with count_include_pad, padded) pixels in its window.
  const counts = (axis: number) =>
    Array.from({ length: yDims[2 + axis] }, (_, i) => {
      const start = i * strides[axis] - pads[axis];
      const lo = includePad ? -pads[axis] : 0;
      const hi = includePad ? xDims[2 + axis] + pads[2 + axis] : xDims[2 + axis];
      return Math.min(start + kernel[axis], hi) - Math.max(start, lo);
    });
  const [rows, cols] = [counts(0), counts(1)];
  const inverse = rows.flatMap((r) => cols.map((q) => 1 / (r * q)));
  const scaled = times(c, c.g, c.w.floats(inverse, [1, 1, yDims[2], yDims[3]]));
  const channels = xDims[1];
  const ones = c.w.floats(new Float32Array(channels * kernel[0] * kernel[1]).fill(1), [channels, 1, ...kernel]);
  return [transposedWindow(c, scaled, ones, kernel, channels)];
};

const globalAveragePool: Rule = (c) => {
  const spatial = c.shape(X(c)).slice(2);
  const scaled = times(c, c.g, c.w.scalar(1 / spatial.reduce((a, b) => a * b, 1)));
  return [c.w.one('Expand', [scaled, c.w.shapeOf(X(c))])];
};

const globalMaxPool: Rule = (c) => [
  // Like tf.max's gradient: every position equal to the maximum gets it.
  times(c, c.g, c.w.one('Cast', [c.w.one('Equal', [X(c), Y(c)])], { to: 1 })),
];

const batchNorm: Rule = (c) => {
  if ([1, 2, 3, 4].some((i) => c.dep(i))) fail(c, 'computed parameters are not supported');
  const [, scale, , , variance] = c.node.input ?? [];
  const { w } = c;
  // Inference: y = x · scale/√(var+ε) + shift, per channel (axis 1).
  const perChannel = w.one('Div', [
    scale,
    w.one('Sqrt', [w.one('Add', [variance, w.scalar(c.attrs.float('epsilon', 1e-5))])]),
  ]);
  const rank = c.shape(X(c)).length;
  const shaped = w.one('Reshape', [perChannel, w.int64s([-1, ...new Array(Math.max(0, rank - 2)).fill(1)])]);
  return [times(c, c.g, shaped)];
};

const gemm: Rule = (c) => {
  const [a, b, bias] = c.node.input ?? [];
  const alpha = c.attrs.float('alpha', 1);
  const beta = c.attrs.float('beta', 1);
  const transA = c.attrs.int('transA', 0);
  const transB = c.attrs.int('transB', 0);
  const { w, g } = c;
  const out: (string | undefined)[] = [];
  // Y = α·A'·B' + β·C with A' = op(A), B' = op(B): dA' = α·g·B'ᵀ, dB' = α·A'ᵀ·g.
  if (c.dep(0)) {
    out[0] = transA
      ? w.one('Gemm', [b, g], { alpha: { f: alpha }, transA: transB, transB: 1 })
      : w.one('Gemm', [g, b], { alpha: { f: alpha }, transB: transB ? 0 : 1 });
  }
  if (c.dep(1)) {
    out[1] = transB
      ? w.one('Gemm', [g, a], { alpha: { f: alpha }, transA: 1, transB: transA })
      : w.one('Gemm', [a, g], { alpha: { f: alpha }, transA: transA ? 0 : 1 });
  }
  if (c.dep(2)) out[2] = unbroadcast(c, beta === 1 ? g : times(c, g, w.scalar(beta)), bias);
  return out;
};

const matMul: Rule = (c) => {
  const [a, b] = c.node.input ?? [];
  const { w, g } = c;
  const rank = (v: string) => (c.dep(v === a ? 0 : 1) ? c.shape(v) : c.plan.constDims.get(v))?.length;
  const ra = rank(a);
  const rb = rank(b);
  if (ra === undefined || rb === undefined || ra < 2 || rb < 2)
    fail(c, 'only matrix (rank ≥ 2) operands are supported');
  const swapLast = (r: number) => [...Array(r - 2).keys(), r - 1, r - 2];
  const out: (string | undefined)[] = [];
  if (c.dep(0)) {
    if (rb > ra) fail(c, 'broadcasting the first operand is not supported');
    out[0] = w.one('MatMul', [g, w.one('Transpose', [b], { perm: swapLast(rb) })]);
  }
  if (c.dep(1)) {
    if (ra === rb) {
      if (
        c.dep(0) &&
        c.shape(a).join() !==
          c
            .shape(Y(c))
            .slice(0, -1)
            .concat(c.shape(a).at(-1) ?? 0)
            .join()
      ) {
        fail(c, 'broadcast batch dims are not supported');
      }
      out[1] = w.one('MatMul', [w.one('Transpose', [a], { perm: swapLast(ra) }), g]);
    } else if (rb === 2) {
      // A [..., M, K] against a shared B [K, N]: dB sums over every row of every batch.
      const k = c.dep(0) ? (c.shape(a).at(-1) as number) : (c.plan.constDims.get(a)?.at(-1) as number);
      const rowsA = w.one('Reshape', [a, w.int64s([-1, k])]);
      const rowsG = w.one('Reshape', [g, w.int64s([-1, c.shape(Y(c)).at(-1) as number])]);
      out[1] = w.one('Gemm', [rowsA, rowsG], { transA: 1 });
    } else {
      fail(c, 'broadcasting the second operand is not supported');
    }
  }
  return out;
};

/** The normalised softmax axis; it must be the last one (modernize() rewrites older opsets that way). */
function lastAxis(c: RuleContext): number {
  const rank = c.shape(Y(c)).length;
  const raw = c.attrs.int('axis', -1);
  const axis = raw < 0 ? raw + rank : raw;
  if (axis !== rank - 1) fail(c, `softmax over axis ${raw} of rank ${rank} is not supported (only the last axis)`);
  return axis;
}

const softmax: Rule = (c) => {
  const axes = c.w.int64s([lastAxis(c)]);
  // dx = y ⊙ (g − Σ g⊙y)
  const dot = c.w.one('ReduceSum', [times(c, c.g, Y(c)), axes], { keepdims: 1 });
  return [times(c, Y(c), c.w.one('Sub', [c.g, dot]))];
};

const logSoftmax: Rule = (c) => {
  const axes = c.w.int64s([lastAxis(c)]);
  // dx = g − softmax(x) · Σ g
  const total = c.w.one('ReduceSum', [c.g, axes], { keepdims: 1 });
  return [c.w.one('Sub', [c.g, times(c, c.w.one('Exp', [Y(c)]), total)])];
};

const transpose: Rule = (c) => {
  const rank = c.shape(X(c)).length;
  const perm = c.attrs.ints('perm') ?? [...Array(rank).keys()].reverse();
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => {
    inverse[p] = i;
  });
  return [c.w.one('Transpose', [c.g], { perm: inverse })];
};

const concat: Rule = (c) => {
  const inputs = c.node.input ?? [];
  const rank = c.shape(Y(c)).length;
  const raw = c.attrs.int('axis', 0);
  const axis = raw < 0 ? raw + rank : raw;
  if (axis === 0) fail(c, 'concatenation along the batch axis is not supported');
  const sizes = inputs.map((name, i) => (c.dep(i) ? c.shape(name) : c.plan.constDims.get(name))?.[axis]);
  if (sizes.some((s) => s === undefined)) fail(c, 'input sizes along the axis are unknown');
  const parts = c.w.op('Split', [c.g, c.w.int64s(sizes as number[])], { axis }, inputs.length);
  return parts.map((p, i) => (c.dep(i) ? p : undefined));
};

const reduceMean: Rule = (c) => {
  const xDims = c.shape(X(c));
  const axesInput = (c.node.input ?? [])[1];
  const given = axesInput ? c.plan.constInts.get(axesInput) : c.attrs.ints('axes');
  if (axesInput && !given) fail(c, 'axes must be constant');
  const axes = (given ?? [...xDims.keys()]).map((a) => (a < 0 ? a + xDims.length : a));
  if (axes.includes(0)) fail(c, 'averaging over the batch axis is not supported');
  const count = axes.reduce((p, a) => p * xDims[a], 1);
  const keep = c.attrs.int('keepdims', 1) === 1;
  const g = keep ? c.g : c.w.one('Unsqueeze', [c.g, c.w.int64s(axes)]);
  return [c.w.one('Expand', [times(c, g, c.w.scalar(1 / count)), c.w.shapeOf(X(c))])];
};

const clip: Rule = (c) => {
  const [x, lo, hi] = c.node.input ?? [];
  const { w } = c;
  // Like tf.clipByValue's gradient: passes where lo ≤ x ≤ hi.
  const conds = [
    lo ? w.one('GreaterOrEqual', [x, lo]) : undefined,
    hi ? w.one('LessOrEqual', [x, hi]) : undefined,
  ].filter((v): v is string => v !== undefined);
  if (conds.length === 0) return [c.g];
  return [masked(c, conds.length === 1 ? conds[0] : w.one('And', conds))];
};

const SELU_ALPHA = 1.6732632423543772;
const SELU_GAMMA = 1.0507009873554805;

/** Backward rules by op type (default domain). */
export const RULES: Record<string, Rule> = {
  Identity: passThrough,
  Dropout: passThrough,
  Cast: passThrough,
  // Relu: the gradient passes where the output is positive (reading y keeps Conv+Relu fusable).
  Relu: (c) => [c.plan.reluBeforePool.has(Y(c)) ? c.g : masked(c, positive(c, Y(c)))],
  LeakyRelu: (c) => [
    c.w.one('Where', [positive(c, X(c)), c.g, times(c, c.g, c.w.scalar(c.attrs.float('alpha', 0.01)))]),
  ],
  Elu: (c) => [
    c.w.one('Where', [
      positive(c, X(c)),
      c.g,
      times(c, c.g, c.w.one('Add', [Y(c), c.w.scalar(c.attrs.float('alpha', 1))])),
    ]),
  ],
  Selu: (c) => {
    const alpha = c.attrs.float('alpha', SELU_ALPHA);
    const gamma = c.attrs.float('gamma', SELU_GAMMA);
    const negative = times(c, c.g, c.w.one('Add', [Y(c), c.w.scalar(alpha * gamma)]));
    return [c.w.one('Where', [positive(c, X(c)), times(c, c.g, c.w.scalar(gamma)), negative])];
  },
  Sigmoid: unary((c, _x, y) => times(c, y, c.w.one('Sub', [c.w.scalar(1), y]))),
  Tanh: unary((c, _x, y) => c.w.one('Sub', [c.w.scalar(1), times(c, y, y)])),
  Softplus: unary((c, x) => c.w.one('Sigmoid', [x])),
  Exp: unary((_c, _x, y) => y),
  Log: (c) => [c.w.one('Div', [c.g, X(c)])],
  Neg: (c) => [c.w.one('Neg', [c.g])],
  Abs: unary((c, x) => c.w.one('Sign', [x])),
  Sqrt: (c) => [c.w.one('Div', [times(c, c.g, c.w.scalar(0.5)), Y(c)])],
  Reciprocal: (c) => [c.w.one('Neg', [times(c, c.g, times(c, Y(c), Y(c)))])],
  Erf: unary((c, x) =>
    times(c, c.w.one('Exp', [c.w.one('Neg', [times(c, x, x)])]), c.w.scalar(2 / Math.sqrt(Math.PI))),
  ),
  HardSigmoid: (c) => {
    const alpha = c.attrs.float('alpha', 0.2);
    const beta = c.attrs.float('beta', 0.5);
    // Like the clip the importer computes: passes (scaled by α) where 0 ≤ αx+β ≤ 1.
    const z = c.w.one('Add', [times(c, X(c), c.w.scalar(alpha)), c.w.scalar(beta)]);
    const inside = c.w.one('And', [
      c.w.one('GreaterOrEqual', [z, c.w.scalar(0)]),
      c.w.one('LessOrEqual', [z, c.w.scalar(1)]),
    ]);
    return [times(c, masked(c, inside), c.w.scalar(alpha))];
  },
  Clip: clip,
  Add: binaryRule,
  Sub: binaryRule,
  Mul: binaryRule,
  Div: binaryRule,
  Pow: binaryRule,
  Conv: conv,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  GlobalMaxPool: globalMaxPool,
  BatchNormalization: batchNorm,
  Gemm: gemm,
  MatMul: matMul,
  Softmax: softmax,
  LogSoftmax: logSoftmax,
  Flatten: reshapeBack,
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: transpose,
  Concat: concat,
  ReduceMean: reduceMean,
};

// ---- models ----

function valueInfo(name: string, dims: (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: 1,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function encode(
  plan: GradientPlan,
  w: GraphWriter,
  inputs: onnxProto.onnx.IValueInfoProto[],
  outputs: onnxProto.onnx.IValueInfoProto[],
): Uint8Array {
  const model = onnx.ModelProto.fromObject({
    irVersion: plan.irVersion,
    producerName: 'aegis-gradient',
    opsetImport: plan.opsetImports,
    graph: { name: 'gradient', input: inputs, output: outputs, initializer: w.initializers, node: w.nodes },
  });
  return onnx.ModelProto.encode(model).finish();
}

const batchDim = (plan: GradientPlan): number | string => plan.input.fixedBatch ?? 'N';

/** The forward graph with every differentiable value as an output, so one run reports their shapes. */
export function probeModel(plan: GradientPlan): { bytes: Uint8Array; outputs: string[] } {
  const outputs = [...plan.differentiable];
  const x = valueInfo(GRADIENT_IO.x, [batchDim(plan), ...plan.input.inputShape]);
  // Outputs without a declared type: ONNX Runtime infers them.
  return {
    bytes: encode(
      plan,
      plan.forward,
      [x],
      outputs.map((name) => ({ name })),
    ),
    outputs,
  };
}

/**
 * The gradient model: inputs x [N, ...inputShape] (NHWC for images) and onehot [N, K];
 * outputs logits [N, K] and grad [N, ...inputShape]. `shapes` are the probed dims of every
 * value in `plan.differentiable`.
 */
export function gradientModel(plan: GradientPlan, shapes: Map<string, number[]>, numClasses: number): Uint8Array {
  const w = plan.forward.clone();
  const grads = new Map<string, string[]>();
  const add = (name: string, g: string) => grads.set(name, [...(grads.get(name) ?? []), g]);
  const total = (name: string): string | undefined => {
    const parts = grads.get(name);
    if (!parts) return undefined;
    return parts.length === 1 ? parts[0] : w.one('Sum', parts);
  };
  const shape = (name: string) => {
    const s = shapes.get(name);
    if (!s) unsupported(`the probe run gave no shape for '${name.slice(PREFIX.length)}'`);
    return s;
  };

  w.push({ name: 'logits', opType: 'Identity', input: [plan.logits], output: [GRADIENT_IO.logits] });
  // ∂(Σ softmax cross-entropy)/∂logits = softmax(logits) − onehot.
  add(plan.logits, w.one('Sub', [w.one('Softmax', [plan.logits], { axis: -1 }), GRADIENT_IO.oneHot]));
  for (let i = plan.active.length - 1; i >= 0; i--) {
    const node = plan.active[i];
    const g = total((node.output ?? [])[0]);
    if (g === undefined) continue; // its output only feeds shape computations
    const inputs = node.input ?? [];
    const rule = RULES[node.opType ?? ''];
    const dx = rule({
      w,
      node,
      attrs: new Attrs(node),
      g,
      dep: (k) => plan.differentiable.has(inputs[k] ?? ''),
      shape,
      addGradient: add,
      plan,
    });
    inputs.forEach((name, k) => {
      const d = dx[k];
      if (d !== undefined && plan.differentiable.has(name)) add(name, d);
    });
  }
  const gx = total(plan.modelInput);
  if (gx === undefined) unsupported('no gradient reaches the input');
  if (plan.input.layout === 'nchw') {
    w.push({
      name: 'grad',
      opType: 'Transpose',
      input: [gx],
      output: [GRADIENT_IO.grad],
      attribute: [attribute('perm', [0, 2, 3, 1])],
    });
  } else {
    w.push({ name: 'grad', opType: 'Identity', input: [gx], output: [GRADIENT_IO.grad] });
  }
  const n = batchDim(plan);
  return encode(
    plan,
    w,
    [valueInfo(GRADIENT_IO.x, [n, ...plan.input.inputShape]), valueInfo(GRADIENT_IO.oneHot, [n, numClasses])],
    [valueInfo(GRADIENT_IO.logits, [n, numClasses]), valueInfo(GRADIENT_IO.grad, [n, ...plan.input.inputShape])],
  );
}
