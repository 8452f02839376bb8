import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bufferSource,
  DEFAULT_SCAN_LIMITS,
  type Finding,
  isBlocking,
  type ScanContext,
} from '../../../src/defenses/model-scan/finding.js';
import { kerasScanner, scanKerasConfig, scanKerasConfigText } from '../../../src/defenses/model-scan/keras.js';
import {
  configBytes,
  keras2Benign,
  keras2Lambda,
  keras2NestedCustom,
  keras3Benign,
  keras3Custom,
  keras3DangerousModule,
  keras3Lambda,
} from '../../helpers/keras-configs.js';

const context: ScanContext = { path: 'model.keras!/config.json', limits: DEFAULT_SCAN_LIMITS, depth: 1 };

function scan(config: unknown): Finding[] {
  return scanKerasConfig(configBytes(config), context);
}

function only(findings: Finding[], rule: string): Finding[] {
  return findings.filter((f) => f.rule === rule);
}

describe('Keras config scanner', () => {
  it('passes benign Keras 3 and Keras 2 Sequential configs with no findings', () => {
    assert.deepEqual(scan(keras3Benign()), []);
    assert.deepEqual(scan(keras2Benign()), []);
  });

  it('flags a Keras 3 Lambda (__lambda__ with code) as critical and reads the names in its bytecode', () => {
    const findings = scan(keras3Lambda());
    const lambdas = only(findings, 'keras/lambda');
    assert.equal(lambdas.length, 1, JSON.stringify(findings));
    assert.equal(lambdas[0].severity, 'critical');
    assert.match(lambdas[0].location, /layer "evil_lambda" \(Lambda\) at config\.config\.layers\[2\]/);
    assert.match(lambdas[0].message, /marshalled Python code object of \d+ bytes/);
    assert.match(lambdas[0].message, /references __import__, os, system/);
    assert.match(lambdas[0].message, /curl http:\/\/evil\.example/);
    assert.match(lambdas[0].message, /safe_mode/);
    // the __lambda__ object inside the layer is not reported a second time
    assert.equal(findings.length, 1);
  });

  it('flags a Keras 2 Lambda ([code, defaults, closure]) as critical', () => {
    const findings = scan(keras2Lambda());
    assert.equal(findings.length, 1, JSON.stringify(findings));
    assert.equal(findings[0].rule, 'keras/lambda');
    assert.equal(findings[0].severity, 'critical');
    assert.match(findings[0].location, /layer "lambda"/);
    assert.match(findings[0].message, /references __import__, os, system/);
  });

  it('flags a Lambda that only names a function, and marks os as critical', () => {
    const ref = {
      class_name: 'Sequential',
      config: {
        layers: [
          {
            class_name: 'Lambda',
            config: { name: 'l1', function: 'preprocess', function_type: 'function', module: 'mylib' },
          },
          { class_name: 'Lambda', config: { name: 'l2', function: 'system', function_type: 'function', module: 'os' } },
        ],
      },
    };
    const findings = scan(ref);
    assert.equal(findings.length, 2, JSON.stringify(findings));
    assert.equal(findings[0].rule, 'keras/lambda-reference');
    assert.equal(findings[0].severity, 'high');
    assert.match(findings[0].message, /"mylib\.preprocess"/);
    assert.equal(findings[1].rule, 'keras/dangerous-module');
    assert.equal(findings[1].severity, 'critical');
  });

  it('flags a registered custom layer as high, naming its class, module and registration', () => {
    const findings = scan(keras3Custom());
    assert.equal(findings.length, 1, JSON.stringify(findings));
    assert.equal(findings[0].rule, 'keras/custom-object');
    assert.equal(findings[0].severity, 'high');
    assert.match(
      findings[0].message,
      /class "ScaledDense" from module "acme\.layers" \(registered as "Acme>ScaledDense"\)/,
    );
    assert.match(findings[0].location, /layer "scaled"/);
  });

  it('flags a config object that names os.system as critical (CVE-2025-1550 pattern)', () => {
    const findings = scan(keras3DangerousModule());
    assert.equal(findings.length, 1, JSON.stringify(findings));
    assert.equal(findings[0].rule, 'keras/dangerous-module');
    assert.equal(findings[0].severity, 'critical');
    assert.match(findings[0].message, /"os\.system"/);
  });

  it('finds a custom cell inside Bidirectional inside a nested functional model, and counts repeats', () => {
    const findings = scan(keras2NestedCustom());
    assert.equal(findings.length, 1, JSON.stringify(findings));
    assert.equal(findings[0].rule, 'keras/custom-object');
    assert.match(findings[0].message, /class "MyPeepholeCell" is not a Keras built-in/);
    assert.match(
      findings[0].location,
      /layer "cell" \(MyPeepholeCell\) at config\.config\.layers\[0\]\.config\.layers\[1\]/,
    );
    const twice = {
      class_name: 'Sequential',
      config: { layers: [keras2NestedCustom(), keras2NestedCustom()] },
    };
    const repeated = scan(twice);
    assert.equal(repeated.length, 1);
    assert.match(repeated[0].message, /used 2 times/);
  });

  it('reports TFSMLayer and file vocabularies, and keras-team ecosystem objects as low', () => {
    const config = {
      module: 'keras',
      class_name: 'Sequential',
      config: {
        layers: [
          { module: 'keras.layers', class_name: 'TFSMLayer', config: { name: 'sm', filepath: '/tmp/evil_savedmodel' } },
          { module: 'keras.layers', class_name: 'StringLookup', config: { name: 'lk', vocabulary: '/etc/passwd' } },
          {
            module: 'keras_hub.layers',
            class_name: 'TransformerEncoder',
            config: { name: 'enc' },
            registered_name: 'keras_hub>TransformerEncoder',
          },
        ],
      },
    };
    const findings = scan(config);
    const rules = findings.map((f) => `${f.rule}:${f.severity}`).sort();
    assert.deepEqual(rules, ['keras/ecosystem-object:low', 'keras/external-file:medium', 'keras/external-model:high']);
  });

  it("accepts tf.keras 2.11+ optimizers saved as 'Custom>Adam', but not other Custom> classes", () => {
    const training = (cls: string) => ({
      class_name: 'Sequential',
      config: { layers: [], optimizer: { class_name: cls, config: { name: 'opt', learning_rate: 0.001 } } },
    });
    assert.deepEqual(scan(training('Custom>Adam')), []);
    const other = scan(training('Custom>Backdoor'));
    assert.equal(other.length, 1);
    assert.equal(other[0].rule, 'keras/custom-object');
  });

  it('refuses JSON nested deeper than maxDepth with a finding, without parsing it', () => {
    const deep = `{"class_name":"Sequential","config":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const findings = scanKerasConfigText(deep, context);
    assert.equal(findings.length, 1);
    assert.equal(findings[0].rule, 'keras/config-too-deep');
    assert.ok(isBlocking(findings[0].severity));
    assert.match(findings[0].message, /deeper than the limit of 64/);
  });

  it('reports malformed JSON and a non-model JSON as keras/malformed-config', () => {
    const bad = scanKerasConfig(new TextEncoder().encode('{"class_name": "Sequential", "config": {'), context);
    assert.equal(bad.length, 1);
    assert.equal(bad[0].rule, 'keras/malformed-config');
    assert.match(bad[0].message, /invalid JSON/);
    const notModel = scanKerasConfig(new TextEncoder().encode('[1, 2, 3]'), context);
    assert.equal(notModel[0].rule, 'keras/malformed-config');
  });

  it("accepts Python's NaN and Infinity tokens, and still finds a Lambda after them", () => {
    const text = JSON.stringify(keras2Lambda()).replace('"arguments":{}', '"arguments":{"clip":NaN,"lo":-Infinity}');
    assert.match(text, /NaN/);
    const findings = scanKerasConfigText(text, context);
    assert.equal(findings.length, 1);
    assert.equal(findings[0].rule, 'keras/lambda');
  });

  it('kerasScanner recognises a standalone config.json and scans it', () => {
    const bytes = configBytes(keras3Lambda());
    assert.ok(kerasScanner.matches(bytes.subarray(0, 64), 'export/config.json'));
    assert.ok(!kerasScanner.matches(bytes.subarray(0, 64), 'model.json'));
    assert.ok(!kerasScanner.matches(new TextEncoder().encode('{"vocab_size": 3}'), 'config.json'));
    const findings = kerasScanner.scan(bufferSource(bytes), context);
    assert.equal(findings[0].rule, 'keras/lambda');
  });
});
