/** Suricata EVE → TriageAlert: fields, severity levels, ET metadata, non-alert events ignored, broken alerts malformed. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSuricata } from '../../../src/detectors/triage/parse-suricata.js';
import { eveAlert } from '../../helpers/triage-samples.js';

describe('parseSuricata', () => {
  test('maps an EVE alert onto the triage schema', () => {
    const r = parseSuricata(eveAlert());
    assert.equal(r.kind, 'alert');
    if (r.kind !== 'alert') return;
    const a = r.alert;
    assert.equal(a.time, Date.UTC(2024, 2, 1, 10, 0, 0, 123));
    assert.equal(a.source, 'suricata');
    assert.equal(a.signatureId, '2001219');
    assert.equal(a.signature, 'ET SCAN Potential SSH Scan');
    assert.equal(a.severity, 'medium');
    assert.equal(a.srcIp, '10.0.0.5');
    assert.equal(a.destIp, '192.168.1.10');
    assert.equal(a.confidence, undefined);
    assert.equal(a.tactic, '');
    assert.match(a.id, /^suricata:[0-9a-f]{20}$/);
  });

  test('severity 1 is high, 3 low, 4+ info; ET signature_severity Critical wins', () => {
    const sev = (severity: number, meta?: Record<string, unknown>) => {
      const r = parseSuricata(eveAlert({}, { severity, ...(meta ? { metadata: meta } : {}) }));
      return r.kind === 'alert' ? r.alert.severity : r.kind;
    };
    assert.equal(sev(1), 'high');
    assert.equal(sev(3), 'low');
    assert.equal(sev(4), 'info');
    assert.equal(sev(2, { signature_severity: ['Critical'] }), 'critical');
  });

  test('keeps MITRE ids and confidence from rule metadata', () => {
    const r = parseSuricata(
      eveAlert({}, { metadata: { mitre_tactic_id: ['TA0007'], mitre_technique_id: ['T1046'], confidence: ['High'] } }),
    );
    assert.equal(r.kind, 'alert');
    if (r.kind !== 'alert') return;
    assert.equal(r.alert.tactic, 'TA0007');
    assert.equal(r.alert.technique, 'T1046');
    assert.equal(r.alert.confidence, 0.9);
  });

  test('the same delivery twice has the same id; another packet of the flow does not', () => {
    const a = parseSuricata(eveAlert());
    const b = parseSuricata(eveAlert());
    const c = parseSuricata(eveAlert({ timestamp: '2024-03-01T10:00:01.000000+0000' }));
    assert.ok(a.kind === 'alert' && b.kind === 'alert' && c.kind === 'alert');
    assert.equal(a.alert.id, b.alert.id);
    assert.notEqual(a.alert.id, c.alert.id);
  });

  test('other event types are ignored, broken alerts are malformed', () => {
    assert.equal(parseSuricata(eveAlert({ event_type: 'flow' })).kind, 'ignored');
    assert.equal(parseSuricata(eveAlert({ event_type: 'dns' })).kind, 'ignored');
    assert.equal(parseSuricata(eveAlert({ alert: 'x' })).kind, 'malformed');
    assert.equal(parseSuricata(eveAlert({ timestamp: 'yesterday at noon' })).kind, 'malformed');
    assert.equal(parseSuricata(eveAlert({}, { signature_id: undefined })).kind, 'malformed');
    assert.equal(parseSuricata({ foo: 1 }).kind, 'malformed');
  });
});
