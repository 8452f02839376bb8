import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import type { TriageAlert } from '../../../src/detectors/triage/alert.js';
import {
  incidentFeatures,
  parseCriticalityMap,
  SignatureRarity,
  stageOf,
  streamFeatures,
} from '../../../src/detectors/triage/features.js';

const T0 = 1_700_000_000_000;

function alert(over: Partial<TriageAlert>): TriageAlert {
  return {
    id: 'a',
    time: T0,
    source: 'rules',
    signatureId: 's1',
    signature: 'Sig one',
    severity: 'medium',
    srcIp: '',
    destIp: '',
    host: '',
    user: '',
    tactic: '',
    technique: '',
    raw: null,
    ...over,
  };
}

describe('stageOf', () => {
  it('maps ATT&CK and ATLAS tactic ids and names to kill-chain stages', () => {
    assert.equal(stageOf('TA0007'), 'discovery');
    assert.equal(stageOf('ta0040'), 'impact');
    assert.equal(stageOf('AML.TA0000'), 'ai-model-access');
    assert.equal(stageOf('Command and Control'), 'command-and-control');
    assert.equal(stageOf('ML Attack Staging'), 'ai-attack-staging');
    assert.equal(stageOf(''), 'unknown');
    assert.equal(stageOf('TA9999'), 'unknown');
  });
});

describe('SignatureRarity', () => {
  it('scores a rare signature as rarer than a loud one, and decays old counts', () => {
    const r = new SignatureRarity(3600_000);
    for (let i = 0; i < 99; i++) r.observe('loud', T0 + i);
    r.observe('rare', T0 + 100);
    assert.ok(r.rarity('rare') > r.rarity('loud') + 1.5, `${r.rarity('rare')} vs ${r.rarity('loud')}`);
    assert.ok(Math.abs(r.share('loud') - 99.5 / 101) < 0.01);
    // Ten half-lives later the loud burst has faded: a fresh 'rare' alert makes it the common one.
    r.observe('rare', T0 + 10 * 3600_000);
    assert.ok(r.rarity('rare') < r.rarity('loud'), `${r.rarity('rare')} vs ${r.rarity('loud')}`);
    const copy = SignatureRarity.fromJSON(JSON.parse(JSON.stringify(r.toJSON())));
    assert.equal(copy.rarity('loud'), r.rarity('loud'));
  });
});

describe('incidentFeatures', () => {
  it('computes named features from the alerts, asset criticality and user risk', () => {
    const rarity = new SignatureRarity();
    const alerts = [
      alert({ id: '1', confidence: 0.9, severity: 'high', destIp: '10.0.0.9', tactic: 'TA0007', user: 'alice' }),
      alert({ id: '2', confidence: 0.3, signatureId: 's2', time: T0 + 120_000, tactic: 'TA0006', user: 'bob' }),
      alert({ id: '3', time: T0 + 60_000, host: 'web1' }),
    ];
    for (const a of alerts) rarity.observe(a.signatureId, a.time);
    const f = incidentFeatures(alerts, {
      rarity,
      assetCriticality: new Map([['10.0.0.9', 'critical']]),
      userRisk: new Map([
        ['alice', 0.5],
        ['bob', 2],
      ]),
    });
    const v = f.values;
    assert.equal(v.confidence_max, 0.9);
    assert.ok(Math.abs((v.confidence_mean as number) - (0.9 + 0.3 + 0.5) / 3) < 1e-12, 'unknown confidence is 0.5');
    assert.equal(v.severity_max, 0.75);
    assert.equal(v.asset_criticality, 1);
    assert.ok(Math.abs((v.user_risk as number) - (1 - Math.exp(-2))) < 1e-12, 'riskiest user wins');
    assert.equal(v.log_alert_count, Math.log1p(3) / Math.log1p(1000));
    assert.equal(v.distinct_signatures, Math.log1p(2) / Math.log1p(20));
    assert.equal(v.log_duration_min, Math.log1p(2) / Math.log1p(1440));
    assert.equal(v.distinct_tactics, 2 / 4);
    assert.equal(v['tactic:discovery'], 1);
    assert.equal(v['tactic:credential-access'], 1);
    assert.equal(v['tactic:unknown'], 1);
    assert.equal(v['sig:s1'], 2 / 3);
    assert.equal(v['sig:s2'], 1 / 3);
    assert.equal(v.signature_rarity, rarity.rarity('s2', T0 + 120_000) / 5);
    assert.match(f.notes.user_risk as string, /bob/);
    assert.match(f.notes.asset_criticality as string, /10\.0\.0\.9/);
  });

  it('defaults to medium criticality and zero user risk', () => {
    const f = incidentFeatures([alert({ host: 'x', user: 'u' })], { rarity: new SignatureRarity() });
    assert.equal(f.values.asset_criticality, 0.5);
    assert.equal(f.values.user_risk, 0);
    const low = incidentFeatures([alert({})], { rarity: new SignatureRarity(), defaultCriticality: 'low' });
    assert.equal(low.values.asset_criticality, 0.25);
  });

  it('rejects a criticality that is not a level', () => {
    assert.throws(() => parseCriticalityMap({ web1: 'extreme' }), AegisInputError);
    assert.equal(parseCriticalityMap({ web1: 'high' }).get('web1'), 'high');
  });

  it('streamFeatures never lets rarity look ahead of an incident', () => {
    const a1 = alert({ id: '1', signatureId: 'x', time: T0 });
    const later = Array.from({ length: 50 }, (_, i) => alert({ id: `l${i}`, signatureId: 'x', time: T0 + 1000 + i }));
    const other = alert({ id: 'o', signatureId: 'y', time: T0 - 10 });
    const [early, lateInc] = streamFeatures([[a1], later], { rarity: new SignatureRarity() }, [a1, ...later, other]);
    // At T0 'x' was 1 of 2 alerts; by the end it is 51 of 52 — the early incident saw it as rarer.
    assert.ok((early?.values.signature_rarity as number) > (lateInc?.values.signature_rarity as number));
  });
});
