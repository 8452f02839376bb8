/**
 * joblib files (joblib.dump): a pickle with each NumPy array's raw bytes written inline after
 * its NumpyArrayWrapper (the pickle scanner skips them, see joblib-array.ts), optionally
 * compressed as a whole. zlib and gzip (joblib's default 'zlib' and 'gzip' compressors, and
 * the old 'ZF' zfile format) are inflated as a stream with a cap on the bytes produced; bz2,
 * lzma/xz and lz4 are not decompressed here and are reported as not scanned.
 */
import { ForwardReader, forwardReader } from './file-source.js';
import type { ByteSource, Finding, ScanContext } from './finding.js';
import { type Compression, inflatingPull } from './inflate.js';
import { locate } from './location.js';
import { looksLikePickle, type PickleScanResult, scanPickleStream } from './pickle-scan.js';

export type JoblibCompression = 'zlib' | 'gzip' | 'zfile' | 'bz2' | 'xz' | 'lzma' | 'lz4';

/** Old joblib (< 0.10): 'ZF' + a 19-character hex length (+ maybe a space) + zlib data. */
const ZFILE_HEADER = 2 + 19;

/** The compression joblib used, from the first bytes; undefined for an uncompressed file. */
export function joblibCompression(head: Uint8Array): JoblibCompression | undefined {
  if (head.length >= 2 && head[0] === 0x78 && ((head[0] << 8) | head[1]) % 31 === 0) return 'zlib';
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 8) return 'gzip';
  if (head.length >= 4 && head[0] === 0x5a && head[1] === 0x46 && head[2] === 0x30 && head[3] === 0x78) return 'zfile';
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return 'bz2';
  if (head.length >= 6 && [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00].every((b, i) => head[i] === b)) return 'xz';
  if (head.length >= 3 && head[0] === 0x5d && head[1] === 0x00 && head[2] === 0x00) return 'lzma';
  if (head.length >= 4 && head[0] === 0x04 && head[1] === 0x22 && head[2] === 0x4d && head[3] === 0x18) return 'lz4';
  return undefined;
}

/** Where the compressed stream starts and how it is decoded, for the compressions handled here. */
function stream(source: ByteSource, kind: JoblibCompression): { start: number; compression: Compression } | undefined {
  if (kind === 'zlib' || kind === 'gzip') return { start: 0, compression: kind };
  if (kind === 'zfile') {
    const space = source.read(ZFILE_HEADER, 1)[0] === 0x20;
    return { start: ZFILE_HEADER + (space ? 1 : 0), compression: 'zlib' };
  }
  return undefined;
}

/** A reader over the decompressed stream, capped at limits.maxTotalBytes. */
function decompressed(
  source: ByteSource,
  kind: JoblibCompression,
  context: ScanContext,
): { reader: ForwardReader; overflowed: () => boolean } | undefined {
  const s = stream(source, kind);
  if (s === undefined) return undefined;
  const { pull, status } = inflatingPull(
    source,
    s.start,
    source.size - s.start,
    s.compression,
    context.limits.maxTotalBytes,
    context.path,
  );
  return { reader: new ForwardReader(pull), overflowed: () => status.overflowed };
}

/** True when the decompressed stream starts like a pickle (so a .gz of something else is not mistaken). */
export function compressedPickle(source: ByteSource, kind: JoblibCompression, name: string): boolean {
  const d = decompressed(source, kind, {
    path: name,
    depth: 0,
    limits: { maxEntryBytes: 64, maxTotalBytes: 64, maxRatio: 0, maxEntries: 0, maxDepth: 0 },
  });
  if (d === undefined) return false;
  try {
    return looksLikePickle(d.reader.read(64), name);
  } catch {
    return false;
  }
}

export interface JoblibScan {
  findings: Finding[];
  result?: PickleScanResult;
}

/** Scans a joblib file: uncompressed (a pickle with inline arrays) or compressed as a whole. */
export function scanJoblib(
  source: ByteSource,
  context: ScanContext,
  kind = joblibCompression(source.read(0, 8)),
): JoblibScan {
  if (kind === undefined) {
    const result = scanPickleStream(forwardReader(source), context);
    return { findings: result.findings, result };
  }
  const d = decompressed(source, kind, context);
  if (d === undefined) {
    return {
      findings: [
        {
          severity: 'high',
          rule: 'joblib/unsupported-compression',
          message: `${kind}-compressed joblib file: the scanner only decompresses zlib and gzip, so this pickle was not scanned`,
          location: locate(context, 'file'),
        },
      ],
    };
  }
  // Offsets inside a decompressed stream do not point into the file.
  const inner: ScanContext = { ...context, fileOffset: undefined };
  const result = scanPickleStream(d.reader, inner, { stream: `${kind} stream` });
  const findings = [...result.findings];
  if (d.overflowed()) {
    findings.push({
      severity: 'high',
      rule: 'joblib/too-large',
      message: `the decompressed stream passes the ${context.limits.maxTotalBytes}-byte limit; the rest was not scanned`,
      location: locate(context, `${kind} stream`),
    });
  }
  return { findings, result };
}
