/**
 * IDX files, the array format of MNIST and Fashion-MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/):
 * two zero bytes, a dtype byte, the number of dimensions, then each dimension as a big-endian
 * uint32, then the values in row-major order, big-endian. Files may be gzipped (detected by
 * the magic bytes 1f 8b, not by the file name).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { AegisInputError } from '../core/errors.js';

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  /** Row-major values in host byte order, length = product(shape). */
  data: IdxData;
}

interface DTypeInfo {
  code: number;
  bytes: number;
  make: (n: number) => IdxData;
  read: (view: DataView, offset: number) => number;
  write: (view: DataView, offset: number, value: number) => void;
}

const DTYPES: Record<IdxDType, DTypeInfo> = {
  uint8: {
    code: 0x08,
    bytes: 1,
    make: (n) => new Uint8Array(n),
    read: (v, o) => v.getUint8(o),
    write: (v, o, x) => v.setUint8(o, x),
  },
  int8: {
    code: 0x09,
    bytes: 1,
    make: (n) => new Int8Array(n),
    read: (v, o) => v.getInt8(o),
    write: (v, o, x) => v.setInt8(o, x),
  },
  int16: {
    code: 0x0b,
    bytes: 2,
    make: (n) => new Int16Array(n),
    read: (v, o) => v.getInt16(o, false),
    write: (v, o, x) => v.setInt16(o, x, false),
  },
  int32: {
    code: 0x0c,
    bytes: 4,
    make: (n) => new Int32Array(n),
    read: (v, o) => v.getInt32(o, false),
    write: (v, o, x) => v.setInt32(o, x, false),
  },
  float32: {
    code: 0x0d,
    bytes: 4,
    make: (n) => new Float32Array(n),
    read: (v, o) => v.getFloat32(o, false),
    write: (v, o, x) => v.setFloat32(o, x, false),
  },
  float64: {
    code: 0x0e,
    bytes: 8,
    make: (n) => new Float64Array(n),
    read: (v, o) => v.getFloat64(o, false),
    write: (v, o, x) => v.setFloat64(o, x, false),
  },
};

function dtypeOfCode(code: number): IdxDType | undefined {
  return (Object.keys(DTYPES) as IdxDType[]).find((k) => DTYPES[k].code === code);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** True when `bytes` (already decompressed) start with a plausible IDX header. */
export function looksLikeIdx(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0 && dtypeOfCode(bytes[2]!) !== undefined && bytes[3]! > 0;
}

/** Decompresses when gzipped; `source` names the file in error messages. */
export function gunzipIfNeeded(bytes: Uint8Array, source: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new AegisInputError(`${source}: corrupt or truncated gzip data (${reason})`, { cause: error });
  }
}

/** Parses IDX bytes (raw or gzipped). `source` names the file in error messages. */
export function parseIdx(input: Uint8Array, source = '<idx bytes>'): IdxArray {
  const bytes = gunzipIfNeeded(input, source);
  if (bytes.length < 4) {
    throw new AegisInputError(`${source}: truncated IDX file (${bytes.length} bytes, the header alone needs 4)`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new AegisInputError(
      `${source}: not an IDX file (magic bytes ${hex(bytes[0]!)} ${hex(bytes[1]!)}, expected 00 00)`,
    );
  }
  const dtype = dtypeOfCode(bytes[2]!);
  if (dtype === undefined) {
    throw new AegisInputError(
      `${source}: unknown IDX data type 0x${hex(bytes[2]!)} (expected 08 ubyte, 09 sbyte, 0b short, 0c int, 0d float or 0e double)`,
    );
  }
  const ndim = bytes[3]!;
  if (ndim === 0) throw new AegisInputError(`${source}: IDX header declares 0 dimensions`);
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw new AegisInputError(
      `${source}: truncated IDX header (${ndim} dimensions need ${headerBytes} header bytes, file has ${bytes.length})`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const info = DTYPES[dtype];
  const count = shape.reduce((a, b) => a * b, 1);
  const needed = count * info.bytes;
  const available = bytes.length - headerBytes;
  if (available < needed) {
    throw new AegisInputError(
      `${source}: truncated IDX data (dims [${shape.join(', ')}] of ${dtype} need ${needed} bytes, only ${available} present)`,
    );
  }
  if (available > needed) {
    throw new AegisInputError(
      `${source}: ${available - needed} unexpected bytes after the IDX data (dims [${shape.join(', ')}] of ${dtype} need ${needed})`,
    );
  }
  // Copy into plain typed arrays (a Buffer's slice() is a view into a shared pool).
  if (dtype === 'uint8') return { dtype, shape, data: new Uint8Array(bytes.subarray(headerBytes)) };
  if (dtype === 'int8')
    return { dtype, shape, data: new Int8Array(bytes.buffer, bytes.byteOffset + headerBytes, count).slice() };
  const data = info.make(count);
  for (let i = 0; i < count; i++) data[i] = info.read(view, headerBytes + i * info.bytes);
  return { dtype, shape, data };
}

/** Reads an IDX file (raw or gzipped). */
export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new AegisInputError(`${path}: cannot read IDX file (${reason})`, { cause: error });
  }
  return parseIdx(bytes, path);
}

/** Encodes an array as IDX bytes, gzipped (level 9) when `gzip` is set. */
export function encodeIdx(array: IdxArray, options: { gzip?: boolean } = {}): Uint8Array {
  const info = DTYPES[array.dtype];
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (array.shape.length === 0 || array.shape.length > 255) {
    throw new AegisInputError(`IDX needs 1 to 255 dimensions, got ${array.shape.length}`);
  }
  if (array.shape.some((d) => !Number.isInteger(d) || d < 0 || d > 0xffffffff)) {
    throw new AegisInputError(`IDX dimensions must be integers in [0, 2^32), got [${array.shape.join(', ')}]`);
  }
  if (array.data.length !== count) {
    throw new AegisInputError(`IDX shape [${array.shape.join(', ')}] needs ${count} values, got ${array.data.length}`);
  }
  const headerBytes = 4 + 4 * array.shape.length;
  const out = new Uint8Array(headerBytes + count * info.bytes);
  const view = new DataView(out.buffer);
  out[2] = info.code;
  out[3] = array.shape.length;
  for (const [i, d] of array.shape.entries()) view.setUint32(4 + 4 * i, d, false);
  if (info.bytes === 1 && array.data.BYTES_PER_ELEMENT === 1)
    out.set(new Uint8Array(array.data.buffer, array.data.byteOffset, count), headerBytes);
  else for (let i = 0; i < count; i++) info.write(view, headerBytes + i * info.bytes, array.data[i]!);
  return options.gzip ? gzipSync(out, { level: 9 }) : out;
}

/** Writes an IDX file; gzipped by default when the path ends in `.gz`. */
export function writeIdx(path: string, array: IdxArray, options: { gzip?: boolean } = {}): void {
  writeFileSync(path, encodeIdx(array, { gzip: options.gzip ?? path.endsWith('.gz') }));
}
