import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BehaviorBaselines, CappedCounter, hourOf, weekdayOf } from '../../../src/detectors/behavior/baseline.js';
import { ev, HOUR, T0 } from './uba-fixtures.js';

describe('CappedCounter', () => {
  it('keeps at most cap values, dropping the least counted (oldest on ties)', () => {
    const c = new CappedCounter(3);
    for (const v of ['a', 'a', 'b', 'c', 'c', 'c']) c.add(v);
    c.add('d'); // full: b (count 1) goes
    assert.deepEqual([...c.counts.keys()].sort(), ['a', 'c', 'd']);
    assert.equal(c.get('b'), 0);
    c.add('e'); // d (1, the only singleton) goes
    assert.deepEqual([...c.counts.keys()].sort(), ['a', 'c', 'e']);
    assert.equal(c.total, 8);
    assert.equal(c.evicted, 2);
    assert.equal(c.distinct, 5);
  });
});

describe('time buckets', () => {
  it('hour and weekday in UTC or at an offset', () => {
    const mon0930 = T0 + 9.5 * HOUR; // Monday 2024-01-08 09:30 UTC
    assert.equal(hourOf(mon0930), 9);
    assert.equal(weekdayOf(mon0930), 1);
    assert.equal(hourOf(mon0930, -10 * HOUR), 23);
    assert.equal(weekdayOf(mon0930, -10 * HOUR), 0, 'Sunday evening ten hours west');
  });
});

describe('BehaviorBaselines', () => {
  it('learns hours, weekdays, hosts, sources, processes, services, logon types and failures per user', () => {
    const b = new BehaviorBaselines();
    b.learn(ev({ time: T0 + 9 * HOUR, host: 'ws1', detail: '2' }));
    b.learn(ev({ time: T0 + 9 * HOUR + 1, action: 'process', detail: 'cmd.exe' }));
    b.learn(ev({ time: T0 + 10 * HOUR, action: 'logon-failure', host: 'fs1', detail: '3' }));
    b.learn(ev({ time: T0 + 10 * HOUR, action: 'kerberos-service-ticket', host: 'dc1', detail: 'cifs/fs1' }));
    const p = b.user('alice');
    assert.ok(p);
    assert.equal(p.events, 4);
    assert.equal(p.hours[9], 1, 'only session starts feed the hour histogram');
    assert.equal(p.hours[10], 1);
    assert.equal(p.weekdays[1], 2);
    assert.equal(p.hosts.get('ws1'), 2);
    assert.equal(p.processes.get('cmd.exe'), 1);
    assert.equal(p.services.get('cifs/fs1'), 1);
    assert.deepEqual(
      [...p.logonTypes.counts.entries()],
      [
        ['2', 1],
        ['3', 1],
      ],
    );
    assert.deepEqual(p.recentFailures, [T0 + 10 * HOUR]);
    assert.equal(p.recentNewTickets.length, 1);
  });

  it('groups peers by domain by default, or by an explicit mapping', () => {
    const b = new BehaviorBaselines();
    b.learn(ev({ time: T0, user: 'alice', domain: 'corp.local', host: 'h1' }));
    b.learn(ev({ time: T0, user: 'bob', domain: 'CORP'.toLowerCase(), host: 'h2' }));
    b.learn(ev({ time: T0, user: 'eve', domain: 'other', host: 'h3' }));
    assert.equal(b.peer('corp')?.hosts.total, 2);
    assert.equal(b.peer('other')?.hosts.total, 1);
    const m = new BehaviorBaselines({ peerGroups: new Map([['alice', 'finance']]) });
    m.learn(ev({ time: T0, user: 'alice', host: 'h1' }));
    assert.equal(m.groupOf({ user: 'alice', domain: 'corp' }), 'finance');
    assert.equal(m.peer('finance')?.events, 1);
  });

  it('keeps a user’s memory bounded however many hosts it touches', () => {
    const b = new BehaviorBaselines({ categoryCap: 16, recentCap: 8 });
    for (let i = 0; i < 1000; i++) {
      b.learn(ev({ time: T0 + i * 1000, host: `h${i}`, source: `s${i}`, action: 'logon-failure' }));
    }
    const p = b.user('alice');
    assert.ok(p);
    assert.equal(p.hosts.counts.size, 16);
    assert.equal(p.sources.counts.size, 16);
    assert.equal(p.recentFailures.length, 8);
    assert.equal(p.hosts.total, 1000);
  });

  it('keeps a decayed short- and long-term event rate', () => {
    const b = new BehaviorBaselines({ shortHalfLifeMs: 60_000 });
    b.learn(ev({ time: T0 }));
    b.learn(ev({ time: T0 + 60_000 }));
    const p = b.user('alice');
    assert.ok(p);
    assert.ok(Math.abs(p.shortCount - 1.5) < 1e-9, `${p.shortCount}`);
    assert.ok(p.longCount > 1.99 && p.longCount < 2);
  });
});
