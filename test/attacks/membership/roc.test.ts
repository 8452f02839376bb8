import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { logNormalPdf, logStandardNormalCdf } from '../../../src/attacks/membership/gaussian.js';
import {
  aucOf,
  bestBalancedAccuracy,
  logLogRocPoints,
  membershipMetrics,
  rocCurve,
  tprAtFpr,
} from '../../../src/attacks/membership/roc.js';
import { AegisInputError } from '../../../src/core/errors.js';

describe('ROC metrics', () => {
  test('hand example with a tie: curve, AUC = Mann-Whitney, balanced accuracy, TPR at FPR', () => {
    // members 3, 2, 1; non-members 2, 0. Pairs: 3>2, 3>0, 2=2 (½), 2>0, 1<2, 1>0 → 4.5 / 6.
    const curve = rocCurve([3, 2, 1], [2, 0]);
    assert.deepEqual(curve, [
      { fpr: 0, tpr: 0 },
      { fpr: 0, tpr: 1 / 3 },
      { fpr: 0.5, tpr: 2 / 3 },
      { fpr: 0.5, tpr: 1 },
      { fpr: 1, tpr: 1 },
    ]);
    assert.equal(aucOf(curve), 0.75);
    assert.equal(bestBalancedAccuracy(curve), 0.75); // threshold 1: TPR 1, FPR ½
    assert.equal(tprAtFpr(curve, 0.001), 1 / 3);
    assert.equal(tprAtFpr(curve, 0.5), 1);
    assert.equal(tprAtFpr(curve, 0.49), 1 / 3);
  });

  test('perfect separation, inverted scores and all ties', () => {
    assert.deepEqual(membershipMetrics([5, 4], [1, 0]), {
      auc: 1,
      balancedAccuracy: 1,
      tprAt0_1pctFpr: 1,
      tprAt1pctFpr: 1,
    });
    const inverted = membershipMetrics([0, 1], [4, 5]);
    assert.equal(inverted.auc, 0);
    assert.equal(inverted.tprAt1pctFpr, 0);
    assert.equal(inverted.balancedAccuracy, 0.5); // "everyone is a member" or "no one" is the best threshold
    const ties = membershipMetrics([1, 1, 1], [1, 1]);
    assert.equal(ties.auc, 0.5);
    assert.equal(ties.tprAt0_1pctFpr, 0);
  });

  test('TPR at 0.1% FPR with 1000 non-members allows exactly one false positive', () => {
    const nonMembers = Array.from({ length: 1000 }, (_, i) => i); // 0..999
    // Members: 5 above every non-member, 10 between the top two non-members' scores, rest low.
    const members = [
      ...[2000, 2001, 2002, 2003, 2004],
      ...Array.from({ length: 10 }, () => 998.5),
      ...new Array(85).fill(-1),
    ];
    const m = membershipMetrics(members, nonMembers);
    assert.equal(m.tprAt0_1pctFpr, 15 / 100); // threshold 998.5 lets in one non-member (999): FPR 0.001
    assert.equal(m.tprAt1pctFpr, 15 / 100);
  });

  test('AUC equals the Mann-Whitney statistic on random scores with ties', () => {
    let seed = 7;
    const draw = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return Math.floor((seed / 2147483648) * 20);
    };
    const a = Array.from({ length: 57 }, draw);
    const b = Array.from({ length: 43 }, draw);
    let u = 0;
    for (const x of a) for (const y of b) u += x > y ? 1 : x === y ? 0.5 : 0;
    assert.ok(Math.abs(aucOf(rocCurve(a, b)) - u / (a.length * b.length)) < 1e-12);
  });

  test('log-log points: positive, FPR increasing, at most the requested count', () => {
    const curve = rocCurve([3, 2, 1, 0.5], [2, 0, -1, -2]);
    const points = logLogRocPoints(curve, 10);
    assert.ok(points.length > 0 && points.length <= 10);
    for (let i = 1; i < points.length; i++) assert.ok((points[i]?.x as number) > (points[i - 1]?.x as number));
    assert.ok(points.every((p) => p.x > 0 && p.y > 0));
    assert.deepEqual(points[points.length - 1], { x: 1, y: 1 });
  });

  test('empty or NaN scores are input errors', () => {
    assert.throws(() => rocCurve([], [1]), AegisInputError);
    assert.throws(() => rocCurve([1, Number.NaN], [1]), /member score 1 is NaN/);
  });
});

describe('normal log-density and log-CDF', () => {
  test('match known values, including far tails', () => {
    assert.ok(Math.abs(logStandardNormalCdf(0) - Math.log(0.5)) < 1e-7);
    assert.ok(Math.abs(logStandardNormalCdf(1.959964) - Math.log(0.975)) < 1e-6);
    assert.ok(Math.abs(logStandardNormalCdf(-1.959964) - Math.log(0.025)) < 1e-5);
    // Φ(−10) = 7.6198530e-24; Φ(−30) = 4.906713e-198: finite logs, not −Infinity.
    assert.ok(Math.abs(logStandardNormalCdf(-10) - Math.log(7.619853e-24)) < 1e-5);
    assert.ok(Math.abs(logStandardNormalCdf(-30) - Math.log(4.906713927e-198)) < 1e-5);
    assert.ok(logStandardNormalCdf(8) < 0 && logStandardNormalCdf(8) > -1e-14);
    assert.ok(Math.abs(logNormalPdf(1, 1, 2) - (-Math.log(2) - 0.5 * Math.log(2 * Math.PI))) < 1e-12);
  });
});
