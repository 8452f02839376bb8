import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import type { Incident, TriageAlert } from '../../../src/detectors/triage/alert.js';
import {
  type LabelledIncident,
  labelIncidents,
  learningCurve,
  precisionAtK,
  rankingQuality,
  reductionAtRecall,
  type ScoredIncident,
} from '../../../src/detectors/triage/evaluate.js';
import { SignatureRarity } from '../../../src/detectors/triage/features.js';
import { TriageRanker } from '../../../src/detectors/triage/ranker.js';

// score, truth, alerts — 3 true incidents, 45 alerts.
const HAND: ScoredIncident[] = [
  [0.9, true, 5],
  [0.8, false, 10],
  [0.7, true, 1],
  [0.6, false, 3],
  [0.5, false, 2],
  [0.4, true, 4],
  [0.3, false, 20],
].map(([score, truth, alerts]) => ({ score: score as number, truth: truth as boolean, alerts: alerts as number }));

describe('reductionAtRecall', () => {
  it('removes what scores below the last true incident needed for the recall', () => {
    const r95 = reductionAtRecall(HAND, 0.95); // needs all 3 true → threshold 0.4
    assert.equal(r95.threshold, 0.4);
    assert.equal(r95.removedIncidents, 1);
    assert.equal(r95.removedIncidentShare, 1 / 7);
    assert.equal(r95.removedAlerts, 20);
    assert.equal(r95.removedAlertShare, 20 / 45);
    assert.equal(r95.lostTrueIncidents, 0);
    assert.equal(r95.achievedRecall, 1);
    const r50 = reductionAtRecall(HAND, 0.5); // needs 2 → threshold 0.7
    assert.equal(r50.removedIncidents, 4);
    assert.equal(r50.removedAlerts, 3 + 2 + 4 + 20);
    assert.equal(r50.lostTrueIncidents, 1);
    assert.equal(r50.achievedRecall, 2 / 3);
  });

  it('keeps ties: a constant score removes nothing', () => {
    const flat = HAND.map((h) => ({ ...h, score: 1 }));
    assert.equal(reductionAtRecall(flat, 0.95).removedIncidents, 0);
  });

  it('rejects a queue without true incidents and a bad recall', () => {
    assert.throws(() => reductionAtRecall([{ score: 1, truth: false, alerts: 1 }], 0.95), AegisInputError);
    assert.throws(() => reductionAtRecall(HAND, 1.5), /recall/);
    assert.throws(() => reductionAtRecall([{ score: Number.NaN, truth: true, alerts: 1 }], 0.9), /score NaN/);
  });
});

describe('precisionAtK and rankingQuality', () => {
  it('counts the true incidents among the top k and the pairwise AUC', () => {
    assert.equal(precisionAtK(HAND, 1), 1);
    assert.equal(precisionAtK(HAND, 2), 0.5);
    assert.equal(precisionAtK(HAND, 3), 2 / 3);
    assert.equal(precisionAtK(HAND, 100), 3 / 7);
    const q = rankingQuality(HAND, { ks: [2], recalls: [0.95] });
    // True scores .9 .7 .4 against false .8 .6 .5 .3: 4 + 3 + 1 = 8 of 12 pairs ordered right.
    assert.ok(Math.abs((q.auc as number) - 8 / 12) < 1e-12);
    assert.equal(q.precisionAt['2'], 0.5);
    assert.equal(q.incidents, 7);
    assert.equal(q.trueIncidents, 3);
    assert.equal(q.alerts, 45);
    assert.equal(q.reduction[0]?.removedIncidents, 1);
  });
});

function alert(
  id: string,
  signatureId: string,
  severity: TriageAlert['severity'],
  truth: boolean,
  t: number,
): TriageAlert {
  return {
    id,
    time: t,
    source: 'rules',
    signatureId,
    signature: signatureId,
    severity,
    srcIp: `10.0.0.${id}`,
    destIp: '',
    host: '',
    user: '',
    tactic: '',
    technique: '',
    truth,
    raw: null,
  };
}

/** One-alert incidents: 'loud' (high severity, always false) and 'real' (low severity, always true). */
function queue(n: number, offset: number): { alerts: TriageAlert[]; incidents: Incident[] } {
  const alerts = Array.from({ length: n }, (_, i) =>
    i % 2 === 0
      ? alert(`${offset + i}`, 'loud', 'high', false, offset + i)
      : alert(`${offset + i}`, 'real', 'low', true, offset + i),
  );
  const incidents: Incident[] = alerts.map((a) => ({
    id: `inc-${a.id}`,
    key: a.srcIp,
    firstSeen: a.time,
    lastSeen: a.time,
    alertIds: [a.id],
    duplicates: a.truth ? 0 : 2,
  }));
  return { alerts, incidents };
}

describe('labelIncidents and learningCurve', () => {
  it('labels incidents from their alerts and counts duplicates as alerts', () => {
    const { alerts, incidents } = queue(4, 0);
    const labelled = labelIncidents(alerts, incidents, { rarity: new SignatureRarity() });
    assert.deepEqual(
      labelled.map((l) => [l.truth, l.alerts]),
      [
        [false, 3],
        [true, 1],
        [false, 3],
        [true, 1],
      ],
    );
    assert.equal(labelled[0]?.features.values['sig:loud'], 1);
    const broken = [{ ...(incidents[0] as Incident), alertIds: ['nope'] }];
    assert.throws(() => labelIncidents(alerts, broken, { rarity: new SignatureRarity() }), /alert nope/);
  });

  it('simulated verdicts on the top of the training queue improve the held-out ranking', () => {
    const rarity = new SignatureRarity();
    const a = queue(60, 0);
    const b = queue(60, 1000);
    const train: LabelledIncident[] = labelIncidents(a.alerts, a.incidents, { rarity });
    const test: LabelledIncident[] = labelIncidents(b.alerts, b.incidents, { rarity });
    const curve = learningCurve(new TriageRanker(), train, test, [0, 30], { ks: [10], recalls: [0.95] });
    assert.deepEqual(
      curve.map((p) => p.verdicts),
      [0, 30],
    );
    // The prior puts the loud signature on top, so the analyst's first verdicts are false positives.
    assert.equal(curve[0]?.quality.precisionAt['10'], 0);
    assert.ok((curve[1]?.fp as number) >= 1);
    assert.equal(curve[1]?.quality.precisionAt['10'], 1);
    assert.ok((curve[1]?.quality.auc as number) > (curve[0]?.quality.auc as number));
    assert.ok(
      (curve[1]?.quality.reduction[0]?.removedIncidentShare as number) >= 0.5,
      'all loud incidents fall below the true ones',
    );
  });

  it('is deterministic for a seed with the random strategy and analyst errors', () => {
    const rarity = new SignatureRarity();
    const a = queue(40, 0);
    const train = labelIncidents(a.alerts, a.incidents, { rarity });
    const run = () =>
      learningCurve(new TriageRanker(), train, train, [5, 20], { strategy: 'random', errorRate: 0.2, seed: 7 }).map(
        (p) => [p.tp, p.fp, p.quality.auc],
      );
    assert.deepEqual(run(), run());
    assert.throws(() => learningCurve(new TriageRanker(), train, train, [5], { errorRate: 1 }), /errorRate/);
  });
});
