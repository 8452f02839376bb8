import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { shadowAttack } from '../../../src/attacks/membership/shadow-attack.js';
import { MembershipTarget } from '../../../src/attacks/membership/target.js';
import { AegisInputError } from '../../../src/core/errors.js';
import { initRuntime } from '../../../src/core/runtime.js';
import type { TfjsModel } from '../../../src/models/tfjs-model.js';
import { overfitTarget, records, TARGET_SPEC } from './synthetic.js';

const members = records(150, 1, 'members');
const nonMembers = records(150, 2, 'non-members');
const shadowData = records(300, 4, 'attacker-data'); // the attacker's own records, disjoint draw
let target: TfjsModel;

before(async () => {
  await initRuntime();
  target = await overfitTarget(members);
});

after(() => target.dispose());

describe('shadow models + attack classifier (Shokri et al.)', () => {
  test('learns membership from 3 shadows and scores the target above chance, reproducibly', async () => {
    const options = { shadows: 3, spec: TARGET_SPEC, shadowData, seed: 2, workers: 1 };
    const result = await shadowAttack(new MembershipTarget(target), { members, nonMembers }, options);
    const row = result.rows[0];
    assert.ok(row && row.auc > 0.72, `shadow attack AUC ${row?.auc}`);
    assert.equal(row.queries, 300);
    assert.equal(row.shadows, 3);
    const again = await shadowAttack(new MembershipTarget(target), { members, nonMembers }, options);
    assert.deepEqual(again.scores, result.scores);
  });

  test('shadow data too small for an IN and an OUT half is an input error', async () => {
    await assert.rejects(
      shadowAttack(
        new MembershipTarget(target),
        { members, nonMembers },
        {
          shadows: 2,
          spec: TARGET_SPEC,
          shadowData,
          shadowTrainSize: 200,
          seed: 0,
        },
      ),
      (e: Error) => e instanceof AegisInputError && /needs 2 × 200 shadow records.*has 300/.test(e.message),
    );
  });
});
