/**
 * The pipeline over a store: a second ingest continues the incidents of the first (a late alert
 * that bridges two stored incidents merges them, alerts and verdicts included); user risk from
 * the UBA table reaches the features; a verdict teaches the ranker, which is persisted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TriageAlert } from '../../../src/detectors/triage/alert.js';
import {
  applyVerdict,
  explainIncident,
  ingestAlerts,
  loadTriageModel,
  queue as rankQueue,
} from '../../../src/detectors/triage/pipeline.js';
import { listIncidents, listVerdicts, TRIAGE_MIGRATIONS } from '../../../src/detectors/triage/triage-store.js';
import { openStore } from '../../../src/store/store.js';

const T0 = Date.UTC(2024, 2, 1, 10);
const MIN = 60_000;
function alert(id: string, minutes: number, over: Partial<TriageAlert> = {}): TriageAlert {
  return {
    id,
    time: T0 + minutes * MIN,
    source: 'ecs',
    signatureId: `rule-${id}`,
    signature: 'Suspicious logon',
    severity: 'medium',
    srcIp: '',
    destIp: '',
    host: 'ws-01',
    user: 'alice',
    tactic: 'TA0001',
    technique: 'T1078',
    raw: {},
    ...over,
  };
}

describe('triage pipeline', () => {
  test('a second ingest extends stored incidents and a bridging alert merges two of them', async () => {
    const db = openStore(':memory:', TRIAGE_MIGRATIONS);
    const first = await ingestAlerts(db, [alert('a', 0), alert('b', 5), alert('c', 40)]);
    assert.equal(first.newIncidents, 2);
    const [early, late] = listIncidents(db).sort((x, y) => x.firstSeen - y.firstSeen);
    assert.ok(early && late);
    applyVerdict(db, late.id, 'tp', 'ana');

    // Minute 15 is within 15 min of b (5) but not c (40): extends the early incident.
    const second = await ingestAlerts(db, [alert('d', 15)]);
    assert.deepEqual([second.newIncidents, second.touchedIncidents, second.stored], [0, 1, 1]);
    // Minute 27 is within 15 min of d (15) and c (40): the two incidents become one.
    const third = await ingestAlerts(db, [alert('e', 27)]);
    assert.equal(third.group.merged, 1);
    const all = listIncidents(db, { withAlertIds: true });
    assert.equal(all.length, 1);
    assert.deepEqual(all[0]?.alertIds, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(all[0]?.id, early.id);
    assert.equal(all[0]?.verdict, 'tp', 'the verdict of the absorbed incident stays');
    assert.equal(listVerdicts(db, early.id).length, 1);
    db.close();
  });

  test('UBA user risk reaches the features and the verdict updates the stored ranker', async () => {
    const db = openStore(':memory:', TRIAGE_MIGRATIONS);
    db.exec(
      'CREATE TABLE uba_user_risk (user TEXT PRIMARY KEY, domain TEXT NOT NULL, risk REAL NOT NULL, updated_at INTEGER NOT NULL, reasons TEXT NOT NULL)',
    );
    db.prepare('INSERT INTO uba_user_risk VALUES (?, ?, ?, ?, ?)').run('alice', '', 3, 0, '[]');
    await ingestAlerts(db, [alert('a', 0), alert('x', 0, { user: 'bob', signatureId: 'rule-a' })]);
    const queue = listIncidents(db);
    assert.equal(queue.length, 2);
    assert.equal(queue[0]?.key, 'user:alice|T1078', 'the risky user ranks first');
    const e = explainIncident(db, queue[0]?.id as string);
    assert.ok(e.features.values.user_risk > 0.9);
    assert.ok(e.rank.reasons.some((r) => r.feature === 'user_risk' && r.weight > 0));
    assert.equal(e.queuePosition, 1);
    assert.equal(loadTriageModel(db).ranker.verdicts.fp, 0);
    const r = applyVerdict(db, queue[1]?.id as string, 'fp');
    assert.ok(r.scoreAfter < r.scoreBefore);
    assert.equal(r.rescored, 1);
    assert.equal(loadTriageModel(db).ranker.verdicts.fp, 1, 'the model is persisted');
    // Rescoring leaves explanations to be computed on demand; queue() computes and caches them.
    const open = queue[0]?.id as string;
    assert.deepEqual(listIncidents(db, { status: 'open' })[0]?.scoreExplanation, []);
    const shown = rankQueue(db, { status: 'open' });
    assert.equal(shown[0]?.id, open);
    const sum = (shown[0]?.scoreExplanation ?? []).reduce((s, r) => s + r.weight, 0);
    assert.ok(
      Math.abs(1 / (1 + Math.exp(-sum)) - (shown[0]?.score as number)) < 1e-9,
      'reasons add up to the stored score',
    );
    assert.deepEqual(listIncidents(db, { status: 'open' })[0]?.scoreExplanation, shown[0]?.scoreExplanation);
    db.close();
  });
});
