/**
 * A minimal, bounds-checked HDF5 reader (https://docs.hdfgroup.org/hdf5/develop/_f_m_t3.html):
 * superblocks v0–v3, object headers v1 and v2 with continuation blocks, attribute messages v1–v3
 * holding fixed-length or variable-length strings (the latter in global heap collections), link
 * messages, and v1 groups (symbol table message → v1 B-tree → symbol table nodes + local heap).
 * Enough to read a Keras .h5's attributes and walk its groups; datasets' data is never read.
 *
 * Every read is checked against the file size and the scan limits before anything is allocated;
 * structural problems throw Hdf5FormatError with the byte offset, for the caller to report.
 */
import type { ByteSource, ScanLimits } from './finding.js';

export class Hdf5FormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    /** 'loop' for cycles in object-header continuations or B-trees, 'limit' for refused sizes. */
    readonly kind: 'malformed' | 'loop' | 'limit' = 'malformed',
  ) {
    super(message);
    this.name = 'Hdf5FormatError';
  }
}

export const HDF5_SIGNATURE = new Uint8Array([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface Superblock {
  version: number;
  /** Where the signature was found (0, or after a user block of 512 × 2^n bytes). */
  offset: number;
  offsetSize: number;
  lengthSize: number;
  baseAddress: number;
  eofAddress: number;
  rootAddress: number;
}

export interface RawMessage {
  type: number;
  flags: number;
  /** Absolute file offsets of the message data. */
  start: number;
  size: number;
}

export interface ObjectHeader {
  address: number;
  version: 1 | 2;
  messages: RawMessage[];
}

export type AttributeValue =
  | { kind: 'string'; values: string[]; variableLength: boolean }
  | { kind: 'other'; datatypeClass: number; elements: number };

export interface Attribute {
  name: string;
  value: AttributeValue;
}

export type Link =
  | { name: string; kind: 'hard'; address: number }
  | { name: string; kind: 'soft'; target: string }
  | { name: string; kind: 'external'; file: string; target: string };

export const MSG = {
  nil: 0x00,
  dataspace: 0x01,
  linkInfo: 0x02,
  datatype: 0x03,
  externalFiles: 0x07,
  layout: 0x08,
  link: 0x06,
  attribute: 0x0c,
  continuation: 0x10,
  symbolTable: 0x11,
  attributeInfo: 0x15,
} as const;

/** Message flag: the message is stored elsewhere (shared object header message). */
const SHARED = 0x02;
/** Most messages followed across one object's header and continuation blocks. */
const MAX_MESSAGES = 65_536;
/** Most string elements decoded from one attribute. */
const MAX_STRING_ELEMENTS = 4096;
const UNDEFINED = -1;

function ascii(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class Hdf5Reader {
  private sb: Superblock | undefined;
  /** Global heap collections already indexed: object index → [data start, size]. */
  private readonly heaps = new Map<number, Map<number, [number, number]>>();

  constructor(
    readonly source: ByteSource,
    readonly limits: ScanLimits,
  ) {}

  get superblock(): Superblock {
    if (!this.sb) {
      try {
        this.sb = this.readSuperblock();
      } catch (error) {
        this.sb = undefined;
        throw error;
      }
    }
    return this.sb;
  }

  /** Bytes [offset, offset + length), or Hdf5FormatError naming `what` if they are not all in the file. */
  bytes(offset: number, length: number, what: string): Uint8Array {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new Hdf5FormatError(`${what}: invalid offset ${offset} or length ${length}`, Math.max(0, offset));
    }
    if (offset + length > this.source.size) {
      throw new Hdf5FormatError(
        `${what} at byte ${offset} (${length} bytes) runs past the end of the file (${this.source.size} bytes)`,
        offset,
      );
    }
    if (length > this.limits.maxEntryBytes) {
      throw new Hdf5FormatError(
        `${what} declares ${length} bytes, over the ${this.limits.maxEntryBytes}-byte limit`,
        offset,
        'limit',
      );
    }
    const out = this.source.read(offset, length);
    if (out.length !== length) throw new Hdf5FormatError(`${what} at byte ${offset}: short read`, offset);
    return out;
  }

  private view(bytes: Uint8Array): DataView {
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** An unsigned little-endian integer of `size` bytes at `pos` in `bytes`; undefined addresses (all 0xff) give -1. */
  uint(bytes: Uint8Array, pos: number, size: number, what: string): number {
    if (pos + size > bytes.length) throw new Hdf5FormatError(`${what}: field past the end of its structure`, pos);
    const v = this.view(bytes);
    if (size === 1) return v.getUint8(pos);
    if (size === 2) return v.getUint16(pos, true);
    if (size === 4) return v.getUint32(pos, true);
    if (size === 8) {
      const big = v.getBigUint64(pos, true);
      if (big === 0xffffffffffffffffn) return UNDEFINED;
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new Hdf5FormatError(`${what}: value ${big} is beyond any file`, pos);
      }
      return Number(big);
    }
    throw new Hdf5FormatError(`${what}: unsupported field size ${size}`, pos);
  }

  /** A file address field: relative to the base address; -1 when undefined. */
  address(bytes: Uint8Array, pos: number, what: string): number {
    const size = this.superblock.offsetSize;
    const raw = this.uint(bytes, pos, size, what);
    if (raw === UNDEFINED || (size < 8 && raw === 2 ** (8 * size) - 1)) return UNDEFINED;
    return raw + this.superblock.baseAddress;
  }

  length(bytes: Uint8Array, pos: number, what: string): number {
    const n = this.uint(bytes, pos, this.superblock.lengthSize, what);
    if (n === UNDEFINED) throw new Hdf5FormatError(`${what}: undefined length`, pos);
    return n;
  }

  private readSuperblock(): Superblock {
    let at = -1;
    for (let offset = 0; offset + 8 <= this.source.size; offset = offset === 0 ? 512 : offset * 2) {
      const sig = this.source.read(offset, 8);
      if (sig.length === 8 && sig.every((b, i) => b === HDF5_SIGNATURE[i])) {
        at = offset;
        break;
      }
    }
    if (at < 0) throw new Hdf5FormatError('no HDF5 signature at byte 0 or at any 512 × 2^n offset', 0);
    const head = this.bytes(at, Math.min(48, this.source.size - at), 'superblock');
    const version = head[8];
    let offsetSize: number;
    let lengthSize: number;
    let fieldsAt: number;
    if (version === 0 || version === 1) {
      offsetSize = head[13];
      lengthSize = head[14];
      fieldsAt = version === 0 ? 24 : 28;
    } else if (version === 2 || version === 3) {
      offsetSize = head[9];
      lengthSize = head[10];
      fieldsAt = 12;
    } else {
      throw new Hdf5FormatError(`unsupported superblock version ${version}`, at + 8);
    }
    for (const [size, what] of [
      [offsetSize, 'offsets'],
      [lengthSize, 'lengths'],
    ] as const) {
      if (![2, 4, 8].includes(size)) throw new Hdf5FormatError(`superblock: size of ${what} is ${size}`, at + 9);
    }
    const need = fieldsAt + (version < 2 ? 4 * offsetSize + 2 * offsetSize + 8 : 4 * offsetSize + 4);
    const b = this.bytes(at, need, 'superblock');
    // Addresses are read raw here (the base address is not known yet).
    this.sb = { version, offset: at, offsetSize, lengthSize, baseAddress: 0, eofAddress: 0, rootAddress: 0 };
    const base = this.uint(b, fieldsAt, offsetSize, 'base address');
    this.sb.baseAddress = base === UNDEFINED ? 0 : base;
    if (version < 2) {
      // base, free-space info, end of file, driver info, then the root group's symbol table entry
      this.sb.eofAddress = this.uint(b, fieldsAt + 2 * offsetSize, offsetSize, 'end-of-file address');
      this.sb.rootAddress = this.address(b, fieldsAt + 4 * offsetSize + offsetSize, 'root object header address');
    } else {
      // base, superblock extension, end of file, root object header
      this.sb.eofAddress = this.uint(b, fieldsAt + 2 * offsetSize, offsetSize, 'end-of-file address');
      this.sb.rootAddress = this.address(b, fieldsAt + 3 * offsetSize, 'root object header address');
    }
    if (this.sb.rootAddress === UNDEFINED) throw new Hdf5FormatError('the root group address is undefined', at);
    return this.sb;
  }

  /** The messages of the object header at `address`, following continuation blocks (loops are errors). */
  objectHeader(address: number): ObjectHeader {
    const prefix = this.bytes(address, Math.max(1, Math.min(32, this.source.size - address)), 'object header');
    if (prefix[0] === 1) return this.objectHeaderV1(address);
    if (ascii(prefix.subarray(0, 4)) === 'OHDR') return this.objectHeaderV2(address, prefix);
    throw new Hdf5FormatError(`no object header at byte ${address} (version byte ${prefix[0]})`, address);
  }

  private objectHeaderV1(address: number): ObjectHeader {
    const p = this.bytes(address, 16, 'object header prefix');
    const size = this.uint(p, 8, 4, 'object header size');
    const messages: RawMessage[] = [];
    const blocks: [number, number][] = [[address + 16, size]];
    const seen = new Set<number>();
    while (blocks.length > 0) {
      const [start, length] = blocks.shift() as [number, number];
      if (seen.has(start)) {
        throw new Hdf5FormatError(
          `object header continuation at byte ${start} loops back to a block already read`,
          start,
          'loop',
        );
      }
      seen.add(start);
      const block = this.bytes(start, length, 'object header block');
      let pos = 0;
      while (pos + 8 <= block.length) {
        const type = this.uint(block, pos, 2, 'message type');
        const msgSize = this.uint(block, pos + 2, 2, 'message size');
        const flags = block[pos + 4];
        if (pos + 8 + msgSize > block.length) {
          throw new Hdf5FormatError(`message of ${msgSize} bytes overruns its object header block`, start + pos);
        }
        this.collect(messages, { type, flags, start: start + pos + 8, size: msgSize }, blocks, block, pos + 8);
        pos += 8 + msgSize;
      }
    }
    return { address, version: 1, messages };
  }

  private objectHeaderV2(address: number, prefix: Uint8Array): ObjectHeader {
    const version = prefix[4];
    if (version !== 2) throw new Hdf5FormatError(`object header version ${version} is not 2`, address + 4);
    const flags = prefix[5];
    let pos = 6;
    if (flags & 0x20) pos += 16; // access, modification, change and birth times
    if (flags & 0x10) pos += 4; // attribute storage phase change values
    const sizeBytes = 1 << (flags & 0x03);
    const chunk = this.uint(this.bytes(address, pos + sizeBytes, 'object header prefix'), pos, sizeBytes, 'chunk size');
    pos += sizeBytes;
    const ordered = (flags & 0x04) !== 0;
    const messages: RawMessage[] = [];
    const blocks: [number, number][] = [[address + pos, chunk]];
    const seen = new Set<number>();
    let first = true;
    while (blocks.length > 0) {
      const [blockStart, blockLength] = blocks.shift() as [number, number];
      let start = blockStart;
      let length = blockLength;
      if (!first) {
        // continuation blocks: 'OCHK', messages, checksum
        const sig = this.bytes(start, 4, 'continuation block');
        if (ascii(sig) !== 'OCHK') throw new Hdf5FormatError(`continuation block at byte ${start} lacks OCHK`, start);
        start += 4;
        length -= 8;
      }
      first = false;
      if (seen.has(blockStart)) {
        throw new Hdf5FormatError(
          `object header continuation at byte ${blockStart} loops back to a block already read`,
          blockStart,
          'loop',
        );
      }
      seen.add(blockStart);
      if (length < 0) throw new Hdf5FormatError(`continuation block at byte ${blockStart} is too short`, blockStart);
      const block = this.bytes(start, length, 'object header block');
      const header = ordered ? 6 : 4;
      let p = 0;
      while (p + header <= block.length) {
        const type = block[p];
        const msgSize = this.uint(block, p + 1, 2, 'message size');
        const msgFlags = block[p + 3];
        if (p + header + msgSize > block.length) {
          throw new Hdf5FormatError(`message of ${msgSize} bytes overruns its object header block`, start + p);
        }
        this.collect(
          messages,
          { type, flags: msgFlags, start: start + p + header, size: msgSize },
          blocks,
          block,
          p + header,
        );
        p += header + msgSize;
      }
    }
    return { address, version: 2, messages };
  }

  private collect(
    messages: RawMessage[],
    m: RawMessage,
    blocks: [number, number][],
    block: Uint8Array,
    at: number,
  ): void {
    if (messages.length >= MAX_MESSAGES) {
      throw new Hdf5FormatError(`object header holds more than ${MAX_MESSAGES} messages`, m.start, 'limit');
    }
    if (m.type === MSG.continuation) {
      const o = this.superblock.offsetSize;
      const offset = this.address(block, at, 'continuation offset');
      const length = this.length(block, at + o, 'continuation length');
      if (offset === UNDEFINED) throw new Hdf5FormatError('continuation to an undefined address', m.start);
      blocks.push([offset, length]);
    }
    messages.push(m);
  }

  message(m: RawMessage, what: string): Uint8Array {
    return this.bytes(m.start, m.size, what);
  }

  /** The attribute messages of an object (compact storage; dense storage is reported by the caller). */
  attributes(header: ObjectHeader): Attribute[] {
    return header.messages.filter((m) => m.type === MSG.attribute).map((m) => this.attribute(m));
  }

  attribute(m: RawMessage): Attribute {
    if (m.flags & SHARED) throw new Hdf5FormatError('shared attribute messages are not supported', m.start);
    const b = this.message(m, 'attribute message');
    const version = b[0];
    if (version < 1 || version > 3) throw new Hdf5FormatError(`attribute message version ${version}`, m.start);
    const flags = version === 1 ? 0 : b[1];
    const nameSize = this.uint(b, 2, 2, 'attribute name size');
    const typeSize = this.uint(b, 4, 2, 'attribute datatype size');
    const spaceSize = this.uint(b, 6, 2, 'attribute dataspace size');
    const pad = (n: number) => (version === 1 ? Math.ceil(n / 8) * 8 : n);
    let pos = version === 3 ? 9 : 8;
    const field = (size: number, what: string) => {
      if (pos + size > b.length) throw new Hdf5FormatError(`attribute ${what} overruns the message`, m.start + pos);
      const out = b.subarray(pos, pos + size);
      pos += pad(size);
      return out;
    };
    const nameBytes = field(nameSize, 'name');
    const zero = nameBytes.indexOf(0);
    const name = utf8.decode(zero >= 0 ? nameBytes.subarray(0, zero) : nameBytes);
    const datatype = field(typeSize, 'datatype');
    const dataspace = field(spaceSize, 'dataspace');
    const data = b.subarray(Math.min(pos, b.length));
    if (flags & 0x03) {
      // shared (committed) datatype or dataspace: a reference, not the description
      return { name, value: { kind: 'other', datatypeClass: -1, elements: 0 } };
    }
    const elements = this.elementCount(dataspace, m.start);
    return { name, value: this.decodeValue(datatype, elements, data, m.start) };
  }

  /** Number of elements of a dataspace message (a scalar has one, a null dataspace none). */
  elementCount(space: Uint8Array, at: number): number {
    const version = space[0];
    const rank = space[1];
    if (version !== 1 && version !== 2) throw new Hdf5FormatError(`dataspace message version ${version}`, at);
    if (version === 2 && space[3] === 2) return 0;
    const dimsAt = version === 1 ? 8 : 4;
    let count = 1n;
    for (let i = 0; i < rank; i++) {
      const dim = this.uint(space, dimsAt + i * this.superblock.lengthSize, this.superblock.lengthSize, 'dimension');
      if (dim === UNDEFINED) throw new Hdf5FormatError('dataspace dimension is undefined', at);
      count *= BigInt(dim);
    }
    if (count > BigInt(Number.MAX_SAFE_INTEGER))
      throw new Hdf5FormatError(`dataspace of ${count} elements`, at, 'limit');
    return Number(count);
  }

  private decodeValue(type: Uint8Array, elements: number, data: Uint8Array, at: number): AttributeValue {
    if (type.length < 8) throw new Hdf5FormatError('datatype message too short', at);
    const cls = type[0] & 0x0f;
    const size = this.uint(type, 4, 4, 'datatype size');
    if (cls === 3) {
      // fixed-length string: bits 0-3 padding (0 null-terminated, 1 null-padded, 2 space-padded)
      if (BigInt(size) * BigInt(elements) > BigInt(data.length)) {
        throw new Hdf5FormatError(`attribute data of ${elements} × ${size} bytes overruns its message`, at, 'limit');
      }
      const values: string[] = [];
      const spacePad = (type[1] & 0x0f) === 2;
      for (let i = 0; i < Math.min(elements, MAX_STRING_ELEMENTS); i++) {
        const raw = data.subarray(i * size, (i + 1) * size);
        const nul = raw.indexOf(0);
        let s = utf8.decode(nul >= 0 ? raw.subarray(0, nul) : raw);
        if (spacePad) s = s.replace(/ +$/, '');
        values.push(s);
      }
      return { kind: 'string', values, variableLength: false };
    }
    if (cls === 9 && (type[1] & 0x0f) === 1) {
      // variable-length string: each element is (length u32, global heap collection address, object index u32)
      const o = this.superblock.offsetSize;
      const element = 4 + o + 4;
      if (BigInt(element) * BigInt(elements) > BigInt(data.length)) {
        throw new Hdf5FormatError(
          `attribute data of ${elements} variable-length strings overruns its message`,
          at,
          'limit',
        );
      }
      const values: string[] = [];
      for (let i = 0; i < Math.min(elements, MAX_STRING_ELEMENTS); i++) {
        const e = data.subarray(i * element, (i + 1) * element);
        const length = this.uint(e, 0, 4, 'string length');
        const collection = this.address(e, 4, 'global heap address');
        const index = this.uint(e, 4 + o, 4, 'global heap index');
        values.push(collection === UNDEFINED || length === 0 ? '' : this.globalHeapString(collection, index, length));
      }
      return { kind: 'string', values, variableLength: true };
    }
    return { kind: 'other', datatypeClass: cls, elements };
  }

  /** Object `index` of the global heap collection at `address` (its headers are indexed once). */
  private globalHeapString(address: number, index: number, length: number): string {
    let objects = this.heaps.get(address);
    if (!objects) {
      objects = this.indexGlobalHeap(address);
      this.heaps.set(address, objects);
    }
    const entry = objects.get(index);
    if (!entry) throw new Hdf5FormatError(`global heap collection at byte ${address} has no object ${index}`, address);
    const [start, size] = entry;
    if (length > size) {
      throw new Hdf5FormatError(`string of ${length} bytes is longer than its heap object (${size} bytes)`, start);
    }
    return utf8.decode(this.bytes(start, length, 'global heap object'));
  }

  private indexGlobalHeap(address: number): Map<number, [number, number]> {
    const l = this.superblock.lengthSize;
    const head = this.bytes(address, 8 + l, 'global heap collection');
    if (ascii(head.subarray(0, 4)) !== 'GCOL')
      throw new Hdf5FormatError(`no global heap (GCOL) at byte ${address}`, address);
    const size = this.length(head, 8, 'global heap collection size');
    const end = address + size;
    if (end > this.source.size) {
      throw new Hdf5FormatError(
        `global heap collection at byte ${address} (${size} bytes) runs past the end of the file`,
        address,
      );
    }
    const objects = new Map<number, [number, number]>();
    let pos = address + 8 + l;
    while (pos + 8 + l <= end) {
      const h = this.bytes(pos, 8 + l, 'global heap object header');
      const index = this.uint(h, 0, 2, 'heap object index');
      const objSize = this.length(h, 8, 'heap object size');
      if (index === 0) break; // free space: the rest of the collection
      const start = pos + 8 + l;
      if (start + objSize > end) {
        throw new Hdf5FormatError(`global heap object ${index} (${objSize} bytes) overruns its collection`, pos);
      }
      objects.set(index, [start, objSize]);
      pos = start + Math.ceil(objSize / 8) * 8;
    }
    return objects;
  }

  /** The links of a group: link messages (new-style groups) and the symbol table (old-style). */
  links(header: ObjectHeader): Link[] {
    const out: Link[] = [];
    for (const m of header.messages) {
      if (m.type === MSG.link) out.push(this.link(m));
      else if (m.type === MSG.symbolTable) out.push(...this.symbolTable(m));
    }
    return out;
  }

  private link(m: RawMessage): Link {
    const b = this.message(m, 'link message');
    if (b[0] !== 1) throw new Hdf5FormatError(`link message version ${b[0]}`, m.start);
    const flags = b[1];
    let pos = 2;
    let type = 0;
    if (flags & 0x08) type = b[pos++];
    if (flags & 0x04) pos += 8;
    if (flags & 0x10) pos++;
    const lengthSize = 1 << (flags & 0x03);
    const nameLength = this.uint(b, pos, lengthSize, 'link name length');
    pos += lengthSize;
    if (pos + nameLength > b.length) throw new Hdf5FormatError('link name overruns its message', m.start);
    const name = utf8.decode(b.subarray(pos, pos + nameLength));
    pos += nameLength;
    if (type === 0) return { name, kind: 'hard', address: this.address(b, pos, 'link address') };
    const infoLength = this.uint(b, pos, 2, 'link info length');
    const info = b.subarray(pos + 2, Math.min(b.length, pos + 2 + infoLength));
    if (type === 1) return { name, kind: 'soft', target: utf8.decode(info) };
    // external link: version/flags byte, then file name and object path, both null-terminated
    const parts = utf8.decode(info.subarray(1)).split('\0');
    return { name, kind: 'external', file: parts[0] ?? '', target: parts[1] ?? '' };
  }

  /** Old-style group: a v1 B-tree of symbol table nodes whose entries name links via the local heap. */
  private symbolTable(m: RawMessage): Link[] {
    const b = this.message(m, 'symbol table message');
    const btree = this.address(b, 0, 'B-tree address');
    const heap = this.address(b, this.superblock.offsetSize, 'local heap address');
    const names = this.localHeap(heap);
    const out: Link[] = [];
    const visited = new Set<number>();
    const visit = (node: number, depth: number) => {
      if (visited.has(node))
        throw new Hdf5FormatError(`group B-tree node at byte ${node} is reached twice (a cycle)`, node, 'loop');
      visited.add(node);
      if (depth > this.limits.maxDepth)
        throw new Hdf5FormatError('group B-tree deeper than the depth limit', node, 'limit');
      const o = this.superblock.offsetSize;
      const l = this.superblock.lengthSize;
      const head = this.bytes(node, 8 + 2 * o, 'B-tree node');
      if (ascii(head.subarray(0, 4)) !== 'TREE')
        throw new Hdf5FormatError(`no B-tree node (TREE) at byte ${node}`, node);
      if (head[4] !== 0) throw new Hdf5FormatError(`group B-tree node of type ${head[4]}`, node);
      const level = head[5];
      const used = this.uint(head, 6, 2, 'B-tree entries used');
      const body = this.bytes(node + 8 + 2 * o, used * (l + o) + l, 'B-tree keys and children');
      for (let i = 0; i < used; i++) {
        const child = this.address(body, l + i * (l + o), 'B-tree child');
        if (level > 0) visit(child, depth + 1);
        else out.push(...this.symbolNode(child, names, visited));
      }
    };
    if (btree !== UNDEFINED) visit(btree, 0);
    return out;
  }

  private symbolNode(address: number, names: (offset: number) => string, visited: Set<number>): Link[] {
    if (visited.has(address))
      throw new Hdf5FormatError(`symbol table node at byte ${address} is reached twice`, address, 'loop');
    visited.add(address);
    const head = this.bytes(address, 8, 'symbol table node');
    if (ascii(head.subarray(0, 4)) !== 'SNOD')
      throw new Hdf5FormatError(`no symbol table node (SNOD) at byte ${address}`, address);
    const count = this.uint(head, 6, 2, 'symbol count');
    const o = this.superblock.offsetSize;
    const entry = 2 * o + 24;
    const body = this.bytes(address + 8, count * entry, 'symbol table entries');
    const out: Link[] = [];
    for (let i = 0; i < count; i++) {
      const nameOffset = this.uint(body, i * entry, o, 'link name offset');
      out.push({ name: names(nameOffset), kind: 'hard', address: this.address(body, i * entry + o, 'object address') });
    }
    return out;
  }

  /** A name lookup into a local heap's data segment (null-terminated strings). */
  private localHeap(address: number): (offset: number) => string {
    const l = this.superblock.lengthSize;
    const head = this.bytes(address, 8 + 2 * l + this.superblock.offsetSize, 'local heap');
    if (ascii(head.subarray(0, 4)) !== 'HEAP')
      throw new Hdf5FormatError(`no local heap (HEAP) at byte ${address}`, address);
    const size = this.length(head, 8, 'local heap size');
    const data = this.address(head, 8 + 2 * l, 'local heap data address');
    const segment = this.bytes(data, size, 'local heap data segment');
    return (offset) => {
      if (offset < 0 || offset >= segment.length) {
        throw new Hdf5FormatError(`link name offset ${offset} is outside the ${segment.length}-byte local heap`, data);
      }
      const end = segment.indexOf(0, offset);
      return utf8.decode(segment.subarray(offset, end < 0 ? Math.min(segment.length, offset + 4096) : end));
    };
  }

  /** Paths of the external raw-data files a dataset's External Data Files message names. */
  externalFiles(m: RawMessage): string[] {
    const b = this.message(m, 'external data files message');
    const o = this.superblock.offsetSize;
    const l = this.superblock.lengthSize;
    const count = this.uint(b, 6, 2, 'external file slots used');
    const names = this.localHeap(this.address(b, 8, 'external files heap'));
    const out: string[] = [];
    for (let i = 0; i < Math.min(count, 64); i++)
      out.push(names(this.uint(b, 8 + o + i * 3 * l, l, 'file name offset')));
    return out;
  }
}
