import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateOffice } from '../../../src/detectors/behavior/office.js';
import { RiskAccumulator, scoreEvents, scoreStream } from '../../../src/detectors/behavior/risk.js';
import { BEHAVIOR_MIGRATIONS, readUserRisk, saveUserRisk } from '../../../src/detectors/behavior/risk-store.js';
import { plantCompromises } from '../../../src/detectors/behavior/simulator.js';
import { openStore } from '../../../src/store/store.js';
import { DAY, ev, HOUR, T0 } from './uba-fixtures.js';

const verdict = (score: number, feature = 'new-host') => ({
  score,
  label: 'anomalous',
  reasons: [{ feature, detail: 'x', weight: score }],
});

describe('RiskAccumulator', () => {
  it('halves risk after one half-life and ignores events under the threshold', () => {
    const acc = new RiskAccumulator(6 * HOUR, 5);
    assert.equal(acc.add(ev({ time: T0 }), verdict(8)), true);
    assert.equal(acc.add(ev({ time: T0 + HOUR }), verdict(4)), false);
    assert.equal(acc.riskOf('alice', T0), 8);
    assert.ok(Math.abs(acc.riskOf('alice', T0 + 6 * HOUR) - 4) < 1e-9);
    assert.ok(Math.abs(acc.riskOf('alice', T0 + 12 * HOUR) - 2) < 1e-9);
    const [u] = acc.ranking(T0 + 6 * HOUR);
    assert.ok(Math.abs(u.risk - 4) < 1e-9);
    assert.equal(u.reasons[0].feature, 'new-host');
    assert.ok(Math.abs(u.reasons[0].weight - 4) < 1e-9);
    assert.equal(u.alerts, 1);
    assert.equal(u.events, 2);
  });

  it("keeps each user's peak risk; rankBy peak puts an old incident above a fresh small one", () => {
    const acc = new RiskAccumulator(DAY, 5);
    acc.add(ev({ time: T0, user: 'old' }), verdict(40));
    acc.add(ev({ time: T0 + 10 * DAY, user: 'fresh' }), verdict(6));
    const now = T0 + 10 * DAY;
    const byRisk = acc.ranking(now);
    assert.deepEqual(
      byRisk.map((u) => u.user),
      ['fresh', 'old'],
    );
    const old = byRisk[1];
    assert.ok(Math.abs(old.risk - 40 / 1024) < 1e-9, 'ten half-lives later');
    assert.equal(old.peakRisk, 40);
    assert.equal(old.peakAt, T0);
    assert.deepEqual(
      acc.ranking(now, { rankBy: 'peak' }).map((u) => u.user),
      ['old', 'fresh'],
    );
  });

  it('ranks by risk and leaves machine accounts out unless asked', () => {
    const acc = new RiskAccumulator(DAY, 5);
    acc.add(ev({ time: T0, user: 'bob' }), verdict(6));
    acc.add(ev({ time: T0, user: 'alice' }), verdict(9));
    acc.add(ev({ time: T0, user: 'ws1$', machineAccount: true }), verdict(20));
    assert.deepEqual(
      acc.ranking(T0).map((u) => u.user),
      ['alice', 'bob'],
    );
    assert.deepEqual(
      acc.ranking(T0, { includeMachineAccounts: true }).map((u) => u.user),
      ['ws1$', 'alice', 'bob'],
    );
  });
});

describe('scoreStream', () => {
  const office = generateOffice({ users: 30, days: 10, seed: 3 });
  const plant = plantCompromises(office.events, {
    seed: 3,
    victims: 2,
    intensity: 'medium',
    startAfter: 0.85,
    startBefore: 0.9,
  });

  it('ranks the planted compromised users first and keeps clean users below the alert threshold', () => {
    const r = scoreEvents(plant.events);
    const victims = new Set(plant.victims.map((v) => v.user));
    assert.deepEqual(new Set(r.users.slice(0, 2).map((u) => u.user)), victims);
    for (const u of r.users.slice(2)) assert.ok(u.risk < 5, `${u.user} risk ${u.risk}`);
    assert.ok(r.users[0].reasons.length > 0);
    assert.equal(r.events, plant.events.length);
    assert.ok(r.machineAccountsExcluded >= 30, 'workstation machine accounts are not ranked');
    assert.ok(r.users.every((u) => !u.machineAccount));
  });

  it('gives the same ranking from an async iterable', async () => {
    async function* gen() {
      for (const e of plant.events) yield e;
    }
    const a = await scoreStream(gen());
    const b = scoreEvents(plant.events);
    assert.deepEqual(
      a.users.map((u) => [u.user, u.risk]),
      b.users.map((u) => [u.user, u.risk]),
    );
  });
});

describe('risk store', () => {
  it('migrates uba_user_risk and round-trips users, replacing on save', () => {
    const db = openStore(':memory:', BEHAVIOR_MIGRATIONS);
    assert.equal(readUserRisk(db).size, 0);
    const reasons = [{ feature: 'new-host', detail: 'first logon to host x', weight: 3 }];
    saveUserRisk(db, [{ user: 'alice', domain: 'corp', risk: 7.5, reasons }], 1000);
    saveUserRisk(
      db,
      [
        { user: 'alice', domain: 'corp', risk: 2, reasons: [] },
        { user: 'bob', risk: 1, reasons },
      ],
      2000,
    );
    const got = readUserRisk(db);
    assert.deepEqual(got.get('alice'), { risk: 2, reasons: [], domain: 'corp', updatedAt: 2000 });
    assert.deepEqual(got.get('bob')?.reasons, reasons);
    const cols = db.prepare('PRAGMA table_info(uba_user_risk)').all() as { name: string }[];
    assert.deepEqual(
      cols.map((c) => c.name),
      ['user', 'domain', 'risk', 'updated_at', 'reasons'],
    );
    db.close();
  });

  it('reads nothing from a store without the table', () => {
    const db = openStore(':memory:', []);
    assert.equal(readUserRisk(db).size, 0);
    db.close();
  });
});
