import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { atlasTechnique } from '../../src/attacks/evasion/evasion-attack.js';
import { AegisInputError } from '../../src/core/errors.js';
import { ATLAS_TECHNIQUES, atlasFullName, atlasName, atlasTechniqueInfo, atlasUrl } from '../../src/report/atlas.js';

describe('MITRE ATLAS mapping', () => {
  it('knows every technique Aegis findings map to, with ATLAS names', () => {
    const expected: Record<string, string> = {
      'AML.T0043': 'Craft Adversarial Data',
      'AML.T0043.000': 'White-Box Optimization',
      'AML.T0043.001': 'Black-Box Optimization',
      'AML.T0043.002': 'Black-Box Transfer',
      'AML.T0043.003': 'Manual Modification',
      'AML.T0043.004': 'Insert Backdoor Trigger',
      'AML.T0024': 'Exfiltration via AI Inference API',
      'AML.T0024.000': 'Infer Training Data Membership',
      'AML.T0024.001': 'Invert AI Model',
      'AML.T0024.002': 'Extract AI Model',
      'AML.T0020': 'Poison Training Data',
      'AML.T0018': 'Manipulate AI Model',
      'AML.T0015': 'Evade AI Model',
      'AML.T0040': 'AI Model Inference API Access',
      'AML.T0029': 'Denial of AI Service',
      'AML.T0010': 'AI Supply Chain Compromise',
    };
    for (const [id, name] of Object.entries(expected)) assert.equal(atlasName(id), name, id);
  });

  it('gives sub-techniques their parent tactic and a /-separated URL', () => {
    const sub = atlasTechniqueInfo('AML.T0024.002');
    assert.equal(sub.tactic, 'Exfiltration');
    assert.equal(sub.url, 'https://atlas.mitre.org/techniques/AML.T0024/002');
    assert.equal(atlasTechniqueInfo('AML.T0043').url, 'https://atlas.mitre.org/techniques/AML.T0043');
    assert.equal(atlasUrl('AML.T0043.000'), 'https://atlas.mitre.org/techniques/AML.T0043/000');
    assert.equal(atlasFullName('AML.T0043.001'), 'Craft Adversarial Data: Black-Box Optimization');
    for (const t of ATLAS_TECHNIQUES.values()) {
      assert.match(t.id, /^AML\.T\d{4}(\.\d{3})?$/);
      assert.ok(t.tactic.length > 0, t.id);
    }
  });

  it('maps every evasion access level to a known technique', () => {
    for (const access of ['gradients', 'scores', 'labels'] as const) assert.ok(atlasName(atlasTechnique(access)));
  });

  it('throws for unknown ids, so typos fail', () => {
    assert.throws(
      () => atlasName('AML.T0043.009'),
      (e: unknown) => e instanceof AegisInputError && /AML\.T0043\.009/.test(e.message),
    );
    assert.throws(() => atlasName('AML.TOO43'), AegisInputError);
  });
});
