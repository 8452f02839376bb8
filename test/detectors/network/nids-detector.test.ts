import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { binaryMetrics } from '../../../src/detectors/metrics.js';
import { evaluateNids, labelFigures } from '../../../src/detectors/network/evaluate.js';
import { NidsDetector } from '../../../src/detectors/network/nids-detector.js';
import { type FlowTable, isAttack, parseFlows, tableRecord } from '../../../src/detectors/network/read-flows.js';
import { nslLines } from '../../helpers/nids-synthetic.js';

const table = (lines: string[]): FlowTable => parseFlows(lines.join('\n')).table;

describe('NIDS detector on synthetic NSL-KDD flows', () => {
  let detector: NidsDetector;
  let test: FlowTable;
  let novel: FlowTable;

  before(async () => {
    await initRuntime();
    detector = await NidsDetector.train(table(nslLines(1500, 1)), {
      seed: 0,
      novelty: ['autoencoder', 'iforest'],
      targetFpr: 0.01,
      classifier: { epochs: 15 },
      autoencoder: { epochs: 20 },
      forest: { trees: 50 },
    });
    test = table(nslLines(600, 2));
    // Normal flows held out of training plus an attack type never seen in training.
    novel = table(nslLines(400, 3, { processtable: 0.25 }));
  });

  after(() => detector.dispose());

  it('the classifier separates the planted attack patterns into the five classes', () => {
    const e = evaluateNids(detector, test);
    assert.ok(e.multiclassAccuracy > 0.95, `5-class accuracy ${e.multiclassAccuracy}`);
    for (const c of e.multiclass.perClass.filter((c) => c.support > 0)) {
      assert.ok(c.recall > 0.85, `${c.name} recall ${c.recall}`);
    }
    assert.ok(e.auc > 0.98, `AUC ${e.auc}`);
    assert.ok(e.flowsPerSecond > 0);
  });

  it('the novelty detectors flag an attack type never seen in training, not held-out normals', () => {
    const s = detector.scoreTable(novel);
    const unseen = novel.labels.map((l) => (l === 'processtable' ? 1 : 0));
    const normal = novel.classes.map((c) => (c === 'normal' ? 1 : 0));
    const rows = (mask: number[]) => mask.flatMap((m, i) => (m ? [i] : []));
    for (const kind of ['autoencoder', 'iforest'] as const) {
      const scores = s[kind] as Float64Array;
      const t = detector.thresholds[kind] as number;
      const flagged = (i: number) => (scores[i] as number) > t;
      const caught = rows(unseen).filter(flagged).length / rows(unseen).length;
      const falseAlarms = rows(normal).filter(flagged).length / rows(normal).length;
      assert.ok(caught > 0.9, `${kind} caught ${caught} of the unseen attack`);
      assert.ok(falseAlarms < 0.06, `${kind} flagged ${falseAlarms} of held-out normals`);
    }
    const m = binaryMetrics(isAttack(novel), s.attack);
    assert.ok(m.recall > 0.9 && m.falsePositiveRate < 0.1, JSON.stringify(m));
  });

  it('reports recall on attack names never seen in training apart from the seen ones', () => {
    const e = evaluateNids(detector, novel);
    const processtable = e.byLabel.find((l) => l.label === 'processtable');
    assert.equal(processtable?.seenInTraining, false);
    assert.equal(processtable?.attack, true);
    assert.equal(e.byLabel.find((l) => l.label === 'normal')?.attack, false);
    assert.equal(e.unseenAttacks?.names, 1);
    assert.equal(e.unseenAttacks?.flows, processtable?.flows);
    assert.equal(e.unseenAttacks?.recall, (processtable?.flagged ?? 0) / (processtable?.flows ?? 1));
    assert.ok((e.unseenAttacks?.recall ?? 0) > 0.9, JSON.stringify(e.unseenAttacks));
    // Every other attack name of the file was in training; the two groups make up all attack flows.
    assert.equal((e.seenAttacks?.flows ?? 0) + (e.unseenAttacks?.flows ?? 0), e.attacks);
    assert.equal(
      e.byLabel.reduce((a, l) => a + l.flows, 0),
      e.flows,
    );
  });

  it('scores one flow as an event, with reasons in raw column names', () => {
    const i = novel.labels.indexOf('processtable');
    const verdict = detector.score(tableRecord(novel, i));
    assert.notEqual(verdict.label, 'normal');
    assert.ok(verdict.score > 0.5);
    assert.ok(verdict.reasons.length > 0);
    const known = new Set([...novel.numericNames, ...novel.categoricalNames]);
    for (const r of verdict.reasons) assert.ok(known.has(r.feature), `reason feature ${r.feature}`);
    assert.match(verdict.reasons.map((r) => r.detail).join('\n'), /(autoencoder|isolation forest)/);
    for (const kind of ['autoencoder', 'iforest'] as const) {
      const component = detector.component(kind);
      assert.equal(component.scoreKind, 'anomaly');
      const v = component.score(tableRecord(novel, i));
      assert.equal(v.label, 'attack', `${kind} flags the unseen attack on its own`);
      assert.ok(
        v.reasons.length > 0 &&
          v.reasons.every((r) => r.detail.includes(kind === 'iforest' ? 'isolation forest' : kind)),
      );
    }
    assert.equal(detector.component('supervised').scoreKind, 'probability');
    const normal = detector.score(tableRecord(test, test.classes.indexOf('normal')));
    assert.equal(normal.label, 'normal');
    assert.ok(normal.score < 0.5);
  });

  it('saves and loads to the same scores; frees its tensors', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'nids-')), 'model');
    await detector.save(dir);
    const loaded = await NidsDetector.load(dir);
    try {
      const a = detector.scoreTable(test);
      const b = loaded.scoreTable(test);
      assert.deepEqual(b.combined, a.combined);
      assert.deepEqual(loaded.thresholds, detector.thresholds);
      const before = tf.memory().numTensors;
      loaded.scoreTable(test);
      loaded.explain(test, b, [0, 1, 2]);
      assert.equal(tf.memory().numTensors, before);
    } finally {
      loaded.dispose();
    }
    await assert.rejects(NidsDetector.load(tmpdir()), /not a NIDS model directory/);
  });

  it('refuses flows of another layout', () => {
    const unsw = parseFlows('id,dur,proto,service,state,sttl,attack_cat,label\n1,0.1,tcp,-,FIN,31,Normal,0\n').table;
    assert.throws(() => detector.scoreTable(unsw), /UNSW-NB15 flows, but the model was trained on the nsl-kdd layout/);
  });
});

describe('flows flagged per label', () => {
  it('marks labels seen in training, null without training labels, and takes any label text', () => {
    const t = {
      ...table(nslLines(5, 9)),
      size: 5,
      labels: ['normal', 'constructor', '__proto__', 'neptune', 'neptune'],
    };
    const truth = [0, 1, 1, 1, 1];
    const flagged = [0, 1, 0, 1, 0];
    const seen = labelFigures(t, truth, flagged, JSON.parse('{"normal": 10, "neptune": 3, "__proto__": 0}'));
    assert.deepEqual(seen, [
      { label: 'neptune', attack: true, flows: 2, flagged: 1, seenInTraining: true },
      { label: '__proto__', attack: true, flows: 1, flagged: 0, seenInTraining: false },
      { label: 'constructor', attack: true, flows: 1, flagged: 1, seenInTraining: false },
      { label: 'normal', attack: false, flows: 1, flagged: 0, seenInTraining: true },
    ]);
    assert.ok(labelFigures(t, truth, flagged, undefined).every((l) => l.seenInTraining === null));
  });
});
