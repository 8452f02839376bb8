/**
 * The scanner's rules: a stable id, the default severity and one line on what it means.
 * SARIF output lists them (with the other scanners' FORMAT_RULES) as the tool's rules;
 * docs/model-scan.md has the same table. A rule listed nowhere still works: its SARIF default
 * level comes from the most severe finding seen.
 */
import type { Severity } from './finding.js';
import { FORMAT_RULES } from './format-rules.js';

export interface RuleInfo {
  severity: Severity;
  description: string;
}

export const RULES: Record<string, RuleInfo> = {
  'pickle/dangerous-global': {
    severity: 'critical',
    description: 'The pickle imports a denied callable (commands, code execution, files, network, nested unpickling).',
  },
  'pickle/dangerous-call': {
    severity: 'critical',
    description: 'REDUCE/OBJ/NEWOBJ/INST invokes a denied callable when the pickle is loaded.',
  },
  'pickle/unknown-global': {
    severity: 'high',
    description: 'The pickle imports a callable that is neither on the allow list nor on the deny list.',
  },
  'pickle/unresolved-global': {
    severity: 'high',
    description: 'An import whose name is computed at load time (STACK_GLOBAL on non-literal strings, EXT codes).',
  },
  'pickle/non-allowed-call': {
    severity: 'high',
    description: 'The pickle invokes a callable that is not on the allow list, or a value that is not an import.',
  },
  'pickle/build-on-global': {
    severity: 'high',
    description: 'BUILD sets attributes on an imported module-level object (monkey-patching at load time).',
  },
  'pickle/truncated': { severity: 'medium', description: 'The pickle ends before STOP or inside an opcode.' },
  'pickle/invalid-opcode': {
    severity: 'medium',
    description: 'A byte that is not a pickle opcode; loading stops there.',
  },
  'pickle/malformed': {
    severity: 'medium',
    description: 'Stack underflow, a missing MARK, an unsupported protocol or a bad argument.',
  },
  'pickle/memo-undefined': { severity: 'medium', description: 'A memo GET of an index that was never set.' },
  'pickle/deep-nesting': { severity: 'medium', description: 'MARK or container nesting deeper than the depth limit.' },
  'pickle/resource-limit': {
    severity: 'medium',
    description: 'The stack or memo outgrew the scanner limits; later imports are checked without stack simulation.',
  },
  'pickle/trailing-pickle': {
    severity: 'medium',
    description: 'Another pickle follows STOP: a loader that calls load() again runs it (its findings are listed too).',
  },
  'pickle/trailing-data': { severity: 'low', description: 'Bytes after STOP that are not a pickle.' },
  'joblib/array-layout': {
    severity: 'high',
    description: 'A joblib array whose size cannot be worked out: the rest of the file cannot be scanned.',
  },
  'joblib/external-array': { severity: 'info', description: 'An old-joblib array stored in a separate file.' },
  'joblib/unsupported-compression': {
    severity: 'high',
    description: 'A compressed joblib file in a format the scanner does not decompress (bz2, lzma/xz, lz4).',
  },
  'joblib/too-large': {
    severity: 'high',
    description: 'A compressed joblib stream decompresses past the total limit; the rest is not scanned.',
  },
  'numpy/object-dtype': {
    severity: 'high',
    description:
      'An .npy array of Python objects: loading it needs allow_pickle=True (the embedded pickle is scanned).',
  },
  'numpy/size-mismatch': {
    severity: 'medium',
    description: 'The .npy data is shorter or longer than its header says.',
  },
  'pytorch/torchscript': {
    severity: 'info',
    description: 'A TorchScript archive: its code/ is compiled by torch.jit.load.',
  },
  'zip/path-traversal': {
    severity: 'high',
    description: "An entry name with '..', an absolute path or a drive letter: extraction writes outside the folder.",
  },
  'zip/overlapping-entries': {
    severity: 'high',
    description: 'Entries share bytes (a zip-bomb construction); the archive is refused.',
  },
  'zip/compression-ratio': {
    severity: 'high',
    description: 'An entry declares a compression ratio above the limit (zip bomb); it is not inflated.',
  },
  'zip/entry-too-large': {
    severity: 'high',
    description: 'An entry that must be read declares a size above the limit; it is not read.',
  },
  'zip/too-many-entries': { severity: 'high', description: 'More entries than the limit; the archive is refused.' },
  'zip/total-size': {
    severity: 'high',
    description: 'The entries read would inflate past the total limit; the rest are not read.',
  },
  'zip/size-mismatch': {
    severity: 'high',
    description: 'An entry inflates to a different size than declared (inflation stops at the declared size).',
  },
  'zip/crc-mismatch': { severity: 'medium', description: "An entry's CRC-32 does not match its data." },
  'zip/name-mismatch': {
    severity: 'medium',
    description: 'The local header and the central directory name an entry differently (parser confusion).',
  },
  'zip/unscanned-entry': {
    severity: 'high',
    description: 'An entry that a loader would read is encrypted or uses an unsupported compression method.',
  },
  'scan/max-depth': { severity: 'high', description: 'Archives nested deeper than the depth limit; not scanned.' },
  'scan/unreadable': { severity: 'high', description: 'The file could not be read or parsed; it is not vouched for.' },
  'scan/unreadable-entry': {
    severity: 'high',
    description: 'An archive entry could not be parsed; it is not vouched for.',
  },
  'scan/symlink-escape': {
    severity: 'medium',
    description: 'A symlink in the scanned folder points outside it (or nowhere); not followed.',
  },
  'scan/unknown-format': { severity: 'info', description: 'A file the scanner does not recognise.' },
};

/** Every scanner's rules: these and the Keras/HDF5/ONNX/safetensors ones (format-rules.ts). */
export const ALL_RULES: Record<string, RuleInfo> = { ...FORMAT_RULES, ...RULES };

export function ruleSeverity(rule: string): Severity {
  return ALL_RULES[rule]?.severity ?? 'medium';
}
