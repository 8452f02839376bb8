/**
 * Conv2D gradients written as *forward* convolutions, so both run on XNNPACK in the wasm backend.
 * The wasm backend has no Conv2DBackpropFilter kernel and its Conv2DBackpropInput is slow; the
 * transposed-convolution identities below are the standard ones (Dumoulin & Visin 2016,
 * "A guide to convolution arithmetic for deep learning", arXiv:1603.07285).
 *
 * Per spatial axis the forward op is y[p] = Σ_i x[p·s + i·d − pad] · w[i] (zero outside x), so
 *   dx = conv(dilate_s(dy), flip(w)ᵀ, dilation d)                — every stride, padding and dilation;
 *   dW = conv(xᵀ, dyᵀ as filter, dilation s, stride d)          — x as [C_in,H,W,N], dy as [H',W',N,C_out].
 * The same dW plan also backs a wasm Conv2DBackpropFilter kernel, for tfjs code paths (the fused
 * conv2d's own gradient) that call that kernel directly.
 */
import * as tf from '@tensorflow/tfjs-core';

type Tensor4D = tf.Tensor4D;
type Shape4D = [number, number, number, number];
type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** The Conv2D attributes the gradients need (the same fields as the Conv2D kernel's attrs). */
export interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** NHWC geometry of one forward convolution: top/left padding, strides, dilations, kernel size. */
interface Geometry {
  top: number;
  left: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  kernelH: number;
  kernelW: number;
}

function geometry(xShape: Shape4D, filterShape: Shape4D, attrs: ConvGradAttrs): Geometry {
  const format = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat ?? 'NHWC');
  // The same helper the kernels use, so 'same' gets TF's split (extra padding at the bottom/right).
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    format,
  );
  return {
    top: info.padInfo.top,
    left: info.padInfo.left,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    dilationH: info.dilationHeight,
    dilationW: info.dilationWidth,
    kernelH: info.filterHeight,
    kernelW: info.filterWidth,
  };
}

/** Signed padding of the two spatial axes [top, bottom, left, right]; negative means crop. */
type SignedPads = [number, number, number, number];

/**
 * Splits a signed padding into a crop (the negative parts, done by slicing) and an explicit
 * non-negative padding that the convolution applies itself (no padded copy).
 */
function splitPads(pads: SignedPads): { crop: SignedPads; padding: ExplicitPadding } {
  const crop = pads.map((v) => Math.max(-v, 0)) as SignedPads;
  const [top, bottom, left, right] = pads.map((v) => Math.max(v, 0));
  return {
    crop,
    padding: [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
  };
}

/** Slice begin/size of an NHWC shape after cropping [top, bottom, left, right]; null when nothing to crop. */
function cropBox(shape: Shape4D, crop: SignedPads): { begin: Shape4D; size: Shape4D } | null {
  const [top, bottom, left, right] = crop;
  if (top + bottom + left + right === 0) return null;
  return { begin: [0, top, left, 0], size: [shape[0], shape[1] - top - bottom, shape[2] - left - right, shape[3]] };
}

function cropAndPadding(t: Tensor4D, pads: SignedPads): [Tensor4D, ExplicitPadding] {
  const { crop, padding } = splitPads(pads);
  const box = cropBox(t.shape, crop);
  return [box ? tf.slice(t, box.begin, box.size) : t, padding];
}

/**
 * Filter gradient as a convolution of x as [C_in,H,W,N] with dy as [H',W',N,C_out]: the signed
 * padding of x that spans exactly what kernel tap k−1 and output row H'−1 reach, and the
 * convolution's strides (the forward dilations) and dilations (the forward strides).
 */
function filterGradPlan(g: Geometry, h: number, w: number, outH: number, outW: number) {
  const spanH = (g.kernelH - 1) * g.dilationH + (outH - 1) * g.strideH + 1;
  const spanW = (g.kernelW - 1) * g.dilationW + (outW - 1) * g.strideW + 1;
  return {
    pads: [g.top, spanH - g.top - h, g.left, spanW - g.left - w] as SignedPads,
    strides: [g.dilationH, g.dilationW] as [number, number],
    dilations: [g.strideH, g.strideW] as [number, number],
  };
}

/** Inserts s−1 zero rows/columns after every row/column of an NHWC tensor: [N,H,W,C] → [N,H·sh,W·sw,C]. */
function dilateSpatial(t: Tensor4D, strideH: number, strideW: number): Tensor4D {
  let out = t;
  const [n, h, w, c] = t.shape;
  if (strideH > 1) {
    const rows = tf.pad(tf.reshape(out, [n, h, 1, w * c]), [
      [0, 0],
      [0, 0],
      [0, strideH - 1],
      [0, 0],
    ]);
    out = tf.reshape(rows, [n, h * strideH, w, c]);
  }
  if (strideW > 1) {
    const h2 = out.shape[1];
    const cols = tf.pad(tf.reshape(out, [n * h2, w, 1, c]), [
      [0, 0],
      [0, 0],
      [0, strideW - 1],
      [0, 0],
    ]);
    out = tf.reshape(cols, [n, h2, w * strideW, c]);
  }
  return out;
}

function toNHWC(t: Tensor4D, format: 'NHWC' | 'NCHW'): Tensor4D {
  return format === 'NCHW' ? tf.transpose(t, [0, 2, 3, 1]) : t;
}

/** The stride-1 convolution of z with the spatially flipped, in/out-swapped filter. */
function flippedConv(z: Tensor4D, filter: Tensor4D, padding: ExplicitPadding, dilations: [number, number]): Tensor4D {
  const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]);
  return tf.conv2d(z, flipped, 1, padding, 'NHWC', dilations);
}

/**
 * The same for a single input channel (a grayscale first layer), as a depthwise convolution per
 * output channel summed over channels: XNNPACK's convolution with one output channel wastes most
 * of its vector lanes (5.2 → 2.6 ms for dy [100,26,26,16], 3×3).
 */
function singleChannelInputGrad(
  z: Tensor4D,
  filter: Tensor4D,
  padding: ExplicitPadding,
  dilations: [number, number],
): Tensor4D {
  const [kh, kw, , cOut] = filter.shape;
  const perChannel = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, cOut, 1]) as Tensor4D;
  return tf.sum(tf.depthwiseConv2d(z, perChannel, 1, padding, 'NHWC', dilations), 3, true);
}

/** Gradient of conv2d with respect to its input, as one forward convolution. */
export function conv2dInputGrad(xShape: Shape4D, dy: Tensor4D, filter: Tensor4D, attrs: ConvGradAttrs): Tensor4D {
  return tf.tidy(() => {
    const format = attrs.dataFormat ?? 'NHWC';
    const g = geometry(xShape, filter.shape, attrs);
    const [h, w] = format === 'NCHW' ? [xShape[2], xShape[3]] : [xShape[1], xShape[2]];
    const z = dilateSpatial(toNHWC(dy, format), g.strideH, g.strideW);
    // dx[h] = Σ_i z[h + top − i·d]·w[i]: a stride-1 convolution of z with the flipped filter,
    // padded so that exactly H outputs come out.
    const [zz, padding] = cropAndPadding(z, [
      (g.kernelH - 1) * g.dilationH - g.top,
      h + g.top - z.shape[1],
      (g.kernelW - 1) * g.dilationW - g.left,
      w + g.left - z.shape[2],
    ]);
    const dilations: [number, number] = [g.dilationH, g.dilationW];
    const dx =
      filter.shape[2] === 1
        ? singleChannelInputGrad(zz, filter, padding, dilations)
        : flippedConv(zz, filter, padding, dilations);
    return format === 'NCHW' ? tf.transpose(dx, [0, 3, 1, 2]) : dx;
  });
}

/** Gradient of conv2d with respect to its filter, as one forward convolution (never Conv2DBackpropFilter). */
export function conv2dFilterGrad(x: Tensor4D, dy: Tensor4D, filterShape: Shape4D, attrs: ConvGradAttrs): Tensor4D {
  return tf.tidy(() => {
    const format = attrs.dataFormat ?? 'NHWC';
    const g = geometry(x.shape, filterShape, attrs);
    const dyN = toNHWC(dy, format);
    const [, outH, outW] = dyN.shape;
    // Batch and channels swapped: x as [C_in,H,W,N] is the input, dy as [H',W',N,C_out] the filter.
    const xT = tf.transpose(toNHWC(x, format), [3, 1, 2, 0]);
    const plan = filterGradPlan(g, xT.shape[1], xT.shape[2], outH, outW);
    const [xx, padding] = cropAndPadding(xT, plan.pads);
    const dyFilter = tf.transpose(dyN, [1, 2, 0, 3]);
    const dW = tf.conv2d(xx, dyFilter, plan.strides, padding, 'NHWC', plan.dilations);
    return tf.transpose(dW, [1, 2, 0, 3]);
  });
}

/**
 * The Conv2DBackpropFilter kernel the wasm backend lacks, built from its own Transpose, Slice and
 * Conv2D (XNNPACK) kernels with the plan above. Our Conv2D gradient never needs it; tfjs's fused
 * conv2d gradient (tfjs-layers Conv2D with a linear activation) calls it directly.
 */
function wasmConv2dBackpropFilter({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (dataFormat === 'NCHW') throw new Error("wasm Conv2DBackpropFilter supports only dataFormat 'NHWC'");
  const run = (name: string, kernelInputs: tf.NamedTensorInfoMap, kernelAttrs: object): tf.TensorInfo => {
    const kernel = tf.getKernel(name, 'wasm');
    if (!kernel) throw new Error(`wasm backend has no ${name} kernel`);
    return kernel.kernelFunc({ inputs: kernelInputs, backend, attrs: kernelAttrs as tf.NamedAttrMap }) as tf.TensorInfo;
  };
  const g = geometry(x.shape as Shape4D, filterShape, { strides, pad, dimRoundingMode });
  const temps: tf.TensorInfo[] = [];
  const keep = (t: tf.TensorInfo) => {
    temps.push(t);
    return t;
  };
  try {
    const xT = keep(run(tf.Transpose, { x }, { perm: [3, 1, 2, 0] }));
    const plan = filterGradPlan(g, xT.shape[1], xT.shape[2], dy.shape[1], dy.shape[2]);
    const { crop, padding } = splitPads(plan.pads);
    const box = cropBox(xT.shape as Shape4D, crop);
    const xx = box ? keep(run(tf.Slice, { x: xT }, box)) : xT;
    const dyFilter = keep(run(tf.Transpose, { x: dy }, { perm: [1, 2, 0, 3] }));
    const convAttrs = { strides: plan.strides, pad: padding, dataFormat: 'NHWC', dilations: plan.dilations };
    const dW = keep(run(tf.Conv2D, { x: xx, filter: dyFilter }, convAttrs));
    return run(tf.Transpose, { x: dW }, { perm: [1, 2, 0, 3] });
  } finally {
    const disposer = backend as { disposeData(dataId: object): void };
    for (const t of temps) disposer.disposeData(t.dataId);
  }
}

/** The Conv2D gradient config: both halves are forward convolutions. */
export const conv2dGradConfig: tf.GradConfig = {
  kernelName: tf.Conv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [Tensor4D, Tensor4D];
    const convAttrs = attrs as unknown as ConvGradAttrs;
    const dy4 = dy as Tensor4D;
    return {
      x: () => conv2dInputGrad(x.shape, dy4, filter, convAttrs),
      filter: () => conv2dFilterGrad(x, dy4, filter.shape, convAttrs),
    };
  },
};

/**
 * Registers the fast Conv2D gradient, replacing tfjs's stock one (call after the stock gradients
 * are registered; initRuntime does), and the wasm Conv2DBackpropFilter kernel if it is missing.
 * Idempotent.
 */
export function registerConvGradients(): void {
  if (tf.getGradient(tf.Conv2D) !== conv2dGradConfig) {
    // tfjs logs "Overriding the gradient" in DEBUG mode; PROD silences its logger while we replace it.
    const env = tf.env();
    const prod = env.getBool('PROD');
    env.set('PROD', true);
    try {
      tf.registerGradient(conv2dGradConfig);
    } finally {
      env.set('PROD', prod);
    }
  }
  if (!tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')) {
    tf.registerKernel({
      kernelName: tf.Conv2DBackpropFilter,
      backendName: 'wasm',
      kernelFunc: wasmConv2dBackpropFilter,
    });
  }
}
