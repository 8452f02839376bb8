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
import {
  type BytesArg,
  type GlobalArg,
  type PickleOp,
  PickleParseError,
  PickleReader,
  type TextArg,
} from './pickle-reader.js';
import {
  asDict,
  asGlobal,
  asObj,
  asSeq,
  type DictValue,
  depthOf,
  dictSet,
  fullName,
  type GlobalValue,
  newSeq,
  type OpaqueValue,
  preview,
  type Scalar,
  type StrValue,
  seqAdd,
  textOf,
  type Value,
} from './pickle-values.js';
import { ruleSeverity } from './rules.js';

/**
 * Memory bounds. Past MAX_STACK stack items the scan falls back to import-only checks; memo
 * entries past MAX_MEMO are not stored; past MAX_NODES objects (containers, calls, imports)
 * new ones are not tracked (a shared placeholder), so retained memory stays at a few hundred
 * MB at worst whatever the file: imports are still all classified, calls on untracked values
 * are not. Strings longer than MAX_TEXT characters are not kept (names are short).
 */
const MAX_STACK = 1 << 20;
const MAX_MEMO = 1 << 20;
const MAX_NODES = 1 << 19;
const MAX_TEXT = 128;
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

const UNKNOWN: OpaqueValue = { k: 'opaque', what: 'unknown' };
/** A value past the MAX_NODES budget: never looked into. */
const UNTRACKED: OpaqueValue = { k: 'opaque', what: 'untracked' };
const LONG_TEXT: StrValue = { k: 'str', bytes: false };
const LONG_BYTES: StrValue = { k: 'str', bytes: true };
const BUFFER: OpaqueValue = { k: 'opaque', what: 'out-of-band buffer' };
const PERSISTENT: OpaqueValue = { k: 'opaque', what: 'persistent id' };
const JOBLIB_ARRAY: OpaqueValue = { k: 'opaque', what: 'joblib array' };
/** Calls whose results the scanner needs later (array wrappers and dtypes for joblib), kept past the node budget. */
const ALWAYS_TRACKED = /^(joblib|sklearn\.externals\.joblib)\.numpy_pickle(_compat)?\.|^numpy(\._core|\.core)?\.dtype$/;
/** The memo: a dense array for the usual 0, 1, 2, … indices and a Map for any others. */
class Memo {
  private readonly dense: Value[] = [];
  private readonly sparse = new Map<number, Value>();

  get size(): number {
    return this.dense.length + this.sparse.size;
  }

  get(i: number): Value | undefined {
    return i < this.dense.length ? this.dense[i] : this.sparse.get(i);
  }

  has(i: number): boolean {
    return i < this.dense.length || this.sparse.has(i);
  }

  set(i: number, v: Value): void {
    if (i < this.dense.length) this.dense[i] = v;
    else if (i === this.dense.length) {
      this.dense.push(v);
      // Indices set out of order earlier join the dense part once it reaches them.
      for (
        let next = this.sparse.get(this.dense.length);
        next !== undefined;
        next = this.sparse.get(this.dense.length)
      ) {
        this.sparse.delete(this.dense.length);
        this.dense.push(next);
      }
    } else this.sparse.set(i, v);
  }

  clear(): void {
    this.dense.length = 0;
    this.sparse.clear();
  }
}

/** Replays one pickle's opcodes on a simulated stack and memo. */
class PickleMachine {
  private stack: Value[] = [];
  private readonly metastack: Value[][] = [];
  private readonly memo = new Memo();
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

  private importGlobal(module: string, name: string): Value {
    const status = this.policy.classify(module, name);
    const g: GlobalValue = { k: 'global', module, name, status, offset: this.op.offset, op: this.op.info.name };
    this.recordImport(g);
    return this.track() || ALWAYS_TRACKED.test(fullName(g)) ? g : UNTRACKED;
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
  private invoke(callee: Value, args: Value): Value {
    const op = this.op.info.name;
    const g = asGlobal(callee);
    if (g !== undefined) {
      const full = fullName(g);
      if (g.status === 'denied') {
        this.anomaly('pickle/dangerous-call', full, `${op} calls ${full}${argsText(args)} when the pickle is loaded`);
      } else if (g.status !== 'allowed') {
        this.anomaly(
          'pickle/non-allowed-call',
          full,
          `${op} calls ${full}${argsText(args)}, which is not on the allow list`,
        );
      }
    } else if (!this.degraded && callee !== UNKNOWN && callee !== UNTRACKED) {
      // (UNKNOWN comes from an anomaly already reported, where a real load would have failed.)
      this.anomaly(
        'pickle/non-allowed-call',
        `value:${preview(callee, 40)}`,
        `${op} calls ${preview(callee)}, a value that is not an imported allowed callable`,
      );
    }
    if (!this.track() && !(g !== undefined && ALWAYS_TRACKED.test(fullName(g)))) return UNTRACKED;
    const depth = Math.max(depthOf(args), depthOf(callee)) + 1;
    return { k: 'obj', callee, args, offset: this.op.offset, op, depth };
  }

  private build(state: Value): void {
    const inst = this.top();
    const g = asGlobal(inst);
    if (g !== undefined && !this.degraded) {
      this.anomaly(
        'pickle/build-on-global',
        fullName(g),
        `BUILD sets attributes of the imported ${fullName(g)} with ${preview(state, 60)}`,
      );
    }
    const obj = asObj(inst);
    if (obj !== undefined) obj.state = state;
    const layout = joblibArrayLayout(inst, state);
    if (layout === undefined) return;
    this.pop();
    this.push(JOBLIB_ARRAY);
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
  private nodes = 0;

  /** Counts a new object; false once past the budget (the caller pushes UNTRACKED instead). */
  private track(): boolean {
    if (++this.nodes <= MAX_NODES) return true;
    if (this.nodes === MAX_NODES + 1) {
      this.anomaly(
        'pickle/resource-limit',
        'nodes',
        `more than ${MAX_NODES} objects: later containers and calls are not tracked (imports are still all checked)`,
      );
    }
    return false;
  }

  private seq(type: 'list' | 'tuple' | 'set' | 'frozenset', items: Value[]): Value {
    return this.track() ? newSeq(type, items) : UNTRACKED;
  }

  /** Runs one opcode; returns the value at STOP, undefined otherwise. Cases are opcode bytes (pickle-opcodes.ts). */
  step(op: PickleOp): Value | undefined {
    this.op = op;
    const arg = op.arg;
    switch (op.info.code) {
      case 0x80: {
        // PROTO
        const proto = arg as number;
        if (proto > HIGHEST_PROTOCOL) this.anomaly('pickle/malformed', 'proto', `unsupported pickle protocol ${proto}`);
        this.protocol = Math.max(this.protocol, proto);
        return undefined;
      }
      case 0x95: // FRAME
      case 0x98: // READONLY_BUFFER
        return undefined;
      case 0x2e: // STOP
        return this.pop();
      case 0x49: // INT
      case 0x4a: // BININT
      case 0x4b: // BININT1
      case 0x4d: // BININT2
      case 0x4c: // LONG
      case 0x8a: // LONG1
      case 0x8b: // LONG4
      case 0x46: // FLOAT
      case 0x47: // BINFLOAT
        this.push(arg === undefined ? UNKNOWN : (arg as Scalar));
        return undefined;
      case 0x4e: // NONE
        this.push(null);
        return undefined;
      case 0x88: // NEWTRUE
        this.push(true);
        return undefined;
      case 0x89: // NEWFALSE
        this.push(false);
        return undefined;
      case 0x53: // STRING
      case 0x54: // BINSTRING
      case 0x55: // SHORT_BINSTRING
      case 0x56: // UNICODE
      case 0x8c: // SHORT_BINUNICODE
      case 0x58: // BINUNICODE
      case 0x8d: {
        // BINUNICODE8
        const value = (arg as TextArg).value;
        this.push(value !== undefined && value.length <= MAX_TEXT ? value : LONG_TEXT);
        return undefined;
      }
      case 0x42: // BINBYTES
      case 0x43: // SHORT_BINBYTES
      case 0x8e: // BINBYTES8
      case 0x96: {
        // BYTEARRAY8
        const data = (arg as BytesArg).data;
        if (data === undefined || data.length > MAX_TEXT || !this.track()) this.push(LONG_BYTES);
        else this.push({ k: 'str', v: String.fromCharCode(...data), bytes: true } satisfies StrValue);
        return undefined;
      }
      case 0x97: // NEXT_BUFFER
        this.push(BUFFER);
        return undefined;
      case 0x5d: // EMPTY_LIST
        this.push(this.seq('list', []));
        return undefined;
      case 0x29: // EMPTY_TUPLE
        this.push(this.seq('tuple', []));
        return undefined;
      case 0x8f: // EMPTY_SET
        this.push(this.seq('set', []));
        return undefined;
      case 0x7d: // EMPTY_DICT
        this.push(this.track() ? ({ k: 'dict', keys: [], vals: [], n: 0, depth: 1 } satisfies DictValue) : UNTRACKED);
        return undefined;
      case 0x61: {
        // APPEND
        const item = this.pop();
        this.addTo(this.top(), [item]);
        return undefined;
      }
      case 0x65: // APPENDS
      case 0x90: {
        // ADDITEMS
        const items = this.popMark();
        this.addTo(this.top(), items);
        return undefined;
      }
      case 0x6c: // LIST
        this.pushChecked(this.seq('list', this.popMark()));
        return undefined;
      case 0x74: // TUPLE
        this.pushChecked(this.seq('tuple', this.popMark()));
        return undefined;
      case 0x91: // FROZENSET
        this.pushChecked(this.seq('frozenset', this.popMark()));
        return undefined;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const n = op.info.code - 0x84;
        const items: Value[] = new Array(n);
        for (let k = n - 1; k >= 0; k--) items[k] = this.pop();
        this.pushChecked(this.seq('tuple', items));
        return undefined;
      }
      case 0x64: {
        // DICT
        const items = this.popMark();
        if (items.length % 2 === 1) this.anomaly('pickle/malformed', 'odd-dict', 'DICT with an odd number of items');
        if (!this.track()) {
          this.push(UNTRACKED);
          return undefined;
        }
        const dict: DictValue = { k: 'dict', keys: [], vals: [], n: 0, depth: 1 };
        for (let k = 0; k + 1 < items.length; k += 2) dictSet(dict, items[k], items[k + 1]);
        this.pushChecked(dict);
        return undefined;
      }
      case 0x73: {
        // SETITEM
        const v = this.pop();
        const key = this.pop();
        this.setItems(this.top(), [key, v]);
        return undefined;
      }
      case 0x75: {
        // SETITEMS
        const items = this.popMark();
        if (items.length % 2 === 1)
          this.anomaly('pickle/malformed', 'odd-setitems', 'SETITEMS with an odd number of items');
        this.setItems(this.top(), items);
        return undefined;
      }
      case 0x30: // POP
        if (!this.degraded && this.stack.length === 0 && this.metastack.length > 0) this.popMark();
        else this.pop();
        return undefined;
      case 0x32: // DUP
        this.push(this.top());
        return undefined;
      case 0x28: // MARK
        if (this.degraded) return undefined;
        this.metastack.push(this.stack);
        this.stack = [];
        if (this.metastack.length > this.maxDepth) this.checkDepth(UNKNOWN);
        if (this.metastack.length > MAX_STACK) this.degrade(`MARK nesting exceeds ${MAX_STACK} levels`);
        return undefined;
      case 0x31: // POP_MARK
        this.popMark();
        return undefined;
      case 0x67: // GET
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
        this.memoGet(arg as number);
        return undefined;
      case 0x70: // PUT
      case 0x71: // BINPUT
      case 0x72: {
        // LONG_BINPUT
        const index = Number(arg);
        if (!this.memo.has(index)) this.memoSize++;
        this.memoPut(index);
        return undefined;
      }
      case 0x94: {
        // MEMOIZE: CPython stores at len(memo), the number of entries, not the highest index + 1.
        const index = this.memoSize;
        if (!this.memo.has(index)) this.memoSize++;
        this.memoPut(index);
        return undefined;
      }
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: {
        // EXT4
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
      case 0x63: {
        // GLOBAL
        const { module, name } = arg as GlobalArg;
        this.push(this.importGlobal(module, name));
        return undefined;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = textOf(this.pop());
        const module = textOf(this.pop());
        if (module !== undefined && name !== undefined) {
          this.push(this.importGlobal(module, name));
        } else {
          const g: GlobalValue = {
            k: 'global',
            module: module ?? '?',
            name: name ?? '?',
            status: 'unresolved',
            offset: op.offset,
            op: op.info.name,
          };
          // Even half a name can be denied ('os' + computed name).
          if (module !== undefined && isDenied(module, name ?? 'x')) g.status = 'denied';
          this.recordImport(g);
          this.push(g);
        }
        return undefined;
      }
      case 0x52: {
        // REDUCE
        const args = this.pop();
        const callee = this.pop();
        this.pushChecked(this.invoke(callee, args));
        return undefined;
      }
      case 0x62: // BUILD
        this.build(this.pop());
        return undefined;
      case 0x69: {
        // INST
        const { module, name } = arg as GlobalArg;
        const args = newSeq('tuple', this.popMark());
        this.pushChecked(this.invoke(this.importGlobal(module, name), args));
        return undefined;
      }
      case 0x6f: {
        // OBJ
        const items = this.popMark();
        const cls = items.length > 0 ? items[0] : UNKNOWN;
        if (items.length === 0) this.anomaly('pickle/malformed', 'obj-empty', 'OBJ without a class after MARK');
        this.pushChecked(this.invoke(cls, newSeq('tuple', items.slice(1))));
        return undefined;
      }
      case 0x81: {
        // NEWOBJ
        const args = this.pop();
        const cls = this.pop();
        this.pushChecked(this.invoke(cls, args));
        return undefined;
      }
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = this.pop();
        const args = this.pop();
        const cls = this.pop();
        const kw = asDict(kwargs);
        this.pushChecked(this.invoke(cls, kw !== undefined && kw.n > 0 ? newSeq('tuple', [args, kwargs]) : args));
        return undefined;
      }
      case 0x50: // PERSID
        this.push(PERSISTENT);
        return undefined;
      case 0x51: // BINPERSID
        this.pop();
        this.push(PERSISTENT);
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
    const seq = asSeq(target);
    if (seq === undefined) return;
    for (const item of items) seqAdd(seq, item);
    this.checkDepth(seq);
  }

  private setItems(target: Value, items: Value[]): void {
    const dict = asDict(target);
    if (dict === undefined) return;
    for (let k = 0; k + 1 < items.length; k += 2) dictSet(dict, items[k], items[k + 1]);
    this.checkDepth(dict);
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
  return asSeq(args)?.type === 'tuple' ? text : `(*${text})`;
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
