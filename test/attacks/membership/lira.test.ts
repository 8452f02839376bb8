import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inclusionMatrix, liraAttacks } from '../../../src/attacks/membership/lira.js';
import { MembershipTarget } from '../../../src/attacks/membership/target.js';
import { thresholdAttacks } from '../../../src/attacks/membership/threshold.js';
import { AccessError, AegisInputError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { initRuntime } from '../../../src/core/runtime.js';
import { slice } from '../../../src/data/dataset.js';
import { loadFashionMnist } from '../../../src/data/fashion-mnist.js';
import { buildLogisticRegression } from '../../../src/models/builders.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import { TfjsModel } from '../../../src/models/tfjs-model.js';
import { trainModel } from '../../../src/models/train.js';
import { overfitTarget, records, TARGET_SPEC } from './synthetic.js';

const members = records(150, 1, 'members');
const nonMembers = records(150, 2, 'non-members');
const data = { members, nonMembers };
let target: TfjsModel;

before(async () => {
  await initRuntime();
  target = await overfitTarget(members);
});

after(() => target.dispose());

describe('LiRA (Carlini et al.)', () => {
  test('every record is IN for exactly half of the shadows', () => {
    const keep = inclusionMatrix(6, 50, new Rng(3));
    for (let r = 0; r < 50; r++)
      assert.equal(
        keep.reduce((s, row) => s + (row[r] as number), 0),
        3,
      );
  });

  test('4 tiny shadows beat chance; worker threads give the same figures as one thread', async () => {
    const options = { shadows: 4, spec: TARGET_SPEC, seed: 5 };
    const [online, offline] = await liraAttacks(new MembershipTarget(target), data, { ...options, workers: 2 });
    const on = online.rows[0];
    const off = offline.rows[0];
    assert.ok(on && on.auc > 0.7, `LiRA online AUC ${on?.auc}`);
    assert.ok(off && off.auc > 0.6, `LiRA offline AUC ${off?.auc}`);
    assert.equal(on.shadows, 4);
    assert.equal(on.queries, 300); // tabular data: one query per record, no augmentations
    const [loss] = await thresholdAttacks(new MembershipTarget(target), data);
    assert.ok(on.auc > (loss.rows[0]?.auc ?? 1) - 0.05, `online ${on.auc} vs loss ${loss.rows[0]?.auc}`);

    const [again] = await liraAttacks(new MembershipTarget(target), data, { ...options, workers: 1 });
    assert.deepEqual(again.scores, online.scores);
  });

  test('images: flip/shift augmentation queries, limited by the query budget', async () => {
    const images = loadFashionMnist({ split: 'train', source: 'bundled', limit: 200 });
    const imageData = { members: slice(images, 0, 100), nonMembers: slice(images, 100, 200) };
    const spec = { arch: 'logistic' as const, epochs: 40, batchSize: 16, learningRate: 3e-3 };
    const net = buildLogisticRegression({ inputShape: [28, 28, 1], numClasses: 10, seed: 9 });
    await trainModel(net, imageData.members, { ...spec, seed: 9, progress: false });
    const model = new TfjsModel(net);
    try {
      const options = { shadows: 4, spec, seed: 1, workers: 1 };
      const [online] = await liraAttacks(new MembershipTarget(model, 'scores'), imageData, options);
      assert.equal(online.rows[0]?.queries, 200 * 10); // identity + flip, each unshifted and shifted ±1 in x and y
      assert.ok((online.rows[0]?.auc ?? 0) > 0.6, `image LiRA AUC ${online.rows[0]?.auc}`);
      const [budgeted] = await liraAttacks(new MembershipTarget(model, 'scores'), imageData, {
        ...options,
        queryBudget: 3,
      });
      assert.equal(budgeted.rows[0]?.queries, 200 * 3);
      assert.equal(budgeted.threatModel.queryBudget, 3);
    } finally {
      model.dispose();
    }
  });

  test('needs scores, and at least 2 shadows', async () => {
    const labelsOnly = new MembershipTarget(new QueryCountingModel(target, 'labels'));
    await assert.rejects(
      liraAttacks(labelsOnly, data, { shadows: 4, spec: TARGET_SPEC, seed: 0 }),
      (e: Error) => e instanceof AccessError && /LiRA needs 'scores' access/.test(e.message),
    );
    await assert.rejects(
      liraAttacks(new MembershipTarget(target), data, { shadows: 1, spec: TARGET_SPEC, seed: 0 }),
      (e: Error) => e instanceof AegisInputError && /at least 2 shadow models/.test(e.message),
    );
  });
});
