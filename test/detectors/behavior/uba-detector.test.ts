import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BehaviorEvent } from '../../../src/detectors/behavior/event.js';
import { UbaDetector } from '../../../src/detectors/behavior/uba-detector.js';
import { DAY, ev, HOUR, routine, T0 } from './uba-fixtures.js';

function trained(events: BehaviorEvent[]): UbaDetector {
  const d = new UbaDetector();
  for (const e of events) d.learn(e);
  return d;
}

const features = (d: UbaDetector, e: BehaviorEvent) => d.score(e).reasons.map((r) => r.feature);

// Alice and a few peers with 30 working days of routine; "now" is a weekday morning after that.
const peers = ['bob', 'carol', 'dave'].flatMap((u) => routine(u, 30));
const alice = routine('alice', 30, { host: 'ws-alice', source: '10.0.0.5' });
const history = [...peers, ...alice].sort((a, b) => a.time - b.time);
const NOW = T0 + 50 * DAY + 9 * HOUR + 10 * 60_000; // a Tuesday, 09:10
const usual = { user: 'alice', host: 'ws-alice', source: '10.0.0.5' };

describe('UbaDetector', () => {
  const d = trained(history);

  it('gives a routine event no reasons and a normal label', () => {
    const v = d.score(ev({ ...usual, time: NOW, action: 'logon', detail: '2' }));
    assert.deepEqual(v.reasons, []);
    assert.equal(v.label, 'normal');
    assert.equal(d.score(ev({ ...usual, time: NOW, action: 'process', detail: 'outlook.exe' })).reasons.length, 0);
  });

  it('names a first logon to a host nobody uses', () => {
    const v = d.score(ev({ ...usual, time: NOW, host: 'hr-db' }));
    assert.ok(
      v.reasons.some((r) => r.feature === 'new-host' && r.detail.includes('hr-db')),
      JSON.stringify(v.reasons),
    );
    assert.equal(v.label, 'anomalous');
  });

  it('names a new source and a never-seen hour', () => {
    assert.ok(features(d, ev({ ...usual, time: NOW, source: '172.31.9.9' })).includes('new-source'));
    const night = features(d, ev({ ...usual, time: NOW - 6 * HOUR })); // 03:10
    assert.ok(night.includes('never-seen-hour'), night.join());
    assert.ok(!features(d, ev({ ...usual, time: NOW })).includes('never-seen-hour'));
  });

  it('names a new process, a new logon type and a never-seen weekday', () => {
    assert.ok(
      features(d, ev({ ...usual, time: NOW, action: 'process', detail: 'mimikatz.exe' })).includes('new-process'),
    );
    assert.ok(
      !features(d, ev({ ...usual, time: NOW, action: 'process', detail: 'excel.exe' })).includes('new-process'),
    );
    assert.ok(features(d, ev({ ...usual, time: NOW, detail: '10' })).includes('new-logon-type'));
    const sunday = T0 + 48 * DAY + 9 * HOUR + 10 * 60_000; // 2024-02-25, a Sunday, at the usual hour
    assert.equal(new Date(sunday).getUTCDay(), 0);
    assert.ok(features(d, ev({ ...usual, time: sunday })).includes('never-seen-weekday'));
  });

  it('names failures then success, and not a success after one typo', () => {
    const d2 = trained(history);
    for (let i = 0; i < 4; i++) d2.learn(ev({ ...usual, time: NOW + i * 5000, action: 'logon-failure', detail: '2' }));
    const v = d2.score(ev({ ...usual, time: NOW + 30_000 }));
    assert.ok(v.reasons.some((r) => r.feature === 'failures-then-success' && r.detail.includes('4 failures')));
    const d3 = trained(history);
    d3.learn(ev({ ...usual, time: NOW, action: 'logon-failure', detail: '2' }));
    assert.ok(!features(d3, ev({ ...usual, time: NOW + 10_000 })).includes('failures-then-success'));
  });

  it('charges a password spray to the account that then logs on from the spraying source, once', () => {
    const d2 = trained(history);
    const spray = '172.31.0.9';
    for (const [i, victim] of ['bob', 'carol', 'dave'].entries()) {
      d2.learn(
        ev({ user: victim, host: 'dc1', source: spray, time: NOW + i * 1000, action: 'logon-failure', detail: '3' }),
      );
    }
    const first = ev({ ...usual, source: spray, time: NOW + 10_000, detail: '3' });
    const r = d2.score(first).reasons.find((x) => x.feature === 'password-spray-source');
    assert.ok(r?.detail.includes('3 other accounts'), JSON.stringify(d2.score(first).reasons));
    d2.learn(first);
    assert.ok(
      !features(d2, ev({ ...usual, source: spray, time: NOW + 20_000, detail: '3' })).includes('password-spray-source'),
    );
    assert.ok(!features(d2, ev({ ...usual, time: NOW + 20_000 })).includes('password-spray-source'));
    // Two failed accounts are not a spray.
    const d3 = trained(history);
    for (const victim of ['bob', 'carol']) {
      d3.learn(ev({ user: victim, host: 'dc1', source: spray, time: NOW, action: 'logon-failure', detail: '3' }));
    }
    assert.ok(!features(d3, ev({ ...usual, source: spray, time: NOW + 10_000 })).includes('password-spray-source'));
  });

  it('names privilege use on a non-admin, not on an admin who always has it', () => {
    assert.ok(features(d, ev({ ...usual, time: NOW, action: 'privilege-use' })).includes('privilege-use'));
    const admin = trained([...history, ...routine('root', 30, { admin: true })]);
    const f = features(
      admin,
      ev({ user: 'root', host: 'ws-root', source: '10.0.0.4', time: NOW, action: 'privilege-use' }),
    );
    assert.ok(!f.includes('privilege-use'), f.join());
  });

  it('names explicit credentials for a user who never used them', () => {
    const f = features(d, ev({ ...usual, time: NOW, action: 'explicit-credentials', detail: 'fs1' }));
    assert.ok(f.includes('explicit-credentials'), f.join());
  });

  it('names a Kerberos service-ticket burst (Kerberoasting) at the fifth new service, not at two', () => {
    const d2 = trained(history);
    const fired: number[] = [];
    for (let i = 0; i < 8; i++) {
      const e = ev({
        ...usual,
        host: 'dc1',
        time: NOW + i * 2000,
        action: 'kerberos-service-ticket',
        detail: `mssql/sql${i}`,
      });
      if (features(d2, e).includes('kerberos-ticket-burst')) fired.push(i + 1);
      d2.learn(e);
    }
    assert.deepEqual(fired, [5]);
    // Routine tickets for a known service never count.
    const known = ev({ ...usual, host: 'dc1', time: NOW, action: 'kerberos-service-ticket', detail: 'cifs/fs1' });
    assert.deepEqual(features(d, known), []);
  });

  it('names a burst of activity against the user’s usual rate', () => {
    const d2 = trained(history);
    const fired: string[][] = [];
    for (let i = 0; i < 40; i++) {
      const e = ev({ ...usual, time: NOW + i * 3000, action: 'process', detail: 'outlook.exe' });
      const f = features(d2, e);
      if (f.includes('activity-burst')) fired.push(f);
      d2.learn(e);
    }
    assert.ok(fired.length >= 1 && fired.length <= 3, `fired ${fired.length} times`);
  });

  it('warms up: a brand-new user’s first novel event weighs less than an established user’s', () => {
    const fresh = d.score(ev({ user: 'newbie', host: 'hr-db', source: '10.9.9.9', time: NOW }));
    const known = d.score(ev({ ...usual, host: 'hr-db', source: '10.9.9.9', time: NOW }));
    assert.ok(fresh.score < known.score / 2, `${fresh.score} vs ${known.score}`);
  });

  it('tempers a host that is new to the user but common among peers', () => {
    // fs1 is everyone's file server; a user who never used it goes there.
    const d2 = trained(
      [...peers, ...routine('erin', 30).filter((e) => e.host !== 'fs1')].sort((a, b) => a.time - b.time),
    );
    const toFs = d2.score(ev({ user: 'erin', host: 'fs1', source: '10.0.0.4', time: NOW, detail: '3' }));
    const toOdd = d2.score(ev({ user: 'erin', host: 'hr-db', source: '10.0.0.4', time: NOW, detail: '3' }));
    assert.ok(toFs.score < toOdd.score, `${toFs.score} vs ${toOdd.score}`);
  });

  it('scores without changing state', () => {
    const e = ev({ ...usual, time: NOW, host: 'hr-db' });
    const a = d.score(e);
    const b = d.score(e);
    assert.deepEqual(a, b);
    assert.equal(d.baselines.user('alice')?.hosts.get('hr-db'), 0);
  });
});
