/**
 * The values the pickle simulator keeps on its stack and memo: just enough of each object to
 * name the callables a pickle imports and invokes, never the objects themselves. Containers
 * keep their first KEEP items (shapes, argument tuples, small state dicts) and count the rest,
 * so memory stays bounded however large the pickle.
 */
import type { ImportStatus } from './pickle-imports.js';

/** Items kept per container; the rest are only counted. */
export const KEEP = 16;

/** Numbers, booleans and None stay JS primitives (no allocation per value). */
export type Scalar = number | bigint | boolean | null;

/** bytes, or a str too long to keep (`v` absent). A kept str is a plain JS string. */
export interface StrValue {
  k: 'str';
  v?: string;
  bytes: boolean;
}

export interface SeqValue {
  k: 'seq';
  type: 'list' | 'tuple' | 'set' | 'frozenset';
  items: Value[];
  /** Total items, kept or not. */
  n: number;
  depth: number;
}

export interface DictValue {
  k: 'dict';
  keys: Value[];
  vals: Value[];
  n: number;
  depth: number;
}

/** A callable or class the pickle imports. */
export interface GlobalValue {
  k: 'global';
  module: string;
  name: string;
  status: ImportStatus | 'unresolved';
  offset: number;
  op: string;
}

/** What a REDUCE/NEWOBJ/OBJ/INST produced: the callable and its arguments. */
export interface ObjValue {
  k: 'obj';
  callee: Value;
  args: Value;
  offset: number;
  op: string;
  depth: number;
  /** The state a BUILD gave it (kept for dtypes and joblib array wrappers). */
  state?: Value;
}

/** Values the simulator cannot see into: persistent ids, out-of-band buffers, joblib arrays. */
export interface OpaqueValue {
  k: 'opaque';
  what: string;
}

export type Node = StrValue | SeqValue | DictValue | GlobalValue | ObjValue | OpaqueValue;
export type Value = Scalar | string | Node;

/** The object behind a value, or undefined for scalars and plain strings. */
export function node(v: Value | undefined): Node | undefined {
  return typeof v === 'object' && v !== null ? v : undefined;
}

export function asSeq(v: Value | undefined): SeqValue | undefined {
  const n = node(v);
  return n?.k === 'seq' ? n : undefined;
}

export function asGlobal(v: Value | undefined): GlobalValue | undefined {
  const n = node(v);
  return n?.k === 'global' ? n : undefined;
}

export function asObj(v: Value | undefined): ObjValue | undefined {
  const n = node(v);
  return n?.k === 'obj' ? n : undefined;
}

export function asDict(v: Value | undefined): DictValue | undefined {
  const n = node(v);
  return n?.k === 'dict' ? n : undefined;
}

export function depthOf(v: Value): number {
  const n = node(v);
  return n !== undefined && (n.k === 'seq' || n.k === 'dict' || n.k === 'obj') ? n.depth : 0;
}

export function newSeq(type: SeqValue['type'], items: Value[]): SeqValue {
  let depth = 0;
  for (const item of items) depth = Math.max(depth, depthOf(item));
  return {
    k: 'seq',
    type,
    items: items.length > KEEP ? items.slice(0, KEEP) : items,
    n: items.length,
    depth: depth + 1,
  };
}

export function seqAdd(seq: SeqValue, item: Value): void {
  if (seq.items.length < KEEP) seq.items.push(item);
  seq.n++;
  seq.depth = Math.max(seq.depth, depthOf(item) + 1);
}

export function dictSet(dict: DictValue, key: Value, val: Value): void {
  if (dict.keys.length < KEEP) {
    dict.keys.push(key);
    dict.vals.push(val);
  }
  dict.n++;
  dict.depth = Math.max(dict.depth, depthOf(val) + 1);
}

export function fullName(g: GlobalValue): string {
  return `${g.module}.${g.name}`;
}

/** The string a str/bytes value holds, when known. */
export function textOf(v: Value | undefined): string | undefined {
  if (typeof v === 'string') return v;
  const n = node(v);
  return n?.k === 'str' ? n.v : undefined;
}

/** A dict's value for a str key, when kept. */
export function dictGet(dict: Value | undefined, key: string): Value | undefined {
  const d = asDict(dict);
  if (d === undefined) return undefined;
  const i = d.keys.findIndex((k) => textOf(k) === key);
  return i >= 0 ? d.vals[i] : undefined;
}

/** The class an object was built from: NEWOBJ/REDUCE of the class, or copyreg._reconstructor(cls, …). */
export function classOf(v: Value | undefined): GlobalValue | undefined {
  const obj = asObj(v);
  const callee = asGlobal(obj?.callee);
  if (obj === undefined || callee === undefined) return undefined;
  const name = fullName(callee);
  if (name === 'copyreg._reconstructor' || name === 'copy_reg._reconstructor' || name === 'copyreg.__newobj__') {
    return asGlobal(asSeq(obj.args)?.items[0]);
  }
  return callee;
}

/** A short readable rendering for messages: os.system('echo hi'). */
export function preview(v: Value, budget = 80): string {
  const out = render(v, 3);
  return out.length > budget ? `${out.slice(0, budget - 1)}…` : out;
}

function render(v: Value, depth: number): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.slice(0, 60));
  switch (v.k) {
    case 'str':
      return v.v === undefined
        ? v.bytes
          ? "b'…'"
          : "'…'"
        : `${v.bytes ? 'b' : ''}${JSON.stringify(v.v.slice(0, 60))}`;
    case 'global':
      return fullName(v);
    case 'opaque':
      return `<${v.what}>`;
    case 'obj':
      return depth <= 0 ? '…' : `${render(v.callee, depth - 1)}${renderArgs(v.args, depth - 1)}`;
    case 'seq': {
      if (depth <= 0) return '…';
      const inner = v.items.map((x) => render(x, depth - 1)).join(', ') + (v.n > v.items.length ? ', …' : '');
      if (v.type === 'list') return `[${inner}]`;
      if (v.type === 'tuple') return `(${inner}${v.n === 1 ? ',' : ''})`;
      return `${v.type}({${inner}})`;
    }
    case 'dict':
      if (depth <= 0) return '{…}';
      return `{${v.keys.map((k, i) => `${render(k, depth - 1)}: ${render(v.vals[i], depth - 1)}`).join(', ')}${v.n > v.keys.length ? ', …' : ''}}`;
  }
}

function renderArgs(args: Value, depth: number): string {
  const seq = asSeq(args);
  if (seq?.type === 'tuple') {
    return `(${seq.items.map((x) => render(x, depth)).join(', ')}${seq.n > seq.items.length ? ', …' : ''})`;
  }
  return `(*${render(args, depth)})`;
}
