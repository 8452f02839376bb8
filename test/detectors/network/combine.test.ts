import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { rocAuc } from '../../../src/detectors/metrics.js';
import {
  calibrateEvidence,
  combinedEvidence,
  evidenceScore,
  fitTail,
  tailEvidence,
  tailEvidenceSurrogate,
} from '../../../src/detectors/network/combine.js';
import { NidsDetector } from '../../../src/detectors/network/nids-detector.js';
import { type FlowTable, isAttack, parseFlows } from '../../../src/detectors/network/read-flows.js';
import { nslLines } from '../../helpers/nids-synthetic.js';

/** Box–Muller normal draws from the seeded Rng. */
function normals(rng: Rng, n: number, mean: number, sd: number): Float64Array {
  return Float64Array.from({ length: n }, () => {
    const u = Math.max(rng.next(), 1e-12);
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  });
}

describe('benign-tail evidence', () => {
  before(async () => {
    await initRuntime();
  });

  it('is −log10 of the empirical benign p-value inside the sample and keeps growing beyond it', () => {
    const benign = normals(new Rng(1), 5000, 0, 1);
    const tail = fitTail(benign);
    const sorted = Float64Array.from(benign).sort();
    // The 90th and 99th percentiles are exceeded by ~10% and ~1% of benign scores.
    assert.ok(Math.abs(tailEvidence(tail, sorted[4500] as number) - 1) < 0.05);
    assert.ok(Math.abs(tailEvidence(tail, sorted[4950] as number) - 2) < 0.1);
    assert.equal(tailEvidence(tail, -100), 0);
    // Monotone, and strictly increasing beyond the largest benign score (so extreme flows stay ranked).
    let last = -1;
    for (let s = -4; s <= 12; s += 0.05) {
      const q = tailEvidence(tail, s);
      assert.ok(q >= last, `evidence decreased at ${s}`);
      last = q;
    }
    const top = sorted[4999] as number;
    assert.ok(tailEvidence(tail, top + 2) > tailEvidence(tail, top + 1));
    assert.ok(tailEvidence(tail, top + 1) > -Math.log10(1 / 5001));
    // The smooth stand-in agrees beyond the tail anchor.
    const s = tf.tensor1d([top + 1]);
    const smooth = tailEvidenceSurrogate(tail, s);
    assert.ok(Math.abs((smooth.dataSync()[0] as number) - tailEvidence(tail, top + 1)) < 0.01);
    tf.dispose([s, smooth]);
  });

  it('ranks a novel attack above normal flows the over-confident classifier ranks higher', () => {
    const rng = new Rng(2);
    // Benign calibration: classifier log-odds and log reconstruction errors of ordinary normal flows.
    const benign = { supervised: normals(rng, 3000, -6, 2), autoencoder: normals(rng, 3000, -3, 0.5) };
    const combination = calibrateEvidence(benign, 0.5, 0.02);
    // Shifted normal flows: the classifier is sure they are attacks (log-odds 2–6), the autoencoder
    // reconstructs them as well as any normal flow. A new attack: the classifier barely notices it
    // (log-odds −2–1, still above typical normals), the autoencoder cannot reconstruct it (4–8 σ).
    const hard = 300;
    const novel = 300;
    const supervised = new Float64Array(hard + novel);
    const autoencoder = new Float64Array(hard + novel);
    const truth = new Uint8Array(hard + novel);
    for (let i = 0; i < hard + novel; i++) {
      const attack = i >= hard;
      truth[i] = attack ? 1 : 0;
      supervised[i] = attack ? rng.uniform(-2, 1) : rng.uniform(2, 6);
      autoencoder[i] = attack ? -3 + 0.5 * rng.uniform(4, 8) : (normals(rng, 1, -3, 0.5)[0] as number);
    }
    assert.ok(rocAuc(supervised, truth) < 0.01, 'the classifier alone ranks every shifted normal flow first');
    const { evidence, driver } = combinedEvidence(combination, { supervised, autoencoder }, hard + novel);
    assert.ok(rocAuc(evidence, truth) > 0.95, `evidence AUC ${rocAuc(evidence, truth)}`);
    const flagged = (i: number) => (evidence[i] as number) > combination.threshold;
    const caught = Array.from({ length: novel }, (_, k) => flagged(hard + k)).filter(Boolean).length;
    assert.ok(caught / novel > 0.95, `caught ${caught} of ${novel} novel attacks`);
    assert.ok(driver[hard + 1] === 1, 'the autoencoder drives the novel attack’s verdict');
    // The threshold flags the target share of the benign calibration flows, and the score maps it to 0.5.
    const cal = combinedEvidence(combination, benign, 3000).evidence;
    const fpr = cal.filter((e) => e > combination.threshold).length / 3000;
    assert.ok(fpr <= 0.02 && fpr > 0.015, `benign calibration FPR ${fpr}`);
    assert.ok(evidenceScore(combination.threshold * 1.01, combination.threshold) > 0.5);
    assert.ok(evidenceScore(combination.threshold * 0.99, combination.threshold) < 0.5);
  });
});

describe('NIDS detector with the evidence combination', () => {
  const table = (lines: string[]): FlowTable => parseFlows(lines.join('\n')).table;
  let detector: NidsDetector;
  let novel: FlowTable;

  before(async () => {
    await initRuntime();
    detector = await NidsDetector.train(table(nslLines(1200, 1)), {
      seed: 0,
      novelty: ['autoencoder'],
      combine: 'evidence',
      supervisedWeight: 0.35,
      targetFpr: 0.02,
      classifier: { epochs: 10 },
      autoencoder: { epochs: 15 },
    });
    novel = table(nslLines(400, 3, { processtable: 0.25 }));
  });

  after(() => detector.dispose());

  it('flags an unseen attack type, scores > 0.5 exactly when flagged, and survives save/load', async () => {
    assert.equal(detector.meta.combination?.kind, 'evidence');
    assert.deepEqual(detector.meta.combination?.weights, { supervised: 0.35, autoencoder: 0.65 });
    const s = detector.scoreTable(novel);
    const truth = isAttack(novel);
    for (let i = 0; i < novel.size; i++) assert.equal(s.attack[i] === 1, (s.combined[i] as number) > 0.5);
    const unseen = novel.labels.flatMap((l, i) => (l === 'processtable' ? [i] : []));
    assert.ok(unseen.filter((i) => s.attack[i] === 1).length / unseen.length > 0.9);
    assert.ok(rocAuc(s.combined, truth) > 0.97, `AUC ${rocAuc(s.combined, truth)}`);
    const dir = join(mkdtempSync(join(tmpdir(), 'aegis-nids-evidence-')), 'model');
    await detector.save(dir);
    const loaded = await NidsDetector.load(dir);
    try {
      const again = loaded.scoreTable(novel);
      assert.deepEqual(Array.from(again.attack), Array.from(s.attack));
      for (let i = 0; i < novel.size; i++)
        assert.ok(Math.abs((again.combined[i] as number) - (s.combined[i] as number)) < 1e-6);
    } finally {
      loaded.dispose();
    }
  });
});
