import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MembershipTarget } from '../../../src/attacks/membership/target.js';
import { thresholdAttacks } from '../../../src/attacks/membership/threshold.js';
import { AccessError } from '../../../src/core/errors.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import type { TfjsModel } from '../../../src/models/tfjs-model.js';
import { overfitTarget, records } from './synthetic.js';

const members = records(150, 1, 'members');
const nonMembers = records(150, 2, 'non-members');
const elsewhere = records(150, 3, 'other');
let target: TfjsModel;
let control: TfjsModel;

before(async () => {
  await initRuntime();
  target = await overfitTarget(members);
  control = await overfitTarget(elsewhere); // never saw the members
});

after(() => {
  target.dispose();
  control.dispose();
});

describe('loss and confidence threshold (Yeom et al.)', () => {
  test('separates the members of an overfit model; chance on a model that never saw them', async () => {
    const [loss, confidence] = await thresholdAttacks(new MembershipTarget(target), { members, nonMembers });
    const row = loss.rows[0];
    assert.ok(row && row.auc > 0.75, `overfit target: loss-threshold AUC ${row?.auc} should be clearly above 0.5`);
    assert.ok((confidence.rows[0]?.auc ?? 0) > 0.55, `confidence AUC ${confidence.rows[0]?.auc}`);
    assert.ok(row.balancedAccuracy > 0.65 && row.balancedAccuracy <= 1);
    assert.equal(row.queries, 300);
    assert.equal(loss.atlas, 'AML.T0024.000');
    assert.equal(loss.charts[0]?.logX, true);

    const [controlLoss] = await thresholdAttacks(new MembershipTarget(control), { members, nonMembers });
    const auc = controlLoss.rows[0]?.auc ?? 0;
    assert.ok(Math.abs(auc - 0.5) < 0.1, `control model: AUC ${auc} should be near 0.5`);
  });

  test('audit lists the most exposed members: lowest loss first, with index and label', async () => {
    const [loss] = await thresholdAttacks(new MembershipTarget(target), { members, nonMembers }, { auditCount: 5 });
    assert.equal(loss.exposed.length, 5);
    const scores = loss.scores.members;
    const top = Math.max(...scores);
    assert.equal(loss.exposed[0]?.score, top);
    assert.equal(loss.exposed[0]?.label, members.y[loss.exposed[0]?.index as number]);
    for (let i = 1; i < 5; i++) assert.ok((loss.exposed[i]?.score as number) <= (loss.exposed[i - 1]?.score as number));
  });

  test('needs scores: a labels-only endpoint is refused naming what is missing', async () => {
    const labelsOnly = new QueryCountingModel(target, 'labels');
    await assert.rejects(
      thresholdAttacks(new MembershipTarget(labelsOnly), { members, nonMembers }),
      (e: Error) => e instanceof AccessError && /needs 'scores' access/.test(e.message),
    );
  });

  test('same model, same figures; no tensors leak', async () => {
    const before = tf.memory().numTensors;
    const a = await thresholdAttacks(new MembershipTarget(target), { members, nonMembers });
    const b = await thresholdAttacks(new MembershipTarget(target), { members, nonMembers });
    assert.deepEqual(a[0].scores, b[0].scores);
    assert.equal(tf.memory().numTensors, before);
  });
});
