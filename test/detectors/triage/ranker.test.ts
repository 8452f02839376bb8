import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { rocAuc } from '../../../src/detectors/metrics.js';
import type { TriageAlert } from '../../../src/detectors/triage/alert.js';
import { type IncidentFeatures, incidentFeatures, SignatureRarity } from '../../../src/detectors/triage/features.js';
import { TriageRanker } from '../../../src/detectors/triage/ranker.js';

function alert(id: string, signatureId: string, severity: TriageAlert['severity'], truth: boolean): TriageAlert {
  return {
    id,
    time: 1_700_000_000_000,
    source: 'rules',
    signatureId,
    signature: signatureId,
    severity,
    srcIp: '10.0.0.1',
    destIp: '10.0.0.2',
    host: '',
    user: '',
    tactic: '',
    technique: '',
    truth,
    raw: null,
  };
}

/**
 * Single-alert incidents. 'noisy' is high severity and always false; 'quiet-tp' is medium and
 * always true; 'mixed' is medium and true half the time. The prior (severity first) ranks 'noisy' on top.
 */
function synthetic(seed: number, n: number): { features: IncidentFeatures[]; truth: boolean[] } {
  const rng = new Rng(seed);
  const rarity = new SignatureRarity();
  const alerts: TriageAlert[] = [];
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    if (u < 0.4) alerts.push(alert(`a${i}`, 'noisy', 'high', false));
    else if (u < 0.7) alerts.push(alert(`a${i}`, 'quiet-tp', 'medium', true));
    else alerts.push(alert(`a${i}`, 'mixed', 'medium', rng.next() < 0.5));
  }
  for (const a of alerts) rarity.observe(a.signatureId, a.time);
  return {
    features: alerts.map((a) => incidentFeatures([a], { rarity })),
    truth: alerts.map((a) => a.truth === true),
  };
}

const aucOf = (r: TriageRanker, f: IncidentFeatures[], t: boolean[]) =>
  rocAuc(
    f.map((x) => r.logit(x)),
    t,
  );

describe('TriageRanker', () => {
  it('ranks by the prior before any verdict: higher severity scores higher', () => {
    const r = new TriageRanker();
    const rarity = new SignatureRarity();
    const low = incidentFeatures([alert('1', 's', 'low', false)], { rarity });
    const high = incidentFeatures([alert('2', 's', 'high', false)], { rarity });
    assert.ok(r.score(high).score > r.score(low).score);
  });

  it('learns from verdicts that a signature is always false: its incidents drop and AUC rises', () => {
    const train = synthetic(1, 200);
    const test = synthetic(2, 300);
    const r = new TriageRanker();
    const before = aucOf(r, test.features, test.truth);
    const noisyBefore = r.score(test.features[test.truth.indexOf(false)] as IncidentFeatures);
    for (let i = 0; i < 100; i++) {
      r.update(train.features[i] as IncidentFeatures, train.truth[i] ? 'tp' : 'fp');
    }
    const after = aucOf(r, test.features, test.truth);
    assert.ok(before < 0.5, `the prior ranks the noisy high-severity signature first (AUC ${before})`);
    assert.ok(after > before + 0.3, `AUC ${before.toFixed(3)} → ${after.toFixed(3)}`);
    assert.ok(r.weight('sig:noisy') < -0.5, `noisy weight ${r.weight('sig:noisy')}`);
    // The noisy signature's incidents now sit below every always-true incident.
    const ix = (sig: string) => test.features.findIndex((f) => f.values[`sig:${sig}`] === 1);
    const noisy = test.features[ix('noisy')] as IncidentFeatures;
    const quiet = test.features[ix('quiet-tp')] as IncidentFeatures;
    assert.ok(r.score(noisy).score < r.score(quiet).score);
    assert.ok(r.score(noisy).score < noisyBefore.score);
    assert.deepEqual(r.verdicts.tp + r.verdicts.fp, 100);
  });

  it('explains exactly: the reasons sum to the logit and name the features', () => {
    const r = new TriageRanker();
    const { features } = synthetic(3, 50);
    for (let i = 0; i < 20; i++) r.update(features[i] as IncidentFeatures, i % 3 === 0 ? 'tp' : 'fp');
    for (const f of features.slice(20, 30)) {
      const v = r.score(f);
      const sum = v.reasons.reduce((s, x) => s + x.weight, 0);
      assert.ok(Math.abs(sum - v.logit) < 1e-9, `${sum} vs ${v.logit}`);
      assert.ok(Math.abs(v.score - 1 / (1 + Math.exp(-v.logit))) < 1e-12);
      assert.ok(v.reasons.some((x) => x.feature === 'severity_max' && x.detail.includes('highest severity')));
      assert.ok(v.reasons.some((x) => x.feature === 'bias'));
    }
  });

  it('round-trips through JSON with identical scores and keeps learning identically', () => {
    const { features, truth } = synthetic(4, 60);
    const r = new TriageRanker({ learningRate: 0.3, memory: 100, replayEpochs: 1 });
    for (let i = 0; i < 30; i++) r.update(features[i] as IncidentFeatures, truth[i] ? 'tp' : 'fp');
    const copy = TriageRanker.fromJSON(JSON.parse(JSON.stringify(r.toJSON())));
    for (const f of features) assert.equal(copy.score(f).score, r.score(f).score);
    r.update(features[40] as IncidentFeatures, 'tp');
    copy.update(features[40] as IncidentFeatures, 'tp');
    for (const f of features) assert.equal(copy.logit(f), r.logit(f));
    assert.deepEqual(copy.verdicts, r.verdicts);
  });

  it('rejects bad verdicts, non-finite features and foreign state with input errors', () => {
    const r = new TriageRanker();
    assert.throws(() => r.update({ severity_max: 1 }, 'maybe' as 'tp'), AegisInputError);
    assert.throws(() => r.score({ severity_max: Number.NaN }), /severity_max.*finite/);
    assert.throws(() => TriageRanker.fromJSON({ kind: 'something-else' }), AegisInputError);
    assert.throws(() => new TriageRanker({ learningRate: 0 }), /learningRate/);
  });
});
