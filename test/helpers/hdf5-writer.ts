/**
 * A small HDF5 writer for the model-scan tests: superblock v0 (8-byte offsets and lengths), old-style
 * groups (object header v1 → symbol table message → v1 B-tree → symbol table node + local heap)
 * and attribute messages v1 holding fixed-length or variable-length strings (the latter in one
 * global heap collection). It also writes the hostile shapes real writers never produce:
 * continuation blocks that loop, B-trees that point at themselves, groups that link to an ancestor,
 * absurd dataspace sizes. The returned layout gives the offsets tests patch to break a file.
 */

export interface H5Attribute {
  name: string;
  value: string | string[];
  storage: 'fixed' | 'vlen';
  /** Dataspace dimensions to declare instead of the value's own (to lie about the size). */
  dims?: bigint[];
}

export interface H5Group {
  attributes?: H5Attribute[];
  groups?: Record<string, H5Group>;
}

export interface H5Options {
  /** 'block': the root's attributes live in a continuation block; 'loop': that block also continues into itself. */
  continuation?: 'none' | 'block' | 'loop';
  /** The root group's B-tree node is an internal node whose only child is itself. */
  btreeLoop?: boolean;
  /** Adds a root member of this name that links back to the root group itself. */
  cycleName?: string;
}

export interface H5Layout {
  bytes: Uint8Array;
  /** Offset of the root object header address inside the superblock's root symbol table entry. */
  rootAddressField: number;
  rootHeader: number;
  globalHeap: number;
  /** File offsets of each variable-length string reference (length u32, collection u64, index u32). */
  vlenRefs: number[];
}

const UNDEF = 0xffffffffffffffffn;
const enc = new TextEncoder();

class Builder {
  bytes: number[] = [];
  get pos(): number {
    return this.bytes.length;
  }
  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >> 8);
  }
  u32(v: number): this {
    return this.u16(v & 0xffff).u16(v >>> 16);
  }
  u64(v: number | bigint): this {
    let b = BigInt(v);
    for (let i = 0; i < 8; i++) {
      this.u8(Number(b & 0xffn));
      b >>= 8n;
    }
    return this;
  }
  raw(data: ArrayLike<number>): this {
    for (let i = 0; i < data.length; i++) this.bytes.push(data[i]);
    return this;
  }
  ascii(s: string): this {
    return this.raw(enc.encode(s));
  }
  pad8(): this {
    while (this.bytes.length % 8 !== 0) this.u8(0);
    return this;
  }
  patch64(at: number, v: number | bigint): void {
    let b = BigInt(v);
    for (let i = 0; i < 8; i++) {
      this.bytes[at + i] = Number(b & 0xffn);
      b >>= 8n;
    }
  }
}

function padded(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** Bytes of one message body (type, body) laid out as a v1 header message. */
function message(b: Builder, type: number, body: number[]): number {
  const size = padded(body.length);
  b.u16(type).u16(size).u8(0).u8(0).u8(0).u8(0);
  const start = b.pos;
  b.raw(body);
  while (b.pos < start + size) b.u8(0);
  return start;
}

function attributeBody(
  a: H5Attribute,
  heapAddress: number,
  heapIndex: Map<string, number>,
  vlenAt: number[],
): number[] {
  const values = Array.isArray(a.value) ? a.value : [a.value];
  const name = [...enc.encode(a.name), 0];
  const type = new Builder();
  if (a.storage === 'fixed') {
    const size = Math.max(1, ...values.map((v) => enc.encode(v).length));
    type.u8(0x13).u8(0x10).u8(0).u8(0).u32(size); // class 3 string, null-terminated, UTF-8
  } else {
    type.u8(0x19).u8(0x01).u8(0x01).u8(0).u32(16); // class 9 sequence-of-string, UTF-8
    type.u8(0x10).u8(0).u8(0).u8(0).u32(1).u16(0).u16(8); // base type: 1-byte fixed-point
  }
  const space = new Builder();
  const dims = a.dims ?? (Array.isArray(a.value) ? [BigInt(values.length)] : []);
  space.u8(1).u8(dims.length).u8(0).u8(0).u32(0);
  for (const d of dims) space.u64(d);
  const body = new Builder();
  body.u8(1).u8(0).u16(name.length).u16(type.bytes.length).u16(space.bytes.length);
  body.raw(name).pad8().raw(type.bytes).pad8().raw(space.bytes).pad8();
  if (a.storage === 'fixed') {
    const size = Math.max(1, ...values.map((v) => enc.encode(v).length));
    for (const v of values) {
      const e = enc.encode(v);
      body.raw(e);
      for (let i = e.length; i < size; i++) body.u8(0);
    }
  } else {
    for (const v of values) {
      vlenAt.push(body.pos);
      body
        .u32(enc.encode(v).length)
        .u64(heapAddress)
        .u32(heapIndex.get(v) as number);
    }
  }
  return body.bytes;
}

function collectVlen(g: H5Group, out: Set<string>): void {
  for (const a of g.attributes ?? []) if (a.storage === 'vlen') for (const v of [a.value].flat()) out.add(v);
  for (const child of Object.values(g.groups ?? {})) collectVlen(child, out);
}

export function writeHdf5(root: H5Group, options: H5Options = {}): H5Layout {
  const b = new Builder();
  // superblock v0; the end-of-file and root fields are patched at the end
  b.raw([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]).u8(0).u8(0).u8(0).u8(0).u8(0).u8(8).u8(8).u8(0);
  b.u16(4).u16(16).u32(0);
  b.u64(0).u64(UNDEF);
  const eofField = b.pos;
  b.u64(0).u64(UNDEF);
  b.u64(0); // root entry: link name offset
  const rootAddressField = b.pos;
  b.u64(0).u32(1).u32(0);
  const scratchField = b.pos;
  b.u64(0).u64(0);

  // one global heap collection for every variable-length string
  const strings = new Set<string>();
  collectVlen(root, strings);
  const heapIndex = new Map<string, number>();
  const globalHeap = b.pos;
  b.ascii('GCOL').u8(1).u8(0).u8(0).u8(0);
  const sizeField = b.pos;
  b.u64(0);
  let index = 1;
  for (const s of strings) {
    const data = enc.encode(s);
    heapIndex.set(s, index);
    b.u16(index++).u16(0).u32(0).u64(data.length).raw(data).pad8();
  }
  b.u16(0).u16(0).u32(0).u64(16); // free space
  b.patch64(sizeField, b.pos - globalHeap);

  const vlenRefs: number[] = [];
  let rootScratch: [number, number] = [0, 0];
  let cyclePatch = -1;

  const writeGroup = (g: H5Group, isRoot: boolean): number => {
    const groups = g.groups ?? {};
    const names = Object.keys(groups).sort();
    const children = names.map((n) => writeGroup(groups[n], false));
    if (isRoot && options.cycleName) {
      names.push(options.cycleName);
      children.push(0);
    }
    // local heap: "" at offset 0, then the names
    const segment = new Builder().u64(0);
    const offsets = names.map((n) => {
      const at = segment.pos;
      segment.ascii(n).u8(0).pad8();
      return at;
    });
    const heap = b.pos;
    b.ascii('HEAP')
      .u8(0)
      .u8(0)
      .u8(0)
      .u8(0)
      .u64(segment.bytes.length)
      .u64(UNDEF)
      .u64(heap + 32);
    b.raw(segment.bytes);
    // symbol table node
    const snod = b.pos;
    b.ascii('SNOD').u8(1).u8(0).u16(names.length);
    names.forEach((_, i) => {
      b.u64(offsets[i]);
      if (isRoot && options.cycleName && i === names.length - 1) cyclePatch = b.pos;
      b.u64(children[i]).u32(0).u32(0).u64(0).u64(0);
    });
    // B-tree node with the one symbol table node (or, hostile, itself)
    const tree = b.pos;
    const loop = isRoot && options.btreeLoop;
    b.ascii('TREE')
      .u8(0)
      .u8(loop ? 1 : 0)
      .u16(1)
      .u64(UNDEF)
      .u64(UNDEF);
    b.u64(0)
      .u64(loop ? tree : snod)
      .u64(offsets.at(-1) ?? 0);
    if (isRoot) rootScratch = [tree, heap];

    const attributes = (g.attributes ?? []).map((a) => {
      const refs: number[] = [];
      return { body: attributeBody(a, globalHeap, heapIndex, refs), refs };
    });
    const writeAttributes = (into: Builder) => {
      for (const a of attributes) {
        const start = message(into, 0x0c, a.body);
        for (const r of a.refs) vlenRefs.push(start + r);
      }
    };
    const continuation = isRoot ? (options.continuation ?? 'none') : 'none';
    let block = -1;
    let blockLength = 0;
    if (continuation !== 'none') {
      block = b.pos;
      writeAttributes(b);
      if (continuation === 'loop') message(b, 0x10, new Builder().u64(block).u64(0).bytes);
      blockLength = b.pos - block;
      if (continuation === 'loop') b.patch64(b.pos - 8, blockLength);
    }
    const header = b.pos;
    b.u8(1).u8(0).u16(0).u32(1);
    const sizeAt = b.pos;
    b.u32(0).u32(0);
    const start = b.pos;
    message(b, 0x11, new Builder().u64(tree).u64(heap).bytes);
    if (continuation === 'none') writeAttributes(b);
    else message(b, 0x10, new Builder().u64(block).u64(blockLength).bytes);
    const size = b.pos - start;
    b.bytes.splice(sizeAt, 4, size & 0xff, (size >> 8) & 0xff, (size >> 16) & 0xff, size >>> 24);
    return header;
  };

  const rootHeader = writeGroup(root, true);
  if (cyclePatch >= 0) b.patch64(cyclePatch, rootHeader);
  b.patch64(rootAddressField, rootHeader);
  b.patch64(scratchField, rootScratch[0]);
  b.patch64(scratchField + 8, rootScratch[1]);
  b.patch64(eofField, b.pos);
  return { bytes: Uint8Array.from(b.bytes), rootAddressField, rootHeader, globalHeap, vlenRefs };
}

/** A chain of `depth` nested groups, each holding the next. */
export function nestedGroups(depth: number): H5Group {
  let g: H5Group = {};
  for (let i = 0; i < depth; i++) g = { groups: { [`g${i}`]: g } };
  return g;
}
