/**
 * Finds what a pickle would import and call when loaded, without loading it: the opcodes are
 * replayed on a simulated stack and memo (like CPython's _Unpickler, minus every side effect),
 * so STACK_GLOBAL names that come from memoized strings resolve, and each REDUCE/OBJ/NEWOBJ/
 * NEWOBJ_EX/INST/BUILD is tied to the callable it invokes. Imports are classified with the
 * allow and deny lists (pickle-imports.ts); structural anomalies are findings too.
 */

import { type ForwardReader, forwardReader } from './file-source.js';
import type { ByteSource, Finding, FormatScanner, ScanContext, Severity } from './finding.js';
import { joblibArrayLayout } from './joblib-array.js';
import { locate } from './location.js';
import { type ImportPolicy, type ImportStatus, importPolicy, isDenied } from './pickle-imports.js';
import { HIGHEST_PROTOCOL, isOpcode } from './pickle-opcodes.js';
import { type GlobalArg, type PickleOp, PickleParseError, PickleReader } from './pickle-reader.js';
import {
  type DictValue,
  depthOf,
  dictSet,
  fullName,
  type GlobalValue,
  newSeq,
  type ObjValue,
  type OpaqueValue,
  preview,
  type ScalarValue,
  type StrValue,
  seqAdd,
  type Value,
} from './pickle-values.js';
import { ruleSeverity } from './rules.js';

/** Stack items and memo entries simulated before the scan falls back to import-only checks. */
const MAX_STACK = 1 << 20;
const MAX_MEMO = 1 << 20;
/** Distinct findings kept per rule in one pickle stream (repeats are counted). */
const MAX_PER_RULE = 50;

export interface PickleScanOptions {
  /** Imports policy; built from context.allow when absent. */
  policy?: ImportPolicy;
  /**
   * How many pickles the stream holds back to back. 'trailing' (default): one, then anything
   * after STOP is checked as a possible further pickle. A number (legacy torch.save writes 5):
   * exactly that many, and the bytes after them (raw storage data) are not read.
   */
  pickles?: number | 'trailing';
  /** Longest string or byte payload decoded (longer ones are skipped by offset). */
  inlineLimit?: number;
  /** Names the stream in locations when its offsets are not file offsets, e.g. 'zlib stream'. */
  stream?: string;
}

export interface PickleScanResult {
  findings: Finding[];
  /** Distinct imports with their classification. */
  imports: { name: string; status: ImportStatus | 'unresolved'; count: number }[];
  opcodes: number;
  /** Highest protocol seen in a PROTO opcode (0 when none). */
  protocol: number;
  /** joblib arrays whose raw data was skipped. */
  joblibArrays: number;
  /** Offset just past the last byte the scan consumed. */
  end: number;
}

interface Pending {
  severity: Severity;
  rule: string;
  message: string;
  offset: number;
  op: string;
  count: number;
}

/** Collects findings, merging repeats of the same rule and subject. */
class FindingSink {
  private readonly byKey = new Map<string, Pending>();
  private readonly perRule = new Map<string, number>();
  private readonly overflow = new Map<string, number>();

  add(rule: string, key: string, message: string, offset: number, op: string, severity = ruleSeverity(rule)): void {
    const id = `${rule}\n${key}`;
    const seen = this.byKey.get(id);
    if (seen) {
      seen.count++;
      return;
    }
    const n = this.perRule.get(rule) ?? 0;
    if (n >= MAX_PER_RULE) {
      this.overflow.set(rule, (this.overflow.get(rule) ?? 0) + 1);
      return;
    }
    this.perRule.set(rule, n + 1);
    this.byKey.set(id, { severity, rule, message, offset, op, count: 1 });
  }

  /** Drops everything below `keep` (used for trial parses of trailing bytes). */
  filter(keep: (p: Pending) => boolean): void {
    for (const [id, p] of this.byKey) if (!keep(p)) this.byKey.delete(id);
  }

  merge(other: FindingSink): void {
    for (const [id, p] of other.byKey) {
      const seen = this.byKey.get(id);
      if (seen) seen.count += p.count;
      else this.byKey.set(id, { ...p });
    }
    for (const [rule, n] of other.overflow) this.overflow.set(rule, (this.overflow.get(rule) ?? 0) + n);
  }

  toFindings(context: ScanContext, stream?: string): Finding[] {
    const where = (what: string) => locate(context, stream === undefined ? what : `${stream} @ ${what}`);
    const out: Finding[] = [];
    for (const p of this.byKey.values()) {
      const times = p.count > 1 ? ` (${p.count} times; first shown)` : '';
      const finding: Finding = {
        severity: p.severity,
        rule: p.rule,
        message: p.message + times,
        location: where(`byte ${p.offset} (${p.op})`),
      };
      if (context.fileOffset !== undefined) finding.offset = context.fileOffset + p.offset;
      out.push(finding);
    }
    for (const [rule, n] of this.overflow) {
      out.push({
        severity: ruleSeverity(rule),
        rule,
        message: `${n} more distinct '${rule}' findings not listed`,
        location: where('pickle'),
      });
    }
    return out;
  }
}

const NONE: ScalarValue = { k: 'scalar', v: null };
const UNKNOWN: OpaqueValue = { k: 'opaque', what: 'unknown' };

function scalar(v: ScalarValue['v']): ScalarValue {
  return v === null ? NONE : { k: 'scalar', v };
}

/** Replays one pickle's opcodes on a simulated stack and memo. */
class PickleMachine {
  private stack: Value[] = [];
  private readonly metastack: Value[][] = [];
  private readonly memo = new Map<number, Value>();
  private memoFull = false;
  /** After a resource limit: imports are still checked, the stack is no longer simulated. */
  private degraded = false;
  private deepReported = false;
  private op: PickleOp = { info: { code: 0, name: 'START', arg: 'none', proto: 0 }, offset: 0, arg: undefined };
  protocol = 0;
  joblibArrays = 0;
  readonly imports = new Map<string, { status: ImportStatus | 'unresolved'; count: number }>();

  constructor(
    private readonly sink: FindingSink,
    private readonly policy: ImportPolicy,
    private readonly maxDepth: number,
    private readonly reader: PickleReader,
    /** Scans a nested pickle at the reader's position (joblib object arrays). */
    private readonly nested: () => void,
  ) {}

  private anomaly(rule: string, key: string, message: string): void {
    this.sink.add(rule, key, message, this.op.offset, this.op.info.name);
  }

  private push(v: Value): void {
    if (this.degraded) return;
    this.stack.push(v);
    if (this.stack.length > MAX_STACK) this.degrade(`the stack exceeds ${MAX_STACK} items`);
  }

  private degrade(why: string): void {
    this.anomaly('pickle/resource-limit', why, `${why}; the rest is checked for imports only`);
    this.degraded = true;
    this.stack = [];
    this.metastack.length = 0;
    this.memo.clear();
  }

  private pop(): Value {
    if (this.degraded) return UNKNOWN;
    const v = this.stack.pop();
    if (v !== undefined) return v;
    this.anomaly('pickle/malformed', 'underflow', 'stack underflow: an opcode pops more items than were pushed');
    return UNKNOWN;
  }

  private top(): Value {
    if (this.degraded) return UNKNOWN;
    const v = this.stack[this.stack.length - 1];
    if (v !== undefined) return v;
    this.anomaly('pickle/malformed', 'underflow', 'stack underflow: an opcode needs an item on an empty stack');
    return UNKNOWN;
  }

  private popMark(): Value[] {
    if (this.degraded) return [];
    const items = this.stack;
    const previous = this.metastack.pop();
    if (previous === undefined) {
      this.anomaly('pickle/malformed', 'no-mark', 'an opcode needs a MARK that was never pushed');
      this.stack = [];
    } else this.stack = previous;
    return items;
  }

  private checkDepth(v: Value): void {
    if (this.deepReported) return;
    const depth = Math.max(depthOf(v), this.metastack.length);
    if (depth > this.maxDepth) {
      this.deepReported = true;
      this.anomaly('pickle/deep-nesting', 'depth', `nesting deeper than ${this.maxDepth} levels`);
    }
  }

  private importGlobal(module: string, name: string): GlobalValue {
    const status = this.policy.classify(module, name);
    const g: GlobalValue = { k: 'global', module, name, status, offset: this.op.offset, op: this.op.info.name };
    this.recordImport(g);
    return g;
  }

  private recordImport(g: GlobalValue): void {
    const full = fullName(g);
    const seen = this.imports.get(full);
    if (seen) seen.count++;
    else if (this.imports.size < 10_000) this.imports.set(full, { status: g.status, count: 1 });
    if (g.status === 'denied') {
      this.anomaly('pickle/dangerous-global', full, `imports ${full}, ${denyReason(g.module, g.name)}`);
    } else if (g.status === 'unknown') {
      this.anomaly(
        'pickle/unknown-global',
        full,
        `imports ${full}, which is not on the allow list of what model files need (pass --allow ${full} if you trust it)`,
      );
    } else if (g.status === 'unresolved') {
      this.anomaly('pickle/unresolved-global', full, `${g.name}: the import cannot be checked before loading`);
    }
  }

  /** REDUCE/OBJ/NEWOBJ/NEWOBJ_EX/INST: what gets invoked. */
  private invoke(callee: Value, args: Value): ObjValue {
    const op = this.op.info.name;
    if (callee.k === 'global') {
      const full = fullName(callee);
      if (callee.status === 'denied') {
        this.anomaly('pickle/dangerous-call', full, `${op} calls ${full}${argsText(args)} when the pickle is loaded`);
      } else if (callee.status !== 'allowed') {
        this.anomaly(
          'pickle/non-allowed-call',
          full,
          `${op} calls ${full}${argsText(args)}, which is not on the allow list`,
        );
      }
    } else if (!this.degraded && callee !== UNKNOWN) {
      // (UNKNOWN comes from an anomaly already reported, where a real load would have failed.)
      this.anomaly(
        'pickle/non-allowed-call',
        `value:${preview(callee, 40)}`,
        `${op} calls ${preview(callee)}, a value that is not an imported allowed callable`,
      );
    }
    const depth = Math.max(depthOf(args), depthOf(callee)) + 1;
    return { k: 'obj', callee, args, offset: this.op.offset, op, depth };
  }

  private build(state: Value): void {
    const inst = this.top();
    if (inst.k === 'global' && !this.degraded) {
      this.anomaly(
        'pickle/build-on-global',
        fullName(inst),
        `BUILD sets attributes of the imported ${fullName(inst)} with ${preview(state, 60)}`,
      );
    }
    if (inst.k === 'obj') inst.state = state;
    const layout = joblibArrayLayout(inst, state);
    if (layout === undefined) return;
    this.pop();
    this.push({ k: 'opaque', what: 'joblib array' });
    this.joblibArrays++;
    const input = this.reader.reader;
    switch (layout.kind) {
      case 'external':
        this.anomaly('joblib/external-array', layout.file, `array data is in a separate file '${layout.file}'`);
        return;
      case 'unknown':
        throw new LayoutError(`a joblib NumpyArrayWrapper whose layout is unknown (${layout.reason})`, this.op.offset);
      case 'pickle':
        this.nested();
        return;
      case 'raw': {
        if (layout.aligned) {
          const pad = input.readByte();
          if (pad < 0 || input.skip(pad) < pad) this.truncatedArray(layout.describe);
        }
        if (input.skip(layout.bytes) < layout.bytes) this.truncatedArray(layout.describe);
      }
    }
  }

  private truncatedArray(describe: string): never {
    throw new PickleParseError(
      `the file ends inside the raw data of a joblib ${describe} (wrapper built at byte ${this.op.offset})`,
      this.op.offset,
      true,
    );
  }

  private memoGet(index: number | bigint | undefined): void {
    if (this.degraded) return;
    const i = Number(index);
    const v = this.memo.get(i);
    if (v !== undefined) this.push(v);
    else {
      if (!this.memoFull) this.anomaly('pickle/memo-undefined', String(i), `memo index ${i} is read but was never set`);
      this.push(UNKNOWN);
    }
  }

  private memoPut(index: number): void {
    if (this.degraded) return;
    if (index < 0) {
      this.anomaly('pickle/malformed', 'negative-put', `negative memo index ${index}`);
      return;
    }
    const v = this.top();
    if (this.memo.has(index) || this.memo.size < MAX_MEMO) this.memo.set(index, v);
    else if (!this.memoFull) {
      this.memoFull = true;
      this.anomaly('pickle/resource-limit', 'memo', `the memo exceeds ${MAX_MEMO} entries; later ones are not tracked`);
    }
  }

  private memoSize = 0;

  /** Runs one opcode; returns the value at STOP, undefined otherwise. */
  step(op: PickleOp): Value | undefined {
    this.op = op;
    const arg = op.arg;
    switch (op.info.name) {
      case 'PROTO': {
        const proto = arg as number;
        if (proto > HIGHEST_PROTOCOL) this.anomaly('pickle/malformed', 'proto', `unsupported pickle protocol ${proto}`);
        this.protocol = Math.max(this.protocol, proto);
        return undefined;
      }
      case 'FRAME':
      case 'READONLY_BUFFER':
        return undefined;
      case 'STOP':
        return this.pop();
      case 'INT':
      case 'BININT':
      case 'BININT1':
      case 'BININT2':
      case 'LONG':
      case 'LONG1':
      case 'LONG4':
      case 'FLOAT':
      case 'BINFLOAT':
        this.push(scalar(arg as ScalarValue['v']));
        return undefined;
      case 'NONE':
        this.push(NONE);
        return undefined;
      case 'NEWTRUE':
      case 'NEWFALSE':
        this.push(scalar(op.info.name === 'NEWTRUE'));
        return undefined;
      case 'STRING':
      case 'BINSTRING':
      case 'SHORT_BINSTRING':
      case 'UNICODE':
      case 'SHORT_BINUNICODE':
      case 'BINUNICODE':
      case 'BINUNICODE8': {
        const t = arg as { value?: string };
        this.push({ k: 'str', v: t.value, bytes: false } satisfies StrValue);
        return undefined;
      }
      case 'BINBYTES':
      case 'SHORT_BINBYTES':
      case 'BINBYTES8':
      case 'BYTEARRAY8': {
        const b = arg as { data?: Uint8Array };
        const v = b.data !== undefined && b.data.length <= 256 ? String.fromCharCode(...b.data) : undefined;
        this.push({ k: 'str', v, bytes: true } satisfies StrValue);
        return undefined;
      }
      case 'NEXT_BUFFER':
        this.push({ k: 'opaque', what: 'out-of-band buffer' });
        return undefined;
      case 'EMPTY_LIST':
        this.push(newSeq('list', []));
        return undefined;
      case 'EMPTY_TUPLE':
        this.push(newSeq('tuple', []));
        return undefined;
      case 'EMPTY_SET':
        this.push(newSeq('set', []));
        return undefined;
      case 'EMPTY_DICT':
        this.push({ k: 'dict', keys: [], vals: [], n: 0, depth: 1 } satisfies DictValue);
        return undefined;
      case 'APPEND': {
        const item = this.pop();
        this.addTo(this.top(), [item]);
        return undefined;
      }
      case 'APPENDS':
      case 'ADDITEMS': {
        const items = this.popMark();
        this.addTo(this.top(), items);
        return undefined;
      }
      case 'LIST':
      case 'TUPLE':
      case 'FROZENSET': {
        const items = this.popMark();
        const type = op.info.name === 'LIST' ? 'list' : op.info.name === 'TUPLE' ? 'tuple' : 'frozenset';
        this.pushChecked(newSeq(type, items));
        return undefined;
      }
      case 'TUPLE1':
      case 'TUPLE2':
      case 'TUPLE3': {
        const n = op.info.name === 'TUPLE1' ? 1 : op.info.name === 'TUPLE2' ? 2 : 3;
        const items: Value[] = [];
        for (let k = 0; k < n; k++) items.unshift(this.pop());
        this.pushChecked(newSeq('tuple', items));
        return undefined;
      }
      case 'DICT': {
        const items = this.popMark();
        const dict: DictValue = { k: 'dict', keys: [], vals: [], n: 0, depth: 1 };
        if (items.length % 2 === 1) this.anomaly('pickle/malformed', 'odd-dict', 'DICT with an odd number of items');
        for (let k = 0; k + 1 < items.length; k += 2) dictSet(dict, items[k], items[k + 1]);
        this.pushChecked(dict);
        return undefined;
      }
      case 'SETITEM': {
        const v = this.pop();
        const key = this.pop();
        this.setItems(this.top(), [key, v]);
        return undefined;
      }
      case 'SETITEMS': {
        const items = this.popMark();
        if (items.length % 2 === 1)
          this.anomaly('pickle/malformed', 'odd-setitems', 'SETITEMS with an odd number of items');
        this.setItems(this.top(), items);
        return undefined;
      }
      case 'POP':
        if (!this.degraded && this.stack.length === 0 && this.metastack.length > 0) this.popMark();
        else this.pop();
        return undefined;
      case 'DUP':
        this.push(this.top());
        return undefined;
      case 'MARK':
        if (this.degraded) return undefined;
        this.metastack.push(this.stack);
        this.stack = [];
        if (this.metastack.length > this.maxDepth) this.checkDepth(UNKNOWN);
        if (this.metastack.length > MAX_STACK) this.degrade(`MARK nesting exceeds ${MAX_STACK} levels`);
        return undefined;
      case 'POP_MARK':
        this.popMark();
        return undefined;
      case 'GET':
      case 'BINGET':
      case 'LONG_BINGET':
        this.memoGet(arg as number);
        return undefined;
      case 'PUT':
      case 'BINPUT':
      case 'LONG_BINPUT': {
        const index = Number(arg);
        if (!this.memo.has(index)) this.memoSize++;
        this.memoPut(index);
        return undefined;
      }
      case 'MEMOIZE': {
        // CPython stores at len(memo): the number of entries, not the highest index + 1.
        const index = this.memoSize;
        if (!this.memo.has(index)) this.memoSize++;
        this.memoPut(index);
        return undefined;
      }
      case 'EXT1':
      case 'EXT2':
      case 'EXT4': {
        const g: GlobalValue = {
          k: 'global',
          module: 'copyreg',
          name: `extension code ${arg}`,
          status: 'unresolved',
          offset: op.offset,
          op: op.info.name,
        };
        this.recordImport(g);
        this.push(g);
        return undefined;
      }
      case 'GLOBAL': {
        const { module, name } = arg as GlobalArg;
        this.push(this.importGlobal(module, name));
        return undefined;
      }
      case 'STACK_GLOBAL': {
        const name = this.pop();
        const module = this.pop();
        if (module.k === 'str' && module.v !== undefined && name.k === 'str' && name.v !== undefined) {
          this.push(this.importGlobal(module.v, name.v));
        } else {
          const g: GlobalValue = {
            k: 'global',
            module: module.k === 'str' && module.v !== undefined ? module.v : '?',
            name: name.k === 'str' && name.v !== undefined ? name.v : '?',
            status: 'unresolved',
            offset: op.offset,
            op: op.info.name,
          };
          // Even half a name can be denied ('os' + computed name).
          if (g.module !== '?' && isDenied(g.module, g.name === '?' ? 'x' : g.name)) g.status = 'denied';
          this.recordImport(g);
          this.push(g);
        }
        return undefined;
      }
      case 'REDUCE': {
        const args = this.pop();
        const callee = this.pop();
        this.pushChecked(this.invoke(callee, args));
        return undefined;
      }
      case 'BUILD': {
        const state = this.pop();
        this.build(state);
        return undefined;
      }
      case 'INST': {
        const { module, name } = arg as GlobalArg;
        const args = newSeq('tuple', this.popMark());
        this.pushChecked(this.invoke(this.importGlobal(module, name), args));
        return undefined;
      }
      case 'OBJ': {
        const items = this.popMark();
        const cls = items[0] ?? UNKNOWN;
        if (items.length === 0) this.anomaly('pickle/malformed', 'obj-empty', 'OBJ without a class after MARK');
        this.pushChecked(this.invoke(cls, newSeq('tuple', items.slice(1))));
        return undefined;
      }
      case 'NEWOBJ': {
        const args = this.pop();
        const cls = this.pop();
        this.pushChecked(this.invoke(cls, args));
        return undefined;
      }
      case 'NEWOBJ_EX': {
        const kwargs = this.pop();
        const args = this.pop();
        const cls = this.pop();
        this.pushChecked(
          this.invoke(cls, kwargs.k === 'dict' && kwargs.n > 0 ? newSeq('tuple', [args, kwargs]) : args),
        );
        return undefined;
      }
      case 'PERSID':
        this.push({ k: 'opaque', what: 'persistent id' });
        return undefined;
      case 'BINPERSID':
        this.pop();
        this.push({ k: 'opaque', what: 'persistent id' });
        return undefined;
      default:
        return undefined;
    }
  }

  private pushChecked(v: Value): void {
    this.checkDepth(v);
    this.push(v);
  }

  private addTo(target: Value, items: Value[]): void {
    if (target.k === 'seq') {
      for (const item of items) seqAdd(target, item);
      this.checkDepth(target);
    }
  }

  private setItems(target: Value, items: Value[]): void {
    if (target.k !== 'dict') return;
    for (let k = 0; k + 1 < items.length; k += 2) dictSet(target, items[k], items[k + 1]);
    this.checkDepth(target);
  }
}

/** Thrown inside the machine when a joblib array cannot be skipped (the rest of the stream is lost). */
class LayoutError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

function argsText(args: Value): string {
  const text = preview(args, 100);
  return args.k === 'seq' && args.type === 'tuple' ? text : `(*${text})`;
}

function denyReason(module: string, name: string): string {
  const full = `${module}.${name}`;
  if (/^(os|posix|nt|subprocess|pty|commands|popen2|_posixsubprocess|platform|asyncio)\b/.test(full))
    return 'which runs operating-system commands or processes';
  if (
    /\.(eval|exec|execfile|compile|apply)$|^(code|codeop|timeit|cProfile|profile|trace|doctest|pdb|bdb|idlelib)\b|runstring|CodeType|FunctionType|LambdaType/.test(
      full,
    )
  )
    return 'which executes Python code';
  if (
    /^(importlib|imp|runpy|pkgutil|zipimport|site|pip|setuptools|distutils|ensurepip|venv)\b|__import__|ModuleType/.test(
      full,
    )
  )
    return 'which imports or runs arbitrary modules';
  if (
    /^(pickle|_pickle|cPickle|dill|cloudpickle|marshal|joblib|yaml)\b|\.load$|_load_from_bytes|PackageImporter/.test(
      full,
    )
  )
    return 'which loads nested serialized data (more code)';
  if (/^(socket|urllib|http|httplib|requests|ftplib|smtplib|telnetlib|xmlrpc|webbrowser)\b|hub\./.test(full))
    return 'which opens network connections';
  if (/getattr|setattr|delattr|attrgetter|methodcaller|globals|locals|vars/.test(full))
    return 'which reaches or changes arbitrary attributes (a gadget for any call)';
  if (/open|FileIO|shutil|tempfile|mmap|glob|linecache|fileinput|_io/.test(full)) return 'which reads or writes files';
  return 'which is on the deny list of dangerous callables';
}

/** Scans the pickle(s) at the reader's position; findings use context.path and offsets from `baseOffset`. */
export function scanPickleStream(
  input: ForwardReader,
  context: ScanContext,
  options: PickleScanOptions = {},
  baseOffset = 0,
): PickleScanResult {
  const policy = options.policy ?? importPolicy(context.allow);
  const sink = new FindingSink();
  const reader = new PickleReader(input, { inlineLimit: options.inlineLimit, baseOffset });
  const stats = { opcodes: 0, protocol: 0, joblibArrays: 0 };
  const imports = new Map<string, { status: ImportStatus | 'unresolved'; count: number }>();

  /** Runs one pickle to STOP. Returns 'stop', 'end' (input ended before STOP) or 'broken'. */
  const runOne = (into: FindingSink, nesting: number): 'stop' | 'end' | 'broken' => {
    const machine = new PickleMachine(into, policy, context.limits.maxDepth, reader, () => {
      if (nesting >= context.limits.maxDepth) {
        throw new LayoutError(`joblib object arrays nested deeper than ${context.limits.maxDepth}`, reader.position);
      }
      const outcome = runOne(into, nesting + 1);
      if (outcome !== 'stop') throw new LayoutError('a joblib object array whose pickle does not end', reader.position);
    });
    const finish = () => {
      stats.protocol = Math.max(stats.protocol, machine.protocol);
      stats.joblibArrays += machine.joblibArrays;
      for (const [name, v] of machine.imports) {
        const seen = imports.get(name);
        if (seen) seen.count += v.count;
        else imports.set(name, { ...v });
      }
    };
    let sawOpcode = false;
    try {
      for (;;) {
        const op = reader.next();
        if (op === null) {
          into.add(
            'pickle/truncated',
            'eof',
            sawOpcode ? 'the pickle ends without STOP' : 'empty pickle stream',
            reader.position,
            'EOF',
          );
          return 'end';
        }
        sawOpcode = true;
        stats.opcodes++;
        if (op.info.name === 'STOP') {
          machine.step(op);
          return 'stop';
        }
        machine.step(op);
      }
    } catch (error) {
      if (error instanceof PickleParseError) {
        if (!sawOpcode && !error.truncated && nesting === 0 && into === sink && stats.opcodes === 0) throw error;
        into.add(
          error.truncated ? 'pickle/truncated' : 'pickle/invalid-opcode',
          error.message,
          error.message,
          error.offset,
          'parse',
        );
        return 'broken';
      }
      if (error instanceof LayoutError) {
        into.add(
          'joblib/array-layout',
          error.message,
          `${error.message}; the rest of the stream is not scanned`,
          error.offset,
          'BUILD',
        );
        return 'broken';
      }
      throw error;
    } finally {
      finish();
    }
  };

  const count = options.pickles ?? 'trailing';
  if (count === 'trailing') {
    let outcome = runOne(sink, 0);
    while (outcome === 'stop' && !input.atEnd()) {
      const offset = reader.position;
      const first = input.peekByte();
      if (!isOpcode(first)) {
        sink.add(
          'pickle/trailing-data',
          'trailing',
          `${describeRest(input)} after STOP that are not a pickle`,
          offset,
          'STOP',
        );
        break;
      }
      const trial = new FindingSink();
      outcome = runOne(trial, 0);
      if (outcome === 'stop') {
        sink.add(
          'pickle/trailing-pickle',
          String(offset),
          'another pickle follows STOP; a second load() runs it',
          offset,
          'STOP',
        );
        sink.merge(trial);
      } else {
        // Not a clean pickle: keep only what would already have run (denied imports), and say there was data.
        trial.filter((p) => p.severity === 'critical');
        sink.merge(trial);
        sink.add('pickle/trailing-data', 'trailing', 'bytes after STOP that are not a complete pickle', offset, 'STOP');
      }
    }
  } else {
    for (let k = 0; k < count; k++) if (runOne(sink, 0) !== 'stop') break;
  }
  return {
    findings: sink.toFindings(context, options.stream),
    imports: [...imports].map(([name, v]) => ({ name, ...v })),
    opcodes: stats.opcodes,
    protocol: stats.protocol,
    joblibArrays: stats.joblibArrays,
    end: reader.position,
  };
}

function describeRest(input: ForwardReader): string {
  const start = input.position;
  const skipped = input.skip(Number.MAX_SAFE_INTEGER);
  return `${skipped} bytes (from byte ${start})`;
}

/** Scans a pickle held in a ByteSource. */
export function scanPickleSource(
  source: ByteSource,
  context: ScanContext,
  options: PickleScanOptions = {},
): PickleScanResult {
  return scanPickleStream(forwardReader(source), context, options);
}

/** True when the head looks like a pickle: PROTO 0–5 then an opcode, or (for pickle-named files) any opcode. */
export function looksLikePickle(head: Uint8Array, name: string): boolean {
  if (head.length >= 3 && head[0] === 0x80 && head[1] <= HIGHEST_PROTOCOL && isOpcode(head[2])) return true;
  return /\.(pkl|pickle)$/i.test(name) && head.length > 0 && isOpcode(head[0]) && head[0] !== 0x2e;
}

export const pickleScanner: FormatScanner = {
  format: 'pickle',
  matches: looksLikePickle,
  scan: (source, context) => scanPickleSource(source, context).findings,
};
