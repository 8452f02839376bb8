import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { rocAuc } from '../../../src/detectors/metrics.js';
import { constrainedEvasion } from '../../../src/detectors/network/evasion/constrained-evasion.js';
import { KnnNovelty } from '../../../src/detectors/network/knn.js';
import { NidsDetector } from '../../../src/detectors/network/nids-detector.js';
import {
  type FlowTable,
  isAttack,
  parseFlows,
  tableRecord,
  takeRows,
} from '../../../src/detectors/network/read-flows.js';
import { nslLines } from '../../helpers/nids-synthetic.js';

function gaussian(rng: Rng, rows: number, d: number, mean = 0, sd = 1): Float32Array {
  return Float32Array.from({ length: rows * d }, () => {
    const u = Math.max(rng.next(), 1e-12);
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  });
}

/** Brute-force distance of row i of q to its k-th nearest row of refs. */
function bruteKth(refs: Float32Array, m: number, q: Float32Array, i: number, d: number, k: number): number {
  const dist: number[] = [];
  for (let r = 0; r < m; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += ((q[i * d + j] as number) - (refs[r * d + j] as number)) ** 2;
    dist.push(Math.sqrt(s));
  }
  return dist.sort((a, b) => a - b)[k - 1] as number;
}

describe('k-NN novelty', () => {
  before(async () => {
    await initRuntime();
  });

  it('scores the distance to the k-th nearest reference (duplicates counted once)', () => {
    const d = 6;
    const refs = gaussian(new Rng(1), 300, d);
    const withDuplicates = new Float32Array(310 * d);
    withDuplicates.set(refs);
    withDuplicates.set(refs.subarray(0, 10 * d), 300 * d); // 10 exact duplicates
    const q = gaussian(new Rng(2), 40, d, 0.5, 1.5);
    for (const k of [1, 3]) {
      const knn = KnnNovelty.fit(withDuplicates, 310, d, { k, seed: 0 });
      assert.equal(knn.rows, 300);
      const s = knn.score(q, 40);
      for (let i = 0; i < 40; i++) {
        const expected = bruteKth(refs, 300, q, i, d, k);
        assert.ok(
          Math.abs((s[i] as number) - expected) < 1e-3 * (1 + expected),
          `k=${k} row ${i}: ${s[i]} vs ${expected}`,
        );
      }
      knn.dispose();
    }
    const before = tf.memory().numTensors;
    const knn = KnnNovelty.fit(refs, 300, d, { seed: 0 });
    assert.ok((knn.score(refs.subarray(0, d), 1)[0] as number) < 1e-2, 'a reference is at distance 0 from itself');
    // The reference table is built once and kept; scoring leaks nothing; dispose frees it.
    const kept = tf.memory().numTensors;
    knn.score(q, 40);
    knn.differences(q, 40);
    assert.equal(tf.memory().numTensors, kept);
    knn.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('ranks off-distribution points above held-out normal points, including a rare normal mode', () => {
    const d = 8;
    const rng = new Rng(3);
    // Normal traffic: a large mode at 0 and a rare one (3%) at +6 in every feature.
    const bulk = gaussian(rng, 970, d);
    const rare = gaussian(rng, 30, d, 6, 0.5);
    const train = new Float32Array(1000 * d);
    train.set(bulk);
    train.set(rare, 970 * d);
    const knn = KnnNovelty.fit(train, 1000, d, { seed: 0 });
    const heldNormal = gaussian(rng, 200, d);
    const heldRare = gaussian(rng, 20, d, 6, 0.5);
    const anomalies = gaussian(rng, 100, d, 3, 0.5); // between the two modes, where no normal flow lives
    const score = (x: Float32Array, n: number) => Array.from(knn.score(x, n));
    const normals = [...score(heldNormal, 200), ...score(heldRare, 20)];
    const attacks = score(anomalies, 100);
    const auc = rocAuc([...normals, ...attacks], [...normals.map(() => 0), ...attacks.map(() => 1)]);
    assert.ok(auc > 0.99, `AUC ${auc}`);
    // The rare normal mode is no more novel than the bulk: its median distance stays below the anomalies' 5th percentile.
    const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
    const rareMedian = sorted(score(heldRare, 20))[10] as number;
    assert.ok(rareMedian < (sorted(attacks)[5] as number), `rare-mode median ${rareMedian}`);
    knn.dispose();
  });

  it('round-trips through JSON, rejects a truncated file, and has a gradient stand-in equal to the k = 1 score', () => {
    const d = 5;
    const refs = gaussian(new Rng(4), 200, d);
    const q = gaussian(new Rng(5), 30, d, 1, 2);
    const knn = KnnNovelty.fit(refs, 200, d, { seed: 0 });
    const json = JSON.parse(JSON.stringify(knn.toJson()));
    const back = KnnNovelty.fromJson(json);
    assert.deepEqual(Array.from(back.score(q, 30)), Array.from(knn.score(q, 30)));
    assert.throws(
      () => KnnNovelty.fromJson({ ...json, references: json.references.slice(0, 100) }, 'knn.json'),
      (e: unknown) => e instanceof AegisInputError && /knn\.json: references hold/.test(e.message),
    );
    const x = tf.tensor2d(q, [30, d]);
    const smooth = knn.nearestDistance(x);
    const exact = knn.score(q, 30);
    const values = smooth.dataSync();
    for (let i = 0; i < 30; i++) assert.ok(Math.abs((values[i] as number) - (exact[i] as number)) < 1e-3);
    // Moving along the gradient increases the distance (away from the nearest reference).
    const g = tf.grad((t: tf.Tensor) => tf.sum(knn.nearestDistance(t as tf.Tensor2D)))(x);
    const moved = tf.add(x, tf.mul(0.01, g)); // g is the unit vector away from the nearest reference
    const after = knn.score(moved.dataSync() as Float32Array, 30);
    for (let i = 0; i < 30; i++) assert.ok((after[i] as number) > (exact[i] as number));
    tf.dispose([x, smooth, g, moved]);
    knn.dispose();
    back.dispose();
  });
});

describe('NIDS detector with the k-NN novelty detector', () => {
  const table = (lines: string[]): FlowTable => parseFlows(lines.join('\n')).table;
  let detector: NidsDetector;

  before(async () => {
    await initRuntime();
    detector = await NidsDetector.train(table(nslLines(1500, 1)), {
      seed: 0,
      novelty: ['knn'],
      combine: 'evidence',
      supervisedWeight: 0.2,
      targetFpr: 0.02,
      classifier: { epochs: 15 },
    });
  });

  after(() => detector.dispose());

  it('flags an attack type never seen in training through the evidence combination, and survives save/load', async () => {
    const novel = table(nslLines(400, 3, { processtable: 0.25 }));
    const s = detector.scoreTable(novel);
    const truth = isAttack(novel);
    const unseen = novel.labels.flatMap((l, i) => (l === 'processtable' ? [i] : []));
    const normal = novel.classes.flatMap((c, i) => (c === 'normal' ? [i] : []));
    const t = detector.thresholds.knn as number;
    const knnScores = s.knn as Float64Array;
    assert.ok(unseen.filter((i) => (knnScores[i] as number) > t).length / unseen.length > 0.9, 'k-NN alone catches it');
    assert.ok(unseen.filter((i) => s.attack[i] === 1).length / unseen.length > 0.9, 'the combination catches it');
    assert.ok(normal.filter((i) => s.attack[i] === 1).length / normal.length < 0.06, 'few held-out normals flagged');
    assert.ok(rocAuc(s.combined, truth) > 0.98);
    const dir = mkdtempSync(join(tmpdir(), 'aegis-nids-knn-'));
    await detector.save(dir);
    const loaded = await NidsDetector.load(dir);
    assert.deepEqual(loaded.meta.novelty, ['knn']);
    assert.deepEqual(Array.from(loaded.scoreTable(novel).combined), Array.from(s.combined));
    // One flow through the component alone: its distance, flagged, with the features that differ most as reasons.
    const verdict = loaded.component('knn').score(tableRecord(novel, unseen[0] as number));
    assert.equal(verdict.label, 'attack');
    assert.ok(verdict.score > t);
    assert.ok(verdict.reasons.length > 0 && verdict.reasons.every((r) => r.detail.includes('nearest normal')));
    loaded.dispose();
  });

  it('an adaptive attacker who targets the classifier and the k-NN distance gets valid flows past the classifier, not past both', async () => {
    const flows = table(nslLines(300, 12));
    const attacks = takeRows(flows, flows.classes.flatMap((c, i) => (c !== 'normal' ? [i] : [])).slice(0, 60));
    const adaptive = await constrainedEvasion(detector, attacks, {
      epsilons: [2],
      seed: 0,
      goal: 'combined',
      steps: 10,
    });
    const row = adaptive.rows[0];
    assert.ok(row);
    assert.equal(row.constraintViolations, 0);
    // The combined evidence keeps at least as many flows flagged as the classifier alone, and the
    // attack reached the goal for fewer flows than the classifier-only attack evades the classifier.
    assert.ok(row.combinedRecall >= row.classifierRecall - 1e-9, JSON.stringify(row));
    const plain = await constrainedEvasion(detector, attacks, {
      epsilons: [2],
      seed: 0,
      goal: 'classifier',
      steps: 10,
    });
    assert.ok(
      (plain.rows[0]?.classifierRecall ?? 1) < (plain.rows[0]?.classifierRecallClean ?? 0),
      'the classifier alone is evaded',
    );
    assert.ok(
      row.combinedRecall > (plain.rows[0]?.classifierRecall ?? 1),
      JSON.stringify({ row, plain: plain.rows[0] }),
    );
  });
});
