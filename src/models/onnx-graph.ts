/**
 * Reading ONNX files (https://onnx.ai/onnx/repo-docs/IR.html) with onnx-proto's protobufjs
 * decoder: the graph, its initializers as typed arrays, node attributes, and the layout of
 * the image input. Shared by the ONNX Runtime adapter and the tfjs importer.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { AegisInputError } from '../core/errors.js';

export const { onnx } = onnxProto;
export type OnnxModelProto = onnxProto.onnx.ModelProto;
export type OnnxGraph = onnxProto.onnx.IGraphProto;
export type OnnxNode = onnxProto.onnx.INodeProto;
export type OnnxTensorProto = onnxProto.onnx.ITensorProto;
export type OnnxAttribute = onnxProto.onnx.IAttributeProto;

/** A protobuf int64: a number or a Long object. */
type Int64 = number | { toNumber(): number } | null | undefined;

export function int64(v: Int64): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export interface OnnxFile {
  path: string;
  bytes: Uint8Array;
  sha256: string;
  model: OnnxModelProto;
  graph: OnnxGraph;
  /** Version of the default ('' or 'ai.onnx') operator set. */
  opset: number;
}

/** Reads and decodes an ONNX file; missing, truncated or non-ONNX files raise AegisInputError. */
export function readOnnxFile(path: string): OnnxFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new AegisInputError(`cannot read ONNX model '${path}': ${(error as Error).message}`, { cause: error });
  }
  const model = decodeOnnx(bytes, path);
  const graph = model.graph as OnnxGraph;
  const opsetEntry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return {
    path,
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    model,
    graph,
    opset: int64(opsetEntry?.version as Int64) || 1,
  };
}

export function decodeOnnx(bytes: Uint8Array, source: string): OnnxModelProto {
  let model: OnnxModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new AegisInputError(
      `'${source}' is not a valid ONNX model: the protobuf is corrupt or truncated (${(error as Error).message})`,
      { cause: error },
    );
  }
  const graph = model.graph;
  if (!graph || (graph.node ?? []).length === 0 || (graph.output ?? []).length === 0) {
    throw new AegisInputError(`'${source}' is not a valid ONNX model: it has no graph (empty, truncated or not ONNX)`);
  }
  if ((model.opsetImport ?? []).length === 0) {
    throw new AegisInputError(`'${source}' is not a valid ONNX model: it declares no operator set (truncated?)`);
  }
  return model;
}

/** Names of the graph inputs that are real inputs (older exporters also list initializers as inputs). */
export function realInputs(graph: OnnxGraph): onnxProto.onnx.IValueInfoProto[] {
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  return (graph.input ?? []).filter((i) => !inits.has(i.name));
}

/** Declared dims of a value: numbers, or the symbolic name (e.g. 'batch') / undefined. */
export function valueDims(info: onnxProto.onnx.IValueInfoProto): (number | string | undefined)[] {
  const dims = info.type?.tensorType?.shape?.dim ?? [];
  return dims.map((d) => {
    if (d.dimValue !== null && d.dimValue !== undefined && (typeof d.dimValue !== 'number' || d.dimValue > 0)) {
      const v = int64(d.dimValue as Int64);
      if (v > 0) return v;
    }
    return d.dimParam || undefined;
  });
}

/** The node that produces `output`, skipping Identity nodes. */
export function producerOf(graph: OnnxGraph, output: string): OnnxNode | undefined {
  const nodes = graph.node ?? [];
  let name = output;
  for (let hops = 0; hops < nodes.length; hops++) {
    const node = nodes.find((n) => (n.output ?? []).includes(name));
    if (node?.opType !== 'Identity') return node;
    name = (node.input ?? [])[0] ?? '';
  }
  return undefined;
}

/** True when the graph output is produced by a Softmax (so the outputs are already probabilities). */
export function endsInSoftmax(graph: OnnxGraph, output: string): boolean {
  return producerOf(graph, output)?.opType === 'Softmax';
}

// ---- tensors ----

const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;
const UINT16 = 4;
const INT16 = 5;
const INT32 = 6;
const INT64 = 7;
const BOOL = 9;
const FLOAT16 = 10;
const DOUBLE = 11;
const UINT32 = 12;
const UINT64 = 13;

/** An initializer or constant: float values as Float32Array, integer values as numbers. */
export type ConstValue =
  | { kind: 'float'; dims: number[]; values: Float32Array }
  | { kind: 'int'; dims: number[]; values: number[] };

const RAW_SIZE: Record<number, number> = {
  [FLOAT]: 4,
  [UINT8]: 1,
  [INT8]: 1,
  [UINT16]: 2,
  [INT16]: 2,
  [INT32]: 4,
  [INT64]: 8,
  [BOOL]: 1,
  [FLOAT16]: 2,
  [DOUBLE]: 8,
  [UINT32]: 4,
  [UINT64]: 8,
};

function half(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function readRaw(raw: Uint8Array, type: number, count: number): number[] | Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const isFloat = type === FLOAT || type === DOUBLE || type === FLOAT16;
  const out: number[] | Float32Array = isFloat ? new Float32Array(count) : new Array<number>(count);
  for (let i = 0; i < count; i++) {
    switch (type) {
      case FLOAT:
        out[i] = view.getFloat32(i * 4, true);
        break;
      case DOUBLE:
        out[i] = view.getFloat64(i * 8, true);
        break;
      case FLOAT16:
        out[i] = half(view.getUint16(i * 2, true));
        break;
      case UINT8:
      case BOOL:
        out[i] = view.getUint8(i);
        break;
      case INT8:
        out[i] = view.getInt8(i);
        break;
      case UINT16:
        out[i] = view.getUint16(i * 2, true);
        break;
      case INT16:
        out[i] = view.getInt16(i * 2, true);
        break;
      case INT32:
        out[i] = view.getInt32(i * 4, true);
        break;
      case UINT32:
        out[i] = view.getUint32(i * 4, true);
        break;
      case INT64:
        out[i] = Number(view.getBigInt64(i * 8, true));
        break;
      case UINT64:
        out[i] = Number(view.getBigUint64(i * 8, true));
        break;
    }
  }
  return out;
}

/** Decodes a TensorProto (raw_data little-endian or the typed *_data fields). */
export function decodeTensor(t: OnnxTensorProto, where: string): ConstValue {
  const dims = (t.dims ?? []).map((d) => int64(d as Int64));
  const count = dims.reduce((a, b) => a * b, 1);
  const type = t.dataType ?? 0;
  const name = `${where} '${t.name ?? ''}'`;
  if (t.dataLocation === 1) throw new AegisInputError(`${name}: external tensor data is not supported`);
  if (!(type in RAW_SIZE)) throw new AegisInputError(`${name}: unsupported tensor data type ${type}`);
  const isFloat = type === FLOAT || type === DOUBLE || type === FLOAT16;
  let values: number[] | Float32Array;
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length < count * RAW_SIZE[type]) {
      throw new AegisInputError(
        `${name}: raw data has ${t.rawData.length} bytes, shape [${dims}] needs ${count * RAW_SIZE[type]} (truncated?)`,
      );
    }
    values = readRaw(t.rawData, type, count);
  } else {
    const typed: ArrayLike<Int64> =
      type === FLOAT || type === FLOAT16 // float16 values sit in int32_data as bits
        ? type === FLOAT
          ? (t.floatData ?? [])
          : (t.int32Data ?? [])
        : type === DOUBLE
          ? (t.doubleData ?? [])
          : type === INT64
            ? (t.int64Data ?? [])
            : type === UINT32 || type === UINT64
              ? (t.uint64Data ?? [])
              : (t.int32Data ?? []);
    if (typed.length !== count) {
      throw new AegisInputError(`${name}: has ${typed.length} values but shape [${dims}] needs ${count}`);
    }
    const nums = Array.from(typed, (v) => int64(v));
    values = isFloat ? Float32Array.from(type === FLOAT16 ? nums.map(half) : nums) : nums;
  }
  return isFloat
    ? { kind: 'float', dims, values: values as Float32Array }
    : { kind: 'int', dims, values: Array.from(values) };
}

// ---- attributes ----

export class Attrs {
  private readonly map = new Map<string, OnnxAttribute>();
  constructor(node: OnnxNode) {
    for (const a of node.attribute ?? []) this.map.set(a.name ?? '', a);
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  int(name: string, fallback: number): number {
    const a = this.map.get(name);
    return a ? int64(a.i as Int64) : fallback;
  }
  float(name: string, fallback: number): number {
    const a = this.map.get(name);
    return a ? (a.f ?? fallback) : fallback;
  }
  ints(name: string): number[] | undefined {
    const a = this.map.get(name);
    return a ? (a.ints ?? []).map((v) => int64(v as Int64)) : undefined;
  }
  floats(name: string): number[] | undefined {
    const a = this.map.get(name);
    return a ? [...(a.floats ?? [])] : undefined;
  }
  string(name: string, fallback: string): string {
    const a = this.map.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : fallback;
  }
  tensor(name: string): OnnxTensorProto | undefined {
    return this.map.get(name)?.t ?? undefined;
  }
}

// ---- input layout ----

export type InputLayout = 'nchw' | 'nhwc' | 'plain';

export interface ResolvedInput {
  name: string;
  /** How the model lays out its rank-4 image input; 'plain' for anything else (no transposes). */
  layout: InputLayout;
  /** The model's own input shape without the batch dim (NCHW for 'nchw'). */
  modelShape: number[];
  /** One example as Aegis passes it (NHWC for images). */
  inputShape: number[];
  /** A fixed batch size declared by the model, if any. */
  fixedBatch?: number;
}

const isChannels = (d: number | string | undefined) => d === 1 || d === 3;

/**
 * Decides NCHW vs NHWC from a rank-4 input: the channel dim is the one that is 1 or 3
 * (ties go to NCHW, PyTorch's export layout); else the smaller of dims 1 and 3.
 * `override.inputShape` (NHWC, no batch) fills symbolic dims.
 */
export function resolveInput(
  name: string,
  dims: (number | string | undefined)[],
  override: { layout?: 'nchw' | 'nhwc'; inputShape?: number[] } = {},
): ResolvedInput {
  const rest = dims.slice(1);
  const fixedBatch = typeof dims[0] === 'number' ? dims[0] : undefined;
  let layout: InputLayout = 'plain';
  if (dims.length === 4) {
    if (override.layout) layout = override.layout;
    else if (isChannels(dims[1]) && !isChannels(dims[3])) layout = 'nchw';
    else if (isChannels(dims[3]) && !isChannels(dims[1])) layout = 'nhwc';
    else if (typeof dims[1] === 'number' && typeof dims[3] === 'number') layout = dims[3] < dims[1] ? 'nhwc' : 'nchw';
    else layout = typeof dims[1] === 'number' ? 'nchw' : 'nhwc';
  }
  let modelShape: (number | string | undefined)[] = rest;
  if (override.inputShape) {
    const given = override.inputShape;
    modelShape = layout === 'nchw' ? [given[2], given[0], given[1]] : given;
    if (modelShape.length !== rest.length || rest.some((d, i) => typeof d === 'number' && d !== modelShape[i])) {
      throw new AegisInputError(
        `input '${name}' has shape [${dims.map((d) => d ?? '?')}]; the given input shape [${given}] does not fit it`,
      );
    }
  }
  if (modelShape.some((d) => typeof d !== 'number')) {
    throw new AegisInputError(
      `input '${name}' has symbolic dims [${dims.map((d) => d ?? '?')}]; pass the input shape (one example, NHWC)`,
    );
  }
  const shape = modelShape as number[];
  const inputShape = layout === 'nchw' ? [shape[1], shape[2], shape[0]] : [...shape];
  return { name, layout, modelShape: shape, inputShape, fixedBatch };
}

/** Checks an Aegis input tensor shape against [batch, ...inputShape]. */
export function checkInputShape(shape: readonly number[], inputShape: readonly number[], model: string): void {
  const ok = shape.length === inputShape.length + 1 && inputShape.every((d, i) => shape[i + 1] === d);
  if (!ok) {
    throw new AegisInputError(
      `model '${model}' expects inputs [batch, ${inputShape.join(', ')}]${inputShape.length === 3 ? ' (NHWC)' : ''}, got [${shape.join(', ')}]`,
    );
  }
}
