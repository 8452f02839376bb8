/**
 * Triage tables: save/read alerts and incidents, queue order (open first, score, severity), verdict
 * history, model state, user risk from the UBA table, incidents absorbed on merge, and the
 * migration path: a database created with only 'triage/001' (an older Aegis) upgrades to 002 in
 * place, keeping its rows.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TriageAlert } from '../../../src/detectors/triage/alert.js';
import { groupAlerts } from '../../../src/detectors/triage/group.js';
import {
  getIncident,
  listIncidents,
  listVerdicts,
  loadModelState,
  readUserRiskTable,
  recordVerdict,
  saveAlerts,
  saveIncidents,
  saveModelState,
  saveScore,
  storedAlertIds,
  TRIAGE_MIGRATION_V1,
  TRIAGE_MIGRATIONS,
} from '../../../src/detectors/triage/triage-store.js';
import { openStore, type StoreDatabase } from '../../../src/store/store.js';

const T0 = Date.UTC(2024, 2, 1, 10);
function alert(id: string, minutes: number, over: Partial<TriageAlert> = {}): TriageAlert {
  return {
    id,
    time: T0 + minutes * 60_000,
    source: 'suricata',
    signatureId: '2001219',
    signature: 'ET SCAN',
    severity: 'low',
    srcIp: '10.0.0.5',
    destIp: '192.168.1.10',
    host: '',
    user: '',
    tactic: 'TA0007',
    technique: 'T1046',
    raw: { id },
    ...over,
  };
}

const ALERTS = [
  alert('a1', 0, { confidence: 0.4, truth: false }),
  alert('a2', 3), // beyond the 60 s dedup window: a second alert, not a duplicate
  alert('b1', 0, { srcIp: '10.0.0.9', severity: 'critical', technique: 'T1110' }),
  alert('c1', 0, { srcIp: '10.0.0.7', severity: 'high', technique: 'T1190' }),
];

function fill(db: StoreDatabase) {
  saveAlerts(db, ALERTS);
  const { incidents } = groupAlerts(ALERTS);
  saveIncidents(db, incidents);
  return incidents;
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-triage-store-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('triage store', () => {
  test('alerts round-trip; a second save of the same ids adds nothing', () => {
    const db = openStore(':memory:', TRIAGE_MIGRATIONS);
    assert.equal(saveAlerts(db, ALERTS), 4);
    assert.equal(saveAlerts(db, ALERTS.slice(0, 2)), 0);
    assert.deepEqual([...storedAlertIds(db, ['a1', 'zz', 'c1'])].sort(), ['a1', 'c1']);
    const { incidents } = groupAlerts(ALERTS);
    saveIncidents(db, incidents);
    const a = incidents.find((i) => i.alertIds.includes('a1'));
    assert.ok(a);
    const got = getIncident(db, a.id);
    assert.ok(got);
    assert.deepEqual(got.alerts, ALERTS.slice(0, 2));
    assert.equal(got.incident.alertCount, 2);
    assert.equal(got.incident.maxSeverity, 'low');
    assert.equal(got.incident.truth, false);
    assert.equal(getIncident(db, a.id.slice(0, 10))?.incident.id, a.id, 'unique prefix');
    assert.equal(getIncident(db, 'inc-nothing'), undefined);
    db.close();
  });

  test('queue: open incidents first, then by score, then severity', () => {
    const db = openStore(':memory:', TRIAGE_MIGRATIONS);
    const incidents = fill(db);
    const id = (alertId: string) => incidents.find((i) => i.alertIds.includes(alertId))?.id as string;
    // Unscored: by severity, critical first.
    assert.deepEqual(
      listIncidents(db).map((i) => i.id),
      [id('b1'), id('c1'), id('a1')],
    );
    saveScore(db, id('a1'), 0.9, [{ feature: 'bias', detail: 'prior', weight: -1 }]);
    saveScore(db, id('c1'), 0.5, []);
    assert.deepEqual(
      listIncidents(db).map((i) => i.id),
      [id('a1'), id('c1'), id('b1')],
    );
    assert.deepEqual(listIncidents(db, { limit: 1 })[0]?.scoreExplanation, [
      { feature: 'bias', detail: 'prior', weight: -1 },
    ]);
    recordVerdict(db, id('a1'), 'fp', 'ana', 1000);
    recordVerdict(db, id('a1'), 'tp', 'bo', 2000);
    const queue = listIncidents(db, { withAlertIds: true });
    assert.deepEqual(
      queue.map((i) => i.id),
      [id('c1'), id('b1'), id('a1')],
    );
    assert.equal(queue[2]?.verdict, 'tp');
    assert.deepEqual(queue[2]?.alertIds, ['a1', 'a2']);
    assert.deepEqual(
      listIncidents(db, { status: 'open' }).map((i) => i.id),
      [id('c1'), id('b1')],
    );
    assert.deepEqual(
      listVerdicts(db, id('a1')).map((v) => [v.verdict, v.analyst]),
      [
        ['fp', 'ana'],
        ['tp', 'bo'],
      ],
    );
    // Re-saving the incident (a later ingest) keeps the verdict and the score.
    saveIncidents(db, incidents);
    assert.equal(getIncident(db, id('a1'))?.incident.verdict, 'tp');
    assert.equal(getIncident(db, id('a1'))?.incident.score, 0.9);
    db.close();
  });

  test('absorbed incidents are deleted and their alerts move', () => {
    const db = openStore(':memory:', TRIAGE_MIGRATIONS);
    const incidents = fill(db);
    const [x, y] = incidents as [(typeof incidents)[0], (typeof incidents)[0]];
    recordVerdict(db, y.id, 'fp');
    // A later ingest seeds x without its stored alerts and merges y into it.
    const merged = { ...x, alertIds: [] };
    saveIncidents(db, [merged], [{ from: y.id, into: x.id }]);
    assert.equal(getIncident(db, y.id), undefined);
    assert.equal(getIncident(db, x.id)?.alerts.length, x.alertIds.length + y.alertIds.length);
    assert.equal(getIncident(db, x.id)?.incident.alertCount, x.alertIds.length + y.alertIds.length);
    assert.deepEqual(
      listVerdicts(db, x.id).map((v) => v.verdict),
      ['fp'],
      'the verdict moved with the alerts',
    );
    db.close();
  });

  test('model state and UBA user risk', () => {
    const db = openStore(':memory:', TRIAGE_MIGRATIONS);
    assert.equal(loadModelState(db, 'ranker'), undefined);
    saveModelState(db, 'ranker', { w: [1, 2] });
    saveModelState(db, 'ranker', { w: [3] });
    assert.deepEqual(loadModelState(db, 'ranker'), { w: [3] });
    assert.equal(readUserRiskTable(db).size, 0, 'no UBA table yet');
    db.exec(
      'CREATE TABLE uba_user_risk (user TEXT PRIMARY KEY, domain TEXT NOT NULL, risk REAL NOT NULL, updated_at INTEGER NOT NULL, reasons TEXT NOT NULL)',
    );
    db.prepare('INSERT INTO uba_user_risk VALUES (?, ?, ?, ?, ?)').run('alice', '', 2.5, 0, '[]');
    assert.deepEqual([...readUserRiskTable(db)], [['alice', 2.5]]);
    db.close();
  });

  test('migration: a v1-only database upgrades to v2 in place and keeps its rows', () => {
    const path = join(dir, 'old.db');
    const old = openStore(path, [TRIAGE_MIGRATION_V1]);
    saveAlerts(old, ALERTS);
    const { incidents } = groupAlerts(ALERTS);
    // The v1 schema has no score_explanation column: saveScore would fail there.
    assert.throws(() => saveScore(old, incidents[0]?.id as string, 1, []), /score_explanation/);
    saveIncidents(old, incidents);
    recordVerdict(old, incidents[0]?.id as string, 'tp');
    old.close();

    const db = openStore(path, TRIAGE_MIGRATIONS);
    const applied = db.prepare("SELECT id FROM schema_migrations WHERE id LIKE 'triage/%' ORDER BY id").pluck().all();
    assert.deepEqual(applied, ['triage/001-tables', 'triage/002-score-explanation']);
    const cols = (db.prepare('PRAGMA table_info(triage_incidents)').all() as { name: string }[]).map((c) => c.name);
    assert.ok(cols.includes('score_explanation'));
    assert.equal(listIncidents(db).length, incidents.length);
    assert.equal(getIncident(db, incidents[0]?.id as string)?.incident.verdict, 'tp');
    assert.deepEqual(getIncident(db, incidents[0]?.id as string)?.incident.scoreExplanation, []);
    saveScore(db, incidents[0]?.id as string, 0.7, [{ feature: 'severity_max', detail: 'high', weight: 1 }]);
    saveModelState(db, 'ranker', {});
    db.close();
    // Opening again applies nothing twice.
    const again = openStore(path, TRIAGE_MIGRATIONS);
    assert.equal(getIncident(again, incidents[0]?.id as string)?.incident.score, 0.7);
    again.close();
  });
});
