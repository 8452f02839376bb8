/** ONNX models for the model-scan tests and benchmark, encoded with onnx-proto's encoder. */
import { onnx } from '../../src/models/onnx-graph.js';

type Obj = Record<string, unknown>;

function valueInfo(name: string, dims: number[]): Obj {
  return { name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

/** A float tensor; with `external` its data lives in a file at that location instead of raw_data. */
export function weight(
  name: string,
  dims: number[],
  external?: { location: string; offset?: number; length?: number },
): Obj {
  const count = dims.reduce((a, b) => a * b, 1);
  if (!external) return { name, dims, dataType: 1, rawData: new Uint8Array(count * 4) };
  const entries = [{ key: 'location', value: external.location }];
  if (external.offset !== undefined) entries.push({ key: 'offset', value: String(external.offset) });
  entries.push({ key: 'length', value: String(external.length ?? count * 4) });
  return { name, dims, dataType: 1, dataLocation: 1, externalData: entries };
}

export function node(opType: string, inputs: string[], outputs: string[], extra: Obj = {}): Obj {
  return { opType, input: inputs, output: outputs, name: `${opType}_${outputs[0]}`, ...extra };
}

export interface SampleModel {
  nodes?: Obj[];
  initializers?: Obj[];
  opsets?: { domain: string; version: number }[];
  functions?: Obj[];
}

/** y = MatMul(x, w) + b by default: a small benign model. */
export function onnxModelBytes(m: SampleModel = {}): Uint8Array {
  const model = onnx.ModelProto.fromObject({
    irVersion: 8,
    producerName: 'aegis-test',
    opsetImport: m.opsets ?? [{ domain: '', version: 15 }],
    graph: {
      name: 'g',
      input: [valueInfo('x', [1, 4])],
      output: [valueInfo('y', [1, 3])],
      initializer: m.initializers ?? [weight('w', [4, 3]), weight('b', [3])],
      node: m.nodes ?? [node('MatMul', ['x', 'w'], ['xw']), node('Add', ['xw', 'b'], ['y'])],
    },
    functions: m.functions ?? [],
  });
  return onnx.ModelProto.encode(model).finish();
}

/** A graph for an If branch: returns `input` through the given op. */
export function branch(name: string, op: Obj, output: string): Obj {
  return { name, node: [op], output: [valueInfo(output, [1, 3])] };
}

/** If(cond) with `thenBranch` / `elseBranch` subgraphs as node attributes (type GRAPH = 5). */
export function ifNode(thenBranch: Obj, elseBranch: Obj): Obj {
  return node('If', ['cond'], ['y'], {
    attribute: [
      { name: 'then_branch', type: 5, g: thenBranch },
      { name: 'else_branch', type: 5, g: elseBranch },
    ],
  });
}
