/**
 * NumPy .npy files (numpy.lib.format, versions 1.0–3.0): the header is a Python dict literal
 * (descr, fortran_order, shape). Numeric arrays are raw bytes and cannot carry code; object
 * arrays ('O' in descr) are a pickle after the header, which np.load only reads with
 * allow_pickle=True — a finding by itself, and the embedded pickle is scanned like any other.
 * .npz archives are zips of .npy entries (scan-path.ts scans each entry with this).
 */
import { AegisInputError } from '../../core/errors.js';
import { type ForwardReader, forwardReader } from './file-source.js';
import type { ByteSource, Finding, FormatScanner, ScanContext } from './finding.js';
import { locate } from './location.js';
import { scanPickleStream } from './pickle-scan.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
/** numpy refuses headers above this by default (numpy.lib.format._MAX_HEADER_SIZE). */
const MAX_HEADER = 10_000;

export function looksLikeNpy(head: Uint8Array): boolean {
  return head.length >= 6 && MAGIC.every((b, i) => head[i] === b);
}

type PyLiteral = string | number | boolean | null | PyLiteral[] | { [key: string]: PyLiteral };

/** Parses the small Python literal subset .npy headers use: dicts, tuples, lists, strings, ints, booleans, None. */
export function parsePyLiteral(text: string, maxDepth = 32): PyLiteral {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at character ${i}`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (depth: number): PyLiteral => {
    if (depth > maxDepth) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === '{' || c === '(' || c === '[') {
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const items: PyLiteral[] = [];
      const dict: Record<string, PyLiteral> = {};
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          break;
        }
        const item = value(depth + 1);
        ws();
        if (c === '{') {
          if (text[i] !== ':' || typeof item !== 'string') fail('expected a string key and ":"');
          i++;
          dict[item as string] = value(depth + 1);
        } else items.push(item);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      }
      return c === '{' ? dict : items;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(text.slice(i, i + 32));
    if (!m) fail(`unexpected '${text.slice(i, i + 10)}'`);
    i += m![0].length;
    const token = m![0];
    return token === 'True'
      ? true
      : token === 'False'
        ? false
        : token === 'None'
          ? null
          : Number(token.replace('L', ''));
  };
  const out = value(0);
  ws();
  if (i < text.length) fail('trailing characters');
  return out;
}

export interface NpyHeader {
  version: number;
  descr: PyLiteral;
  shape: number[];
  fortranOrder: boolean;
  /** Bytes up to the start of the data. */
  dataOffset: number;
  hasObject: boolean;
  /** Bytes per item; undefined for object arrays or descriptors not understood. */
  itemsize?: number;
}

/** Bytes per item and whether any field holds Python objects, from a descr. */
export function describeDtype(descr: PyLiteral): { itemsize?: number; hasObject: boolean } {
  if (typeof descr === 'string') {
    const m = /^[<>|=]?([a-zA-Z?])(\d*)/.exec(descr);
    if (!m) return { hasObject: false };
    const kind = m[1];
    if (kind === 'O') return { hasObject: true };
    const n = m[2] === '' ? (kind === '?' ? 1 : Number.NaN) : Number(m[2]);
    const itemsize = kind === 'U' ? 4 * n : n;
    return { itemsize: Number.isFinite(itemsize) ? itemsize : undefined, hasObject: false };
  }
  if (Array.isArray(descr)) {
    // Structured: [(name, type[, shape]), ...]
    let itemsize: number | undefined = 0;
    let hasObject = false;
    for (const field of descr) {
      if (!Array.isArray(field) || field.length < 2) return { hasObject };
      const inner = describeDtype(field[1]);
      hasObject ||= inner.hasObject;
      const shape = Array.isArray(field[2]) ? field[2] : typeof field[2] === 'number' ? [field[2]] : [];
      const count = shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : Number.NaN), 1);
      itemsize = itemsize !== undefined && inner.itemsize !== undefined ? itemsize + inner.itemsize * count : undefined;
    }
    return { itemsize: itemsize !== undefined && Number.isFinite(itemsize) ? itemsize : undefined, hasObject };
  }
  return { hasObject: false };
}

/** Reads the header from the stream (left positioned at the data). Throws AegisInputError when it is not valid. */
export function readNpyHeader(reader: ForwardReader, where: string): NpyHeader {
  const pre = reader.read(8);
  if (pre.length < 8 || !looksLikeNpy(pre))
    throw new AegisInputError(`${where}: not an .npy file (no \\x93NUMPY magic)`);
  const version = pre[6];
  if (version < 1 || version > 3)
    throw new AegisInputError(`${where}: unsupported .npy format version ${version}.${pre[7]}`);
  let length: number;
  if (version === 1) {
    const b = reader.read(2);
    if (b.length < 2) throw new AegisInputError(`${where}: truncated .npy header`);
    length = b[0] | (b[1] << 8);
  } else {
    const b = reader.read(4);
    if (b.length < 4) throw new AegisInputError(`${where}: truncated .npy header`);
    length = (b[0] | (b[1] << 8) | (b[2] << 16)) + b[3] * 0x1000000;
  }
  if (length > MAX_HEADER)
    throw new AegisInputError(`${where}: .npy header of ${length} bytes is above numpy's ${MAX_HEADER}-byte limit`);
  const raw = reader.read(length);
  if (raw.length < length)
    throw new AegisInputError(`${where}: truncated .npy header (${raw.length} of ${length} bytes)`);
  const text = new TextDecoder(version === 3 ? 'utf-8' : 'latin1').decode(raw);
  let header: PyLiteral;
  try {
    header = parsePyLiteral(text.trim());
  } catch (error) {
    throw new AegisInputError(`${where}: .npy header is not a Python dict literal (${(error as Error).message})`);
  }
  if (
    header === null ||
    typeof header !== 'object' ||
    Array.isArray(header) ||
    !('descr' in header) ||
    !('shape' in header)
  ) {
    throw new AegisInputError(`${where}: .npy header lacks 'descr' or 'shape'`);
  }
  const shape = header.shape;
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0)) {
    throw new AegisInputError(`${where}: .npy header has a bad shape ${JSON.stringify(shape)}`);
  }
  const dtype = describeDtype(header.descr);
  return {
    version,
    descr: header.descr,
    shape: shape as number[],
    fortranOrder: header.fortran_order === true,
    dataOffset: (version === 1 ? 10 : 12) + length,
    ...dtype,
  };
}

/**
 * Scans an .npy stream of `totalSize` bytes (when known): header, object-dtype finding and the
 * embedded pickle, or a size check for numeric data (which is skipped, not read).
 */
export function scanNpyStream(
  reader: ForwardReader,
  totalSize: number | undefined,
  context: ScanContext,
): { findings: Finding[]; header: NpyHeader } {
  const header = readNpyHeader(reader, context.path);
  const findings: Finding[] = [];
  const count = header.shape.reduce((a, d) => a * d, 1);
  if (header.hasObject) {
    findings.push({
      severity: 'high',
      rule: 'numpy/object-dtype',
      message: `array of Python objects (descr ${JSON.stringify(header.descr)}, shape ${pyShape(header.shape)}): np.load needs allow_pickle=True, which unpickles it`,
      location: locate(context, `byte ${header.dataOffset} (header)`),
    });
    findings.push(...scanPickleStream(reader, context, {}, header.dataOffset).findings);
    return { findings, header };
  }
  if (header.itemsize !== undefined && totalSize !== undefined) {
    const expected = count * header.itemsize;
    const actual = totalSize - header.dataOffset;
    if (actual !== expected) {
      findings.push({
        severity: 'medium',
        rule: 'numpy/size-mismatch',
        message: `the header says ${expected} data bytes (shape ${pyShape(header.shape)} × ${header.itemsize}) but the file holds ${actual}`,
        location: locate(context, `byte ${header.dataOffset} (data)`),
      });
    }
  }
  return { findings, header };
}

function pyShape(shape: number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

export function scanNpy(source: ByteSource, context: ScanContext): Finding[] {
  return scanNpyStream(forwardReader(source), source.size, context).findings;
}

export const numpyScanner: FormatScanner = {
  format: 'numpy',
  matches: (head) => looksLikeNpy(head),
  scan: scanNpy,
};
