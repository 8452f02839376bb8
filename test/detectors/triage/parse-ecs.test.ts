/** ECS → TriageAlert: plain ECS alerts, Elastic Security signals (flattened kibana.alert.*), hits, non-alert events, risk mapping. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseEcs } from '../../../src/detectors/triage/parse-ecs.js';
import { elasticHit } from '../../helpers/triage-samples.js';

describe('parseEcs', () => {
  test('Elastic Security alert hit: rule, severity, risk, ATT&CK sub-technique, entities, _id', () => {
    const r = parseEcs(elasticHit());
    assert.equal(r.kind, 'alert');
    if (r.kind !== 'alert') return;
    const a = r.alert;
    assert.equal(a.id, 'ecs:a1b2c3');
    assert.equal(a.time, Date.UTC(2024, 2, 1, 10, 5));
    assert.equal(a.source, 'ecs');
    assert.equal(a.signatureId, '9960432d-9b26-409f-972b-839a959e79e2');
    assert.equal(a.signature, 'Potential Credential Access via LSASS');
    assert.equal(a.severity, 'high');
    assert.equal(a.confidence, 0.73);
    assert.equal(a.tactic, 'TA0006');
    assert.equal(a.technique, 'T1003.001');
    assert.equal(a.host, 'ws-01');
    assert.equal(a.user, 'alice');
    assert.equal(a.srcIp, '10.0.0.7');
    assert.equal(a.destIp, '');
  });

  test('plain nested ECS alert: rule.id/name, numeric event.severity, threat.* object, content id', () => {
    const doc = {
      '@timestamp': '2024-03-01T11:00:00Z',
      event: { kind: 'alert', severity: 99, risk_score: 21 },
      rule: { id: 'R-17', name: 'Outbound to known C2' },
      source: { ip: '10.0.0.9' },
      destination: { ip: '203.0.113.4' },
      threat: { tactic: { id: ['TA0011'] }, technique: { id: ['T1071'] } },
    };
    const r = parseEcs(doc);
    assert.equal(r.kind, 'alert');
    if (r.kind !== 'alert') return;
    assert.equal(r.alert.severity, 'critical');
    assert.equal(r.alert.confidence, 0.21);
    assert.equal(r.alert.signatureId, 'R-17');
    assert.equal(r.alert.tactic, 'TA0011');
    assert.equal(r.alert.technique, 'T1071');
    assert.equal(r.alert.destIp, '203.0.113.4');
    assert.match(r.alert.id, /^ecs:[0-9a-f]{20}$/);
    const again = parseEcs(structuredClone(doc));
    assert.ok(again.kind === 'alert' && again.alert.id === r.alert.id);
  });

  test('risk score alone sets the severity band (Elastic 21/47/73/99)', () => {
    const sev = (risk: number) => {
      const r = parseEcs({
        '@timestamp': '2024-03-01T11:00:00Z',
        event: { kind: 'alert', risk_score: risk },
        rule: { name: 'x' },
      });
      return r.kind === 'alert' ? r.alert.severity : r.kind;
    };
    assert.deepEqual([21, 47, 73, 99, 5].map(sev), ['low', 'medium', 'high', 'critical', 'info']);
  });

  test('ECS events of other kinds are ignored; alerts without a rule or a date are malformed', () => {
    assert.equal(
      parseEcs({ '@timestamp': '2024-03-01T11:00:00Z', event: { kind: 'event', category: ['network'] } }).kind,
      'ignored',
    );
    assert.equal(parseEcs({ '@timestamp': '2024-03-01T11:00:00Z', event: { kind: 'alert' } }).kind, 'malformed');
    assert.equal(
      parseEcs({ '@timestamp': 'not a date', event: { kind: 'alert' }, rule: { name: 'x' } }).kind,
      'malformed',
    );
    assert.equal(parseEcs({ hello: 'world' }).kind, 'malformed');
  });
});
