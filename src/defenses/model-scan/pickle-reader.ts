/**
 * Reads a pickle stream opcode by opcode (protocols 0–5, every opcode of CPython's
 * pickletools) and never executes anything: each opcode comes out with its byte offset and
 * decoded argument. Strings and byte payloads longer than `inlineLimit` are skipped by
 * offset, not read, so a pickle holding gigabytes of array data streams in constant memory.
 */
import { AegisInputError } from '../../core/errors.js';
import type { ForwardReader, Line } from './file-source.js';
import { type ArgKind, OPCODE_BY_CODE, type OpcodeInfo } from './pickle-opcodes.js';

/** A str (unicode opcodes, or a protocol-0/1 Python 2 string): `value` is absent when skipped. */
export interface TextArg {
  kind: 'text';
  /** Encoded length in bytes. */
  length: number;
  value?: string;
  /** STRING/BINSTRING/SHORT_BINSTRING: Python 2 str, decoded as latin-1. */
  py2?: boolean;
}

/** bytes or bytearray: `data` is absent when skipped. */
export interface BytesArg {
  kind: 'bytes';
  length: number;
  data?: Uint8Array;
}

/** GLOBAL and INST: "module\nname\n". */
export interface GlobalArg {
  kind: 'global';
  module: string;
  name: string;
}

export type PickleArg = undefined | number | bigint | boolean | string | TextArg | BytesArg | GlobalArg;

export interface PickleOp {
  info: OpcodeInfo;
  /** Offset of the opcode byte (base offset included). */
  offset: number;
  arg: PickleArg;
}

/** The stream is not a well-formed pickle at `offset`. */
export class PickleParseError extends AegisInputError {
  constructor(
    message: string,
    readonly offset: number,
    readonly truncated: boolean,
  ) {
    super(message);
    this.name = 'PickleParseError';
  }
}

export interface PickleReaderOptions {
  /** Longest string or byte payload decoded into memory (longer ones are skipped). Default 64 KiB. */
  inlineLimit?: number;
  /** Added to offsets (the stream's position in the file or entry). Default 0. */
  baseOffset?: number;
}

const utf8 = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');
const SCRATCH = new Uint8Array(8);
const SCRATCH_VIEW = new DataView(SCRATCH.buffer);

/** UTF-8 decoding, with a fast path for the short ASCII names pickles are full of. */
function decodeUtf8(bytes: Uint8Array): string {
  if (bytes.length <= 64) {
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) ascii = false;
    if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  }
  return utf8.decode(bytes);
}

function latin1Text(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}

/** Opcode-level pickle reader over a ForwardReader. */
export class PickleReader {
  private readonly inlineLimit: number;
  private readonly base: number;
  private opStart = 0;
  private opName = '';

  constructor(
    private readonly input: ForwardReader,
    options: PickleReaderOptions = {},
  ) {
    this.inlineLimit = options.inlineLimit ?? 64 * 1024;
    this.base = (options.baseOffset ?? 0) - input.position;
  }

  /** Offset (base included) of the next byte. */
  get position(): number {
    return this.base + this.input.position;
  }

  /** The underlying reader (to skip raw data that some formats interleave, e.g. joblib arrays). */
  get reader(): ForwardReader {
    return this.input;
  }

  /** The next opcode, or null when the input ends cleanly before an opcode byte. */
  next(): PickleOp | null {
    const offset = this.position;
    const code = this.input.readByte();
    if (code < 0) return null;
    const info = OPCODE_BY_CODE[code];
    if (info === undefined) {
      throw new PickleParseError(
        `byte 0x${code.toString(16).padStart(2, '0')} at offset ${offset} is not a pickle opcode`,
        offset,
        false,
      );
    }
    this.opStart = offset;
    this.opName = info.name;
    return { info, offset, arg: this.readArg(info.arg) };
  }

  private truncated(): never {
    throw new PickleParseError(
      `the pickle ends inside ${this.opName} (opcode at byte ${this.opStart}, input ends at byte ${this.position})`,
      this.opStart,
      true,
    );
  }

  private invalid(why: string): never {
    throw new PickleParseError(`${this.opName} at byte ${this.opStart}: ${why}`, this.opStart, false);
  }

  private bytes(n: number): Uint8Array {
    const b = this.input.read(n);
    if (b.length < n) this.truncated();
    return b;
  }

  private u8(): number {
    const b = this.input.readByte();
    if (b < 0) this.truncated();
    return b;
  }

  /** An n-byte little-endian unsigned integer, read byte by byte (no allocation). */
  private le(n: number): number {
    let v = 0;
    let scale = 1;
    for (let k = 0; k < n; k++) {
      const b = this.input.readByte();
      if (b < 0) this.truncated();
      v += b * scale;
      scale *= 256;
    }
    return v;
  }

  private int4(): number {
    const v = this.le(4);
    return v >= 0x80000000 ? v - 0x100000000 : v;
  }

  private line(): Uint8Array {
    const line = this.longLine();
    if (line.length > line.bytes.length) this.invalid(`line argument longer than ${this.inlineLimit} bytes`);
    return line.bytes;
  }

  /** A line that may be longer than inlineLimit (protocol-0 strings): only its start is kept. */
  private longLine(): Line {
    const line = this.input.readLine(this.inlineLimit);
    if (line === null) this.truncated();
    return line;
  }

  /** Reads or skips a payload of n bytes. */
  private payload(n: number): Uint8Array | undefined {
    if (n <= this.inlineLimit) return this.bytes(n);
    if (this.input.skip(n) < n) this.truncated();
    return undefined;
  }

  private text(n: number, py2 = false): TextArg {
    const data = this.payload(n);
    const arg: TextArg = { kind: 'text', length: n };
    if (data !== undefined) arg.value = py2 ? latin1Text(data) : decodeUtf8(data);
    if (py2) arg.py2 = true;
    return arg;
  }

  private readArg(kind: ArgKind): PickleArg {
    switch (kind) {
      case 'none':
        return undefined;
      case 'uint1':
        return this.u8();
      case 'uint2':
        return this.le(2);
      case 'int4':
        return this.int4();
      case 'uint4':
        return this.le(4);
      case 'uint8':
        return this.le(8);
      case 'long1':
        return twosComplement(this.bytes(this.u8()));
      case 'long4': {
        const n = this.int4();
        if (n < 0) this.invalid(`negative byte count ${n}`);
        const data = this.payload(n);
        return data === undefined ? undefined : twosComplement(data);
      }
      case 'float8':
        for (let k = 0; k < 8; k++) SCRATCH[k] = this.u8();
        return SCRATCH_VIEW.getFloat64(0, false);
      case 'decimalnl_short': {
        const text = latin1Text(this.line()).trim();
        if (this.opName === 'INT' && (text === '00' || text === '01')) return text === '01';
        return this.parseInt(text);
      }
      case 'decimalnl_long':
        return this.parseInt(latin1Text(this.line()).trim().replace(/L$/, ''));
      case 'floatnl': {
        const text = latin1Text(this.line()).trim();
        const v = Number(text);
        if (text === '' || (Number.isNaN(v) && !/^[+-]?nan$/i.test(text) && !/^[+-]?inf/i.test(text)))
          this.invalid(`'${text.slice(0, 40)}' is not a float`);
        return v;
      }
      case 'stringnl': {
        const line = this.longLine();
        if (line.length > line.bytes.length) return { kind: 'text', length: line.length, py2: true };
        const value = decodeQuotedString(line.bytes);
        if (value === undefined) this.invalid('the STRING argument must be quoted');
        return { kind: 'text', length: value.length, value, py2: true };
      }
      case 'stringnl_noescape':
        return utf8.decode(this.line());
      case 'stringnl_noescape_pair': {
        const module = utf8.decode(this.line());
        const name = utf8.decode(this.line());
        return { kind: 'global', module, name };
      }
      case 'unicodestringnl': {
        const line = this.longLine();
        if (line.length > line.bytes.length) return { kind: 'text', length: line.length };
        return { kind: 'text', length: line.length, value: decodeRawUnicodeEscape(line.bytes) };
      }
      case 'string1':
        return this.text(this.u8(), true);
      case 'string4': {
        const n = this.int4();
        if (n < 0) this.invalid(`negative byte count ${n}`);
        return this.text(n, true);
      }
      case 'unicodestring1':
        return this.text(this.u8());
      case 'unicodestring4':
        return this.text(this.le(4));
      case 'unicodestring8':
        return this.text(this.le(8));
      case 'bytes1':
      case 'bytes4':
      case 'bytes8':
      case 'bytearray8': {
        const n = kind === 'bytes1' ? this.u8() : kind === 'bytes4' ? this.le(4) : this.le(8);
        return { kind: 'bytes', length: n, data: this.payload(n) };
      }
    }
  }

  private parseInt(text: string): number | bigint {
    if (!/^[+-]?\d+$/.test(text)) this.invalid(`'${text.slice(0, 40)}' is not an integer`);
    const big = BigInt(text);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }
}

/** Little-endian two's complement (LONG1/LONG4); a number when it fits exactly. */
export function twosComplement(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let k = bytes.length - 1; k >= 0; k--) v = (v << 8n) | BigInt(bytes[k]);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\n': '',
};

/** A protocol-0 STRING argument: a quoted Python repr, decoded like codecs.escape_decode. */
export function decodeQuotedString(line: Uint8Array): string | undefined {
  const s = latin1Text(line).replace(/\r$/, '');
  if (s.length < 2 || s[0] !== s[s.length - 1] || (s[0] !== "'" && s[0] !== '"')) return undefined;
  const body = s.slice(1, -1);
  let out = '';
  for (let k = 0; k < body.length; k++) {
    const c = body[k];
    if (c !== '\\' || k + 1 >= body.length) {
      out += c;
      continue;
    }
    const e = body[++k];
    if (e in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[e];
    else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(k + 1, k + 3))) {
      out += String.fromCharCode(Number.parseInt(body.slice(k + 1, k + 3), 16));
      k += 2;
    } else if (/[0-7]/.test(e)) {
      const oct = /^[0-7]{1,3}/.exec(body.slice(k))![0];
      out += String.fromCharCode(Number.parseInt(oct, 8) & 0xff);
      k += oct.length - 1;
    } else out += `\\${e}`;
  }
  return out;
}

/** A protocol-0 UNICODE argument: raw-unicode-escape (only \uXXXX and \UXXXXXXXX are escapes). */
export function decodeRawUnicodeEscape(raw: Uint8Array): string {
  const s = latin1Text(raw);
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4: string | undefined, u8: string | undefined) => {
    const cp = Number.parseInt(u4 ?? u8 ?? '0', 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
  });
}
