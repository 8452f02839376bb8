import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import { initRuntime } from '../../src/core/runtime.js';
import type { Dataset } from '../../src/data/dataset.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import type { MonitoringConfig } from '../../src/gateway/config.js';
import type { Alert } from '../../src/gateway/types.js';
import { loadOnnxModel, type OnnxModel } from '../../src/models/onnx-model.js';
import { createModelMonitor, type ModelMonitorOptions } from '../../src/monitoring/model-monitor.js';
import { modelScores } from '../../src/monitoring/model-scores.js';

const CNN = join(new URL('../fixtures/', import.meta.url).pathname, 'fmnist_cnn.onnx');
const D = 784;
const K = 10;
const CONFIG: MonitoringConfig = {
  enabled: true,
  windowSize: 500,
  alpha: 0.01,
  psiThreshold: 0.2,
  confidenceDrop: 0.1,
};

let model: OnnxModel;
let test: Dataset;
let scores: Float32Array;

/** Examples [start, end) of the bundled test images and the CNN's scores on them. */
function part(start: number, end: number): { x: Float32Array; s: Float32Array } {
  return { x: test.x.slice(start * D, end * D), s: scores.slice(start * K, end * K) };
}

function brighter(x: Float32Array, by: number): Float32Array {
  return x.map((v) => Math.min(1, v + by));
}

function monitor(config: Partial<MonitoringConfig>, opts: Partial<ModelMonitorOptions> & { alerts?: Alert[] } = {}) {
  const alerts = opts.alerts ?? [];
  const m = createModelMonitor(
    { ...CONFIG, ...config },
    {
      model: 'cnn',
      inputShape: [28, 28, 1],
      numClasses: K,
      evaluation: 'sync',
      onAlert: (a) => alerts.push(a),
      ...opts,
    },
  );
  return { m, alerts };
}

before(async () => {
  await initRuntime();
  model = await loadOnnxModel(CNN);
  test = loadFashionMnist({ split: 'test', source: 'bundled' });
  scores = await modelScores(model, test.x, 1000);
});
after(async () => {
  await model.dispose();
});

describe('createModelMonitor on bundled Fashion-MNIST test images', () => {
  it('does not flag a clean split at alpha 0.01 (reference images 0–499, current 500–999)', () => {
    const ref = part(0, 500);
    const { m, alerts } = monitor({}, { reference: { inputs: ref.x, scores: ref.s } });
    const cur = part(500, 1000);
    m.observe(cur.x, D, cur.s, K);
    const r = m.report();
    assert.equal(r.windowsEvaluated, 1);
    assert.deepEqual(alerts, []);
    for (const d of Object.values(r.detectors)) assert.equal(d.status, 'ok', `${d.source}: ${JSON.stringify(d.last)}`);
    // The KS threshold is Bonferroni-corrected over the 784 pixels.
    assert.equal(r.detectors.ks.last?.threshold, 0.01 / 784);
    assert.equal(r.detectors.ks.last?.detail.features, 784);
    assert.ok((r.detectors.ks.last?.pValue ?? 0) > 0.01 / 784);
    assert.ok((r.detectors['chi-square'].last?.pValue ?? 0) > 0.01);
  });

  it('flags a brightness shift of +0.2 with KS, PSI and MMD, once each', () => {
    const ref = part(0, 500);
    const { m, alerts } = monitor({}, { reference: { inputs: ref.x, scores: ref.s } });
    const cur = part(500, 1000);
    m.observe(brighter(cur.x, 0.2), D, cur.s, K);
    const sources = alerts.map((a) => a.source);
    for (const s of ['drift/ks', 'drift/psi', 'drift/mmd']) assert.ok(sources.includes(s), `${s} in ${sources}`);
    assert.equal(new Set(sources).size, sources.length, 'one alert per detector');
    const ks = alerts.find((a) => a.source === 'drift/ks') as Alert;
    assert.equal(ks.model, 'cnn');
    assert.equal(ks.severity, 'warning');
    assert.match(ks.message, /Kolmogorov-Smirnov D=.* Bonferroni over 784 features/);
    assert.equal(ks.detail.window, 1);
    assert.equal(ks.detail.windowExamples, 500);
    assert.ok((ks.detail.driftedFeatures as number) > 100);
    const mmd = m.report().detectors.mmd.last;
    assert.equal(mmd?.detail.embedding, 'projection');
    assert.equal(mmd?.detail.dims, 32);
    assert.ok((mmd?.pValue ?? 1) < 0.01);
  });

  it('flags a label-distribution shift with the χ² test on predicted labels', () => {
    const ref = part(0, 500);
    const { m, alerts } = monitor({ windowSize: 200 }, { reference: { inputs: ref.x, scores: ref.s } });
    // Current traffic: only images of classes 0–4 (T-shirt … Coat), 200 of them.
    const keep: number[] = [];
    for (let i = 500; i < 1000 && keep.length < 200; i++) if ((test.y[i] as number) < 5) keep.push(i);
    assert.equal(keep.length, 200);
    const x = new Float32Array(200 * D);
    const s = new Float32Array(200 * K);
    keep.forEach((i, r) => {
      x.set(test.x.subarray(i * D, (i + 1) * D), r * D);
      s.set(scores.subarray(i * K, (i + 1) * K), r * K);
    });
    m.observe(x, D, s, K);
    const chi = m.report().detectors['chi-square'];
    assert.equal(chi.status, 'drift');
    assert.ok((chi.last?.pValue ?? 1) < 1e-10, `χ² p ${chi.last?.pValue}`);
    assert.ok(alerts.some((a) => a.source === 'drift/chi-square' && /prediction drift: χ²=/.test(a.message)));
  });

  it('flags a drop in mean top-class confidence beyond confidenceDrop', () => {
    const ref = part(0, 500);
    const { m, alerts } = monitor({}, { reference: { inputs: ref.x, scores: ref.s } });
    const cur = part(500, 1000);
    // Same inputs and arg-max, but probabilities pulled halfway to uniform: the top class loses about half its mass.
    const probs = new Float32Array(cur.s.length);
    for (let i = 0; i < 500; i++) {
      const row = cur.s.subarray(i * K, (i + 1) * K);
      const max = Math.max(...row);
      const e = row.map((v) => Math.exp(v - max));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < K; c++) probs[i * K + c] = (0.5 * (e[c] as number)) / sum + 0.05;
    }
    m.observe(cur.x, D, probs, K);
    const conf = m.report().detectors.confidence.last;
    assert.ok(conf?.drift);
    assert.ok((conf?.statistic ?? 0) > 0.3, `drop ${conf?.statistic}`);
    assert.deepEqual(
      alerts.map((a) => a.source),
      ['drift/confidence'],
    );
  });

  it('alerts once per drift episode with a live reference window, and again after a clean window', () => {
    const { m, alerts } = monitor({ windowSize: 100 }, { mmdSamples: 100 });
    const clean = part(0, 500);
    const bright = brighter(clean.x, 0.3);
    const feed = (x: Float32Array, from: number) =>
      m.observe(x.subarray(from * D, (from + 100) * D), D, clean.s.subarray(from * K, (from + 100) * K), K);
    feed(clean.x, 0); // the reference window
    assert.equal(m.report().reference.ready, true);
    assert.equal(m.report().reference.source, 'live');
    assert.equal(m.report().windowsEvaluated, 0);
    feed(bright, 100);
    feed(bright, 200);
    feed(bright, 300);
    assert.equal(alerts.filter((a) => a.source === 'drift/ks').length, 1);
    assert.equal(m.report().detectors.ks.windowsFlagged, 3);
    feed(clean.x, 400);
    assert.equal(m.report().detectors.ks.status, 'ok');
    feed(bright, 100);
    const ks = alerts.filter((a) => a.source === 'drift/ks');
    assert.equal(ks.length, 2);
    assert.equal(m.report().detectors.ks.episodes, 2);
    assert.equal(ks[1]?.detail.window, 5);
    assert.equal(ks[1]?.detail.firstExample, 500);
  });

  it('gives the same verdicts whatever the batch sizes, and in background mode after idle()', async () => {
    const ref = part(0, 300);
    const cur = part(300, 1000);
    const bright = brighter(cur.x, 0.1);
    const run = async (batch: number, evaluation: 'sync' | 'background') => {
      const { m } = monitor({ windowSize: 250 }, { reference: { inputs: ref.x, scores: ref.s }, evaluation });
      for (let i = 0; i < 700; i += batch) {
        const end = Math.min(700, i + batch);
        m.observe(bright.subarray(i * D, end * D), D, cur.s.subarray(i * K, end * K), K);
      }
      if (evaluation === 'background') {
        assert.equal(m.report().evaluating, true);
        await m.idle();
      }
      const r = m.report();
      return { r, shape: Object.values(r.detectors).map((d) => [d.status, d.windowsFlagged, d.last?.statistic]) };
    };
    const whole = await run(700, 'sync');
    const odd = await run(37, 'sync');
    const bg = await run(37, 'background');
    assert.equal(whole.r.windowsEvaluated, 2);
    assert.equal(whole.r.currentWindow.examples, 200);
    assert.deepEqual(odd.shape, whole.shape);
    assert.deepEqual(bg.shape, whole.shape);
    assert.equal(bg.r.evaluating, false);
    assert.equal(bg.r.lastError, null);
  });

  it('evaluates a partly filled window on flush()', () => {
    const ref = part(0, 500);
    const { m } = monitor({}, { reference: { inputs: ref.x, scores: ref.s } });
    const cur = part(500, 620);
    m.observe(brighter(cur.x, 0.2), D, cur.s, K);
    assert.equal(m.report().windowsEvaluated, 0);
    const e = m.flush();
    assert.equal(e?.examples, 120);
    assert.equal(e?.firstExample, 0);
    assert.ok(e?.results.find((r) => r.detector === 'ks')?.drift);
    assert.equal(m.flush(), null); // nothing left
  });

  it('reports JSON with each detector, window sizes, counts, the last evaluation time and alerts', () => {
    const ref = part(0, 500);
    let t = 0;
    const { m } = monitor(
      { windowSize: 250 },
      { reference: { inputs: ref.x, scores: ref.s }, now: () => new Date(Date.UTC(2025, 0, 1, 0, 0, t++)) },
    );
    const cur = part(500, 1000);
    m.observe(brighter(cur.x, 0.2), D, cur.s, K);
    const r = m.report();
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r);
    assert.equal(r.model, 'cnn');
    assert.equal(r.examplesSeen, 500);
    assert.equal(r.windowsEvaluated, 2);
    assert.deepEqual(r.reference, { source: 'given', examples: 500, ready: true });
    assert.deepEqual(r.currentWindow, { examples: 0, size: 250 });
    assert.equal(r.lastEvaluation, '2025-01-01T00:00:01.000Z');
    assert.ok((r.lastEvaluationMs ?? -1) >= 0);
    assert.deepEqual(Object.keys(r.detectors), ['ks', 'psi', 'mmd', 'chi-square', 'confidence']);
    assert.equal(r.detectors.psi.last?.thresholdOn, 'statistic');
    assert.equal(r.detectors.psi.last?.detail.bins, 10);
    assert.equal(r.alerts.raised, r.alerts.recent.length);
    assert.equal(r.alerts.bySource['drift/ks'], 1);
    // Mutating the report must not touch the monitor.
    r.detectors.ks.episodes = 99;
    assert.equal(m.report().detectors.ks.episodes, 1);
  });

  it('can run MMD on the model scores instead of a projection of the pixels', () => {
    const ref = part(0, 500);
    const { m } = monitor({}, { reference: { inputs: ref.x, scores: ref.s }, embedding: 'scores' });
    const cur = part(500, 1000);
    m.observe(cur.x, D, cur.s, K);
    const mmd = m.report().detectors.mmd.last;
    assert.equal(mmd?.detail.embedding, 'scores');
    assert.equal(mmd?.detail.dims, 10);
    assert.equal(mmd?.drift, false);
    assert.throws(
      () =>
        monitor({}, { numClasses: 0, embedding: 'scores', reference: { inputs: ref.x, scores: new Float32Array(0) } }),
      /needs model scores/,
    );
  });

  it('runs input detectors only when there are no scores, and nothing when disabled', () => {
    const ref = part(0, 500);
    const inputsOnly = monitor({}, { numClasses: 0, reference: { inputs: ref.x, scores: new Float32Array(0) } }).m;
    inputsOnly.observe(part(500, 1000).x, D, new Float32Array(0), 0);
    const r = inputsOnly.report();
    assert.equal(r.detectors['chi-square'].status, 'off');
    assert.equal(r.detectors['chi-square'].reason, 'no model scores');
    assert.equal(r.detectors.ks.status, 'ok');
    const off = monitor({ enabled: false }).m;
    off.observe(ref.x, D, ref.s, K);
    assert.equal(off.report().enabled, false);
    assert.equal(off.report().examplesSeen, 0);
    assert.equal(off.report().detectors.ks.status, 'off');
  });

  it('rejects inputs that do not fit the model', () => {
    const ref = part(0, 10);
    assert.throws(() => monitor({}, { reference: { inputs: ref.x.subarray(1), scores: ref.s } }), AegisInputError);
    assert.throws(
      () => monitor({}, { reference: { inputs: ref.x, scores: ref.s.subarray(1) } }),
      /scores have 99 values/,
    );
    const nan = ref.x.slice();
    nan[5] = Number.NaN;
    assert.throws(() => monitor({}, { reference: { inputs: nan, scores: ref.s } }), /index 5 is not finite/);
    assert.throws(() => monitor({}, { numClasses: 1 }), /numClasses/);
    assert.throws(() => monitor({ windowSize: 1 }), /windowSize/);
    const { m } = monitor({});
    assert.throws(() => m.observe(ref.x, 100, ref.s, K), /do not match input shape/);
    assert.throws(() => m.observe(ref.x, D, ref.s, 5), /expected 10 classes/);
  });
});
