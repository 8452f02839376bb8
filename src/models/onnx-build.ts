/**
 * Writes small ONNX models with onnx-proto's encoder: graphs built node by node from plain
 * values. Used for test fixtures and hand-made graphs; not an exporter for trained models.
 */
import { type OnnxTensorProto, onnx } from './onnx-graph.js';

type AttrValue = number | number[] | string | { ints: number[] } | { float: number } | { floats: number[] };

export interface BuildNode {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  /** Integers become INT/INTS, `{ float }`/`{ floats }` FLOAT/FLOATS, strings STRING. */
  attrs?: Record<string, AttrValue>;
}

export interface BuildModel {
  /** Graph input name and dims (a string dim is symbolic, e.g. 'N'). */
  input: { name: string; dims: (number | string)[] };
  outputs: { name: string; dims: (number | string)[] }[];
  nodes: BuildNode[];
  initializers: OnnxInit[];
  opset?: number;
}

export type OnnxInit = OnnxTensorProto;

const T = onnx.AttributeProto.AttributeType;

/** A float32 initializer stored as little-endian raw_data. */
export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): OnnxInit {
  const data = Float32Array.from(values);
  return { name, dims, dataType: 1, rawData: new Uint8Array(data.buffer) };
}

/** An int64 initializer stored in int64_data (shapes, axes, indices). */
export function int64Tensor(name: string, dims: number[], values: number[]): OnnxInit {
  return { name, dims, dataType: 7, int64Data: values };
}

function attribute(name: string, v: AttrValue) {
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  }
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('ints' in v) return { name, type: T.INTS, ints: v.ints };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: v.floats };
}

function valueInfo(name: string, dims: (number | string)[]) {
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

/** Encodes the model as ONNX protobuf bytes (IR version 7). */
export function encodeOnnxModel(m: BuildModel): Uint8Array {
  const model = onnx.ModelProto.fromObject({
    irVersion: 7,
    producerName: 'aegis',
    opsetImport: [{ domain: '', version: m.opset ?? 13 }],
    graph: {
      name: 'graph',
      input: [valueInfo(m.input.name, m.input.dims)],
      output: m.outputs.map((o) => valueInfo(o.name, o.dims)),
      initializer: m.initializers,
      node: m.nodes.map((n, i) => ({
        name: n.name ?? `${n.op}_${i}`,
        opType: n.op,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
