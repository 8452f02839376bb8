/**
 * ONNX operators (https://onnx.ai/onnx/operators/) as differentiable tfjs ops, for the
 * ONNX → tfjs importer. Image activations run NHWC (the fast layout on tfjs's wasm
 * backend) while the graph speaks NCHW: a 4-D value flagged `nhwc` holds the transpose
 * [0,2,3,1] of the logical NCHW tensor, and ops that are not layout-aware get the logical
 * tensor back (a transpose, or a free reshape when H=W=1 or C=1).
 */
import { AegisInputError } from '../core/errors.js';
import { tf } from '../core/runtime.js';
import type { Attrs, ConstValue, OnnxNode } from './onnx-graph.js';

/** A graph value: a tensor (maybe stored NHWC), or a small host-side integer tensor (shapes, axes). */
export type Value =
  | { kind: 'tensor'; t: tf.Tensor; nhwc: boolean; constName?: string }
  | { kind: 'ints'; values: number[]; dims: number[] };

export interface OpContext {
  opset: number;
  /** A persistent tensor, made on first use and kept until the model is disposed. */
  cached(key: string, make: () => tf.Tensor): tf.Tensor;
  /** Host values of an initializer or Constant, by name. */
  constant(name: string): ConstValue | undefined;
  /** Use fused kernels (conv/matmul + bias + relu in one call); only when no gradient tape records. */
  fused: boolean;
}

export interface NodeInfo {
  node: OnnxNode;
  attrs: Attrs;
  /** Unique per node (cache keys). */
  id: string;
  /** A Conv or Gemm whose only consumer is a Relu: in fused mode it applies the Relu itself. */
  fuseRelu?: boolean;
  /**
   * A Conv whose output only goes through a Relu into this MaxPool: when not fused, the Conv pools
   * its raw output, then adds the bias and applies the Relu (the two nodes after it pass it on).
   */
  poolFirst?: NodeInfo;
}

export type OpImpl = (inputs: (Value | undefined)[], n: NodeInfo, ctx: OpContext) => (Value | undefined)[];

const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];

function fail(n: NodeInfo, message: string): never {
  throw new AegisInputError(`ONNX node '${n.node.name || n.id}' (${n.node.opType}): ${message}`);
}

const tensorValue = (t: tf.Tensor, nhwc = false): Value => ({ kind: 'tensor', t, nhwc });

/** Logical (ONNX) shape of a value. */
export function shapeOf(v: Value): number[] {
  if (v.kind === 'ints') return v.dims;
  if (v.nhwc) {
    const [b, h, w, c] = v.t.shape;
    return [b, c, h, w];
  }
  return v.t.shape;
}

function need(v: Value | undefined, n: NodeInfo, which = 'input'): Value {
  if (!v) fail(n, `missing ${which}`);
  return v;
}

/** The logical tensor (NCHW for images). */
export function plain(v: Value): tf.Tensor {
  if (v.kind === 'ints') return tf.tensor(v.values, v.dims, 'float32');
  if (!v.nhwc) return v.t;
  const [b, h, w, c] = v.t.shape;
  if (c === 1 || (h === 1 && w === 1)) return tf.reshape(v.t, [b, c, h, w]);
  return tf.transpose(v.t, NHWC_TO_NCHW);
}

/** The physical NHWC tensor of a rank-4 value. */
function nhwcOf(v: Value, n: NodeInfo): tf.Tensor4D {
  if (v.kind === 'tensor' && v.nhwc) return v.t as tf.Tensor4D;
  const t = plain(v);
  if (t.rank !== 4) fail(n, `needs a 4-D (NCHW) input, got shape [${t.shape}]`);
  const [b, c, h, w] = t.shape;
  if (c === 1 || (h === 1 && w === 1)) return tf.reshape(t, [b, h, w, c]);
  return tf.transpose(t, NCHW_TO_NHWC) as tf.Tensor4D;
}

function ints(v: Value | undefined, n: NodeInfo, what: string, ctx: OpContext): number[] {
  if (!v) fail(n, `missing ${what}`);
  if (v.kind === 'ints') return v.values;
  const c = v.constName ? ctx.constant(v.constName) : undefined;
  if (c) return Array.from(c.values);
  return fail(n, `${what} must be constant (computed ${what}s are not supported)`);
}

function scalarOf(v: Value | undefined, ctx: OpContext): number | undefined {
  if (!v) return undefined;
  if (v.kind === 'ints') return v.values[0];
  const c = v.constName ? ctx.constant(v.constName) : undefined;
  return c && c.values.length === 1 ? c.values[0] : undefined;
}

const normAxis = (a: number, rank: number) => (a < 0 ? a + rank : a);

// ---- elementwise ----

function unary(f: (t: tf.Tensor, n: NodeInfo) => tf.Tensor): OpImpl {
  return ([x], n) => {
    const v = need(x, n);
    if (v.kind === 'ints') return [tensorValue(f(plain(v), n))];
    return [tensorValue(f(v.t, n), v.nhwc)];
  };
}

/** A constant operand rearranged to broadcast against an NHWC-stored 4-D tensor. */
function constToNhwc(v: Value & { kind: 'tensor' }, ctx: OpContext): tf.Tensor {
  const key = `${v.constName}:nhwc`;
  return ctx.cached(key, () => {
    const s = v.t.shape;
    const four = [...Array(4 - s.length).fill(1), ...s];
    return tf.transpose(tf.reshape(v.t, four), NCHW_TO_NHWC);
  });
}

function binary(f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, host?: (a: number, b: number) => number): OpImpl {
  return ([a0, b0], n, ctx) => {
    const a = need(a0, n, 'first input');
    const b = need(b0, n, 'second input');
    if (host && a.kind === 'ints' && b.kind === 'ints') {
      // Shape arithmetic stays on the host.
      const len = Math.max(a.values.length, b.values.length);
      const at = (v: number[], i: number) => (v.length === 1 ? v[0] : v[i]);
      const values = Array.from({ length: len }, (_, i) => host(at(a.values, i), at(b.values, i)));
      return [{ kind: 'ints', values, dims: a.values.length >= b.values.length ? a.dims : b.dims }];
    }
    const aNhwc = a.kind === 'tensor' && a.nhwc;
    const bNhwc = b.kind === 'tensor' && b.nhwc;
    if (aNhwc && bNhwc) return [tensorValue(f(a.t, b.t), true)];
    if (aNhwc && b.kind === 'tensor' && b.constName && b.t.rank <= 4) {
      return [tensorValue(f(a.t, constToNhwc(b, ctx)), true)];
    }
    if (bNhwc && a.kind === 'tensor' && a.constName && a.t.rank <= 4) {
      return [tensorValue(f(constToNhwc(a, ctx), b.t), true)];
    }
    return [tensorValue(f(plain(a), plain(b)))];
  };
}

function powOp(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.pow(a, b);
}

// ---- convolution and pooling ----

interface Window {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
}

function pair(v: number[] | undefined, fallback: number, n: NodeInfo, what: string): [number, number] {
  if (!v) return [fallback, fallback];
  if (v.length !== 2) fail(n, `only 2-D ${what} are supported, got [${v}]`);
  return [v[0], v[1]];
}

/** Padding per ONNX: explicit `pads`, or auto_pad SAME_UPPER / SAME_LOWER / VALID. */
function windowOf(n: NodeInfo, kernel: [number, number], inH: number, inW: number): Window {
  const strides = pair(n.attrs.ints('strides'), 1, n, 'strides');
  const dilations = pair(n.attrs.ints('dilations'), 1, n, 'dilations');
  const auto = n.attrs.string('auto_pad', 'NOTSET');
  let pads: [number, number, number, number] = [0, 0, 0, 0];
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const total = [inH, inW].map((size, i) => {
      const out = Math.ceil(size / strides[i]);
      return Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size);
    });
    const small = total.map((t) => Math.floor(t / 2));
    const big = total.map((t, i) => t - small[i]);
    pads = auto === 'SAME_UPPER' ? [small[0], small[1], big[0], big[1]] : [big[0], big[1], small[0], small[1]];
  } else if (auto === 'NOTSET') {
    const p = n.attrs.ints('pads') ?? [0, 0, 0, 0];
    if (p.length !== 4) fail(n, `only 2-D pads are supported, got [${p}]`);
    pads = [p[0], p[1], p[2], p[3]];
  } else if (auto !== 'VALID') {
    fail(n, `unknown auto_pad '${auto}'`);
  }
  return { kernel, strides, dilations, pads };
}

type TfPad = 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

function tfPad([t, l, b, r]: Window['pads']): TfPad {
  if (t === 0 && l === 0 && b === 0 && r === 0) return 'valid';
  if (t === l && t === b && t === r) return t;
  return [
    [0, 0],
    [t, b],
    [l, r],
    [0, 0],
  ];
}

const conv: OpImpl = ([x0, w0, b0], n, ctx) => {
  const x = nhwcOf(need(x0, n), n);
  const w = need(w0, n, 'weights');
  if (w.kind !== 'tensor' || w.t.rank !== 4) fail(n, `only 2-D convolutions are supported (weights [${shapeOf(w)}])`);
  const [outC, inPerGroup, kh, kw] = w.t.shape;
  const group = n.attrs.int('group', 1);
  if (inPerGroup * group !== x.shape[3]) {
    fail(n, `weights [${w.t.shape}] with group ${group} do not fit ${x.shape[3]} input channels`);
  }
  const win = windowOf(n, [kh, kw], x.shape[1], x.shape[2]);
  if (win.dilations.some((d) => d !== 1) && win.strides.some((s) => s !== 1)) {
    fail(n, 'dilation together with stride > 1 is not supported by tfjs');
  }
  // OIHW → HWIO once per weight tensor.
  const hwio = () => tf.transpose(w.t, [2, 3, 1, 0]) as tf.Tensor4D;
  const filter = (w.constName ? ctx.cached(`${w.constName}:hwio`, hwio) : hwio()) as tf.Tensor4D;
  const pad = tfPad(win.pads);
  const bias = b0 ? plain(b0) : undefined;
  if (bias && bias.size !== outC) fail(n, `bias has ${bias.size} values for ${outC} output channels`);
  // Fused kernels add the bias and Relu for free, so pooling first pays off only without them.
  const pool = ctx.fused ? undefined : n.poolFirst;
  if (ctx.fused && group === 1) {
    const activation = n.fuseRelu ? 'relu' : 'linear';
    const y = tf.fused.conv2d({ x, filter, strides: win.strides, pad, dilations: win.dilations, bias, activation });
    return [tensorValue(y, true)];
  }
  const run = (xi: tf.Tensor4D, fi: tf.Tensor4D) => tf.conv2d(xi, fi, win.strides, pad, 'NHWC', win.dilations);
  let y: tf.Tensor4D;
  if (group === 1) {
    y = run(x, filter);
  } else {
    const xs = tf.split(x, group, 3);
    const fs = tf.split(filter, group, 3);
    y = tf.concat(
      xs.map((xi, i) => run(xi as tf.Tensor4D, fs[i] as tf.Tensor4D)),
      3,
    ) as tf.Tensor4D;
  }
  if (pool) {
    // max(a + b) = max(a) + b and max(relu(a)) = relu(max(a)), exactly also in float32 (rounding is
    // monotone), so the bias and Relu can work on the pooled map (4× smaller for 2×2 pooling). The
    // gradient goes to the first maximum of a, which is the first maximum of relu(a + b) (PyTorch's
    // choice) wherever the Relu lets a gradient through, unless rounding a + b ties two unequal a
    // (then it goes to the larger; none of the reference CNN's 200 fixture images has such a tie).
    y = maxPoolNhwc(y, poolWindow(y, pool));
    return [tensorValue(tf.relu(bias ? tf.add(y, bias) : y), true)];
  }
  if (bias) y = tf.add(y, bias);
  if (ctx.fused && n.fuseRelu) y = tf.relu(y);
  return [tensorValue(y, true)];
};

/** Extra end padding so a ceil_mode window count matches ONNX (last window starts inside the input). */
function ceilExtra(size: number, k: number, s: number, padBegin: number, padEnd: number): number {
  const span = size + padBegin + padEnd - k;
  let out = Math.ceil(span / s) + 1;
  if ((out - 1) * s >= size + padBegin) out--;
  return Math.max(0, (out - 1) * s + k - (size + padBegin + padEnd));
}

function poolWindow(x: tf.Tensor4D, n: NodeInfo): Window {
  const kernel = pair(n.attrs.ints('kernel_shape'), 0, n, 'kernels');
  if (kernel[0] <= 0) fail(n, 'kernel_shape is required');
  const win = windowOf(n, kernel, x.shape[1], x.shape[2]);
  if (win.dilations.some((d) => d !== 1)) fail(n, 'dilated pooling is not supported');
  if (n.attrs.int('ceil_mode', 0) === 1) {
    const [t, l, b, r] = win.pads;
    win.pads = [
      t,
      l,
      b + ceilExtra(x.shape[1], kernel[0], win.strides[0], t, b),
      r + ceilExtra(x.shape[2], kernel[1], win.strides[1], l, r),
    ];
  }
  return win;
}

function padded(x: tf.Tensor4D, [t, l, b, r]: Window['pads'], value: number): tf.Tensor4D {
  if (t === 0 && l === 0 && b === 0 && r === 0) return x;
  return tf.pad(
    x,
    [
      [0, 0],
      [t, b],
      [l, r],
      [0, 0],
    ],
    value,
  );
}

const maxPool: OpImpl = ([x0], n) => {
  if (n.node.output && n.node.output.length > 1 && n.node.output[1]) fail(n, 'the Indices output is not supported');
  const x = nhwcOf(need(x0, n), n);
  return [tensorValue(maxPoolNhwc(x, poolWindow(x, n)), true)];
};

/**
 * tf.maxPool over explicitly padded input. ONNX pads with −∞, which we add ourselves so every
 * backend treats padding alike; the registered MaxPool gradient (core/pool-gradients.ts) sends
 * each window's gradient to its first maximum, as PyTorch and ONNX Runtime do.
 */
function maxPoolNhwc(x: tf.Tensor4D, win: Window): tf.Tensor4D {
  return tf.maxPool(padded(x, win.pads, Number.NEGATIVE_INFINITY), win.kernel, win.strides, 'valid');
}

const averagePool: OpImpl = ([x0], n, ctx) => {
  const x = nhwcOf(need(x0, n), n);
  const declared = windowOf(n, pair(n.attrs.ints('kernel_shape'), 1, n, 'kernels'), x.shape[1], x.shape[2]).pads;
  const win = poolWindow(x, n);
  const ceilPadded = win.pads.some((p, i) => p !== declared[i]);
  const includePad = n.attrs.int('count_include_pad', 0) === 1;
  if (includePad && ceilPadded) fail(n, 'count_include_pad together with ceil_mode is not supported');
  const mean = tf.avgPool(padded(x, win.pads, 0), win.kernel, win.strides, 'valid');
  if (includePad || win.pads.every((p) => p === 0)) return [tensorValue(mean, true)];
  // Padding must not count: divide by the share of real pixels in each window.
  const [, h, w] = x.shape;
  const share = ctx.cached(`${n.id}:share:${h}x${w}`, () =>
    tf.avgPool(padded(tf.ones([1, h, w, 1]) as tf.Tensor4D, win.pads, 0), win.kernel, win.strides, 'valid'),
  );
  return [tensorValue(tf.div(mean, share), true)];
};

const globalAveragePool: OpImpl = ([x0], n) => [tensorValue(tf.mean(nhwcOf(need(x0, n), n), [1, 2], true), true)];
const globalMaxPool: OpImpl = ([x0], n) => [tensorValue(tf.max(nhwcOf(need(x0, n), n), [1, 2], true), true)];

const batchNorm: OpImpl = ([x0, scale, bias, mean, variance], n, ctx) => {
  const x = need(x0, n);
  const eps = n.attrs.float('epsilon', 1e-5);
  const params = [scale, bias, mean, variance].map((v) => plain(need(v, n, 'parameter')));
  const rank = shapeOf(x).length;
  const nhwc = x.kind === 'tensor' && x.nhwc;
  const channels = params[0].size;
  // Folded once: y = x * s + (bias - mean * s), s = scale / sqrt(var + eps); shaped for the channel axis.
  const shape = nhwc ? [channels] : [channels, ...Array(Math.max(0, rank - 2)).fill(1)];
  const s = ctx.cached(`${n.id}:scale:${shape.length}`, () =>
    tf.reshape(tf.div(params[0], tf.sqrt(tf.add(params[3], eps))), shape),
  );
  const shift = ctx.cached(`${n.id}:shift:${shape.length}`, () =>
    tf.reshape(tf.sub(params[1], tf.mul(params[2], tf.div(params[0], tf.sqrt(tf.add(params[3], eps))))), shape),
  );
  const t = nhwc ? (x as Value & { kind: 'tensor' }).t : plain(x);
  return [tensorValue(tf.add(tf.mul(t, s), shift), nhwc)];
};

// ---- dense ----

const gemm: OpImpl = ([a0, b0, c0], n, ctx) => {
  let a = plain(need(a0, n));
  const b = need(b0, n, 'B');
  if (a.rank !== 2) fail(n, `input A must be 2-D, got [${a.shape}]`);
  const alpha = n.attrs.float('alpha', 1);
  const beta = n.attrs.float('beta', 1);
  const transB = n.attrs.int('transB', 0) === 1;
  if (n.attrs.int('transA', 0) === 1) a = tf.transpose(a);
  // B as [K, N] scaled by alpha, and beta * C: made once when they are constants.
  const makeB = () => {
    const bt = plain(b);
    const oriented = transB ? tf.transpose(bt) : bt;
    return alpha === 1 ? oriented : tf.mul(oriented, alpha);
  };
  const bk = b.kind === 'tensor' && b.constName ? ctx.cached(`${n.id}:B`, makeB) : makeB();
  const makeC = (c: Value) => (beta === 1 ? plain(c) : tf.mul(plain(c), beta));
  const c =
    !c0 || beta === 0
      ? undefined
      : c0.kind === 'tensor' && c0.constName
        ? ctx.cached(`${n.id}:C`, () => makeC(c0))
        : makeC(c0);
  if (ctx.fused) {
    const activation = n.fuseRelu ? 'relu' : 'linear';
    return [tensorValue(tf.fused.matMul({ a: a as tf.Tensor2D, b: bk as tf.Tensor2D, bias: c, activation }))];
  }
  const y = tf.matMul(a as tf.Tensor2D, bk as tf.Tensor2D);
  return [tensorValue(c ? tf.add(y, c) : y)];
};

const matMul: OpImpl = ([a0, b0], n) => {
  let a = plain(need(a0, n));
  let b = plain(need(b0, n));
  const aVec = a.rank === 1;
  const bVec = b.rank === 1;
  if (aVec) a = tf.reshape(a, [1, a.shape[0]]);
  if (bVec) b = tf.reshape(b, [b.shape[0], 1]);
  let y = tf.matMul(a, b);
  if (aVec || bVec) {
    const s = y.shape.slice();
    if (bVec) s.splice(s.length - 1, 1);
    if (aVec) s.splice(s.length - (bVec ? 1 : 2), 1);
    y = tf.reshape(y, s);
  }
  return [tensorValue(y)];
};

// ---- softmax ----

function softmaxLike(f: (t: tf.Tensor) => tf.Tensor): OpImpl {
  return ([x0], n, ctx) => {
    const t = plain(need(x0, n));
    const rank = t.rank;
    if (ctx.opset < 13) {
      // Opset < 13: softmax over the dims from `axis` on, flattened (default axis 1).
      const axis = normAxis(n.attrs.int('axis', 1), rank);
      const rows = t.shape.slice(0, axis).reduce((p, d) => p * d, 1);
      return [tensorValue(tf.reshape(f(tf.reshape(t, [rows, t.size / rows])), t.shape))];
    }
    const axis = normAxis(n.attrs.int('axis', -1), rank);
    if (axis === rank - 1) return [tensorValue(f(t))];
    const perm = [...Array(rank).keys()];
    perm[axis] = rank - 1;
    perm[rank - 1] = axis;
    return [tensorValue(tf.transpose(f(tf.transpose(t, perm)), perm))];
  };
}

// ---- shapes ----

function reshapeTarget(input: number[], spec: number[], allowZero: boolean, n: NodeInfo): number[] {
  const out = spec.map((d, i) => (d === 0 && !allowZero ? input[i] : d));
  const total = input.reduce((a, b) => a * b, 1);
  const minus = out.indexOf(-1);
  if (minus >= 0) {
    const known = out.reduce((a, d, i) => (i === minus ? a : a * d), 1);
    out[minus] = known === 0 ? 0 : total / known;
  }
  if (out.reduce((a, b) => a * b, 1) !== total || out.some((d) => !Number.isInteger(d) || d < 0)) {
    fail(n, `cannot reshape [${input}] to [${spec}] (does the graph fix the batch size?)`);
  }
  return out;
}

const reshape: OpImpl = ([x0, s0], n, ctx) => {
  const x = need(x0, n);
  const spec = ints(s0, n, 'shape', ctx);
  const target = reshapeTarget(shapeOf(x), spec, n.attrs.int('allowzero', 0) === 1, n);
  if (x.kind === 'ints') return [{ kind: 'ints', values: x.values, dims: target }];
  return [tensorValue(tf.reshape(plain(x), target))];
};

const flatten: OpImpl = ([x0], n) => {
  const t = plain(need(x0, n));
  const axis = normAxis(n.attrs.int('axis', 1), t.rank);
  const rows = t.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  return [tensorValue(tf.reshape(t, [rows, rows === 0 ? 0 : t.size / rows]))];
};

const transpose: OpImpl = ([x0], n) => {
  const x = need(x0, n);
  const rank = shapeOf(x).length;
  const perm = n.attrs.ints('perm') ?? [...Array(rank).keys()].reverse();
  if (x.kind === 'ints') fail(n, 'transposing a shape tensor is not supported');
  if (x.nhwc) {
    // logical = physical^[0,3,1,2], so out = physical^(compose).
    const composed = perm.map((p) => NHWC_TO_NCHW[p]);
    if (composed.every((p, i) => p === i)) return [tensorValue(x.t)];
    return [tensorValue(tf.transpose(x.t, composed))];
  }
  // NHWC → NCHW in the graph (e.g. a Keras export): keep the data, flag it NHWC.
  if (rank === 4 && perm.join() === NHWC_TO_NCHW.join()) return [tensorValue(x.t, true)];
  return [tensorValue(tf.transpose(x.t, perm))];
};

function axesOf(inputs: (Value | undefined)[], n: NodeInfo, ctx: OpContext): number[] | undefined {
  if (ctx.opset >= 13 && inputs[1]) return ints(inputs[1], n, 'axes', ctx);
  return n.attrs.ints('axes');
}

const squeeze: OpImpl = (inputs, n, ctx) => {
  const x = need(inputs[0], n);
  const shape = shapeOf(x);
  const axes = (axesOf(inputs, n, ctx) ?? shape.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) =>
    normAxis(a, shape.length),
  );
  if (axes.some((a) => shape[a] !== 1)) fail(n, `cannot squeeze axes [${axes}] of shape [${shape}]`);
  const target = shape.filter((_, i) => !axes.includes(i));
  if (x.kind === 'ints') return [{ kind: 'ints', values: x.values, dims: target }];
  return [tensorValue(tf.reshape(plain(x), target))];
};

const unsqueeze: OpImpl = (inputs, n, ctx) => {
  const x = need(inputs[0], n);
  const shape = shapeOf(x);
  const axesRaw = axesOf(inputs, n, ctx);
  if (!axesRaw) fail(n, 'axes are required');
  const rank = shape.length + axesRaw.length;
  const axes = axesRaw.map((a) => normAxis(a, rank));
  const target: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) target.push(axes.includes(i) ? 1 : shape[k++]);
  if (x.kind === 'ints') return [{ kind: 'ints', values: x.values, dims: target }];
  return [tensorValue(tf.reshape(plain(x), target))];
};

const concat: OpImpl = (inputs, n) => {
  const vs = inputs.filter((v): v is Value => v !== undefined);
  if (vs.length === 0) fail(n, 'no inputs');
  const rank = shapeOf(vs[0]).length;
  const axis = normAxis(n.attrs.int('axis', 0), rank);
  if (vs.every((v) => v.kind === 'ints')) {
    if (rank !== 1) fail(n, 'only 1-D integer tensors can be concatenated');
    const values = vs.flatMap((v) => (v.kind === 'ints' ? v.values : []));
    return [{ kind: 'ints', values, dims: [values.length] }];
  }
  if (vs.every((v) => v.kind === 'tensor' && v.nhwc)) {
    const physical = [0, 3, 1, 2][axis];
    return [
      tensorValue(
        tf.concat(
          vs.map((v) => (v as Value & { kind: 'tensor' }).t),
          physical,
        ),
        true,
      ),
    ];
  }
  return [
    tensorValue(
      tf.concat(
        vs.map((v) => plain(v)),
        axis,
      ),
    ),
  ];
};

const shapeOp: OpImpl = ([x0], n) => {
  const shape = shapeOf(need(x0, n));
  const start = normAxis(n.attrs.int('start', 0), shape.length);
  const end = n.attrs.has('end') ? normAxis(n.attrs.int('end', shape.length), shape.length) : shape.length;
  const values = shape.slice(start, end);
  return [{ kind: 'ints', values, dims: [values.length] }];
};

const gather: OpImpl = ([x0, i0], n, ctx) => {
  const x = need(x0, n);
  const idx = need(i0, n, 'indices');
  const indexValues = ints(idx, n, 'indices', ctx);
  const indexDims = idx.kind === 'ints' ? idx.dims : shapeOf(idx);
  const shape = shapeOf(x);
  const axis = normAxis(n.attrs.int('axis', 0), shape.length);
  const fixed = indexValues.map((i) => (i < 0 ? i + shape[axis] : i));
  if (x.kind === 'ints') {
    if (shape.length !== 1) fail(n, 'only 1-D integer tensors can be gathered from');
    return [{ kind: 'ints', values: fixed.map((i) => x.values[i]), dims: indexDims }];
  }
  const t = tf.gather(plain(x), tf.tensor(fixed, indexDims, 'int32'), axis);
  return [tensorValue(t)];
};

const FLOAT_TYPES = new Set([1, 10, 11, 16]);

const cast: OpImpl = ([x0], n) => {
  const x = need(x0, n);
  const toFloat = FLOAT_TYPES.has(n.attrs.int('to', 1));
  if (x.kind === 'ints') return [toFloat ? tensorValue(plain(x)) : x];
  if (toFloat) return [x];
  // Float → integer truncates toward zero; keep float32 storage for the following ops.
  return [tensorValue(tf.cast(tf.cast(x.t, 'int32'), 'float32'), x.nhwc)];
};

const clip: OpImpl = (inputs, n, ctx) => {
  const x = need(inputs[0], n);
  const lo = ctx.opset < 11 ? n.attrs.float('min', -3.4028234663852886e38) : (scalarOf(inputs[1], ctx) ?? -Infinity);
  const hi = ctx.opset < 11 ? n.attrs.float('max', 3.4028234663852886e38) : (scalarOf(inputs[2], ctx) ?? Infinity);
  if ((inputs[1] && scalarOf(inputs[1], ctx) === undefined) || (inputs[2] && scalarOf(inputs[2], ctx) === undefined)) {
    fail(n, 'min/max must be constant scalars');
  }
  const t = x.kind === 'tensor' ? x.t : plain(x);
  return [tensorValue(tf.clipByValue(t, Math.max(lo, -3.4e38), Math.min(hi, 3.4e38)), x.kind === 'tensor' && x.nhwc)];
};

const reduceMean: OpImpl = (inputs, n, ctx) => {
  const x = need(inputs[0], n);
  const rank = shapeOf(x).length;
  const keep = n.attrs.int('keepdims', 1) === 1;
  const given = ctx.opset >= 18 && inputs[1] ? ints(inputs[1], n, 'axes', ctx) : n.attrs.ints('axes');
  const axes = (given ?? [...Array(rank).keys()]).map((a) => normAxis(a, rank)).sort();
  if (x.kind === 'tensor' && x.nhwc && keep && axes.join() === '2,3') {
    return [tensorValue(tf.mean(x.t, [1, 2], true), true)];
  }
  return [tensorValue(tf.mean(plain(x), axes, keep))];
};

/** ONNX's Selu defaults, the constants of Klambauer et al. 2017 (rounded to float32 when applied). */
const SELU_ALPHA = 1.6732632423543772;
const SELU_GAMMA = 1.0507009873554805;

/**
 * x for x > 0, α·(exp(x) − 1) otherwise, as relu(x) + α·(exp(min(x, 0)) − 1): unlike tf.where
 * on a comparison, tfjs can differentiate it (Greater has no gradient), and exp never overflows
 * for large x (whose 0 · ∞ would make the gradient NaN).
 */
function elu(t: tf.Tensor, alpha: number): tf.Tensor {
  if (alpha === 1) return tf.elu(t);
  return tf.add(tf.relu(t), tf.mul(tf.sub(tf.exp(tf.minimum(t, 0)), 1), alpha));
}

const passThrough: OpImpl = ([x0], n) => [need(x0, n)];

/** Every supported op type (default domain). */
export const OPS: Record<string, OpImpl> = {
  Conv: conv,
  Relu: unary((t) => tf.relu(t)),
  LeakyRelu: unary((t, n) => tf.leakyRelu(t, n.attrs.float('alpha', 0.01))),
  Sigmoid: unary((t) => tf.sigmoid(t)),
  Tanh: unary((t) => tf.tanh(t)),
  Elu: unary((t, n) => elu(t, n.attrs.float('alpha', 1))),
  Selu: unary((t, n) => tf.mul(elu(t, n.attrs.float('alpha', SELU_ALPHA)), n.attrs.float('gamma', SELU_GAMMA))),
  Softplus: unary((t) => tf.softplus(t)),
  Exp: unary((t) => tf.exp(t)),
  Log: unary((t) => tf.log(t)),
  Neg: unary((t) => tf.neg(t)),
  Abs: unary((t) => tf.abs(t)),
  Sqrt: unary((t) => tf.sqrt(t)),
  Reciprocal: unary((t) => tf.reciprocal(t)),
  Erf: unary((t) => tf.erf(t)),
  HardSigmoid: unary((t, n) =>
    tf.clipByValue(tf.add(tf.mul(t, n.attrs.float('alpha', 0.2)), n.attrs.float('beta', 0.5)), 0, 1),
  ),
  Clip: clip,
  Add: binary(tf.add, (a, b) => a + b),
  Sub: binary(tf.sub, (a, b) => a - b),
  Mul: binary(tf.mul, (a, b) => a * b),
  Div: binary(tf.div, (a, b) => Math.trunc(a / b)),
  Pow: binary(powOp),
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  GlobalMaxPool: globalMaxPool,
  BatchNormalization: batchNorm,
  Gemm: gemm,
  MatMul: matMul,
  Softmax: softmaxLike((t) => tf.softmax(t)),
  LogSoftmax: softmaxLike((t) => tf.logSoftmax(t)),
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Shape: shapeOp,
  Gather: gather,
  Cast: cast,
  ReduceMean: reduceMean,
  Identity: passThrough,
  Dropout: passThrough,
};

/** Ops evaluated once at load (their outputs are constants). */
export const LOAD_TIME_OPS = new Set(['Constant']);
