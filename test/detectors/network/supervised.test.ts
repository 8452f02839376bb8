import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { averageLogits, classWeights, trainFlowClassifier } from '../../../src/detectors/network/supervised.js';
import { buildMlp } from '../../../src/models/builders.js';

describe('NIDS classifier', () => {
  before(async () => {
    await initRuntime();
  });

  it('class weights: (n / (k·n_c))^power, 1 for absent classes', () => {
    const y = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 2, 2]);
    assert.deepEqual(classWeights(y, 4, 0), [1, 1, 1, 1]);
    const balanced = classWeights(y, 4, 1);
    assert.ok(Math.abs((balanced[0] as number) - 10 / 18) < 1e-12);
    assert.ok(Math.abs((balanced[1] as number) - 10 / 6) < 1e-12);
    assert.equal(balanced[3], 1);
    assert.ok(Math.abs((classWeights(y, 4, 0.5)[1] as number) - Math.sqrt(10 / 6)) < 1e-12);
    assert.throws(() => classWeights(y, 4, 2), /power must be in \[0, 1\]/);
  });

  it('the ensemble network outputs the mean of its members’ logits', () => {
    const members = [1, 2, 3].map((seed) =>
      buildMlp({ inputShape: [6], numClasses: 3, hidden: [5, 4], dropout: 0.1, seed }),
    );
    const ensemble = averageLogits(members, { hidden: [5, 4], dropout: 0.1 });
    const x = tf.tensor2d(new Rng(4).normalArray(8 * 6), [8, 6]);
    const expected = tf.tidy(() => tf.div(tf.addN(members.map((m) => m.predict(x) as tf.Tensor)), 3));
    const got = ensemble.predict(x) as tf.Tensor;
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0] as number);
    assert.ok(diff < 1e-5, `max difference ${diff}`);
    tf.dispose([x, expected, got]);
    for (const m of members) m.dispose();
    ensemble.dispose();
  });

  it('trains independent members from one seed, reproducibly', async () => {
    const rng = new Rng(5);
    const n = 200;
    const x = rng.normalArray(n * 4);
    const y = Int32Array.from({ length: n }, (_, i) => ((x[i * 4] as number) > 0 ? 1 : 0));
    const data = { name: 'toy', x, shape: [n, 4], y, classNames: ['normal', 'attack'] };
    const a = await trainFlowClassifier(data, { seed: 3, epochs: 3, members: 2, hidden: [8] });
    const b = await trainFlowClassifier(data, { seed: 3, epochs: 3, members: 2, hidden: [8] });
    assert.equal(a.members.length, 2);
    const probe = tf.tensor2d(x.subarray(0, 40), [10, 4]);
    assert.deepEqual(a.model.logits(probe).dataSync(), b.model.logits(probe).dataSync());
    probe.dispose();
    a.model.dispose();
    b.model.dispose();
    await assert.rejects(trainFlowClassifier(data, { seed: 1, members: 0 }), /members must be a whole number >= 1/);
  });
});
