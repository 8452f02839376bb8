import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { constrainedAdversarialTraining } from '../../../src/detectors/network/evasion/adversarial-training.js';
import {
  constrainedEvasion,
  rawMatrix,
  searchSpace,
} from '../../../src/detectors/network/evasion/constrained-evasion.js';
import {
  checkConstraints,
  immutable,
  integerColumns,
  nslKddConstraints,
  oneHotBlocks,
  rateCountConsistency,
  withinRange,
} from '../../../src/detectors/network/evasion/constraints.js';
import { coverConnections, NSL_KDD_TRANSFORMATIONS } from '../../../src/detectors/network/evasion/transformations.js';
import { NidsDetector } from '../../../src/detectors/network/nids-detector.js';
import { type FlowTable, parseFlows, takeRows } from '../../../src/detectors/network/read-flows.js';
import { nslLines, nslRow } from '../../helpers/nids-synthetic.js';

const table = (lines: string[]): FlowTable => parseFlows(lines.join('\n')).table;

describe('constrained evasion of the NIDS classifier', () => {
  let detector: NidsDetector;
  let test: FlowTable;

  before(async () => {
    await initRuntime();
    detector = await NidsDetector.train(table(nslLines(1500, 11)), {
      seed: 1,
      classifier: { epochs: 15 },
      autoencoder: { epochs: 15 },
    });
    test = table(nslLines(300, 12));
  });

  after(() => detector.dispose());

  it('cover connections recompute counts and rates consistently, windows saturate at their caps', () => {
    const row = nslRow('neptune', new Rng(1));
    row[22] = 100; // count: room in the 2-second window for k = count more
    const t = table([row.join(',')]);
    const space = searchSpace(detector, [coverConnections]);
    try {
      const raw = rawMatrix(detector, t);
      const names = detector.encoder.numeric.map((n) => n.name);
      const at = (values: ArrayLike<number>, name: string) => values[names.indexOf(name)] as number;
      const count = at(raw, 'count');
      const k = 600; // more than the 2-second window holds
      const out = tf.tidy(() =>
        coverConnections
          .apply(tf.tensor2d(Float32Array.from(raw), [1, names.length]), tf.tensor1d([k]), space.col)
          .dataSync(),
      );
      assert.equal(at(out, 'count'), 511, 'the 2-second window keeps 511 connections');
      assert.equal(at(out, 'dst_host_count'), 255, 'the host window keeps 255');
      assert.ok(Math.abs(at(out, 'serror_rate')) < 1e-6, 'all window slots are now successful cover connections');
      const small = tf.tidy(() =>
        coverConnections
          .apply(tf.tensor2d(Float32Array.from(raw), [1, names.length]), tf.tensor1d([count]), space.col)
          .dataSync(),
      );
      // k = count: the window doubles, the SYN-error share halves, the same-service share moves halfway to 1.
      assert.equal(at(small, 'count'), 2 * count);
      assert.ok(Math.abs(at(small, 'serror_rate') - at(raw, 'serror_rate') / 2) < 1e-6);
      const same = at(raw, 'same_srv_rate');
      assert.ok(Math.abs(at(small, 'same_srv_rate') - (same + 1) / 2) < 1e-5);
    } finally {
      space.dispose();
    }
  });

  it('each constraint piece rejects the rows that break it', () => {
    const t = table(nslLines(4, 13, { neptune: 1 }));
    const names = detector.encoder.numeric.map((n) => n.name);
    const before = { values: rawMatrix(detector, t), n: t.size, names };
    const values = Float64Array.from(before.values);
    const p = names.length;
    values[0 * p + names.indexOf('dst_bytes')] = 5; // immutable column changed
    values[1 * p + names.indexOf('src_bytes')] = 10.5; // not an integer
    values[2 * p + names.indexOf('serror_rate')] = 1.4; // rate out of range
    values[3 * p + names.indexOf('count')] = 7; // serror_rate 1.0 of 7 is fine; same_srv_rate·7 is not a count
    values[3 * p + names.indexOf('same_srv_rate')] = 0.5;
    const encodedAfter = detector.encoder.encode(t).x;
    encodedAfter[detector.encoder.oneHotRange('flag')[0]] = 0.5; // row 0 one-hot broken
    const input = { before, after: { values, n: t.size, names }, encodedAfter, encoder: detector.encoder };
    assert.deepEqual(
      [...immutable(['src_bytes', 'count', 'same_srv_rate', 'serror_rate']).violations(input)],
      [1, 0, 0, 0],
    );
    assert.deepEqual([...integerColumns(['src_bytes']).violations(input)], [0, 1, 0, 0]);
    assert.deepEqual([...withinRange(['serror_rate'], 0, 1).violations(input)], [0, 0, 1, 0]);
    assert.deepEqual([...rateCountConsistency([['same_srv_rate', 'count']]).violations(input)], [0, 0, 0, 1]);
    assert.deepEqual([...oneHotBlocks.violations(input)], [1, 0, 0, 0]);
  });

  it('lowers attack recall as the budget grows, and every adversarial flow is a valid flow', async () => {
    const result = await constrainedEvasion(detector, test, {
      epsilons: [Number.POSITIVE_INFINITY, 0.5],
      seed: 2,
      steps: 10,
      gridLevels: 2,
    });
    const [small, unbounded] = result.rows;
    assert.equal(small?.eps, 0.5, 'budgets run in increasing order');
    assert.ok(small && unbounded);
    assert.ok(unbounded.classifierRecall <= small.classifierRecall, 'a larger budget never helps the defender');
    assert.ok(small.classifierRecall <= small.classifierRecallClean);
    assert.ok(
      unbounded.classifierRecallClean - unbounded.classifierRecall > 0.2,
      `evasion at ε=∞ lowered recall only from ${unbounded.classifierRecallClean} to ${unbounded.classifierRecall}`,
    );
    for (const row of result.rows) assert.equal(row.constraintViolations, 0);
    // Independent re-check of the returned flows against the original attack flows.
    const attacks = takeRows(
      test,
      test.classes.flatMap((c, i) => (c === 'normal' ? [] : [i])),
    );
    const adv = result.adversarial;
    const names = detector.encoder.numeric.map((n) => n.name);
    const before = { values: rawMatrix(detector, attacks), n: attacks.size, names };
    const afterValues = rawMatrix(detector, adv);
    const mutable = NSL_KDD_TRANSFORMATIONS.flatMap((t) => t.writes);
    const check = checkConstraints(nslKddConstraints(detector.encoder, mutable), {
      before,
      after: { values: afterValues, n: adv.size, names },
      encodedAfter: detector.encoder.encode(adv).x,
      encoder: detector.encoder,
    });
    assert.deepEqual(Object.values(check.byConstraint), new Array(Object.keys(check.byConstraint).length).fill(0));
    const p = names.length;
    let changed = 0;
    for (let i = 0; i < adv.size; i++) {
      for (let j = 0; j < p; j++) if (afterValues[i * p + j] !== before.values[i * p + j]) changed++;
      for (const c of ['count', 'srv_count', 'duration', 'src_bytes']) {
        const v = afterValues[i * p + names.indexOf(c)] as number;
        assert.ok(Number.isInteger(v) && v >= 0, `${c} = ${v}`);
      }
      for (const c of names.filter((n) => n.endsWith('_rate'))) {
        const v = afterValues[i * p + names.indexOf(c)] as number;
        assert.ok(v >= 0 && v <= 1, `${c} = ${v}`);
      }
    }
    assert.ok(changed > 0, 'the attack changed something');
    assert.deepEqual(adv.categorical, attacks.categorical, 'protocol, service and flag are untouched');
  });

  it('constrained adversarial training keeps clean accuracy and raises robust recall', async () => {
    const before = tf.memory().numTensors;
    const { detector: hardened } = await constrainedAdversarialTraining(detector, table(nslLines(1500, 11)), {
      eps: Number.POSITIVE_INFINITY,
      seed: 3,
      epochs: 8,
      steps: 5,
    });
    try {
      const clean = hardened.scoreTable(test);
      let correct = 0;
      test.classes.forEach((c, i) => {
        if (hardened.classNames[clean.predicted[i] as number] === c) correct++;
      });
      assert.ok(correct / test.size > 0.9, `clean 5-class accuracy ${correct / test.size}`);
      const opts = { epsilons: [Number.POSITIVE_INFINITY], seed: 4, steps: 10, gridLevels: 2 };
      const standard = (await constrainedEvasion(detector, test, opts)).rows[0];
      const robust = (await constrainedEvasion(hardened, test, opts)).rows[0];
      assert.ok(standard && robust);
      assert.ok(
        robust.classifierRecall > standard.classifierRecall + 0.1,
        `robust recall ${robust.classifierRecall} vs standard ${standard.classifierRecall}`,
      );
      assert.equal(robust.constraintViolations, 0);
    } finally {
      hardened.classifier.dispose();
    }
    assert.equal(tf.memory().numTensors, before, 'no tensors leak from training and the attacks');
  });
});
