/**
 * NumPy .npy files: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 * Reads format versions 1.0, 2.0 and 3.0 with numeric or bool dtypes in C order; big-endian
 * data is byte-swapped on read. Writes version 1.0 (2.0 when the header is too long for it),
 * little-endian, C order, with the header padded so the data starts on a 64-byte boundary.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { AegisInputError } from '../core/errors.js';

export type NpyDType =
  | 'bool'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float16'
  | 'float32'
  | 'float64';

export type NpyData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/**
 * A dense C-order array. `bool` data is a Uint8Array of 0/1; `float16` data is a Uint16Array
 * of raw half-precision bits (convert with toFloat32).
 */
export interface NdArray {
  dtype: NpyDType;
  shape: number[];
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

interface DTypeSpec {
  kind: string;
  size: number;
  make: (buffer: ArrayBuffer, length: number) => NpyData;
}

const DTYPES: Record<NpyDType, DTypeSpec> = {
  bool: { kind: 'b', size: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  int8: { kind: 'i', size: 1, make: (b, n) => new Int8Array(b, 0, n) },
  uint8: { kind: 'u', size: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  int16: { kind: 'i', size: 2, make: (b, n) => new Int16Array(b, 0, n) },
  uint16: { kind: 'u', size: 2, make: (b, n) => new Uint16Array(b, 0, n) },
  int32: { kind: 'i', size: 4, make: (b, n) => new Int32Array(b, 0, n) },
  uint32: { kind: 'u', size: 4, make: (b, n) => new Uint32Array(b, 0, n) },
  int64: { kind: 'i', size: 8, make: (b, n) => new BigInt64Array(b, 0, n) },
  uint64: { kind: 'u', size: 8, make: (b, n) => new BigUint64Array(b, 0, n) },
  float16: { kind: 'f', size: 2, make: (b, n) => new Uint16Array(b, 0, n) },
  float32: { kind: 'f', size: 4, make: (b, n) => new Float32Array(b, 0, n) },
  float64: { kind: 'f', size: 8, make: (b, n) => new Float64Array(b, 0, n) },
};

/** The typed-array class each dtype's data must be (for writeNpy checks). */
const DATA_CLASS: Record<NpyDType, string> = {
  bool: 'Uint8Array',
  int8: 'Int8Array',
  uint8: 'Uint8Array',
  int16: 'Int16Array',
  uint16: 'Uint16Array',
  int32: 'Int32Array',
  uint32: 'Uint32Array',
  int64: 'BigInt64Array',
  uint64: 'BigUint64Array',
  float16: 'Uint16Array',
  float32: 'Float32Array',
  float64: 'Float64Array',
};

export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Maps a NumPy descr such as '<f4' or '|b1' to a dtype and whether it is big-endian. */
function parseDescr(descr: string, where: string): { dtype: NpyDType; bigEndian: boolean } {
  const match = /^([<>|=]?)([biuf])(\d+)$/.exec(descr);
  const found = match
    ? (Object.keys(DTYPES) as NpyDType[]).find(
        (d) => DTYPES[d].kind === match[2] && DTYPES[d].size === Number(match[3]),
      )
    : undefined;
  if (!match || !found) {
    throw new AegisInputError(
      `${where}: unsupported dtype '${descr}' (supported: bool, int8-64, uint8-64, float16/32/64; ` +
        'strings, objects, complex and structured arrays are not)',
    );
  }
  return { dtype: found, bigEndian: match[1] === '>' && DTYPES[found].size > 1 };
}

/** The parts of the header dict we need; the header is a Python literal, not JSON. */
function parseHeader(header: string, where: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr) {
    const structured = /['"]descr['"]\s*:\s*\[/.test(header);
    throw new AegisInputError(
      structured
        ? `${where}: structured (record) arrays are not supported`
        : `${where}: header has no 'descr' entry: ${JSON.stringify(header.trim())}`,
    );
  }
  if (!fortran || !shape) {
    throw new AegisInputError(`${where}: header is malformed: ${JSON.stringify(header.trim())}`);
  }
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim().replace(/L$/, '')) // Python 2 longs: (3L, 4L)
    .filter((s) => s !== '')
    .map(Number);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new AegisInputError(`${where}: bad shape (${shape[1]}) in header`);
  }
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: dims };
}

/** Reverses the bytes of each `size`-byte element in place. */
function byteSwap(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/**
 * Parses .npy bytes. `source` names the file or npz entry in error messages.
 * The returned data owns a fresh, aligned buffer.
 */
export function readNpy(bytes: Uint8Array, source = '<npy bytes>'): NdArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new AegisInputError(`${source}: not a .npy file (missing the \\x93NUMPY magic)`);
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (major < 1 || major > 3) {
    throw new AegisInputError(`${source}: unsupported .npy format version ${major}.${minor}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw new AegisInputError(`${source}: truncated .npy header`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  if (dataStart > bytes.length) {
    throw new AegisInputError(
      `${source}: truncated .npy file: header says ${headerLen} header bytes but the file has only ${bytes.length} bytes`,
    );
  }
  const headerBytes = bytes.subarray(8 + lenBytes, dataStart);
  // Versions 1 and 2 store the header in latin-1, version 3 in UTF-8.
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(headerBytes);
  const { descr, fortran, shape } = parseHeader(header, source);
  const { dtype, bigEndian } = parseDescr(descr, source);
  const count = product(shape);
  if (fortran && shape.filter((d) => d > 1).length > 1) {
    throw new AegisInputError(
      `${source}: Fortran-order (column-major) arrays are not supported; save it with np.ascontiguousarray(a)`,
    );
  }
  const size = DTYPES[dtype].size;
  const need = count * size;
  const have = bytes.length - dataStart;
  if (have < need) {
    throw new AegisInputError(
      `${source}: truncated .npy data: shape (${shape.join(', ')}) of ${dtype} needs ${need} bytes but only ${have} follow the header`,
    );
  }
  // Copy into an own, aligned buffer (Buffer#slice would share memory, and the data offset may be unaligned).
  const copy = new Uint8Array(need);
  copy.set(bytes.subarray(dataStart, dataStart + need));
  if (bigEndian) byteSwap(copy, size);
  return { dtype, shape, data: DTYPES[dtype].make(copy.buffer, count) };
}

function formatShape(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

/** Checks an NdArray's dtype, data class and shape agree; throws AegisInputError if not. */
export function checkNdArray(arr: NdArray, where = 'array'): void {
  if (!(arr.dtype in DTYPES)) throw new AegisInputError(`${where}: unknown dtype '${arr.dtype}'`);
  const cls = arr.data?.constructor?.name;
  if (cls !== DATA_CLASS[arr.dtype]) {
    throw new AegisInputError(`${where}: dtype ${arr.dtype} needs a ${DATA_CLASS[arr.dtype]} but data is ${cls}`);
  }
  if (arr.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new AegisInputError(`${where}: bad shape [${arr.shape}]`);
  }
  if (product(arr.shape) !== arr.data.length) {
    throw new AegisInputError(
      `${where}: shape [${arr.shape}] has ${product(arr.shape)} elements but data has ${arr.data.length}`,
    );
  }
}

/** Encodes an array as .npy bytes (little-endian, C order). */
export function writeNpy(arr: NdArray, where = 'array'): Uint8Array {
  checkNdArray(arr, where);
  const spec = DTYPES[arr.dtype];
  const descr = `${spec.size === 1 ? '|' : '<'}${spec.kind}${spec.size}`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${formatShape(arr.shape)}, }`;
  let major = 1;
  let prefix = 10;
  // Pad with spaces and end with '\n' so the data starts on a 64-byte boundary.
  let total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  if (total - prefix > 0xffff) {
    major = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  }
  const headerLen = total - prefix;
  const header = `${dict}${' '.repeat(headerLen - dict.length - 1)}\n`;
  const dataBytes = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  const out = new Uint8Array(total + dataBytes.length);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLen, true);
  else view.setUint32(8, headerLen, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(dataBytes, total);
  return out;
}

export function readNpyFile(path: string): NdArray {
  return readNpy(readBytes(path), path);
}

export function writeNpyFile(path: string, arr: NdArray): void {
  writeBytes(path, writeNpy(arr, path));
}

/** Reads a whole file; a missing or unreadable file is the user's to fix. */
export function readBytes(path: string): Uint8Array {
  try {
    const buf = readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (error) {
    throw new AegisInputError(`cannot read '${path}': ${(error as Error).message}`, { cause: error });
  }
}

export function writeBytes(path: string, bytes: Uint8Array): void {
  try {
    writeFileSync(path, bytes);
  } catch (error) {
    throw new AegisInputError(`cannot write '${path}': ${(error as Error).message}`, { cause: error });
  }
}

/** Half-precision bits to a float (IEEE 754 binary16). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** The values as float32 (float16 bits are decoded; int64 beyond 2^24 loses precision as in NumPy). */
export function toFloat32(arr: NdArray): Float32Array {
  const { data } = arr;
  if (data instanceof Float32Array) return data;
  const out = new Float32Array(data.length);
  if (arr.dtype === 'float16') {
    for (let i = 0; i < data.length; i++) out[i] = halfToFloat(data[i] as number);
  } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
  } else {
    out.set(data as ArrayLike<number>);
  }
  return out;
}
