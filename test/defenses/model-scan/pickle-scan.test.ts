import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bufferSource,
  DEFAULT_SCAN_LIMITS,
  type Finding,
  isBlocking,
} from '../../../src/defenses/model-scan/finding.js';
import { importPolicy, isDenied } from '../../../src/defenses/model-scan/pickle-imports.js';
import { type PickleScanResult, scanPickleSource } from '../../../src/defenses/model-scan/pickle-scan.js';
import { scanLegacyTorch } from '../../../src/defenses/model-scan/pytorch.js';
import {
  execViaStackGlobal,
  joblibFile,
  legacyTorchFile,
  osSystemProtocol0,
  osSystemProtocol2,
  pickle,
  torchStateDict,
} from '../../helpers/pickle-bytes.js';

function scan(bytes: Uint8Array, options: { allow?: string[]; maxDepth?: number } = {}): PickleScanResult {
  return scanPickleSource(bufferSource(bytes), {
    path: 'test.pkl',
    depth: 0,
    fileOffset: 0,
    limits: { ...DEFAULT_SCAN_LIMITS, maxDepth: options.maxDepth ?? DEFAULT_SCAN_LIMITS.maxDepth },
    allow: options.allow,
  });
}

function rules(findings: Finding[]): string[] {
  return findings.map((f) => `${f.severity} ${f.rule}`).sort();
}

function only(findings: Finding[], rule: string): Finding {
  const found = findings.filter((f) => f.rule === rule);
  assert.equal(found.length, 1, `expected one ${rule}, got ${JSON.stringify(findings, null, 1)}`);
  return found[0];
}

describe('pickle scanner: dangerous callables', () => {
  it('catches os.system via GLOBAL + REDUCE in protocol 0', () => {
    const { findings } = scan(osSystemProtocol0());
    assert.deepEqual(rules(findings), ['critical pickle/dangerous-call', 'critical pickle/dangerous-global']);
    const g = only(findings, 'pickle/dangerous-global');
    assert.equal(g.location, 'byte 0 (GLOBAL)');
    assert.equal(g.offset, 0);
    assert.match(g.message, /imports os\.system, which runs operating-system commands/);
    const call = only(findings, 'pickle/dangerous-call');
    assert.match(call.message, /REDUCE calls os\.system\("echo pwned",\)/);
    assert.equal(call.location, `byte ${osSystemProtocol0().length - 2} (REDUCE)`);
  });

  it('catches os.system via GLOBAL + REDUCE in protocol 2', () => {
    const { findings, protocol } = scan(osSystemProtocol2());
    assert.equal(protocol, 2);
    assert.deepEqual(rules(findings), ['critical pickle/dangerous-call', 'critical pickle/dangerous-global']);
    assert.equal(only(findings, 'pickle/dangerous-global').location, 'byte 2 (GLOBAL)');
  });

  it('catches posix.system and nt.system (what os.system pickles as on each platform)', () => {
    for (const module of ['posix', 'nt']) {
      const { findings } = scan(osSystemProtocol2(module));
      assert.match(only(findings, 'pickle/dangerous-global').message, new RegExp(`imports ${module}\\.system`));
    }
  });

  it('resolves builtins.exec through STACK_GLOBAL, FRAME and MEMOIZE/BINGET indirection (protocol 4)', () => {
    const { bytes, stackGlobalOffset } = execViaStackGlobal();
    const { findings, protocol } = scan(bytes);
    assert.equal(protocol, 4);
    const g = only(findings, 'pickle/dangerous-global');
    assert.equal(g.severity, 'critical');
    assert.equal(g.location, `byte ${stackGlobalOffset} (STACK_GLOBAL)`);
    assert.match(g.message, /imports builtins\.exec, which executes Python code/);
    assert.match(only(findings, 'pickle/dangerous-call').message, /builtins\.exec\("import os; os\.system\('id'\)",\)/);
  });

  it('resolves STACK_GLOBAL names memoized with protocol-0 PUT and fetched with GET and LONG_BINGET', () => {
    const bytes = pickle()
      .proto(4)
      .shortBinUnicode('subprocess')
      .put(7)
      .pop()
      .shortBinUnicode('check_output')
      .longBinPut(70000)
      .pop()
      .get(7)
      .longBinGet(70000)
      .stackGlobal()
      .stop()
      .bytes();
    assert.match(only(scan(bytes).findings, 'pickle/dangerous-global').message, /subprocess\.check_output/);
  });

  it('catches INST, OBJ, NEWOBJ and NEWOBJ_EX invocations', () => {
    const inst = pickle().mark().string("'id'").inst('subprocess', 'Popen').stop().bytes();
    assert.deepEqual(rules(scan(inst).findings), [
      'critical pickle/dangerous-call',
      'critical pickle/dangerous-global',
    ]);
    assert.match(only(scan(inst).findings, 'pickle/dangerous-call').message, /^INST calls subprocess\.Popen\("id",\)/);
    const obj = pickle().proto(1).mark().global('builtins', 'eval').binUnicode('1+1').obj().stop().bytes();
    assert.match(only(scan(obj).findings, 'pickle/dangerous-call').message, /^OBJ calls builtins\.eval\("1\+1",\)/);
    const newobj = pickle().proto(2).global('mypkg', 'Thing').emptyTuple().newObj().stop().bytes();
    assert.match(only(scan(newobj).findings, 'pickle/non-allowed-call').message, /^NEWOBJ calls mypkg\.Thing\(\)/);
    const ex = pickle().proto(4).global('mypkg', 'Thing').emptyTuple().emptyDict().newObjEx().stop().bytes();
    assert.match(only(scan(ex).findings, 'pickle/non-allowed-call').message, /^NEWOBJ_EX calls mypkg\.Thing/);
  });

  it('denies a module reached through a dotted attribute path (protocol 4 qualnames)', () => {
    const bytes = pickle()
      .proto(4)
      .shortBinUnicode('torch.serialization')
      .shortBinUnicode('os.system')
      .stackGlobal()
      .stop()
      .bytes();
    assert.match(only(scan(bytes).findings, 'pickle/dangerous-global').message, /torch\.serialization\.os\.system/);
    assert.ok(isDenied('collections', '__builtins__.eval'));
    assert.ok(isDenied('builtins', 'getattr.__call__'));
    assert.ok(!isDenied('collections', 'OrderedDict'));
  });

  it('flags a STACK_GLOBAL whose name is computed at load time', () => {
    // The name is the result of builtins.str(...): not a literal, so the import cannot be checked.
    const computed = pickle().proto(4).shortBinUnicode('mypkg').global('builtins', 'str');
    computed.shortBinUnicode('x').tuple1().reduce().stackGlobal().stop();
    assert.equal(only(scan(computed.bytes()).findings, 'pickle/unresolved-global').severity, 'high');
    // …and when the module alone is known and denied, that is enough.
    const half = pickle().proto(4).shortBinUnicode('os').global('builtins', 'str');
    half.shortBinUnicode('x').tuple1().reduce().stackGlobal().stop();
    assert.equal(only(scan(half.bytes()).findings, 'pickle/dangerous-global').severity, 'critical');
  });

  it('flags extension-registry imports (EXT1) and calls of values that are not imports', () => {
    assert.equal(
      only(scan(pickle().proto(2).ext1(1).stop().bytes()).findings, 'pickle/unresolved-global').severity,
      'high',
    );
    // OrderedDict() is allowed, but calling what it returned is not an allowed callable.
    const b = pickle().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().emptyTuple().reduce().stop();
    const f = only(scan(b.bytes()).findings, 'pickle/non-allowed-call');
    assert.equal(f.severity, 'high');
    assert.match(f.message, /calls collections\.OrderedDict\(\), a value that is not an imported allowed callable/);
  });

  it('flags BUILD that sets attributes on an imported object', () => {
    const b = pickle()
      .proto(2)
      .global('torch', 'device')
      .emptyDict()
      .binUnicode('x')
      .newTrue()
      .setItem()
      .build()
      .stop();
    assert.equal(only(scan(b.bytes()).findings, 'pickle/build-on-global').severity, 'high');
  });
});

describe('pickle scanner: allow list', () => {
  it('reports an unknown import as high, and --allow (exact or prefix) accepts it', () => {
    const bytes = pickle()
      .proto(2)
      .global('mypkg.models', 'Net')
      .emptyTuple()
      .newObj()
      .emptyDict()
      .build()
      .stop()
      .bytes();
    const { findings } = scan(bytes);
    assert.deepEqual(rules(findings), ['high pickle/non-allowed-call', 'high pickle/unknown-global']);
    assert.match(only(findings, 'pickle/unknown-global').message, /pass --allow mypkg\.models\.Net/);
    assert.deepEqual(scan(bytes, { allow: ['mypkg.models.Net'] }).findings, []);
    assert.deepEqual(scan(bytes, { allow: ['mypkg.*'] }).findings, []);
  });

  it('never lets the allow list override the deny list', () => {
    const { findings } = scan(osSystemProtocol2(), { allow: ['os.system', 'os.*'] });
    assert.equal(only(findings, 'pickle/dangerous-global').severity, 'critical');
  });

  it('prefix allowances do not cover dotted or dunder names', () => {
    const policy = importPolicy();
    assert.equal(policy.classify('sklearn.linear_model._logistic', 'LogisticRegression'), 'allowed');
    assert.equal(policy.classify('sklearn.base', 'BaseEstimator.__reduce__'), 'unknown');
    assert.equal(policy.classify('sklearn.base', '__loader__'), 'unknown');
    assert.equal(policy.classify('torch._utils', '_rebuild_tensor_v2'), 'allowed');
    assert.equal(policy.classify('torch', 'load'), 'denied');
  });

  it('passes a torch-style state dict (OrderedDict, _rebuild_tensor_v2, FloatStorage persistent ids)', () => {
    const result = scan(torchStateDict());
    assert.deepEqual(result.findings, []);
    assert.deepEqual(result.imports.map((i) => [i.name, i.status]).sort(), [
      ['collections.OrderedDict', 'allowed'],
      ['torch.FloatStorage', 'allowed'],
      ['torch._utils._rebuild_tensor_v2', 'allowed'],
    ]);
  });

  it('merges repeats of the same finding', () => {
    const b = pickle().proto(2).mark();
    for (let k = 0; k < 5; k++) b.global('mypkg', 'Layer');
    const { findings } = scan(b.tuple().stop().bytes());
    assert.match(only(findings, 'pickle/unknown-global').message, /\(5 times; first shown\)$/);
  });
});

describe('pickle scanner: structure', () => {
  it('scans a pickle that follows STOP, and notes bytes that are not one', () => {
    const benign = torchStateDict();
    const evil = osSystemProtocol2();
    const both = new Uint8Array([...benign, ...evil]);
    const { findings } = scan(both);
    assert.equal(only(findings, 'pickle/trailing-pickle').location, `byte ${benign.length} (STOP)`);
    assert.equal(only(findings, 'pickle/dangerous-global').location, `byte ${benign.length + 2} (GLOBAL)`);
    const junk = scan(new Uint8Array([...benign, 0xff, 0xfe, 0x00]));
    assert.deepEqual(rules(junk.findings), ['low pickle/trailing-data']);
  });

  it('flags nesting deeper than limits.maxDepth', () => {
    const b = pickle().proto(2);
    for (let k = 0; k < 10; k++) b.mark();
    for (let k = 0; k < 10; k++) b.tuple();
    const deep = b.stop().bytes();
    assert.equal(only(scan(deep, { maxDepth: 8 }).findings, 'pickle/deep-nesting').severity, 'medium');
    assert.deepEqual(scan(deep, { maxDepth: 16 }).findings, []);
    const lists = pickle().proto(2);
    for (let k = 0; k < 10; k++) lists.emptyList();
    for (let k = 0; k < 9; k++) lists.append();
    assert.equal(only(scan(lists.stop().bytes(), { maxDepth: 8 }).findings, 'pickle/deep-nesting').severity, 'medium');
  });

  it('flags a memo index that was never set', () => {
    const f = only(scan(pickle().proto(2).binGet(7).stop().bytes()).findings, 'pickle/memo-undefined');
    assert.equal(f.location, 'byte 2 (BINGET)');
    assert.match(f.message, /memo index 7 is read but was never set/);
  });

  it('flags stack underflow and a missing MARK as malformed', () => {
    assert.equal(only(scan(pickle().proto(2).reduce().stop().bytes()).findings, 'pickle/malformed').severity, 'medium');
    assert.match(only(scan(pickle().proto(2).tuple().stop().bytes()).findings, 'pickle/malformed').message, /MARK/);
  });

  it('reports a pickle that stops early after valid opcodes as truncated, with the offset', () => {
    const whole = osSystemProtocol2();
    const cut = whole.subarray(0, 20); // inside the BINUNICODE argument
    const f = only(scan(cut).findings, 'pickle/truncated');
    assert.equal(f.severity, 'medium');
    assert.match(f.message, /ends inside BINUNICODE \(opcode at byte 13/);
    // The import before the cut is still reported.
    assert.equal(only(scan(cut).findings, 'pickle/dangerous-global').severity, 'critical');
    assert.match(only(scan(whole.subarray(0, whole.length - 1)).findings, 'pickle/truncated').message, /without STOP/);
  });

  it('reports an invalid opcode after valid ones and stops there', () => {
    const bytes = pickle().proto(2).none().raw(0xff).global('os', 'system').stop().bytes();
    const { findings } = scan(bytes);
    assert.deepEqual(rules(findings), ['medium pickle/invalid-opcode']);
    assert.equal(findings[0].offset, 3);
  });

  it('stops tracking objects past its budget but still checks every import', () => {
    // 1.2 million nested one-element tuples: unpickling would build them all.
    const chain = new Uint8Array(1_200_000).fill(0x85); // TUPLE1
    const tail = pickle().pop().global('os', 'system').shortBinUnicode('id').tuple1().reduce().stop().bytes();
    const bytes = new Uint8Array([0x80, 2, 0x29, ...chain, ...tail]);
    const { findings } = scan(bytes);
    assert.match(only(findings, 'pickle/resource-limit').message, /more than 524288 objects/);
    assert.equal(only(findings, 'pickle/deep-nesting').severity, 'medium');
    assert.equal(only(findings, 'pickle/dangerous-global').severity, 'critical');
  });

  it('does not read large byte payloads as opcodes', () => {
    const payload = new TextEncoder().encode('cos\nsystem\n(S"id"\ntR.'.repeat(10_000));
    const { findings, opcodes } = scan(pickle().proto(4).binBytes8(payload).stop().bytes());
    assert.deepEqual(findings, []);
    assert.equal(opcodes, 3);
  });
});

describe('pickle scanner: joblib and legacy torch streams', () => {
  const floats = new Uint8Array(2 * 3 * 4).fill(0x63); // 'c' = GLOBAL: misread if not skipped

  it('skips joblib inline array data (aligned and not) and scans the pickle after it', () => {
    for (const aligned of [true, false]) {
      const benign = joblibFile([{ dtype: 'f4', shape: [2, 3], data: floats, aligned }]);
      const result = scan(benign);
      assert.deepEqual(result.findings, [], `aligned ${aligned}`);
      assert.equal(result.joblibArrays, 1);
      const evil = joblibFile([{ dtype: 'f4', shape: [2, 3], data: floats, aligned }], (b) =>
        b.global('posix', 'system').shortBinUnicode('id').tuple1().reduce(),
      );
      assert.deepEqual(rules(scan(evil).findings), [
        'critical pickle/dangerous-call',
        'critical pickle/dangerous-global',
      ]);
    }
  });

  it('scans the nested pickle of a joblib object array', () => {
    const nested = osSystemProtocol2();
    const result = scan(joblibFile([{ dtype: 'O8', shape: [1], data: nested }], (b) => b.none()));
    assert.deepEqual(rules(result.findings), ['critical pickle/dangerous-call', 'critical pickle/dangerous-global']);
  });

  it('refuses to guess past a joblib array whose size cannot be read', () => {
    const bytes = joblibFile([{ dtype: 'weird', shape: [2], data: new Uint8Array(8) }]);
    assert.equal(only(scan(bytes).findings, 'joblib/array-layout').severity, 'high');
  });

  it('flags joblib array data cut short', () => {
    const bytes = joblibFile([{ dtype: 'f8', shape: [100], data: new Uint8Array(16) }]);
    assert.match(
      only(scan(bytes).findings, 'pickle/truncated').message,
      /inside the raw data of a joblib array of 100 items/,
    );
  });

  it('reads the five pickles of a legacy torch.save file and not the storage bytes after them', () => {
    const storage = new TextEncoder().encode('cos\nsystem\n'.repeat(4));
    const context = { path: 'old.pt', depth: 0, limits: DEFAULT_SCAN_LIMITS };
    assert.deepEqual(scanLegacyTorch(bufferSource(legacyTorchFile(torchStateDict(), storage)), context), []);
    const evil = scanLegacyTorch(bufferSource(legacyTorchFile(osSystemProtocol2(), storage)), context);
    assert.ok(evil.some((f) => f.rule === 'pickle/dangerous-global'));
    assert.ok(evil.every((f) => f.rule.startsWith('pickle/dangerous')));
    assert.ok(evil.some((f) => isBlocking(f.severity)));
  });
});
