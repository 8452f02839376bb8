import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { augmentImages, shiftGrid } from '../../../src/attacks/membership/augment.js';
import { labelOnlyAttack } from '../../../src/attacks/membership/label-only.js';
import { labelOnlyBoundaryAttack } from '../../../src/attacks/membership/label-only-boundary.js';
import { MembershipTarget } from '../../../src/attacks/membership/target.js';
import { AegisInputError } from '../../../src/core/errors.js';
import { initRuntime } from '../../../src/core/runtime.js';
import { slice } from '../../../src/data/dataset.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import type { TfjsModel } from '../../../src/models/tfjs-model.js';
import { overfitTarget, records } from './synthetic.js';

const members = records(150, 1, 'members');
const nonMembers = records(150, 2, 'non-members');
let target: TfjsModel;

before(async () => {
  await initRuntime();
  target = await overfitTarget(members);
});

after(() => target.dispose());

describe('image augmentations', () => {
  test('flip and shift move pixels as stated, with zero fill', () => {
    // One 2x3 single-channel image: rows [1 2 3] [4 5 6].
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    assert.deepEqual(Array.from(augmentImages(x, [2, 3, 1], { flip: true, dx: 0, dy: 0 })), [3, 2, 1, 6, 5, 4]);
    assert.deepEqual(Array.from(augmentImages(x, [2, 3, 1], { flip: false, dx: 1, dy: 0 })), [0, 1, 2, 0, 4, 5]);
    assert.deepEqual(Array.from(augmentImages(x, [2, 3, 1], { flip: false, dx: 0, dy: -1 })), [4, 5, 6, 0, 0, 0]);
    assert.equal(shiftGrid(1).length, 18);
  });
});

describe('label-only attacks (Choquette-Choo et al.)', () => {
  test('augmentation variant works on a labels-only endpoint and beats chance', async () => {
    const labelsOnly = new QueryCountingModel(target, 'labels');
    const result = await labelOnlyAttack(new MembershipTarget(labelsOnly), { members, nonMembers }, { seed: 3 });
    const row = result.rows[0];
    assert.ok(row && row.auc > 0.65, `label-only AUC ${row?.auc}`);
    assert.equal(row.queries, 300 * 20); // 20 noisy copies per tabular record
    assert.equal(labelsOnly.queries, row.queries);
    assert.equal(result.threatModel.access, 'labels');
    const budgeted = await labelOnlyAttack(
      new MembershipTarget(labelsOnly),
      { members, nonMembers },
      {
        seed: 3,
        queryBudget: 5,
      },
    );
    assert.equal(budgeted.rows[0]?.queries, 300 * 5);
    await assert.rejects(
      labelOnlyAttack(new MembershipTarget(labelsOnly), { members, nonMembers }, { seed: 3, queryBudget: 0 }),
      AegisInputError,
    );
  });

  test('boundary-distance variant (HopSkipJump) scores members farther from the boundary', async () => {
    const labelsOnly = new QueryCountingModel(target, 'labels');
    const data = { members: slice(members, 0, 40), nonMembers: slice(nonMembers, 0, 40) };
    const result = await labelOnlyBoundaryAttack(new MembershipTarget(labelsOnly), data, {
      seed: 1,
      iterations: 5,
      queryBudget: 300,
    });
    const row = result.rows[0];
    assert.ok(row && row.auc > 0.65, `boundary AUC ${row?.auc}`);
    assert.ok(row.queries > 0 && row.queries <= 80 * 300);
  });
});
