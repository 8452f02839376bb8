/**
 * The model-file scanner's contract: what a finding is, what one file's scan returns, the limits
 * every reader obeys, and the random-access byte source the format scanners read through (so a
 * 1 GB file is never loaded whole: scanners read headers and the parts that can hold code).
 */

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Finding {
  severity: Severity;
  /** Stable rule id, e.g. 'pickle/dangerous-global', 'onnx/external-data-escape'. */
  rule: string;
  message: string;
  /** Where in the file: 'data.pkl @ byte 1234 (STACK_GLOBAL)', 'layer "lambda_1"', 'tensor "w"'. */
  location: string;
  /** Byte offset in the scanned file on disk, when the finding points at one (SARIF region). */
  offset?: number;
}

export type ModelFileFormat =
  | 'pickle'
  | 'pytorch'
  | 'joblib'
  | 'numpy'
  | 'keras'
  | 'hdf5'
  | 'onnx'
  | 'safetensors'
  | 'zip'
  | 'unknown';

/** One file's result; the JSON output is `{files: FileScan[]}` with exactly these keys (plus `bytes`). */
export interface FileScan {
  path: string;
  format: ModelFileFormat;
  findings: Finding[];
  bytes: number;
  /** Set when the file could not be read (it then also has a 'scan/unreadable' finding); the CLI exits 2. */
  error?: string;
}

export interface ScanLimits {
  /** Largest decompressed size accepted for one archive entry that is read (pickles, configs). */
  maxEntryBytes: number;
  /** Largest total decompressed bytes read from one archive. */
  maxTotalBytes: number;
  /** Largest compression ratio accepted for an entry (zip-bomb guard). */
  maxRatio: number;
  /** Most entries in one archive. */
  maxEntries: number;
  /** Deepest nesting (archives in archives, pickle stack/memo depth, JSON depth, HDF5 groups). */
  maxDepth: number;
}

export const DEFAULT_SCAN_LIMITS: ScanLimits = {
  maxEntryBytes: 512 * 1024 * 1024,
  maxTotalBytes: 2 * 1024 * 1024 * 1024,
  maxRatio: 200,
  maxEntries: 100_000,
  maxDepth: 64,
};

/** Random-access bytes: a file read with positional reads, or an in-memory buffer. */
export interface ByteSource {
  readonly size: number;
  /** Bytes [offset, offset + length) clipped to the end; throws AegisInputError past the end when truncated matters to the caller. */
  read(offset: number, length: number): Uint8Array;
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
  };
}

export function isBlocking(severity: Severity): boolean {
  return severity === 'high' || severity === 'critical';
}

/** What a format scanner knows about where it is. */
export interface ScanContext {
  /** Path shown in findings (the file, or 'archive.zip!/inner/data.pkl' for entries). */
  path: string;
  limits: ScanLimits;
  /** Archive nesting depth so far (0 for a plain file). */
  depth: number;
  /** Extra allowed imports ('module.name', or 'prefix.*'), on top of the built-in allow lists. */
  allow?: readonly string[];
  /** Where this source starts in the file on disk, when it is a plain byte range of it (stored entries). */
  fileOffset?: number;
}

/** A scanner for one format: recognises it from its leading bytes and name, then scans it. */
export interface FormatScanner {
  format: ModelFileFormat;
  /** `head` is the first 64 bytes (fewer for tiny files); `name` the file name (for extension hints). */
  matches(head: Uint8Array, name: string): boolean;
  scan(source: ByteSource, context: ScanContext): Finding[];
}
