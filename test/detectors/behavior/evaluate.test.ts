import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  detectionDelays,
  evaluateUba,
  falseAlarmsPerUserDay,
  pessimisticRank,
  precisionAtK,
  recallAtK,
} from '../../../src/detectors/behavior/evaluate.js';
import { generateOffice } from '../../../src/detectors/behavior/office.js';
import { plantCompromises } from '../../../src/detectors/behavior/simulator.js';
import { DAY, HOUR, T0 } from './uba-fixtures.js';

describe('ranking metrics on a hand example', () => {
  const ranked = ['a', 'b', 'c', 'd', 'e'];
  const positives = new Set(['b', 'd', 'z']);

  it('precision and recall at k', () => {
    assert.equal(precisionAtK(ranked, positives, 1), 0);
    assert.equal(precisionAtK(ranked, positives, 2), 0.5);
    assert.equal(precisionAtK(ranked, positives, 4), 0.5);
    assert.equal(precisionAtK(ranked, positives, 10), 0.2, 'divides by k even past the list');
    assert.equal(recallAtK(ranked, positives, 4), 2 / 3);
    assert.throws(() => precisionAtK(ranked, positives, 0), /positive integer/);
  });

  it('ranks ties pessimistically', () => {
    const users = [
      { user: 'a', risk: 3 },
      { user: 'b', risk: 1 },
      { user: 'c', risk: 1 },
      { user: 'd', risk: 0 },
    ];
    assert.equal(pessimisticRank(users, 'a'), 1);
    assert.equal(pessimisticRank(users, 'b'), 3);
    assert.equal(pessimisticRank(users, 'c'), 3);
    assert.equal(pessimisticRank(users, 'x'), null);
  });

  it('detection delay: first alarm at or after the start; null when missed', () => {
    const rows = detectionDelays(
      [
        { user: 'v', start: 100 },
        { user: 'w', start: 100 },
      ],
      [
        { user: 'v', time: 50 },
        { user: 'v', time: 300 },
        { user: 'v', time: 150 },
        { user: 'x', time: 120 },
      ],
    );
    assert.deepEqual(rows, [
      { user: 'v', start: 100, firstAlarm: 150, delayMs: 50 },
      { user: 'w', start: 100, firstAlarm: null, delayMs: null },
    ]);
  });

  it('false alarms per user-day count clean users and victims before their start', () => {
    const events = [
      { user: 'a', time: T0 + HOUR },
      { user: 'a', time: T0 + 2 * HOUR },
      { user: 'a', time: T0 + DAY + HOUR },
      { user: 'b', time: T0 + HOUR },
      { user: 'v', time: T0 + HOUR },
      { user: 'v', time: T0 + DAY + HOUR },
    ];
    const alarms = [
      { user: 'a', time: T0 + HOUR },
      { user: 'v', time: T0 + HOUR }, // before v's compromise: false
      { user: 'v', time: T0 + DAY + HOUR }, // after: true
    ];
    // clean user-days: a×2, b×1, v×1 (day 0 only) = 4; false alarms: 2
    assert.deepEqual(falseAlarmsPerUserDay(events, alarms, [{ user: 'v', start: T0 + DAY }]), {
      falseAlarms: 2,
      userDays: 4,
      rate: 0.5,
    });
  });
});

describe('evaluateUba', () => {
  it('finds planted victims in the top k with a delay measured from their first planted event', () => {
    const office = generateOffice({ users: 25, days: 8, seed: 9 });
    const plant = plantCompromises(office.events, { seed: 9, victims: 2, intensity: 'high', startAfter: 0.8 });
    const r = evaluateUba(plant.events, plant.victims, { k: 2 });
    assert.equal(r.precisionAtK, 1);
    assert.equal(r.detected, 2);
    for (const d of r.delays) {
      assert.ok(d.delayMs !== null && d.delayMs >= 0 && d.delayMs < DAY);
      assert.ok(d.topKDelayMs !== null && d.topKDelayMs >= (d.delayMs ?? 0));
      assert.ok(d.finalRank !== null && d.finalRank <= 2);
    }
    assert.ok(r.cleanUserDays > 100);
    assert.ok(r.falseAlarmsPerUserDay < 0.2, `${r.falseAlarmsPerUserDay}`);
    assert.equal(r.cleanInTopK, 0);
    // The spray's failed logons against other accounts alarm; told which events were planted, those
    // alarms move out of the false alarms.
    const told = evaluateUba(plant.events, plant.victims, { k: 2, planted: plant.planted });
    assert.ok(told.alarmsOnAttackTargets > 0);
    assert.equal(told.falseAlarms + told.alarmsOnAttackTargets, r.falseAlarms);
  });
});
