/**
 * Cross-check against CPython: pickles that Python's own pickle module writes (protocols 0–5)
 * must read as the same opcodes at the same offsets as pickletools.genops reports, benign
 * objects must pass and a __reduce__ to os.system must be caught. Skipped without python3.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { forwardReader } from '../../../src/defenses/model-scan/file-source.js';
import { bufferSource, DEFAULT_SCAN_LIMITS } from '../../../src/defenses/model-scan/finding.js';
import { PickleReader } from '../../../src/defenses/model-scan/pickle-reader.js';
import { scanPickleSource } from '../../../src/defenses/model-scan/pickle-scan.js';

const SCRIPT = String.raw`
import base64, collections, json, os, pickle, pickletools
try:
    import numpy as np
except ImportError:
    np = None

class Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned',))

class Custom:
    pass

def benign():
    shared = [1, 2, 3]
    rec = ['self']
    rec.append(rec)
    obj = {
        'ints': [0, 1, -1, 255, 256, 65535, 65536, 2**31, -2**31, 2**64, -2**100],
        'floats': [0.5, -1e300, float('inf')],
        'text': 'h\u00e9llo \u2603 \U0001F600', 'bytes': b'\x00\xff' * 10, 'big': b'z' * 100000,
        'bytearray': bytearray(b'xy'), 'tuples': (1, (2, (3,)), ()), 'set': {1, 2}, 'frozen': frozenset({3}),
        'none': None, 'bools': [True, False], 'od': collections.OrderedDict(a=1, b=[shared, shared]),
        'complex': 1 + 2j, 'rec': rec, 'slice': slice(1, 5, 2),
    }
    if np is not None:
        obj['array'] = np.arange(12, dtype=np.float32).reshape(3, 4)
        obj['scalar'] = np.float64(2.5)
    return obj

out = []
for proto in range(0, 6):
    for name, value in [('benign', benign()), ('evil', {'x': Evil()}), ('custom', Custom())]:
        data = pickle.dumps(value, protocol=proto)
        ops = [[op.name, pos] for op, arg, pos in pickletools.genops(data)]
        out.append({'proto': proto, 'name': name, 'data': base64.b64encode(data).decode(), 'ops': ops})
buffers = []
data = pickle.dumps([pickle.PickleBuffer(bytearray(b'abc')), pickle.PickleBuffer(b'def')], protocol=5, buffer_callback=buffers.append)
out.append({'proto': 5, 'name': 'out-of-band', 'data': base64.b64encode(data).decode(),
            'ops': [[op.name, pos] for op, arg, pos in pickletools.genops(data)]})
print(json.dumps(out))
`;

interface Sample {
  proto: number;
  name: string;
  data: string;
  ops: [string, number][];
}

function pythonSamples(): Sample[] | string {
  const run = spawnSync('python3', ['-c', SCRIPT], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error || run.status !== 0)
    return `python3 with pickle is not available (${run.error?.message ?? run.stderr.trim()})`;
  return JSON.parse(run.stdout) as Sample[];
}

const samples = pythonSamples();
const skip = typeof samples === 'string' ? samples : false;

describe('pickles written by CPython', { skip }, () => {
  const all = samples as Sample[];

  it('read as the opcodes and offsets pickletools.genops reports, for protocols 0–5', () => {
    for (const s of all) {
      const bytes = Buffer.from(s.data, 'base64');
      const reader = new PickleReader(forwardReader(bufferSource(bytes)));
      const ours: [string, number][] = [];
      for (let op = reader.next(); op !== null; op = reader.next()) ours.push([op.info.name, op.offset]);
      assert.deepEqual(ours, s.ops, `${s.name} protocol ${s.proto}`);
    }
  });

  it('pass when benign, and catch os.system and unknown classes', () => {
    const context = { path: 'py.pkl', depth: 0, limits: DEFAULT_SCAN_LIMITS };
    for (const s of all) {
      const { findings } = scanPickleSource(bufferSource(Buffer.from(s.data, 'base64')), context);
      const got = [...new Set(findings.map((f) => `${f.severity} ${f.rule}`))].sort();
      const expected =
        s.name === 'evil'
          ? ['critical pickle/dangerous-call', 'critical pickle/dangerous-global']
          : s.name === 'custom'
            ? // Protocols 0–1 build it with copyreg._reconstructor (allowed) and the class as an argument.
              s.proto < 2
              ? ['high pickle/unknown-global']
              : ['high pickle/non-allowed-call', 'high pickle/unknown-global']
            : [];
      assert.deepEqual(got, expected, `${s.name} protocol ${s.proto}: ${JSON.stringify(findings)}`);
    }
  });
});
