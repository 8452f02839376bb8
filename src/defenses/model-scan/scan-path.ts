/**
 * `aegis scan`'s engine: walks files and folders, recognises each file's format by its magic
 * bytes (then its extension), and hands it to the format scanner; archives are opened and
 * their entries dispatched the same way, nested up to limits.maxDepth. A PyTorch zip's
 * pickles are scanned and its tensor storages skipped; a .keras zip's config.json and .h5
 * weights go to the Keras and HDF5 scanners; an .npz is a zip of .npy entries.
 */
import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, sep } from 'node:path';
import { AegisInputError, isInputError } from '../../core/errors.js';
import { type FileSource, forwardReader, openFileSource } from './file-source.js';
import {
  type ByteSource,
  DEFAULT_SCAN_LIMITS,
  type FileScan,
  type Finding,
  type FormatScanner,
  type ModelFileFormat,
  type ScanContext,
  type ScanLimits,
} from './finding.js';
import { hdf5Scanner } from './hdf5.js';
import { compressedPickle, joblibCompression, scanJoblib } from './joblib.js';
import { kerasScanner, scanKerasConfig } from './keras.js';
import { entryLocation, innerPath } from './location.js';
import { looksLikeNpy, scanNpy, scanNpyStream } from './numpy.js';
import { onnxScanner } from './onnx.js';
import { allowEntryProblem } from './pickle-imports.js';
import { looksLikePickle, scanPickleStream } from './pickle-scan.js';
import { isLegacyTorch, isTorchArchive, scanLegacyTorch, torchEntryRole, torchScriptFinding } from './pytorch.js';
import { ruleSeverity } from './rules.js';
import { safetensorsScanner } from './safetensors.js';
import { type ByteBudget, looksLikeZip, ZipArchive, type ZipEntry } from './zip-reader.js';

export interface ScanOptions {
  /** Overrides of DEFAULT_SCAN_LIMITS. */
  limits?: Partial<ScanLimits>;
  /** Extra allowed pickle imports: 'module.name' or 'package.*'. */
  allow?: readonly string[];
}

/** Folders never descended into. */
const SKIP_DIRS = new Set(['.git', 'node_modules']);
/** Extensions of formats that are pickles underneath (a file with one that is not recognised is noted). */
const MODEL_EXTENSIONS = /\.(pkl|pickle|pt|pth|bin|ckpt|joblib|npy|npz|h5|hdf5|keras|onnx|safetensors)$/i;
const JOBLIB_NAMES = /\.(joblib|pkl|pickle|z|gz|bz2|xz|lzma|lz4)$/i;

interface Ctx extends ScanContext {
  budget: ByteBudget;
}

interface Scanned {
  format: ModelFileFormat;
  findings: Finding[];
}

type Kind =
  | 'zip'
  | 'npy'
  | 'hdf5'
  | 'torch-legacy'
  | 'pickle'
  | 'safetensors'
  | 'onnx'
  | 'keras-config'
  | 'joblib-compressed'
  | 'unknown-model'
  | 'unknown';

/** The format of some bytes, by magic first and name second. */
function detect(head: Uint8Array, name: string, source: ByteSource): Kind {
  if (looksLikeZip(head)) return 'zip';
  if (looksLikeNpy(head)) return 'npy';
  if (isLegacyTorch(head)) return 'torch-legacy';
  if (head.length >= 3 && head[0] === 0x80 && looksLikePickle(head, name)) return 'pickle';
  if (hdf5Scanner.matches(head, name)) return 'hdf5';
  if (safetensorsScanner.matches(head, name)) return 'safetensors';
  if (onnxScanner.matches(head, name)) return 'onnx';
  if (kerasScanner.matches(head, name)) return 'keras-config';
  const compression = joblibCompression(head);
  if (compression === 'zlib' || compression === 'gzip' || compression === 'zfile') {
    if (compressedPickle(source, compression, name)) return 'joblib-compressed';
  } else if (compression !== undefined && JOBLIB_NAMES.test(name)) return 'joblib-compressed';
  if (looksLikePickle(head, name)) return 'pickle';
  return MODEL_EXTENSIONS.test(name) ? 'unknown-model' : 'unknown';
}

/** Prefixes another scanner's locations with the entry they are in (ours already carry it). */
function inEntry(findings: Finding[], context: ScanContext): Finding[] {
  const inner = innerPath(context.path);
  if (inner === undefined) return findings;
  return findings.map((f) => (f.location.startsWith(inner) ? f : { ...f, location: `${inner}: ${f.location}` }));
}

function viaScanner(scanner: FormatScanner, source: ByteSource, ctx: Ctx): Scanned {
  return { format: scanner.format, findings: inEntry(scanner.scan(source, ctx), ctx) };
}

/** Scans bytes whose format is not known yet. */
function scanContent(source: ByteSource, name: string, ctx: Ctx): Scanned {
  const head = source.read(0, 64);
  switch (detect(head, name, source)) {
    case 'zip':
      return scanZip(source, ctx);
    case 'npy':
      return { format: 'numpy', findings: scanNpy(source, ctx) };
    case 'torch-legacy':
      return { format: 'pytorch', findings: scanLegacyTorch(source, ctx) };
    case 'pickle': {
      // A plain pickle, or an uncompressed joblib file (a pickle with arrays inline).
      const result = scanPickleStream(forwardReader(source), ctx);
      const joblib = result.joblibArrays > 0 || /\.joblib$/i.test(name);
      return { format: joblib ? 'joblib' : 'pickle', findings: result.findings };
    }
    case 'joblib-compressed':
      return { format: 'joblib', findings: scanJoblib(source, ctx).findings };
    case 'hdf5':
      return viaScanner(hdf5Scanner, source, ctx);
    case 'safetensors':
      return viaScanner(safetensorsScanner, source, ctx);
    case 'onnx':
      return viaScanner(onnxScanner, source, ctx);
    case 'keras-config':
      return viaScanner(kerasScanner, source, ctx);
    case 'unknown-model':
      return {
        format: 'unknown',
        findings: [
          {
            severity: 'info',
            rule: 'scan/unknown-format',
            message: `the name suggests a model file but the content is not a format the scanner recognises (starts with ${hex(head.subarray(0, 8))})`,
            location: innerPath(ctx.path) ?? 'file',
          },
        ],
      };
    case 'unknown':
      return { format: 'unknown', findings: [] };
  }
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ') || '(empty)';
}

/** The context for an entry of an archive at `ctx`. */
function entryContext(ctx: Ctx, entry: ZipEntry, fileOffset: number | undefined): Ctx {
  return { ...ctx, path: `${ctx.path}!/${entry.name}`, depth: ctx.depth + 1, fileOffset };
}

/** Where a stored entry's data lies in the file on disk (undefined below a deflated level). */
function storedOffset(zip: ZipArchive, entry: ZipEntry, ctx: Ctx): number | undefined {
  return entry.method === 0 && ctx.fileOffset !== undefined ? ctx.fileOffset + zip.dataOffset(entry) : undefined;
}

function isKerasArchive(names: readonly string[]): boolean {
  return names.includes('config.json') && names.includes('metadata.json');
}

function scanZip(source: ByteSource, ctx: Ctx): Scanned {
  const zip = new ZipArchive(source, ctx, ctx.budget);
  const findings: Finding[] = [];
  const names = zip.entries.map((e) => e.name);
  const format: ModelFileFormat = zip.refused
    ? 'zip'
    : isTorchArchive(names)
      ? 'pytorch'
      : isKerasArchive(names)
        ? 'keras'
        : names.length > 0 && names.every((n) => n.endsWith('.npy'))
          ? 'numpy'
          : 'zip';
  let code = 0;
  for (const entry of zip.entries) {
    if (entry.name.endsWith('/')) continue;
    try {
      if (format === 'pytorch') {
        const role = torchEntryRole(entry.name);
        if (role === 'storage') continue;
        if (role === 'code') {
          code++;
          continue;
        }
        if (role === 'pickle') {
          findings.push(...scanPickleEntry(zip, entry, ctx));
          continue;
        }
      }
      if (format === 'keras' && entry.name === 'config.json') {
        if (!enterable(entry, ctx, findings) || !zip.readable(entry)) continue;
        const entryCtx = entryContext(ctx, entry, undefined);
        const config = zip.entrySource(entry);
        findings.push(...inEntry(scanKerasConfig(config.read(0, config.size), entryCtx), entryCtx));
        continue;
      }
      findings.push(...scanEntry(zip, entry, ctx));
    } catch (error) {
      if (!isInputError(error)) throw error;
      findings.push({
        severity: ruleSeverity('scan/unreadable-entry'),
        rule: 'scan/unreadable-entry',
        message: error.message,
        location: entryLocation(ctx, entry.name),
      });
    }
  }
  if (code > 0) findings.push(torchScriptFinding(ctx, code));
  return { format, findings: [...zip.findings, ...findings] };
}

/** False (with a finding) when entering the entry would pass the nesting limit. */
function enterable(entry: ZipEntry, ctx: Ctx, findings: Finding[]): boolean {
  if (ctx.depth + 1 <= ctx.limits.maxDepth) return true;
  findings.push({
    severity: ruleSeverity('scan/max-depth'),
    rule: 'scan/max-depth',
    message: `nested ${ctx.depth + 1} archives deep, past the limit of ${ctx.limits.maxDepth}; not scanned`,
    location: entryLocation(ctx, entry.name),
  });
  return false;
}

function scanPickleEntry(zip: ZipArchive, entry: ZipEntry, ctx: Ctx): Finding[] {
  const findings: Finding[] = [];
  if (!enterable(entry, ctx, findings) || !zip.readable(entry)) return findings;
  const { reader, done, fileOffset } = zip.entryReader(entry);
  const entryCtx = entryContext(ctx, entry, addOffset(ctx, fileOffset));
  findings.push(...scanPickleStream(reader, entryCtx).findings);
  done();
  return findings;
}

function addOffset(ctx: Ctx, offset: number | undefined): number | undefined {
  return offset === undefined || ctx.fileOffset === undefined ? undefined : ctx.fileOffset + offset;
}

/** Any entry: sniffed, then scanned when it is a format the scanner knows. */
function scanEntry(zip: ZipArchive, entry: ZipEntry, ctx: Ctx): Finding[] {
  const findings: Finding[] = [];
  if ((entry.flags & 1) !== 0 || (entry.method !== 0 && entry.method !== 8) || entry.ratioRefused) {
    // Cannot even be sniffed: only worth a word when the name says it is something a loader reads.
    if (MODEL_EXTENSIONS.test(entry.name)) zip.readable(entry);
    return findings;
  }
  const head = zip.entryHead(entry, 64);
  const name = basename(entry.name);
  // Sniffing a compressed pickle needs more than the head: inflate the entry once, on demand.
  let whole: ByteSource | undefined;
  const window: ByteSource = {
    size: entry.size,
    read: (o, n) => {
      if (o + n <= head.length) return head.subarray(o, o + n);
      whole ??= zip.readable(entry) ? zip.entrySource(entry) : { size: 0, read: () => new Uint8Array(0) };
      return whole.read(o, n);
    },
  };
  const kind = detect(head, name, window);
  if (kind === 'unknown') return findings;
  if (!enterable(entry, ctx, findings) || !zip.readable(entry)) return findings;
  if (kind === 'pickle') return [...findings, ...scanPickleEntry(zip, entry, ctx)];
  if (kind === 'npy') {
    const { reader, done, fileOffset } = zip.entryReader(entry);
    const entryCtx = entryContext(ctx, entry, addOffset(ctx, fileOffset));
    findings.push(...scanNpyStream(reader, entry.size, entryCtx).findings);
    done();
    return findings;
  }
  const offset = storedOffset(zip, entry, ctx);
  const source = whole ?? zip.entrySource(entry);
  const entryCtx = entryContext(ctx, entry, offset);
  const scanned = scanContent(source, name, entryCtx);
  return [...findings, ...scanned.findings];
}

function limitsOf(options: ScanOptions): ScanLimits {
  const limits = { ...DEFAULT_SCAN_LIMITS, ...options.limits };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isFinite(value) || value < 0)
      throw new AegisInputError(`scan limit ${key} must be a number ≥ 0, got ${value}`);
  }
  return limits;
}

function checkAllow(allow: readonly string[]): void {
  for (const entry of allow) {
    const problem = allowEntryProblem(entry);
    if (problem) throw new AegisInputError(`--allow: ${problem}`);
  }
}

/** Scans one file on disk. Throws AegisInputError when it cannot be opened or parsed. */
export function scanFile(path: string, options: ScanOptions = {}): FileScan {
  const limits = limitsOf(options);
  checkAllow(options.allow ?? []);
  let source: FileSource | undefined;
  try {
    source = openFileSource(path);
    const ctx: Ctx = {
      path,
      limits,
      depth: 0,
      allow: options.allow,
      fileOffset: 0,
      budget: { remaining: limits.maxTotalBytes },
    };
    const { format, findings } = scanContent(source, basename(path), ctx);
    return { path, format, findings, bytes: source.size };
  } finally {
    source?.close();
  }
}

/** Scans bytes in memory as if they were a file called `name` (tests, library callers). */
export function scanBytes(bytes: Uint8Array, name: string, options: ScanOptions = {}): FileScan {
  const limits = limitsOf(options);
  checkAllow(options.allow ?? []);
  const ctx: Ctx = {
    path: name,
    limits,
    depth: 0,
    allow: options.allow,
    fileOffset: 0,
    budget: { remaining: limits.maxTotalBytes },
  };
  const source: ByteSource = {
    size: bytes.length,
    read: (o, n) => bytes.subarray(o, Math.min(bytes.length, o + n)),
  };
  const { format, findings } = scanContent(source, basename(name), ctx);
  return { path: name, format, findings, bytes: bytes.length };
}

function unreadable(path: string, error: Error, bytes: number): FileScan {
  return {
    path,
    format: 'unknown',
    bytes,
    error: error.message,
    findings: [
      { severity: ruleSeverity('scan/unreadable'), rule: 'scan/unreadable', message: error.message, location: 'file' },
    ],
  };
}

/** True when `child` (a real path) lies inside `root` (a real path). */
function inside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Scans a file, or every file under a folder (sorted; .git and node_modules skipped; symlinks
 * followed only when they stay inside the folder). A path that cannot be read throws
 * AegisInputError; inside a folder, a file that cannot be parsed is recorded with `error`.
 */
export function scanPath(path: string, options: ScanOptions = {}): FileScan[] {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch (error) {
    throw new AegisInputError(`${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      cause: error,
    });
  }
  if (!stat.isDirectory()) return [scanFile(path, options)];
  limitsOf(options);
  checkAllow(options.allow ?? []);
  const root = realpathSync(path);
  const out: FileScan[] = [];
  const visited = new Set<string>([root]);
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (error) {
      throw new AegisInputError(`${dir}: cannot list (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    for (const name of names) {
      const full = join(dir, name);
      const link = lstatSync(full);
      let real = full;
      if (link.isSymbolicLink()) {
        try {
          real = realpathSync(full);
        } catch {
          out.push(symlinkNote(full, 'points to nothing (a dangling symlink)'));
          continue;
        }
        if (!inside(root, real)) {
          out.push(symlinkNote(full, `points outside the scanned folder (${real}); not followed`));
          continue;
        }
      }
      const target = link.isSymbolicLink() ? statSync(real) : link;
      if (target.isDirectory()) {
        if (SKIP_DIRS.has(name)) continue;
        const key = realpathSync(full);
        if (visited.has(key)) continue;
        visited.add(key);
        walk(full);
      } else if (target.isFile()) {
        try {
          out.push(scanFile(full, options));
        } catch (error) {
          if (!isInputError(error)) throw error;
          out.push(unreadable(full, error, target.size));
        }
      }
    }
  };
  walk(path);
  return out;
}

function symlinkNote(path: string, why: string): FileScan {
  return {
    path,
    format: 'unknown',
    bytes: 0,
    findings: [
      {
        severity: ruleSeverity('scan/symlink-escape'),
        rule: 'scan/symlink-escape',
        message: `symlink ${why}`,
        location: 'file',
      },
    ],
  };
}
