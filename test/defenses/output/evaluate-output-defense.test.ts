import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initRuntime } from '../../../src/core/runtime.js';
import { type Dataset, slice } from '../../../src/data/dataset.js';
import { loadFashionMnist } from '../../../src/data/fashion-mnist.js';
import {
  type DefenseMeasurement,
  evaluateOutputDefenses,
} from '../../../src/defenses/output/evaluate-output-defense.js';
import { labelOnlyDefense } from '../../../src/defenses/output/label-only.js';
import { topKDefense } from '../../../src/defenses/output/top-k.js';
import type { TfjsModel } from '../../../src/models/tfjs-model.js';
import { trainClassifier } from '../../../src/models/train-classifier.js';

type Row = Record<string, number>;

function rowOf(m: DefenseMeasurement | undefined, attack: string): Row | undefined {
  const result = m?.attacks.find((a) => a.attack === attack)?.result;
  return result?.rows[result.rows.length - 1] as Row | undefined;
}

/** The strongest membership attack that ran against the model. */
function bestAuc(m: DefenseMeasurement | undefined): number {
  const aucs = (m?.attacks ?? [])
    .flatMap((a) => (a.family === 'membership' && a.result ? [a.result.rows[0] as Row] : []))
    .map((row) => row.auc as number);
  return Math.max(...aucs);
}

describe('evaluating output defenses on an overfit logistic regression (bundled Fashion-MNIST)', () => {
  let victim: TfjsModel;
  let members: Dataset;
  let nonMembers: Dataset;
  let test: Dataset;
  let transfer: Dataset;

  before(async () => {
    await initRuntime();
    const train = loadFashionMnist({ split: 'train', source: 'bundled' });
    const heldOut = loadFashionMnist({ split: 'test', source: 'bundled' });
    members = slice(train, 0, 100);
    nonMembers = slice(heldOut, 0, 100);
    test = slice(heldOut, 200, 1000);
    transfer = slice(train, 1000, 2000);
    // 100 images, 100 epochs: fits its members much better than new images (membership signal).
    ({ model: victim } = await trainClassifier('logistic', members, {
      epochs: 100,
      learningRate: 0.01,
      seed: 1,
      progress: false,
    }));
  });

  it('label-only lowers KnockoffNets fidelity at 200 queries and the best membership AUC towards 0.5', async () => {
    const { measurements, results } = await evaluateOutputDefenses(victim, [{ defense: labelOnlyDefense }], {
      seed: 0,
      test,
      extraction: { transfer, budgets: [200], surrogate: 'logistic', epochs: 50, learningRate: 0.01 },
      membership: { data: { members, nonMembers }, attacks: ['threshold', 'label-only'] },
    });
    const [none, labels] = measurements;
    assert.equal(none?.defense, 'none');
    assert.equal(labels?.access, 'labels');
    // Utility: the same labels, but no confidence (ECE = error rate).
    assert.equal(labels?.utility.accuracy, none?.utility.accuracy);
    assert.equal(labels?.utility.agreement, 1);
    assert.ok(Math.abs((labels?.utility.ece as number) - (1 - (labels?.utility.accuracy as number))) < 1e-9);

    // Extraction: hard labels teach the surrogate less than probabilities (measured 0.876 vs 0.803).
    const fidelity =
      (rowOf(none, 'knockoff-random')?.fidelity as number) - (rowOf(labels, 'knockoff-random')?.fidelity as number);
    assert.ok(fidelity > 0.03, `fidelity drop ${fidelity}`);

    // Membership: the threshold attacks are refused; the best attack left is much closer to chance
    // (measured: loss threshold 0.840 undefended, label-only attack 0.651).
    const refused = labels?.attacks.find((a) => a.attack === 'loss-threshold');
    assert.match(refused?.refused ?? '', /grants 'labels' access, not 'scores'/);
    const before = bestAuc(none);
    const after = bestAuc(labels);
    assert.ok(before > 0.75, `undefended best AUC ${before}`);
    assert.ok(before - after > 0.1, `best AUC ${before} → ${after}`);
    assert.ok(after > 0.5);

    // Report rows: refused attacks say so beside the undefended figure; ran attacks carry it too.
    const refusedRow = results.find((r) => r.attack === 'loss-threshold' && r.title.includes('label-only'))
      ?.rows[0] as Row;
    assert.deepEqual(Object.keys(refusedRow).sort(), [
      'refused',
      'undefendedAuc',
      'undefendedBalancedAccuracy',
      'undefendedTprAt0_1pctFpr',
      'undefendedTprAt1pctFpr',
    ]);
    const knockoffRow = results.find((r) => r.attack === 'knockoff-random' && r.title.includes('label-only'))
      ?.rows[0] as Row;
    assert.equal(knockoffRow.undefendedFidelity, rowOf(none, 'knockoff-random')?.fidelity);
    assert.deepEqual(results.find((r) => r.title.includes('label-only'))?.mitigations, ['AML.M0002']);
  });

  it('top-1 defeats the renormalising confidence attack but not one that reads the returned score; equation-solving fails on zeros', async () => {
    const { measurements } = await evaluateOutputDefenses(
      victim,
      [
        { defense: topKDefense, params: { k: 1 } },
        { defense: topKDefense, params: { k: 1, renormalise: true } },
      ],
      {
        seed: 0,
        test,
        equationSolving: { victim },
        membership: { data: { members, nonMembers }, attacks: ['threshold', 'returned-score'] },
      },
    );
    const [none, top1, oneHot] = measurements;
    const auc = (m: DefenseMeasurement | undefined, attack: string) => rowOf(m, attack)?.auc as number;
    // Renormalised (or read through a softmax of log-scores), top-1 leaves confidence 1 for every record.
    assert.equal(auc(top1, 'confidence-threshold'), 0.5);
    assert.equal(auc(oneHot, 'returned-confidence'), 0.5);
    // Without renormalising, the returned top score is the undefended confidence: the same AUC.
    assert.equal(auc(top1, 'returned-confidence'), auc(none, 'confidence-threshold'));
    assert.ok(auc(none, 'confidence-threshold') > 0.7);
    // The returned true-class score is the loss attack without the log: zeroing wrong classes costs it
    // nothing (measured 0.840 for both), while the renormalising loss attack drops to 0.655.
    assert.ok(Math.abs(auc(top1, 'returned-true-score') - auc(none, 'loss-threshold')) < 0.01);
    assert.ok(auc(top1, 'loss-threshold') < auc(none, 'loss-threshold') - 0.1);
    // Top-1 keeps labels and confidences: no utility cost at all.
    assert.deepEqual(top1?.utility, none?.utility);

    // Equation-solving recovers the undefended regression from d + 1 queries; every top-1 answer has zeros.
    assert.ok((rowOf(none, 'equation-solving')?.fidelity as number) > 0.99);
    assert.match(
      top1?.attacks.find((a) => a.attack === 'equation-solving')?.refused ?? '',
      /every query returned a zero probability/,
    );
  });
});
