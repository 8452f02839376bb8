import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  bufferSource,
  DEFAULT_SCAN_LIMITS,
  type Finding,
  isBlocking,
  type ScanContext,
} from '../../../src/defenses/model-scan/finding.js';
import { onnxScanner, onnxSummary, scanOnnx } from '../../../src/defenses/model-scan/onnx.js';
import { onnx } from '../../../src/models/onnx-graph.js';
import { branch, ifNode, node, onnxModelBytes, weight } from '../../helpers/onnx-samples.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-onnx-scan-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes the model into its own folder (so external paths resolve against it) and scans it. */
function scanFile(name: string, bytes: Uint8Array, files: Record<string, Uint8Array> = {}): Finding[] {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(folder, file), content);
  const path = join(folder, 'model.onnx');
  writeFileSync(path, bytes);
  return scanOnnx(bufferSource(bytes), { path, limits: DEFAULT_SCAN_LIMITS, depth: 0 });
}

function rules(findings: Finding[]): string[] {
  return findings.map((f) => `${f.rule}:${f.severity}`).sort();
}

function withExternal(location: string, offset?: number): Uint8Array {
  return onnxModelBytes({ initializers: [weight('w', [4, 3], { location, offset }), weight('b', [3])] });
}

describe('ONNX scanner', () => {
  it('passes a benign hand-built model and the real Fashion-MNIST CNN', () => {
    assert.deepEqual(scanFile('benign', onnxModelBytes()), []);
    const real = readFileSync(new URL('../../fixtures/fmnist_cnn.onnx', import.meta.url));
    assert.deepEqual(scanFile('real', real), []);
    assert.ok(onnxScanner.matches(real.subarray(0, 64), 'renamed.bin'), 'recognised by content');
  });

  it('walks the same nodes that onnx-proto decodes', () => {
    const real = readFileSync(new URL('../../fixtures/fmnist_cnn.onnx', import.meta.url));
    const decoded = onnx.ModelProto.decode(real);
    const summary = onnxSummary(bufferSource(real));
    assert.equal(summary.graphs, 1);
    assert.deepEqual(summary.nodesByDomain, { '': (decoded.graph?.node ?? []).length });
    assert.ok((decoded.graph?.node ?? []).length >= 5);
  });

  it("flags external data at '../../etc/passwd' as critical", () => {
    const findings = scanFile('dotdot', withExternal('../../etc/passwd'));
    assert.deepEqual(rules(findings), ['onnx/external-data-escape:critical']);
    assert.match(findings[0].message, /climbs out of the model's folder/);
    assert.match(findings[0].location, /initializer tensor "w"/);
  });

  it('flags absolute external-data paths (POSIX and Windows) as critical', () => {
    assert.deepEqual(rules(scanFile('abs', withExternal('/etc/passwd'))), ['onnx/external-data-escape:critical']);
    assert.deepEqual(rules(scanFile('win', withExternal('C:\\Windows\\win.ini'))), [
      'onnx/external-data-escape:critical',
    ]);
    assert.deepEqual(rules(scanFile('win2', withExternal('..\\..\\secret.bin'))), [
      'onnx/external-data-escape:critical',
    ]);
  });

  it('flags a symlink that points out of the model folder as critical', () => {
    const outside = join(dir, 'outside-secret.bin');
    writeFileSync(outside, new Uint8Array(64));
    const folder = join(dir, 'symlink');
    mkdirSync(folder);
    symlinkSync(outside, join(folder, 'weights.bin'));
    const findings = scanFile('symlink', withExternal('weights.bin'));
    assert.deepEqual(rules(findings), ['onnx/external-data-escape:critical']);
    assert.match(findings[0].message, /is a symlink to .*outside-secret\.bin/);
  });

  it('accepts external data that exists inside the folder; reports a missing file, a short file and inner ..', () => {
    assert.deepEqual(scanFile('ok-ext', withExternal('weights.bin'), { 'weights.bin': new Uint8Array(48) }), []);
    assert.deepEqual(rules(scanFile('missing', withExternal('weights.bin'))), ['onnx/external-data-missing:medium']);
    const short = scanFile('short', withExternal('weights.bin', 16), { 'weights.bin': new Uint8Array(48) });
    assert.deepEqual(rules(short), ['onnx/external-data-range:medium']);
    const inner = scanFile('inner', withExternal('sub/../weights.bin'), { 'weights.bin': new Uint8Array(48) });
    assert.deepEqual(rules(inner), ['onnx/external-data-dotdot:medium']);
  });

  it('refuses a location too long to read whole, instead of checking a cut path', () => {
    const findings = scanFile('long', withExternal(`${'a/'.repeat(40_000)}${'../'.repeat(40_001)}etc/passwd`));
    assert.deepEqual(rules(findings), ['onnx/external-data-invalid:high']);
    assert.match(findings[0].message, /too long to check/);
  });

  it('inside an archive, still flags escapes but does not look for the file on disk', () => {
    const bytes = withExternal('weights.bin');
    const context: ScanContext = { path: join(dir, 'x.zip!/model.onnx'), limits: DEFAULT_SCAN_LIMITS, depth: 1 };
    assert.deepEqual(scanOnnx(bufferSource(bytes), context), []);
    assert.deepEqual(rules(scanOnnx(bufferSource(withExternal('../../x')), context)), [
      'onnx/external-data-escape:critical',
    ]);
  });

  it('flags a custom op domain as high, ONNX Runtime contrib ops as low, and unused unknown opsets as medium', () => {
    const custom = onnxModelBytes({
      opsets: [
        { domain: '', version: 15 },
        { domain: 'evil.ops', version: 1 },
        { domain: 'com.microsoft', version: 1 },
        { domain: 'unused.ops', version: 2 },
      ],
      nodes: [
        node('MatMul', ['x', 'w'], ['xw']),
        node('FusedGelu', ['xw'], ['g'], { domain: 'com.microsoft' }),
        node('Backdoor', ['g', 'b'], ['y'], { domain: 'evil.ops' }),
      ],
    });
    const findings = scanFile('custom', custom);
    assert.deepEqual(rules(findings), [
      'onnx/contrib-op-domain:low',
      'onnx/custom-op-domain:high',
      'onnx/unknown-opset-domain:medium',
    ]);
    const high = findings.find((f) => f.rule === 'onnx/custom-op-domain') as Finding;
    assert.match(high.message, /"evil\.ops" \(Backdoor\)/);
    assert.match(high.location, /node "Backdoor_y" \(evil\.ops\.Backdoor\)/);
  });

  it('finds a custom op hidden in an If subgraph, and external data in a subgraph constant', () => {
    const hidden = onnxModelBytes({
      nodes: [
        ifNode(branch('then', node('Identity', ['x'], ['y']), 'y'), {
          ...branch('else', node('Exfiltrate', ['x'], ['y'], { domain: 'evil.ops' }), 'y'),
          initializer: [weight('k', [2], { location: '/etc/shadow' })],
        }),
      ],
    });
    const findings = scanFile('subgraph', hidden);
    assert.deepEqual(rules(findings), ['onnx/custom-op-domain:high', 'onnx/external-data-escape:critical']);
    assert.match(findings.map((f) => f.location).join('\n'), /node "If_y" \(If\)\.else_branch > node "Exfiltrate_y"/);
    assert.equal(onnxSummary(bufferSource(hidden)).graphs, 3);
  });

  it('accepts model-local functions (info) but checks their bodies', () => {
    const fn = (body: Record<string, unknown>) => ({
      name: 'Scale',
      domain: 'my.funcs',
      input: ['a'],
      output: ['c'],
      opsetImport: [{ domain: '', version: 15 }],
      node: [body],
    });
    const model = (body: Record<string, unknown>) =>
      onnxModelBytes({
        opsets: [
          { domain: '', version: 15 },
          { domain: 'my.funcs', version: 1 },
        ],
        nodes: [node('Scale', ['x'], ['y'], { domain: 'my.funcs' })],
        functions: [fn(body)],
      });
    assert.deepEqual(rules(scanFile('fn-ok', model(node('Relu', ['a'], ['c'])))), ['onnx/model-functions:info']);
    const bad = scanFile('fn-bad', model(node('Shell', ['a'], ['c'], { domain: 'evil.ops' })));
    assert.deepEqual(rules(bad), ['onnx/custom-op-domain:high', 'onnx/model-functions:info']);
    assert.match((bad.find((f) => f.severity === 'high') as Finding).location, /function "my\.funcs\.Scale"/);
  });

  it('reports truncated, garbage and graph-less input as onnx/malformed without throwing', () => {
    const good = onnxModelBytes();
    const truncated = scanFile('trunc', good.subarray(0, good.length - 7));
    assert.deepEqual(rules(truncated), ['onnx/malformed:high']);
    assert.match(truncated[0].message, /past the end of its message|unexpected end|truncated/);
    const garbage = scanFile('garbage', new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]));
    assert.deepEqual(rules(garbage), ['onnx/malformed:high']);
    const empty = scanFile('empty', new Uint8Array([0x08, 0x07]));
    assert.deepEqual(rules(empty), ['onnx/malformed:high']);
    assert.match(empty[0].message, /no graph/);
  });

  it('stops at the subgraph depth limit with a finding', () => {
    let graph = branch('leaf', node('Identity', ['x'], ['y']), 'y');
    for (let i = 0; i < 6; i++) graph = { name: `g${i}`, node: [ifNode(graph, graph)], output: graph.output };
    const bytes = onnxModelBytes({ nodes: graph.node as Record<string, unknown>[] });
    const context: ScanContext = {
      path: join(dir, 'deep.onnx'),
      limits: { ...DEFAULT_SCAN_LIMITS, maxDepth: 3 },
      depth: 0,
    };
    const findings = scanOnnx(bufferSource(bytes), context);
    assert.equal(findings.length, 1);
    assert.equal(findings[0].rule, 'onnx/too-deep');
    assert.ok(isBlocking(findings[0].severity));
    assert.match(findings[0].message, /deeper than the limit of 3/);
  });
});
