import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileScan } from '../../../src/defenses/model-scan/finding.js';
import { formatText, sarifLevel, scanJson, scanSarif, summarize } from '../../../src/defenses/model-scan/output.js';
import { ALL_RULES } from '../../../src/defenses/model-scan/rules.js';

const scans: FileScan[] = [
  {
    path: 'models/evil.pkl',
    format: 'pickle',
    bytes: 54,
    findings: [
      { severity: 'medium', rule: 'pickle/truncated', message: 'ends early', location: 'byte 50 (EOF)', offset: 50 },
      {
        severity: 'critical',
        rule: 'pickle/dangerous-global',
        message: 'imports os.system',
        location: 'byte 2 (GLOBAL)',
        offset: 2,
      },
    ],
  },
  {
    path: '/abs/dir/model.keras',
    format: 'keras',
    bytes: 900,
    findings: [
      { severity: 'high', rule: 'keras/custom-object', message: 'custom layer', location: 'config.json: layer' },
    ],
  },
  { path: 'models/ok.npy', format: 'numpy', bytes: 176, findings: [] },
];

describe('scan output', () => {
  it('text: one line per finding (most severe first) and a summary', () => {
    const lines = formatText(scans).trimEnd().split('\n');
    assert.deepEqual(lines, [
      'CRITICAL pickle/dangerous-global  models/evil.pkl: byte 2 (GLOBAL) — imports os.system',
      'MEDIUM   pickle/truncated  models/evil.pkl: byte 50 (EOF) — ends early',
      'HIGH     keras/custom-object  /abs/dir/model.keras: config.json: layer — custom layer',
      'scanned 3 files (1.1 KiB): 1 critical, 1 high, 1 medium, 0 low, 0 info — 2 files with high or critical findings',
    ]);
  });

  it('JSON: {files: [{path, format, bytes, findings: [{severity, rule, message, location}]}], summary}', () => {
    const json = JSON.parse(JSON.stringify(scanJson(scans)));
    assert.deepEqual(Object.keys(json), ['files', 'summary']);
    assert.deepEqual(Object.keys(json.files[0]), ['path', 'format', 'bytes', 'findings']);
    assert.deepEqual(json.files[0].findings[0], {
      severity: 'critical',
      rule: 'pickle/dangerous-global',
      message: 'imports os.system',
      location: 'byte 2 (GLOBAL)',
    });
    assert.deepEqual(json.files[2].findings, []);
    assert.deepEqual(json.summary, summarize(scans));
    assert.equal(json.summary.blockingFiles, 2);
  });

  it('SARIF 2.1.0: rules with default levels, results with locations and byte regions', () => {
    const log = scanSarif(scans, '9.9.9') as {
      version: string;
      runs: {
        tool: {
          driver: { name: string; version: string; rules: { id: string; defaultConfiguration: { level: string } }[] };
        };
        results: {
          ruleId: string;
          ruleIndex: number;
          level: string;
          message: { text: string };
          locations: {
            physicalLocation: { artifactLocation: { uri: string }; region?: { byteOffset: number } };
            logicalLocations: { fullyQualifiedName: string }[];
          }[];
        }[];
      }[];
    };
    assert.equal(log.version, '2.1.0');
    const run = log.runs[0];
    assert.equal(run.tool.driver.name, 'aegis');
    assert.equal(run.tool.driver.version, '9.9.9');
    const rule = (id: string) => run.tool.driver.rules.find((r) => r.id === id)!;
    assert.equal(rule('pickle/dangerous-global').defaultConfiguration.level, 'error');
    assert.equal(rule('pickle/unknown-global').defaultConfiguration.level, 'error');
    assert.equal(rule('pickle/truncated').defaultConfiguration.level, 'warning');
    assert.equal(rule('pickle/trailing-data').defaultConfiguration.level, 'note');
    assert.equal(rule('keras/custom-object').defaultConfiguration.level, 'error'); // the Keras scanner's catalogue
    assert.equal(rule('safetensors/gap').defaultConfiguration.level, 'warning');
    for (const id of Object.keys(ALL_RULES)) assert.ok(rule(id), id);
    assert.equal(run.results.length, 3);
    const [first, second, third] = run.results;
    assert.equal(first.ruleId, 'pickle/dangerous-global');
    assert.equal(run.tool.driver.rules[first.ruleIndex].id, first.ruleId);
    assert.equal(first.level, 'error');
    assert.equal(first.message.text, 'imports os.system');
    assert.equal(first.locations[0].physicalLocation.artifactLocation.uri, 'models/evil.pkl');
    assert.deepEqual(first.locations[0].physicalLocation.region, { byteOffset: 2 });
    assert.equal(first.locations[0].logicalLocations[0].fullyQualifiedName, 'byte 2 (GLOBAL)');
    assert.equal(second.level, 'warning');
    assert.equal(third.locations[0].physicalLocation.artifactLocation.uri, 'file:///abs/dir/model.keras');
    assert.equal(third.locations[0].physicalLocation.region, undefined);
  });

  it('SARIF: a rule no catalogue lists takes its level from the most severe finding', () => {
    const log = scanSarif(
      [
        {
          path: 'x.bin',
          format: 'unknown',
          bytes: 1,
          findings: [
            { severity: 'low', rule: 'custom/thing', message: 'a', location: 'file' },
            { severity: 'medium', rule: 'custom/thing', message: 'b', location: 'file' },
          ],
        },
      ],
      '1',
    ) as { runs: { tool: { driver: { rules: { id: string; defaultConfiguration: { level: string } }[] } } }[] };
    const rule = log.runs[0].tool.driver.rules.find((r) => r.id === 'custom/thing');
    assert.equal(rule?.defaultConfiguration.level, 'warning');
  });

  it('maps severities to SARIF levels', () => {
    assert.deepEqual((['critical', 'high', 'medium', 'low', 'info'] as const).map(sarifLevel), [
      'error',
      'error',
      'warning',
      'note',
      'note',
    ]);
  });
});
