/** PyTorch, NumPy, joblib, Keras and nested archives through the dispatcher (scanBytes), samples built byte by byte. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';
import { AegisInputError } from '../../../src/core/errors.js';
import { type FileScan, type Finding, isBlocking } from '../../../src/defenses/model-scan/finding.js';
import { scanBytes } from '../../../src/defenses/model-scan/scan-path.js';
import { writeHdf5 } from '../../helpers/hdf5-writer.js';
import { configBytes, keras2Lambda, keras3Benign, keras3Lambda } from '../../helpers/keras-configs.js';
import { joblibFile, legacyTorchFile, osSystemProtocol2, pickle, torchStateDict } from '../../helpers/pickle-bytes.js';
import { buildZip, npyBytes, type ZipEntrySpec } from '../../helpers/zip-bytes.js';

const enc = new TextEncoder();

function rules(scan: FileScan): string[] {
  return scan.findings.map((f) => `${f.severity} ${f.rule}`).sort();
}

function only(findings: Finding[], rule: string): Finding {
  const found = findings.filter((f) => f.rule === rule);
  assert.equal(found.length, 1, `expected one ${rule}, got ${JSON.stringify(findings)}`);
  return found[0];
}

function blocking(scan: FileScan): boolean {
  return scan.findings.some((f) => isBlocking(f.severity));
}

/** A torch.save-style archive: archive/data.pkl, one storage entry, version files. */
function torchZip(dataPkl: Uint8Array, method: 0 | 8 = 0): Uint8Array {
  return buildZip([
    { name: 'archive/data.pkl', data: dataPkl, method },
    { name: 'archive/byteorder', data: enc.encode('little') },
    // Storage bytes that look like pickle opcodes: they must not be read.
    { name: 'archive/data/0', data: enc.encode('cos\nsystem\n(S"id"\ntR.'.repeat(50)) },
    { name: 'archive/version', data: enc.encode('3\n') },
    { name: 'archive/.data/serialization_id', data: enc.encode('1234567890') },
  ]);
}

describe('PyTorch archives', () => {
  it('catches os.system in archive/data.pkl and points at the byte in the file', () => {
    const bytes = torchZip(osSystemProtocol2());
    const scan = scanBytes(bytes, 'model.pt');
    assert.equal(scan.format, 'pytorch');
    assert.deepEqual(rules(scan), ['critical pickle/dangerous-call', 'critical pickle/dangerous-global']);
    const g = only(scan.findings, 'pickle/dangerous-global');
    assert.equal(g.location, 'archive/data.pkl @ byte 2 (GLOBAL)');
    assert.equal(String.fromCharCode(bytes[g.offset!]), 'c'); // the GLOBAL opcode, in the file
  });

  it('passes a benign state dict and never reads the storages', () => {
    const scan = scanBytes(torchZip(torchStateDict()), 'model.pt');
    assert.equal(scan.format, 'pytorch');
    assert.deepEqual(scan.findings, []);
  });

  it('streams a deflated data.pkl', () => {
    const scan = scanBytes(torchZip(osSystemProtocol2(), 8), 'model.bin');
    assert.equal(scan.format, 'pytorch');
    const g = only(scan.findings, 'pickle/dangerous-global');
    assert.equal(g.offset, undefined); // offsets inside inflated data do not point into the file
    assert.equal(g.location, 'archive/data.pkl @ byte 2 (GLOBAL)');
  });

  it('reads a legacy (non-zip) torch.save file', () => {
    const storage = new Uint8Array(64).fill(0x63);
    assert.deepEqual(scanBytes(legacyTorchFile(torchStateDict(), storage), 'old.pt'), {
      path: 'old.pt',
      format: 'pytorch',
      findings: [],
      bytes: legacyTorchFile(torchStateDict(), storage).length,
    });
    assert.ok(blocking(scanBytes(legacyTorchFile(osSystemProtocol2(), storage), 'old.pt')));
  });
});

describe('NumPy files', () => {
  it('passes a float32 .npy', () => {
    const scan = scanBytes(npyBytes('<f4', [2, 3], new Uint8Array(24)), 'w.npy');
    assert.equal(scan.format, 'numpy');
    assert.deepEqual(scan.findings, []);
  });

  it('flags an object-dtype .npy and scans its embedded pickle', () => {
    const embedded = pickle().proto(3).emptyList().global('os', 'system').append().stop().bytes();
    const scan = scanBytes(npyBytes('|O', [1], embedded), 'objects.npy');
    assert.deepEqual(rules(scan), ['critical pickle/dangerous-global', 'high numpy/object-dtype']);
    assert.match(only(scan.findings, 'numpy/object-dtype').message, /allow_pickle=True/);
    assert.equal(only(scan.findings, 'pickle/dangerous-global').location, `byte ${128 + 3} (GLOBAL)`);
  });

  it('flags data shorter than the header says, and rejects a broken header', () => {
    const short = scanBytes(npyBytes('<f8', [10], new Uint8Array(40)), 'short.npy');
    assert.match(only(short.findings, 'numpy/size-mismatch').message, /says 80 data bytes .* holds 40/);
    const broken = npyBytes('<f4', [1], new Uint8Array(4));
    broken[20] = 0x7b; // '{' in the middle of the dict
    assert.throws(
      () => scanBytes(broken, 'broken.npy'),
      (e: unknown) =>
        e instanceof AegisInputError && /broken\.npy: \.npy header is not a Python dict literal/.test(e.message),
    );
  });

  it('scans every array of an .npz', () => {
    const objects = npyBytes('|O', [1], pickle().proto(3).emptyList().stop().bytes());
    const scan = scanBytes(
      buildZip([
        { name: 'w.npy', data: npyBytes('<f4', [4], new Uint8Array(16)), method: 8 },
        { name: 'o.npy', data: objects, method: 8 },
      ]),
      'arrays.npz',
    );
    assert.equal(scan.format, 'numpy');
    assert.deepEqual(rules(scan), ['high numpy/object-dtype']);
    assert.match(scan.findings[0].location, /^o\.npy @ byte 128/);
  });
});

describe('joblib files', () => {
  const floats = new Uint8Array(6 * 4).fill(0x63);

  it('recognises an uncompressed joblib file and passes a benign one', () => {
    const scan = scanBytes(joblibFile([{ dtype: 'f4', shape: [2, 3], data: floats, aligned: true }]), 'model.pkl');
    assert.equal(scan.format, 'joblib');
    assert.deepEqual(scan.findings, []);
  });

  it('catches a call hidden after the inline array data', () => {
    const evil = joblibFile([{ dtype: 'f4', shape: [2, 3], data: floats, aligned: true }], (b) =>
      b.global('posix', 'system').shortBinUnicode('id').tuple1().reduce(),
    );
    assert.ok(blocking(scanBytes(evil, 'model.joblib')));
  });

  it('decompresses zlib and gzip joblib files as a stream', () => {
    const evil = joblibFile([{ dtype: 'f4', shape: [2, 3], data: floats }], (b) => b.global('os', 'system'));
    for (const [name, bytes] of [
      ['model.joblib', new Uint8Array(deflateSync(evil))],
      ['model.pkl.gz', new Uint8Array(gzipSync(evil))],
    ] as const) {
      const scan = scanBytes(bytes, name);
      assert.equal(scan.format, 'joblib', name);
      assert.match(
        only(scan.findings, 'pickle/dangerous-global').location,
        /^(zlib|gzip) stream @ byte \d+ \(GLOBAL\)$/,
      );
    }
  });

  it('says when a compression is not handled', () => {
    const scan = scanBytes(enc.encode('BZh91AY&SY fake bz2 stream'), 'model.joblib');
    assert.equal(scan.format, 'joblib');
    assert.equal(only(scan.findings, 'joblib/unsupported-compression').severity, 'high');
  });
});

describe('Keras archives', () => {
  function kerasZip(config: unknown, extra: ZipEntrySpec[] = []): Uint8Array {
    return buildZip([
      { name: 'metadata.json', data: enc.encode('{"keras_version": "3.4.1"}') },
      { name: 'config.json', data: configBytes(config), method: 8 },
      ...extra,
    ]);
  }

  it('sends config.json to the Keras scanner (Lambda layer caught, benign passes)', () => {
    const evil = scanBytes(kerasZip(keras3Lambda()), 'model.keras');
    assert.equal(evil.format, 'keras');
    const lambda = evil.findings.find((f) => f.rule === 'keras/lambda');
    assert.ok(lambda && lambda.severity === 'critical', JSON.stringify(evil.findings));
    assert.match(lambda.location, /^config\.json: /);
    const benign = scanBytes(kerasZip(keras3Benign()), 'model.keras');
    assert.ok(!blocking(benign), JSON.stringify(benign.findings));
  });

  it('sends .h5 entries to the HDF5 scanner', () => {
    const h5 = writeHdf5({
      attributes: [
        { name: 'keras_version', value: '2.15.0', storage: 'fixed' },
        { name: 'model_config', value: JSON.stringify(keras2Lambda()), storage: 'fixed' },
      ],
    }).bytes;
    const scan = scanBytes(kerasZip(keras3Benign(), [{ name: 'model.weights.h5', data: h5, method: 8 }]), 'm.keras');
    const lambda = scan.findings.find((f) => f.rule === 'keras/lambda');
    assert.ok(lambda, JSON.stringify(scan.findings));
    assert.match(lambda.location, /^model\.weights\.h5: /);
  });
});

describe('nested and hostile archives', () => {
  it('scans pickles inside zips inside zips, naming the path', () => {
    const inner = buildZip([{ name: 'evil.pkl', data: osSystemProtocol2() }]);
    const outer = buildZip([
      { name: 'README.txt', data: enc.encode('hello') },
      { name: 'inner.zip', data: inner, method: 8 },
    ]);
    const scan = scanBytes(outer, 'bundle.zip');
    assert.equal(scan.format, 'zip');
    assert.equal(only(scan.findings, 'pickle/dangerous-global').location, 'inner.zip!/evil.pkl @ byte 2 (GLOBAL)');
  });

  it('stops at limits.maxDepth', () => {
    let bytes = buildZip([{ name: 'evil.pkl', data: osSystemProtocol2() }]);
    for (let k = 0; k < 4; k++) bytes = buildZip([{ name: `level${k}.zip`, data: bytes }]);
    const scan = scanBytes(bytes, 'deep.zip', { limits: { maxDepth: 3 } });
    const f = only(scan.findings, 'scan/max-depth');
    assert.equal(f.severity, 'high');
    assert.equal(f.location, 'level3.zip!/level2.zip!/level1.zip!/level0.zip');
    assert.ok(blocking(scanBytes(bytes, 'deep.zip', { limits: { maxDepth: 5 } })));
  });

  it('refuses a zip bomb entry without inflating it', () => {
    const bomb = buildZip([{ name: 'data.pkl', data: new Uint8Array(8 * 1024 * 1024), method: 8 }]);
    const scan = scanBytes(bomb, 'bomb.zip');
    assert.deepEqual(rules(scan), ['high zip/compression-ratio']);
  });

  it('refuses overlapping entries', () => {
    const bytes = buildZip([
      { name: 'a.pkl', data: osSystemProtocol2() },
      { name: 'b.pkl', data: osSystemProtocol2(), sharesHeaderOf: 0 },
    ]);
    assert.deepEqual(rules(scanBytes(bytes, 'overlap.zip')), ['high zip/overlapping-entries']);
  });

  it("flags '../' entry names and still scans the entries", () => {
    const scan = scanBytes(buildZip([{ name: '../../evil.pkl', data: osSystemProtocol2() }]), 'x.zip');
    assert.deepEqual(rules(scan), [
      'critical pickle/dangerous-call',
      'critical pickle/dangerous-global',
      'high zip/path-traversal',
    ]);
  });

  it('reports an unparseable entry and goes on with the others', () => {
    const bad = npyBytes('<f4', [1], new Uint8Array(4));
    bad[6] = 9; // format version 9
    const scan = scanBytes(
      buildZip([
        { name: 'bad.npy', data: bad },
        { name: 'evil.pkl', data: osSystemProtocol2() },
      ]),
      'mixed.zip',
    );
    assert.match(only(scan.findings, 'scan/unreadable-entry').message, /unsupported \.npy format version 9/);
    assert.ok(scan.findings.some((f) => f.rule === 'pickle/dangerous-global'));
  });

  it('lists unrecognised files as unknown, with a note when the name says model', () => {
    assert.deepEqual(scanBytes(enc.encode('just text'), 'notes.txt').findings, []);
    const bin = scanBytes(new Uint8Array([0, 1, 2, 3]), 'weights.bin');
    assert.equal(bin.format, 'unknown');
    assert.deepEqual(rules(bin), ['info scan/unknown-format']);
  });
});
