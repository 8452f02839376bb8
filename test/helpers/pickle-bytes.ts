/**
 * Builds pickles opcode by opcode, byte by byte, for the model-scan tests (no Python needed):
 * each method appends one opcode and its argument exactly as pickletools documents them.
 */

const enc = new TextEncoder();

function le(value: number, bytes: number): number[] {
  const out: number[] = [];
  let v = value;
  for (let k = 0; k < bytes; k++) {
    out.push(v % 256);
    v = Math.floor(v / 256);
  }
  return out;
}

export class PickleBuilder {
  private readonly out: number[] = [];

  /** Raw bytes (for garbage and hand-made corner cases). */
  raw(...bytes: (number | string)[]): this {
    for (const b of bytes) {
      if (typeof b === 'number') this.out.push(b);
      else for (const c of enc.encode(b)) this.out.push(c);
    }
    return this;
  }

  /** Current length: the offset of the next opcode. */
  get offset(): number {
    return this.out.length;
  }

  proto(n: number): this {
    return this.raw(0x80, n);
  }

  /** FRAME with the length of what `body` appends (protocol 4). */
  frame(body: (b: PickleBuilder) => void): this {
    const inner = new PickleBuilder();
    body(inner);
    const bytes = inner.bytes();
    return this.raw(0x95, ...le(bytes.length, 8), ...bytes);
  }

  // Imports
  global(module: string, name: string): this {
    return this.raw('c', `${module}\n${name}\n`);
  }
  inst(module: string, name: string): this {
    return this.raw('i', `${module}\n${name}\n`);
  }
  stackGlobal(): this {
    return this.raw(0x93);
  }
  ext1(code: number): this {
    return this.raw(0x82, code);
  }

  // Strings
  /** Protocol 0 STRING: a quoted repr. */
  string(quotedRepr: string): this {
    return this.raw('S', `${quotedRepr}\n`);
  }
  unicode(rawUnicodeEscaped: string): this {
    return this.raw('V', `${rawUnicodeEscaped}\n`);
  }
  shortBinString(s: string): this {
    const b = enc.encode(s);
    return this.raw('U', b.length, ...b);
  }
  shortBinUnicode(s: string): this {
    const b = enc.encode(s);
    return this.raw(0x8c, b.length, ...b);
  }
  binUnicode(s: string): this {
    const b = enc.encode(s);
    return this.raw('X', ...le(b.length, 4), ...b);
  }
  binUnicode8(s: string): this {
    const b = enc.encode(s);
    return this.raw(0x8d, ...le(b.length, 8), ...b);
  }
  shortBinBytes(b: Uint8Array): this {
    return this.raw('C', b.length, ...b);
  }
  binBytes(b: Uint8Array): this {
    return this.raw('B', ...le(b.length, 4), ...b);
  }
  binBytes8(b: Uint8Array): this {
    this.raw(0x8e, ...le(b.length, 8));
    for (const x of b) this.out.push(x);
    return this;
  }
  byteArray8(b: Uint8Array): this {
    this.raw(0x96, ...le(b.length, 8));
    for (const x of b) this.out.push(x);
    return this;
  }

  // Numbers and constants
  int(n: number): this {
    return this.raw('I', `${n}\n`);
  }
  binInt1(n: number): this {
    return this.raw('K', n);
  }
  binInt2(n: number): this {
    return this.raw('M', ...le(n, 2));
  }
  binInt(n: number): this {
    return this.raw('J', ...le(n < 0 ? n + 2 ** 32 : n, 4));
  }
  long1(bytes: number[]): this {
    return this.raw(0x8a, bytes.length, ...bytes);
  }
  binFloat(x: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, false);
    return this.raw('G', ...b);
  }
  none(): this {
    return this.raw('N');
  }
  newTrue(): this {
    return this.raw(0x88);
  }
  newFalse(): this {
    return this.raw(0x89);
  }

  // Containers
  mark(): this {
    return this.raw('(');
  }
  tuple(): this {
    return this.raw('t');
  }
  tuple1(): this {
    return this.raw(0x85);
  }
  tuple2(): this {
    return this.raw(0x86);
  }
  tuple3(): this {
    return this.raw(0x87);
  }
  emptyTuple(): this {
    return this.raw(')');
  }
  emptyList(): this {
    return this.raw(']');
  }
  append(): this {
    return this.raw('a');
  }
  appends(): this {
    return this.raw('e');
  }
  list(): this {
    return this.raw('l');
  }
  emptyDict(): this {
    return this.raw('}');
  }
  dict(): this {
    return this.raw('d');
  }
  setItem(): this {
    return this.raw('s');
  }
  setItems(): this {
    return this.raw('u');
  }
  emptySet(): this {
    return this.raw(0x8f);
  }
  addItems(): this {
    return this.raw(0x90);
  }
  frozenSet(): this {
    return this.raw(0x91);
  }

  // Stack and memo
  pop(): this {
    return this.raw('0');
  }
  dup(): this {
    return this.raw('2');
  }
  popMark(): this {
    return this.raw('1');
  }
  put(i: number): this {
    return this.raw('p', `${i}\n`);
  }
  get(i: number): this {
    return this.raw('g', `${i}\n`);
  }
  binPut(i: number): this {
    return this.raw('q', i);
  }
  binGet(i: number): this {
    return this.raw('h', i);
  }
  longBinPut(i: number): this {
    return this.raw('r', ...le(i, 4));
  }
  longBinGet(i: number): this {
    return this.raw('j', ...le(i, 4));
  }
  memoize(): this {
    return this.raw(0x94);
  }

  // Calls
  reduce(): this {
    return this.raw('R');
  }
  build(): this {
    return this.raw('b');
  }
  obj(): this {
    return this.raw('o');
  }
  newObj(): this {
    return this.raw(0x81);
  }
  newObjEx(): this {
    return this.raw(0x92);
  }
  binPersId(): this {
    return this.raw('Q');
  }
  nextBuffer(): this {
    return this.raw(0x97);
  }
  readonlyBuffer(): this {
    return this.raw(0x98);
  }
  stop(): this {
    return this.raw('.');
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export function pickle(): PickleBuilder {
  return new PickleBuilder();
}

/** os.system('echo pwned') via GLOBAL + REDUCE in protocol 0: cos\nsystem\n(S'echo pwned'\ntR. */
export function osSystemProtocol0(module = 'os'): Uint8Array {
  return pickle().global(module, 'system').mark().string("'echo pwned'").tuple().reduce().stop().bytes();
}

/** The same call in protocol 2: PROTO 2, GLOBAL, BINUNICODE, TUPLE1, REDUCE. */
export function osSystemProtocol2(module = 'os'): Uint8Array {
  return pickle().proto(2).global(module, 'system').binUnicode('echo pwned').tuple1().reduce().stop().bytes();
}

/**
 * builtins.exec via STACK_GLOBAL in protocol 4, inside a FRAME, with the module and name
 * memoized (MEMOIZE), dropped from the stack and fetched back with BINGET: the name only
 * resolves through the memo. Returns the bytes and the STACK_GLOBAL's offset.
 */
export function execViaStackGlobal(): { bytes: Uint8Array; stackGlobalOffset: number } {
  let stackGlobalOffset = -1;
  const b = pickle()
    .proto(4)
    .frame((f) => {
      f.shortBinUnicode('builtins').memoize().shortBinUnicode('exec').memoize().pop().pop();
      f.shortBinUnicode('unrelated').pop();
      f.binGet(0).binGet(1);
      stackGlobalOffset = 2 + 9 + f.offset; // PROTO (2) + FRAME opcode and length (9)
      f.stackGlobal().memoize().shortBinUnicode("import os; os.system('id')").tuple1().reduce().memoize().stop();
    });
  return { bytes: b.bytes(), stackGlobalOffset };
}

/**
 * A state dict as torch.save writes data.pkl (protocol 2): OrderedDict of tensors rebuilt by
 * torch._utils._rebuild_tensor_v2 from persistent-id storages ('storage', torch.FloatStorage, key, 'cpu', n).
 */
export function torchStateDict(names: string[] = ['fc.weight', 'fc.bias']): Uint8Array {
  const b = pickle().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().binPut(0).mark();
  names.forEach((name, k) => {
    b.binUnicode(name);
    b.global('torch._utils', '_rebuild_tensor_v2');
    b.mark().mark().binUnicode('storage').global('torch', 'FloatStorage').binUnicode(String(k)).binUnicode('cpu');
    b.binInt1(6).tuple().binPersId();
    b.binInt1(0).binInt1(2).binInt1(3).tuple2().binInt1(3).binInt1(1).tuple2().newFalse();
    b.global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  });
  b.setItems();
  // state_dict()._metadata = {...}: BUILD with a (None, {'_metadata': ...}) slot state.
  b.none().emptyDict().binUnicode('_metadata').emptyDict().setItem().tuple2().build();
  return b.stop().bytes();
}

export interface JoblibArraySpec {
  /** numpy.dtype's first argument: 'f4', 'i8', 'O8' (objects) … */
  dtype: string;
  shape: number[];
  /** The array's raw bytes (numeric), or a nested protocol-2 pickle (objects). */
  data: Uint8Array;
  /** Write numpy_array_alignment_bytes = 16 and the padding joblib ≥ 1.2 writes. */
  aligned?: boolean;
}

/** Appends a joblib NumpyArrayWrapper (NEWOBJ + BUILD of its state) and ends the frame, as joblib does. */
function joblibWrapper(b: PickleBuilder, spec: JoblibArraySpec): void {
  b.global('joblib.numpy_pickle', 'NumpyArrayWrapper').emptyTuple().newObj().emptyDict().mark();
  b.shortBinUnicode('subclass').global('numpy', 'ndarray');
  b.shortBinUnicode('shape').mark();
  for (const d of spec.shape) b.binInt(d);
  b.tuple();
  b.shortBinUnicode('order').shortBinUnicode('C');
  b.shortBinUnicode('dtype')
    .global('numpy', 'dtype')
    .shortBinUnicode(spec.dtype)
    .newFalse()
    .newTrue()
    .tuple3()
    .reduce();
  b.mark()
    .binInt1(3)
    .shortBinUnicode(spec.dtype.startsWith('O') ? '|' : '<')
    .none()
    .none()
    .none();
  b.binInt(-1)
    .binInt(-1)
    .binInt1(spec.dtype.startsWith('O') ? 63 : 0)
    .tuple()
    .build();
  b.shortBinUnicode('allow_mmap').newFalse();
  if (spec.aligned) b.shortBinUnicode('numpy_array_alignment_bytes').binInt1(16);
  b.setItems().build();
}

/**
 * A joblib.dump-style file (protocol 4, uncompressed): a tuple of the given arrays, each a
 * NumpyArrayWrapper followed by its raw bytes in the stream, then whatever `tail` appends
 * inside the tuple.
 */
export function joblibFile(arrays: JoblibArraySpec[], tail?: (b: PickleBuilder) => void): Uint8Array {
  const b = pickle().proto(4).mark();
  for (const spec of arrays) {
    joblibWrapper(b, spec);
    if (spec.aligned && !spec.dtype.startsWith('O')) {
      const pad = 16 - ((b.offset + 1) % 16);
      b.raw(pad, ...new Array(pad).fill(0xff));
    }
    b.raw(...spec.data);
  }
  tail?.(b);
  return b.tuple().stop().bytes();
}

/** A legacy (non-zip) torch.save file: magic, protocol, sys info, the object, storage keys, then raw storage bytes. */
export function legacyTorchFile(object: Uint8Array, storage: Uint8Array): Uint8Array {
  const magic = pickle().proto(2).long1([0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]).stop().bytes();
  const version = pickle().proto(2).binInt2(1001).stop().bytes();
  const sysInfo = pickle()
    .proto(2)
    .emptyDict()
    .mark()
    .binUnicode('little_endian')
    .newTrue()
    .binUnicode('protocol_version')
    .binInt2(1001)
    .setItems()
    .stop()
    .bytes();
  const keys = pickle().proto(2).emptyList().binUnicode('0').append().stop().bytes();
  const count = new Uint8Array(8);
  new DataView(count.buffer).setBigUint64(0, BigInt(storage.length / 4), true);
  const parts = [magic, version, sysInfo, object, keys, count, storage];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
