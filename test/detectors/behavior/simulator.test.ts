import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { generateOffice } from '../../../src/detectors/behavior/office.js';
import { plantCompromises } from '../../../src/detectors/behavior/simulator.js';

const office = generateOffice({ users: 20, days: 7, seed: 11 });

describe('generateOffice', () => {
  it('is seeded, sorted, and looks like an office (workday hours, machine accounts flagged)', () => {
    const again = generateOffice({ users: 20, days: 7, seed: 11 });
    assert.deepEqual(again.events.slice(0, 50), office.events.slice(0, 50));
    assert.equal(again.events.length, office.events.length);
    assert.notEqual(generateOffice({ users: 20, days: 7, seed: 12 }).events.length, office.events.length);
    for (let i = 1; i < office.events.length; i++) assert.ok(office.events[i - 1].time <= office.events[i].time);
    const human = office.events.filter((e) => !e.machineAccount && e.user.startsWith('user') && e.action === 'logon');
    const office_hours = human.filter((e) => {
      const h = new Date(e.time).getUTCHours();
      return h >= 6 && h <= 20;
    });
    assert.ok(office_hours.length / human.length > 0.97, `${office_hours.length}/${human.length}`);
    assert.ok(office.events.some((e) => e.machineAccount && e.user.endsWith('$')));
  });
});

describe('plantCompromises', () => {
  it('plants labelled events in the victims’ names after the start, keeping the benign events', () => {
    const p = plantCompromises(office.events, { seed: 5, victims: 3, intensity: 'high' });
    assert.equal(p.victims.length, 3);
    assert.equal(p.events.length, office.events.length + p.planted.size);
    const t0 = office.events[0].time;
    const span = office.events[office.events.length - 1].time - t0;
    for (const v of p.victims) {
      const mine = p.events.filter((e) => v.recordIds.includes(e.recordId));
      assert.equal(mine.length, v.recordIds.length);
      // The spray's failed logons name other accounts; everything else is in the victim's name.
      assert.ok(mine.every((e) => !e.machineAccount && (e.user === v.user || e.action === 'logon-failure')));
      assert.ok(
        mine.some((e) => e.user !== v.user),
        'high intensity includes a password spray',
      );
      assert.equal(v.start, Math.min(...mine.map((e) => e.time)));
      assert.ok(v.start >= t0 + 0.5 * span, 'the first half stays clean');
      assert.equal(v.techniques.length, 7);
    }
    const benignIds = new Set(office.events.map((e) => e.recordId));
    assert.ok([...p.planted].every((id) => !benignIds.has(id)));
  });

  it('is reproducible from its seed and varies with it', () => {
    const a = plantCompromises(office.events, { seed: 5, victims: 2 });
    const b = plantCompromises(office.events, { seed: 5, victims: 2 });
    const c = plantCompromises(office.events, { seed: 6, victims: 2 });
    assert.deepEqual(a.victims, b.victims);
    assert.notDeepEqual(
      a.victims.map((v) => [v.user, v.start]),
      c.victims.map((v) => [v.user, v.start]),
    );
  });

  it('plants only the techniques asked: Kerberoasting is a burst of service tickets for new services', () => {
    const p = plantCompromises(office.events, {
      seed: 2,
      victims: ['user0003'],
      techniques: ['kerberoasting'],
      intensity: 'low',
    });
    const planted = p.events.filter((e) => p.planted.has(e.recordId));
    assert.ok(planted.length >= 10);
    assert.ok(planted.every((e) => e.action === 'kerberos-service-ticket' && e.detail.startsWith('mssqlsvc/')));
    assert.ok(planted[planted.length - 1].time - planted[0].time < 10 * 60_000);
  });

  it('moves laterally only to hosts the victim never used', () => {
    const p = plantCompromises(office.events, { seed: 4, victims: ['user0005'], techniques: ['lateral-movement'] });
    const before = new Set(office.events.filter((e) => e.user === 'user0005').map((e) => e.host));
    const hosts = p.events.filter((e) => p.planted.has(e.recordId)).map((e) => e.host);
    assert.ok(hosts.length > 0 && hosts.every((h) => !before.has(h)), hosts.join());
  });

  it('rejects impossible requests with a clear message', () => {
    assert.throws(() => plantCompromises(office.events, { victims: 500 }), AegisInputError);
    assert.throws(() => plantCompromises(office.events, { victims: ['nobody'] }), /no user 'nobody'/);
    assert.throws(() => plantCompromises([], {}), /empty/);
  });
});
