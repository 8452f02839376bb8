/**
 * Aegis's own alerts → TriageAlert: rows of the gateway's `alerts` table read back with listAlerts
 * (PRADA, query budget, drift) get ATLAS techniques that exist in src/report/atlas.ts; detector
 * verdicts keep attacks only; UBA users above the risk threshold become alerts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  aegisStoreAlerts,
  atlasOfAlertSource,
  parseAegisVerdict,
  parseUbaUsers,
} from '../../../src/detectors/triage/parse-aegis.js';
import { ALERT_MIGRATIONS, listAlerts, recordAlert } from '../../../src/gateway/alerts.js';
import { atlasTechniqueInfo } from '../../../src/report/atlas.js';
import { openStore } from '../../../src/store/store.js';

describe('parse-aegis', () => {
  test('gateway and monitor alerts from the store map to ATLAS techniques and entities', () => {
    const db = openStore(':memory:', ALERT_MIGRATIONS);
    recordAlert(db, {
      time: '2024-03-01T10:00:00.000Z',
      source: 'prada',
      model: 'fraud-v2',
      keyId: 'key-7',
      severity: 'critical',
      message: 'possible model extraction by key-7',
      detail: { w: 0.8 },
    });
    recordAlert(db, {
      time: '2024-03-01T10:01:00.000Z',
      source: 'query-budget',
      model: 'fraud-v2',
      keyId: 'key-7',
      severity: 'warning',
      message: 'key key-7 reached its query budget',
      detail: {},
    });
    recordAlert(db, {
      time: '2024-03-01T10:02:00.000Z',
      source: 'drift/ks',
      model: 'fraud-v2',
      keyId: null,
      severity: 'warning',
      message: 'input drift',
      detail: {},
    });
    const alerts = aegisStoreAlerts(listAlerts(db));
    db.close();
    assert.equal(alerts.length, 3);
    const bySig = new Map(alerts.map((a) => [a.signatureId, a]));
    const prada = bySig.get('prada');
    assert.ok(prada);
    assert.equal(prada.technique, 'AML.T0024.002');
    assert.equal(prada.tactic, 'AML.TA0010');
    assert.equal(prada.severity, 'critical');
    assert.equal(prada.host, 'fraud-v2');
    assert.equal(prada.user, 'key-7');
    assert.equal(prada.source, 'aegis-gateway');
    assert.equal(prada.time, Date.UTC(2024, 2, 1, 10));
    assert.match(prada.id, /^aegis-alert:\d+$/);
    assert.equal(bySig.get('query-budget')?.severity, 'medium');
    assert.equal(bySig.get('drift/ks')?.source, 'aegis-monitor');
    assert.equal(bySig.get('drift/ks')?.user, '');
    // Every technique we emit is one Aegis's ATLAS table knows (throws otherwise).
    for (const s of ['prada', 'query-budget', 'drift/ks', 'drift/confidence']) {
      assert.ok(atlasTechniqueInfo(atlasOfAlertSource(s).technique).name.length > 0);
    }
  });

  test('detector verdicts: attacks become alerts with ATT&CK ids, benign ones are ignored', () => {
    const t = Date.UTC(2024, 2, 1);
    const probe = parseAegisVerdict(
      {
        line: 12,
        attack: true,
        score: 0.97,
        label: 'probe',
        reasons: [{ feature: 'dst_host_count', detail: 'many hosts', weight: 1 }],
      },
      t,
    );
    assert.equal(probe.kind, 'alert');
    if (probe.kind !== 'alert') return;
    assert.equal(probe.alert.signatureId, 'nids:probe');
    assert.equal(probe.alert.technique, 'T1046');
    assert.equal(probe.alert.confidence, 0.97);
    assert.equal(probe.alert.severity, 'high');
    assert.equal(probe.alert.time, t);
    assert.match(probe.alert.signature, /line 12.*many hosts/);
    const phish = parseAegisVerdict({ id: 'mail-3.eml', score: 0.7, label: 'phishing', reasons: [] }, t);
    assert.ok(phish.kind === 'alert' && phish.alert.technique === 'T1566' && phish.alert.severity === 'medium');
    assert.equal(
      parseAegisVerdict({ line: 3, attack: false, score: 0.1, label: 'normal', reasons: [] }, t).kind,
      'ignored',
    );
    assert.equal(parseAegisVerdict({ id: 'x', score: 0.1, label: 'ham', reasons: [] }, t).kind, 'ignored');
    assert.equal(parseAegisVerdict({ score: 'high', label: 'dos' }, t).kind, 'malformed');
  });

  test('UBA users: one alert per user at or above the risk threshold with suspicious events', () => {
    const lastSeen = Date.UTC(2024, 2, 1, 3);
    const alerts = parseUbaUsers(
      {
        users: [
          {
            user: 'Alice',
            domain: 'corp',
            risk: 3.2,
            alerts: 4,
            lastSeen,
            reasons: [{ detail: 'first logon to dc01' }],
          },
          { user: 'bob', risk: 0.1, alerts: 1, reasons: [] },
          { user: 'carol', risk: 2, alerts: 0, reasons: [] },
        ],
        asOf: lastSeen,
      },
      1000,
    );
    assert.equal(alerts.length, 1);
    const a = alerts[0];
    assert.ok(a);
    assert.equal(a.user, 'alice');
    assert.equal(a.technique, 'T1078');
    assert.equal(a.time, lastSeen);
    assert.ok(Math.abs((a.confidence ?? 0) - (1 - Math.exp(-3.2))) < 1e-12);
    assert.equal(a.severity, 'high');
    assert.match(a.signature, /first logon to dc01/);
  });
});
