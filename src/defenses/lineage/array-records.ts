/**
 * Record digests for array formats, streamed: one record per item of the first dimension, keyed by
 * its index. IDX (LeCun's MNIST format, see src/data/idx.ts: magic 00 00, dtype byte, rank, then
 * big-endian uint32 dims), NPY (NumPy format 1.0–3.0, see src/data/npy.ts) and NPZ (a zip of NPY
 * entries, one record list per array). Those loaders read whole arrays into memory and decode them;
 * here only the header geometry is parsed, and each row's stored bytes are hashed as they pass, so a
 * file of any size takes constant memory. A row's digest covers its raw stored bytes (big-endian
 * for IDX, as the NPY header says for NPY).
 */
import { createHash, type Hash } from 'node:crypto';
import { Unzip, UnzipInflate } from 'fflate';
import { AegisInputError } from '../../core/errors.js';

export type OnRecord = (digest: Buffer) => void;

/** What a streamed array parser learnt about the file. */
export interface ArrayFacts {
  shape: number[];
  dtype: string;
  /** Set when rows cannot be cut (object or structured dtype, Fortran order): file-level digest only. */
  unsupported?: string;
}

/** Cuts a byte stream into `rows` rows of `rowBytes` bytes each and digests each one. */
class FixedRows {
  private hash: Hash | undefined;
  private inRow = 0;
  private done = 0;
  private extra = 0;

  constructor(
    private readonly rowBytes: number,
    private readonly rows: number,
    private readonly onRecord: OnRecord,
  ) {}

  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.done >= this.rows) {
        this.extra += chunk.length - i;
        return;
      }
      const take = Math.min(this.rowBytes - this.inRow, chunk.length - i);
      this.hash ??= createHash('sha256');
      this.hash.update(chunk.subarray(i, i + take));
      this.inRow += take;
      i += take;
      if (this.inRow === this.rowBytes) this.finishRow();
    }
  }

  private finishRow(): void {
    const hash = this.hash ?? createHash('sha256');
    this.hash = undefined;
    this.inRow = 0;
    this.done++;
    this.onRecord(hash.digest());
  }

  /** Checks the byte count; `what` describes the geometry for messages. */
  end(source: string, what: string): void {
    if (this.rowBytes === 0) while (this.done < this.rows) this.finishRow(); // rows of zero bytes
    const have = this.done * this.rowBytes + this.inRow;
    const need = this.rows * this.rowBytes;
    if (this.done < this.rows) {
      throw new AegisInputError(`${source}: truncated data (${what} need ${need} bytes, only ${have} present)`);
    }
    if (this.extra > 0) {
      throw new AegisInputError(`${source}: ${this.extra} unexpected bytes after the data (${what} need ${need})`);
    }
  }
}

/** Collects a header of unknown length from the first chunks. */
class HeaderBuffer {
  private parts: Uint8Array[] = [];
  length = 0;
  add(chunk: Uint8Array): void {
    this.parts.push(chunk);
    this.length += chunk.length;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const IDX_ELEMENT_BYTES: Record<number, [string, number]> = {
  8: ['uint8', 1],
  9: ['int8', 1],
  11: ['int16', 2],
  12: ['int32', 4],
  13: ['float32', 4],
  14: ['float64', 8],
};

/** A streaming parser: push the (decompressed) bytes, then end() returns the facts or throws. */
export interface ArrayRecordParser {
  push(chunk: Uint8Array): void;
  end(): ArrayFacts;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** IDX: records are the items of the first dimension (images of an idx3 file, labels of an idx1). */
export function idxRecordParser(source: string, onRecord: OnRecord): ArrayRecordParser {
  const head = new HeaderBuffer();
  let rows: FixedRows | undefined;
  let facts: ArrayFacts | undefined;
  let what = '';
  const start = (bytes: Buffer): number | undefined => {
    if (bytes.length < 4) return undefined;
    if (bytes[0] !== 0 || bytes[1] !== 0) {
      throw new AegisInputError(`${source}: not an IDX file (magic bytes ${bytes.subarray(0, 2).toString('hex')})`);
    }
    const element = IDX_ELEMENT_BYTES[bytes[2] as number];
    if (!element) throw new AegisInputError(`${source}: unknown IDX data type 0x${bytes[2]?.toString(16)}`);
    const ndim = bytes[3] as number;
    if (ndim === 0) throw new AegisInputError(`${source}: IDX header declares 0 dimensions`);
    const headerBytes = 4 + 4 * ndim;
    if (bytes.length < headerBytes) return undefined;
    const shape: number[] = [];
    for (let d = 0; d < ndim; d++) shape.push(bytes.readUInt32BE(4 + 4 * d));
    facts = { shape, dtype: element[0] };
    what = `dims [${shape.join(', ')}] of ${element[0]}`;
    rows = new FixedRows(product(shape.slice(1)) * element[1], shape[0] as number, onRecord);
    return headerBytes;
  };
  return {
    push(chunk) {
      if (rows) return rows.push(chunk);
      head.add(chunk);
      const bytes = head.bytes();
      const at = start(bytes);
      if (at !== undefined) (rows as FixedRows | undefined)?.push(bytes.subarray(at));
    },
    end() {
      if (!rows || !facts) throw new AegisInputError(`${source}: truncated IDX header (${head.length} bytes)`);
      rows.end(source, what);
      return facts;
    },
  };
}

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);
const NPY_MAX_HEADER = 1 << 20;

/** Bytes per element of a NumPy descr such as '<f4', '|u1', '<U10' or '<M8[ns]'; undefined for objects/records. */
function npyItemSize(descr: string): number | undefined {
  const m = /^[<>|=]?([?bBiufcSaUVmM])(\d*)(\[\w+\])?$/.exec(descr);
  if (!m) return undefined;
  const kind = m[1] as string;
  const n = m[2] === '' ? 1 : Number(m[2]);
  if (kind === '?' || kind === 'b' || kind === 'B') return m[2] === '' ? 1 : n;
  return kind === 'U' ? 4 * n : n;
}

/** NPY: records are the rows of the first axis (a 0-d array is one record). */
export function npyRecordParser(source: string, onRecord: OnRecord): ArrayRecordParser {
  const head = new HeaderBuffer();
  let rows: FixedRows | undefined;
  let facts: ArrayFacts | undefined;
  let what = '';
  const start = (bytes: Buffer): number | undefined => {
    if (bytes.length < 10) return undefined;
    if (!bytes.subarray(0, 6).equals(NPY_MAGIC)) {
      throw new AegisInputError(`${source}: not a .npy file (missing the \\x93NUMPY magic)`);
    }
    const major = bytes[6] as number;
    if (major < 1 || major > 3) throw new AegisInputError(`${source}: unsupported .npy format version ${major}`);
    const lenBytes = major === 1 ? 2 : 4;
    if (bytes.length < 8 + lenBytes) return undefined;
    const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
    if (headerLen > NPY_MAX_HEADER)
      throw new AegisInputError(`${source}: .npy header of ${headerLen} bytes is too long`);
    const dataStart = 8 + lenBytes + headerLen;
    if (bytes.length < dataStart) return undefined;
    const header = bytes.subarray(8 + lenBytes, dataStart).toString(major === 3 ? 'utf8' : 'latin1');
    const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
    const fortran = /['"]fortran_order['"]\s*:\s*True/.test(header);
    const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
    if (shapeText === undefined) throw new AegisInputError(`${source}: .npy header has no shape: ${header.trim()}`);
    const shape = shapeText
      .split(',')
      .map((s) => s.trim().replace(/L$/, ''))
      .filter((s) => s !== '')
      .map(Number);
    if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new AegisInputError(`${source}: bad shape (${shapeText}) in .npy header`);
    }
    const size = descr === undefined ? undefined : npyItemSize(descr);
    facts = { shape, dtype: descr ?? 'structured' };
    if (size === undefined) {
      facts.unsupported = `dtype ${descr ?? '(structured)'} has no fixed-size rows to digest`;
    } else if (fortran && shape.filter((d) => d > 1).length > 1) {
      facts.unsupported = 'Fortran-order rows are not contiguous';
    } else {
      what = `shape (${shape.join(', ')}) of ${descr}`;
      rows = new FixedRows(product(shape.slice(1)) * size, shape.length === 0 ? 1 : (shape[0] as number), onRecord);
    }
    return dataStart;
  };
  return {
    push(chunk) {
      if (facts) return rows?.push(chunk);
      head.add(chunk);
      const bytes = head.bytes();
      const at = start(bytes);
      if (at !== undefined) rows?.push(bytes.subarray(at));
    },
    end() {
      if (!facts) throw new AegisInputError(`${source}: truncated .npy header (${head.length} bytes)`);
      rows?.end(source, what);
      return facts;
    },
  };
}

/** One array of an NPZ archive with its row digests. */
export interface NpzArrayRecords {
  name: string;
  facts: ArrayFacts;
  digests: Buffer[];
}

/**
 * NPZ: streams the zip (stored or deflated entries) and digests the rows of each .npy entry.
 * Arrays come back sorted by name, the canonical order, whatever their order in the archive.
 */
export function npzRecordParser(source: string): {
  push(chunk: Uint8Array): void;
  end(): NpzArrayRecords[];
} {
  const arrays: NpzArrayRecords[] = [];
  const open: { entry: string; parser: ArrayRecordParser; item: NpzArrayRecords; finished: boolean }[] = [];
  let failure: unknown;
  const unzip = new Unzip((file) => {
    if (!file.name.endsWith('.npy')) return;
    const item: NpzArrayRecords = { name: file.name.slice(0, -4), facts: { shape: [], dtype: '' }, digests: [] };
    const entry = {
      entry: file.name,
      item,
      finished: false,
      parser: npyRecordParser(`${source}: entry '${file.name}'`, (d) => item.digests.push(d)),
    };
    open.push(entry);
    file.ondata = (error, data, final) => {
      if (failure) return;
      try {
        if (error) throw new AegisInputError(`${source}: entry '${file.name}': ${error.message}`);
        entry.parser.push(data);
        if (final) {
          item.facts = entry.parser.end();
          entry.finished = true;
          arrays.push(item);
        }
      } catch (e) {
        failure = e;
      }
    };
    try {
      file.start();
    } catch (e) {
      failure = new AegisInputError(`${source}: entry '${file.name}': ${(e as Error).message}`, { cause: e });
    }
  });
  unzip.register(UnzipInflate);
  const fail = (e: unknown): never => {
    if (e instanceof AegisInputError) throw e;
    throw new AegisInputError(`${source}: corrupt .npz (zip) archive (${(e as Error).message})`, { cause: e });
  };
  let first = true;
  return {
    push(chunk) {
      if (first && chunk.length >= 2) {
        first = false;
        if (chunk[0] !== 0x50 || chunk[1] !== 0x4b) fail(new Error('it does not start with the zip signature PK'));
      }
      try {
        unzip.push(chunk);
      } catch (e) {
        fail(e);
      }
      if (failure) fail(failure);
    },
    end() {
      try {
        unzip.push(new Uint8Array(0), true);
      } catch (e) {
        fail(e);
      }
      if (failure) fail(failure);
      const unfinished = open.filter((o) => !o.finished).map((o) => o.entry);
      if (unfinished.length > 0) fail(new Error(`entries ${unfinished.join(', ')} are truncated`));
      if (arrays.length === 0) fail(new Error('the archive holds no .npy arrays'));
      return arrays.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
  };
}
