import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import {
  bufferSource,
  DEFAULT_SCAN_LIMITS,
  type Finding,
  isBlocking,
  type ScanContext,
} from '../../../src/defenses/model-scan/finding.js';
import { hdf5Scanner, scanHdf5 } from '../../../src/defenses/model-scan/hdf5.js';
import { Hdf5Reader } from '../../../src/defenses/model-scan/hdf5-reader.js';
import { type H5Attribute, nestedGroups, writeHdf5 } from '../../helpers/hdf5-writer.js';
import { keras2Benign, keras2Lambda, keras3Custom } from '../../helpers/keras-configs.js';

const context: ScanContext = { path: 'model.h5', limits: DEFAULT_SCAN_LIMITS, depth: 0 };

function fixture(name: string): Uint8Array {
  return readFileSync(new URL(`../../fixtures/h5/${name}`, import.meta.url));
}

function scan(bytes: Uint8Array, ctx = context): Finding[] {
  return scanHdf5(bufferSource(bytes), ctx);
}

function rules(findings: Finding[]): string[] {
  return findings.map((f) => `${f.rule}:${f.severity}`).sort();
}

function kerasAttributes(config: unknown, storage: 'fixed' | 'vlen'): H5Attribute[] {
  return [
    { name: 'keras_version', value: '2.15.0', storage },
    { name: 'backend', value: 'tensorflow', storage },
    { name: 'model_config', value: JSON.stringify(config), storage },
  ];
}

function patch64(bytes: Uint8Array, at: number, value: bigint): Uint8Array {
  const copy = Uint8Array.from(bytes);
  new DataView(copy.buffer).setBigUint64(at, value, true);
  return copy;
}

describe('HDF5 scanner on files written by h5py (libhdf5)', () => {
  it('passes a benign tf.keras-style model and reports it as a Keras model', () => {
    const findings = scan(fixture('keras2_benign.h5'));
    assert.deepEqual(rules(findings), ['hdf5/keras-model:info']);
    assert.match(findings[0].message, /Keras 2\.15\.0 \(backend tensorflow\)/);
    assert.ok(hdf5Scanner.matches(fixture('keras2_benign.h5').subarray(0, 64), 'weights.bin'));
  });

  it('finds the Lambda in a variable-length (global heap) model_config, with the names its bytecode uses', () => {
    const findings = scan(fixture('keras_lambda_vlen.h5'));
    assert.deepEqual(rules(findings), ['hdf5/keras-model:info', 'keras/lambda:critical']);
    const lambda = findings.find((f) => f.rule === 'keras/lambda') as Finding;
    assert.match(lambda.location, /^attribute "model_config": layer "lambda" \(Lambda\)/);
    assert.match(lambda.message, /references os, __import__, system/);
  });

  it('finds the custom layer in a fixed-length model_config', () => {
    const findings = scan(fixture('keras_custom_fixed.h5'));
    assert.deepEqual(rules(findings), ['hdf5/keras-model:info', 'keras/custom-object:high']);
    assert.match(findings.map((f) => f.message).join('\n'), /"AcmeAttention"/);
  });

  it('finds the superblock behind a 512-byte user block and resolves addresses from it', () => {
    const bytes = fixture('userblock_lambda.h5');
    assert.deepEqual(rules(scan(bytes)), ['hdf5/keras-model:info', 'keras/lambda:critical']);
    const reader = new Hdf5Reader(bufferSource(bytes), DEFAULT_SCAN_LIMITS);
    assert.equal(reader.superblock.offset, 512);
    assert.equal(reader.superblock.baseAddress, 512);
  });

  it("reads libver='latest' files: v3 superblock, v2 object headers, link messages, v3 attributes", () => {
    const bytes = fixture('keras_latest.h5');
    assert.deepEqual(rules(scan(bytes)), ['hdf5/keras-model:info']);
    const reader = new Hdf5Reader(bufferSource(bytes), DEFAULT_SCAN_LIMITS);
    assert.equal(reader.superblock.version, 3);
    const root = reader.objectHeader(reader.superblock.rootAddress);
    assert.equal(root.version, 2);
    assert.deepEqual(
      reader.links(root).map((l) => l.name),
      ['model_weights'],
    );
    const attrs = Object.fromEntries(reader.attributes(root).map((a) => [a.name, a.value]));
    assert.deepEqual(attrs.backend, { kind: 'string', values: ['tensorflow'], variableLength: true });
  });

  it('walks old-style groups spread over several symbol table nodes; a non-Keras file is info only', () => {
    const bytes = fixture('plain_data.h5');
    const findings = scan(bytes);
    assert.deepEqual(rules(findings), ['hdf5/not-keras:info']);
    assert.match(findings[0].message, /23 object\(s\) walked/);
    const reader = new Hdf5Reader(bufferSource(bytes), DEFAULT_SCAN_LIMITS);
    const data = reader.links(reader.objectHeader(reader.superblock.rootAddress))[0];
    assert.equal(data.kind, 'hard');
    const members = reader.links(reader.objectHeader((data as { address: number }).address)).map((l) => l.name);
    assert.equal(members.length, 21);
    assert.ok(members.includes('run_19') && members.includes('values'));
  });

  it('reports every truncation of every fixture as a finding, never an exception', () => {
    for (const name of [
      'keras2_benign.h5',
      'keras_lambda_vlen.h5',
      'keras_latest.h5',
      'plain_data.h5',
      'userblock_lambda.h5',
    ]) {
      const bytes = fixture(name);
      for (let cut = 0; cut < bytes.length; cut += 211) {
        const findings = scan(bytes.subarray(0, cut));
        assert.ok(
          findings.some((f) => /^hdf5\/(truncated|malformed)$/.test(f.rule)),
          `${name} cut at ${cut}: ${JSON.stringify(findings)}`,
        );
      }
    }
  });

  it('survives random byte corruption (seeded) with findings only', () => {
    const rng = new Rng(7);
    for (const name of ['keras_lambda_vlen.h5', 'keras_latest.h5', 'plain_data.h5']) {
      const original = fixture(name);
      for (let trial = 0; trial < 150; trial++) {
        const bytes = Uint8Array.from(original);
        const flips = 1 + rng.int(8);
        for (let i = 0; i < flips; i++) bytes[rng.int(Math.min(bytes.length, 4096))] = rng.int(256);
        const findings = scan(bytes);
        assert.ok(Array.isArray(findings));
      }
    }
  });
});

describe('HDF5 scanner on hand-written and hostile files', () => {
  it('reads fixed-length and variable-length string attributes it wrote itself', () => {
    const { bytes } = writeHdf5({
      attributes: [
        ...kerasAttributes(keras2Benign(), 'vlen'),
        { name: 'layer_names', value: ['dense', 'dense_1'], storage: 'fixed' },
      ],
      groups: { model_weights: { attributes: [{ name: 'backend', value: 'tensorflow', storage: 'fixed' }] } },
    });
    const reader = new Hdf5Reader(bufferSource(bytes), DEFAULT_SCAN_LIMITS);
    const attrs = reader.attributes(reader.objectHeader(reader.superblock.rootAddress));
    assert.deepEqual(
      attrs.map((a) => a.name),
      ['keras_version', 'backend', 'model_config', 'layer_names'],
    );
    assert.deepEqual(attrs[3].value, { kind: 'string', values: ['dense', 'dense_1'], variableLength: false });
    assert.deepEqual(JSON.parse((attrs[2].value as { values: string[] }).values[0]), keras2Benign());
    assert.deepEqual(rules(scan(bytes)), ['hdf5/keras-model:info']);
  });

  it('catches a Keras 2 Lambda and a Keras 3 custom object, in vlen and fixed storage', () => {
    assert.deepEqual(rules(scan(writeHdf5({ attributes: kerasAttributes(keras2Lambda(), 'vlen') }).bytes)), [
      'hdf5/keras-model:info',
      'keras/lambda:critical',
    ]);
    assert.deepEqual(rules(scan(writeHdf5({ attributes: kerasAttributes(keras3Custom(), 'fixed') }).bytes)), [
      'hdf5/keras-model:info',
      'keras/custom-object:high',
    ]);
    const training = {
      loss: { class_name: 'EvilLoss', config: {} },
      optimizer_config: { class_name: 'Adam', config: {} },
    };
    const withTraining = writeHdf5({
      attributes: [
        ...kerasAttributes(keras2Benign(), 'vlen'),
        { name: 'training_config', value: JSON.stringify(training), storage: 'vlen' },
      ],
    });
    const found = scan(withTraining.bytes).find((f) => f.rule === 'keras/custom-object') as Finding;
    assert.match(found.location, /^attribute "training_config"/);
  });

  it('follows a continuation block, and reports a continuation that loops as hdf5/loop (high)', () => {
    const attributes = kerasAttributes(keras2Lambda(), 'vlen');
    assert.deepEqual(rules(scan(writeHdf5({ attributes }, { continuation: 'block' }).bytes)), [
      'hdf5/keras-model:info',
      'keras/lambda:critical',
    ]);
    const looped = scan(writeHdf5({ attributes }, { continuation: 'loop' }).bytes);
    assert.deepEqual(rules(looped), ['hdf5/loop:high']);
    assert.match(looped[0].message, /loops back/);
  });

  it('reports a B-tree that points at itself and a group that links to its ancestor', () => {
    const attributes = kerasAttributes(keras2Benign(), 'fixed');
    const tree = scan(writeHdf5({ attributes, groups: { a: {} } }, { btreeLoop: true }).bytes);
    assert.ok(
      tree.some((f) => f.rule === 'hdf5/loop' && f.severity === 'high'),
      JSON.stringify(tree),
    );
    const cycle = scan(writeHdf5({ attributes, groups: { a: {} } }, { cycleName: 'again' }).bytes);
    assert.deepEqual(rules(cycle), ['hdf5/group-cycle:medium', 'hdf5/keras-model:info']);
    assert.equal((cycle.find((f) => f.rule === 'hdf5/group-cycle') as Finding).location, '/again');
  });

  it('reports a root group address past the end of the file as hdf5/malformed (high)', () => {
    const layout = writeHdf5({ attributes: kerasAttributes(keras2Lambda(), 'vlen') });
    const findings = scan(patch64(layout.bytes, layout.rootAddressField, 1n << 40n));
    assert.deepEqual(rules(findings), ['hdf5/malformed:high']);
    assert.match(findings[0].message, /runs past the end of the file/);
  });

  it('reports a variable-length string whose heap pointer is past the end or whose object is missing', () => {
    const layout = writeHdf5({ attributes: kerasAttributes(keras2Lambda(), 'vlen') });
    const pastEnd = scan(patch64(layout.bytes, layout.vlenRefs[2] + 4, 1n << 33n));
    assert.ok(
      pastEnd.some((f) => f.rule === 'hdf5/malformed' && f.severity === 'high'),
      JSON.stringify(pastEnd),
    );
    const missing = Uint8Array.from(layout.bytes);
    new DataView(missing.buffer).setUint32(layout.vlenRefs[2] + 12, 999, true);
    const found = scan(missing);
    assert.ok(found.some((f) => /has no object 999/.test(f.message)));
  });

  it('refuses an attribute that declares 2^40 elements without allocating them', () => {
    const { bytes } = writeHdf5({
      attributes: [{ name: 'model_config', value: 'x', storage: 'fixed', dims: [1n << 40n] }],
    });
    const findings = scan(bytes);
    assert.ok(
      findings.some((f) => f.rule === 'hdf5/absurd-size' && isBlocking(f.severity)),
      JSON.stringify(findings),
    );
  });

  it('stops at the group depth limit', () => {
    const findings = scan(writeHdf5(nestedGroups(70)).bytes);
    assert.deepEqual(rules(findings), ['hdf5/not-keras:info', 'hdf5/too-deep:high']);
    const shallow = scan(writeHdf5(nestedGroups(70)).bytes, {
      ...context,
      limits: { ...DEFAULT_SCAN_LIMITS, maxDepth: 80 },
    });
    assert.deepEqual(rules(shallow), ['hdf5/not-keras:info']);
    assert.match(shallow[0].message, /71 object\(s\) walked/);
  });

  it('reports a file that is not HDF5 at all', () => {
    const findings = scan(new TextEncoder().encode('definitely not an HDF5 file, just text'));
    assert.deepEqual(rules(findings), ['hdf5/malformed:high']);
    assert.match(findings[0].message, /no HDF5 signature/);
  });
});
