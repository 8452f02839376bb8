/**
 * Grouping: entity+technique keys, gap-based windows, duplicate folding (same id, same content in
 * the dedup window), out-of-order input inside and beyond the reorder buffer (same incidents as
 * sorted input; late alerts bridging two incidents merge them), deterministic ids, seeding.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import type { Incident, TriageAlert } from '../../../src/detectors/triage/alert.js';
import { AlertGrouper, groupAlerts, incidentKey } from '../../../src/detectors/triage/group.js';

const T0 = Date.UTC(2024, 2, 1, 10);
const MIN = 60_000;
let n = 0;

function alert(minutes: number, over: Partial<TriageAlert> = {}): TriageAlert {
  n++;
  return {
    id: `a${n}`,
    time: T0 + minutes * MIN,
    source: 'suricata',
    signatureId: `sig-${n}`, // distinct content unless a test sets it
    signature: 'scan',
    severity: 'medium',
    srcIp: '10.0.0.5',
    destIp: '192.168.1.10',
    host: '',
    user: '',
    tactic: 'TA0007',
    technique: 'T1046',
    raw: null,
    ...over,
  };
}

const shape = (incidents: Incident[]) =>
  incidents
    .map((i) => ({ key: i.key, alerts: [...i.alertIds].sort(), dup: i.duplicates }))
    .sort((a, b) => (a.alerts[0] as string).localeCompare(b.alerts[0] as string));

describe('group', () => {
  test('keys: first entity of user, host, source, destination, then technique → tactic → signature', () => {
    assert.equal(incidentKey(alert(0)), 'src:10.0.0.5|T1046');
    assert.equal(incidentKey(alert(0, { user: 'alice', host: 'ws1' })), 'user:alice|T1046');
    assert.equal(incidentKey(alert(0, { technique: '' })), 'src:10.0.0.5|TA0007');
    assert.equal(incidentKey(alert(0, { technique: '', tactic: '', signatureId: '99' })), 'src:10.0.0.5|sig:99');
    assert.equal(
      incidentKey(alert(0, { srcIp: '', destIp: '', signatureId: '7', technique: '', tactic: '' })),
      'sig:7',
    );
    assert.equal(incidentKey(alert(0), { by: 'entity', entityOrder: ['destIp'] }), 'dst:192.168.1.10');
  });

  test('gap-based windows: a pause longer than the gap starts a new incident; other keys stay apart', () => {
    const alerts = [
      alert(0),
      alert(10),
      alert(20),
      alert(36),
      alert(5, { srcIp: '10.0.0.6' }),
      alert(6, { technique: 'T1110' }),
    ];
    const { incidents, counts } = groupAlerts(alerts, { gapMs: 15 * MIN });
    assert.equal(incidents.length, 4);
    const main = incidents.filter((i) => i.key === 'src:10.0.0.5|T1046');
    assert.deepEqual(
      main.map((i) => i.alertIds.length),
      [3, 1],
    );
    assert.equal(main[0]?.firstSeen, T0);
    assert.equal(main[0]?.lastSeen, T0 + 20 * MIN);
    assert.equal(counts.grouped, 6);
  });

  test('duplicates: same id anywhere, same content only within the dedup window', () => {
    const a = alert(0, { signatureId: 'S' });
    const alerts = [
      a,
      { ...a }, // same id again
      alert(0.5, { signatureId: 'S' }), // same content 30 s later: duplicate
      alert(3, { signatureId: 'S' }), // same content 3 min later: a new alert of the incident
      alert(3.2, { signatureId: 'S', destIp: '192.168.1.11' }), // another target: not a duplicate
    ];
    const { incidents, counts } = groupAlerts(alerts, { dedupWindowMs: 60_000 });
    assert.equal(incidents.length, 1);
    assert.equal(incidents[0]?.alertIds.length, 3);
    assert.equal(incidents[0]?.duplicates, 2);
    assert.equal(counts.duplicates, 2);
    const off = groupAlerts(alerts.slice(2), { dedupWindowMs: 0 });
    assert.equal(off.counts.duplicates, 0);
  });

  test('out-of-order input within the buffer gives the same incidents and ids as sorted input', () => {
    const rng = new Rng(7);
    const alerts: TriageAlert[] = [];
    for (let k = 0; k < 300; k++) {
      // Three sources, bursts every ~40 minutes.
      const burst = Math.floor(k / 30);
      alerts.push(alert(burst * 40 + rng.uniform(0, 10), { srcIp: `10.0.0.${k % 3}` }));
    }
    const sorted = [...alerts].sort((a, b) => a.time - b.time);
    const shuffled = [...alerts];
    rng.shuffle(shuffled);
    const a = groupAlerts(sorted);
    const b = groupAlerts(shuffled, { reorderBuffer: 300 });
    assert.deepEqual(shape(b.incidents), shape(a.incidents));
    assert.deepEqual(b.incidents.map((i) => i.id).sort(), a.incidents.map((i) => i.id).sort());
    assert.equal(b.counts.late, 0);
    assert.equal(a.incidents.length, 30);
  });

  test('alerts later than the buffer are counted late, join their window, and bridge two incidents into one', () => {
    const early = alert(0);
    const later = alert(25);
    const bridge = alert(12); // within 15 min of both
    const lateFit = alert(3); // inside the first window
    const { incidents, counts } = groupAlerts([early, later, lateFit, bridge], { reorderBuffer: 0, gapMs: 15 * MIN });
    assert.equal(counts.late, 2);
    assert.equal(counts.merged, 1);
    assert.equal(incidents.length, 1);
    assert.deepEqual([...(incidents[0]?.alertIds ?? [])].sort(), [early.id, later.id, lateFit.id, bridge.id].sort());
    assert.equal(incidents[0]?.firstSeen, early.time);
    assert.equal(incidents[0]?.lastSeen, later.time);
  });

  test('incident ids are deterministic and truth is any alert’s truth', () => {
    const alerts = [alert(0, { truth: false }), alert(1, { truth: true }), alert(100, { truth: false })];
    const a = groupAlerts(alerts);
    const b = groupAlerts(alerts.map((x) => ({ ...x })));
    assert.deepEqual(
      a.incidents.map((i) => i.id),
      b.incidents.map((i) => i.id),
    );
    assert.match(a.incidents[0]?.id ?? '', /^inc-[0-9a-f]{16}$/);
    assert.deepEqual(
      a.incidents.map((i) => i.truth),
      [true, false],
    );
  });

  test('seeded incidents are continued by a second batch; onAssign sees every alert', () => {
    const first = groupAlerts([alert(0), alert(5)]).incidents;
    const seen: [string, boolean][] = [];
    const g = new AlertGrouper({}, (a, inc, dup) => seen.push([`${a.id}>${inc.id}`, dup]));
    g.seed(first);
    const next = alert(12);
    g.add(next);
    g.add({ ...next });
    g.flush();
    const incidents = g.incidents();
    assert.equal(incidents.length, 1);
    assert.equal(incidents[0]?.id, first[0]?.id);
    assert.equal(incidents[0]?.alertIds.length, 3);
    assert.deepEqual(seen, [
      [`${next.id}>${first[0]?.id}`, false],
      [`${next.id}>${first[0]?.id}`, true],
    ]);
  });
});
