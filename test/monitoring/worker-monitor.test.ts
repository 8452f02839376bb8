import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { Rng } from '../../src/core/rng.js';
import { type MonitoringConfig, parseGatewayConfig } from '../../src/gateway/config.js';
import type { Alert } from '../../src/gateway/types.js';
import { createModelMonitor, type WindowEvaluation } from '../../src/monitoring/model-monitor.js';
import { createWorkerMonitor, type WorkerMonitorOptions } from '../../src/monitoring/worker-monitor.js';

const D = 784;
const K = 10;
const CONFIG: MonitoringConfig = {
  enabled: true,
  windowSize: 200,
  alpha: 0.01,
  psiThreshold: 0.2,
  confidenceDrop: 0.1,
};
const EPOCH = () => new Date(Date.UTC(2025, 0, 1));

/**
 * A seeded stream of n examples: features uniform in [0, 1), shifted by `shift` and clipped; scores a softmax whose
 * top class is the first feature's decile (so a shift also moves the predicted labels).
 */
function stream(n: number, seed: number, shift = 0): { x: Float32Array; s: Float32Array } {
  const rng = new Rng(seed);
  const x = rng.uniformArray(n * D, 0, 1).map((v) => Math.min(1, v + shift));
  const s = new Float32Array(n * K);
  for (let i = 0; i < n; i++) {
    const top = Math.min(K - 1, Math.floor((x[i * D] as number) * K));
    for (let c = 0; c < K; c++) s[i * K + c] = c === top ? 0.55 + 0.4 * rng.next() : 0.05 * rng.next();
  }
  return { x, s };
}

function concat(...parts: { x: Float32Array; s: Float32Array }[]): { x: Float32Array; s: Float32Array } {
  const x = new Float32Array(parts.reduce((a, p) => a + p.x.length, 0));
  const s = new Float32Array(parts.reduce((a, p) => a + p.s.length, 0));
  let xo = 0;
  let so = 0;
  for (const p of parts) {
    x.set(p.x, xo);
    s.set(p.s, so);
    xo += p.x.length;
    so += p.s.length;
  }
  return { x, s };
}

/** Feeds examples [from, to) of a stream in seeded request sizes of 1–24 rows. */
function feed(
  m: { observe(x: Float32Array, d: number, s: Float32Array, k: number): void },
  data: { x: Float32Array; s: Float32Array },
  from: number,
  to: number,
  seed: number,
): void {
  const rng = new Rng(seed);
  for (let i = from; i < to; ) {
    const end = Math.min(to, i + 1 + rng.int(24));
    m.observe(data.x.subarray(i * D, end * D), D, data.s.subarray(i * K, end * K), K);
    i = end;
  }
}

/** Evaluations without their run time (CPU milliseconds differ between runs). */
const timeless = (es: WindowEvaluation[]) => es.map((e) => ({ ...e, ms: 0 }));

function pair(opts: Partial<WorkerMonitorOptions> = {}, config: Partial<MonitoringConfig> = {}) {
  const sync = { alerts: [] as Alert[], evaluations: [] as WindowEvaluation[] };
  const worker = { alerts: [] as Alert[], evaluations: [] as WindowEvaluation[] };
  const base = { model: 'm', inputShape: [28, 28, 1], numClasses: K, seed: 7, mmdSamples: 100, now: EPOCH, ...opts };
  const s = createModelMonitor(
    { ...CONFIG, ...config },
    {
      ...base,
      evaluation: 'sync',
      onAlert: (a) => sync.alerts.push(a),
      onEvaluation: (e) => sync.evaluations.push(e),
    },
  );
  const w = createWorkerMonitor(
    { ...CONFIG, ...config },
    {
      ...base,
      onAlert: (a) => worker.alerts.push(a),
      onEvaluation: (e) => worker.evaluations.push(e),
    },
  );
  return { s, w, sync, worker };
}

describe('createWorkerMonitor', () => {
  it('gives the sync monitor’s evaluations, alerts and report on a seeded stream with a planted shift', async () => {
    const ref = stream(400, 1);
    // 600 clean examples, 400 shifted by +0.15 (drift), 400 clean again (the episode ends).
    const data = concat(stream(600, 2), stream(400, 3, 0.15), stream(400, 4));
    // psiThreshold 0.5: with 200-example windows the largest of 784 per-feature PSIs passes 0.2 on clean data.
    const { s, w, sync, worker } = pair({ reference: { inputs: ref.x, scores: ref.s } }, { psiThreshold: 0.5 });
    try {
      feed(s, data, 0, 1400, 11);
      feed(w, data, 0, 1400, 12); // other request sizes: the verdicts do not depend on them
      await w.idle();
      assert.equal(sync.evaluations.length, 7, 'windows evaluated');
      const sources = sync.alerts.map((a) => a.source);
      for (const src of ['drift/ks', 'drift/psi', 'drift/mmd', 'drift/chi-square']) {
        assert.ok(sources.includes(src), `${src} in ${sources}`);
      }
      assert.deepEqual(
        sync.alerts.map((a) => a.detail.window),
        sources.map(() => 4),
        'the shift starts with window 4 (examples 600–799)',
      );
      assert.deepEqual(worker.alerts, sync.alerts);
      assert.deepEqual(timeless(worker.evaluations), timeless(sync.evaluations));
      const rs = { ...s.report(), lastEvaluationMs: null };
      const rw = { ...w.report(), lastEvaluationMs: null };
      assert.deepEqual(rw, rs);
      assert.equal(rw.examplesSeen, 1400);
      assert.equal(rw.detectors.ks.episodes, 1);
      assert.equal(rw.detectors.ks.status, 'ok');
      assert.equal(rw.lastError, null);
    } finally {
      await w.close();
    }
  });

  it('counts every observed row before the worker answers, sends one batch per window, and idle() hands over the rest', async () => {
    const data = stream(650, 5);
    let batches = 0;
    const onWorker = (worker: Worker) => {
      const post = worker.postMessage.bind(worker);
      worker.postMessage = (m: { type: string }, transfer?: never) => {
        if (m.type === 'batch') batches++;
        post(m, transfer);
      };
    };
    const { s, w } = pair({ onWorker });
    try {
      feed(s, data, 0, 650, 21);
      feed(w, data, 0, 650, 21);
      // Synchronously after observe: three windows' worth were sent (the first is the live reference), 50 buffered.
      const early = w.report();
      assert.equal(early.examplesSeen, 650);
      assert.equal(early.currentWindow.examples, 50);
      assert.equal(batches, 3, 'one transfer per full window, not one per request');
      await w.idle();
      assert.equal(batches, 4, 'idle() sends the partly filled batch');
      const r = w.report();
      assert.equal(r.evaluating, false);
      assert.equal(r.windowsEvaluated, 2);
      assert.deepEqual(r.reference, { source: 'live', examples: 200, ready: true });
      assert.deepEqual(r.currentWindow, { examples: 50, size: 200 });
      assert.deepEqual({ ...r, lastEvaluationMs: null }, { ...s.report(), lastEvaluationMs: null });
      await w.idle(); // nothing pending: resolves at once
      assert.throws(() => w.flush(), /flush\(\) is not available with worker evaluation/);
      assert.throws(() => w.observe(data.x.subarray(0, 100), 100, data.s, K), /do not match input shape/);
    } finally {
      await w.close();
    }
    w.observe(data.x.subarray(0, D), D, data.s.subarray(0, K), K); // closed: ignored
    assert.equal(w.report().examplesSeen, 650);
  });

  it('rejects a bad reference on the main thread, at construction', () => {
    const ref = stream(10, 6);
    assert.throws(
      () =>
        createWorkerMonitor(CONFIG, {
          model: 'm',
          inputShape: [D],
          numClasses: K,
          onAlert: () => {},
          reference: { inputs: ref.x, scores: ref.s.subarray(1) },
        }),
      /scores have 99 values/,
    );
  });

  for (const [how, breakIt, message] of [
    ['is terminated', (w: Worker) => void w.terminate(), /worker exited with code 1/],
    [
      'throws an uncaught error',
      (w: Worker) => w.postMessage({ type: 'bogus' }),
      /worker crashed: .*unknown message type 'bogus'/,
    ],
  ] as const) {
    it(`carries on in background mode when the worker ${how}, and still raises alerts`, async () => {
      const ref = stream(400, 1);
      const clean = stream(600, 2);
      const shifted = stream(400, 3, 0.15);
      let worker: Worker | undefined;
      const { w, worker: seen } = pair({
        reference: { inputs: ref.x, scores: ref.s },
        onWorker: (x) => {
          worker = x;
        },
      });
      try {
        feed(w, clean, 0, 400, 31);
        await w.idle();
        assert.equal(w.report().windowsEvaluated, 2);
        const exited = new Promise((resolve) => worker?.once('exit', resolve));
        worker?.ref(); // the monitor holds its worker only while batches are in flight; keep this test alive
        breakIt(worker as Worker);
        await exited;
        feed(w, clean, 400, 450, 32); // observe keeps working meanwhile and after
        await new Promise((resolve) => setImmediate(resolve));
        feed(w, clean, 450, 600, 33);
        feed(w, shifted, 0, 400, 34);
        await w.idle();
        const r = w.report();
        assert.match(r.lastError ?? '', message);
        assert.match(r.lastError ?? '', /evaluating on the main thread \('background'\)/);
        assert.equal(r.examplesSeen, 1000, 'every observed row counts');
        assert.equal(r.windowsEvaluated, 5, 'two windows in the worker, three in the fallback');
        assert.deepEqual(r.reference, { source: 'given', examples: 400, ready: true });
        const sources = seen.alerts.map((a) => a.source);
        assert.ok(sources.includes('drift/ks'), `the shift after the crash is still found: ${sources}`);
        assert.equal(r.alerts.raised, seen.alerts.length);
        assert.equal(r.detectors.ks.status, 'drift');
      } finally {
        await w.close();
      }
    });
  }

  it('is the inert monitor when monitoring is disabled (no worker)', async () => {
    const w = createWorkerMonitor(
      { ...CONFIG, enabled: false },
      { model: 'm', inputShape: [D], numClasses: K, onAlert: () => {} },
    );
    const data = stream(10, 8);
    w.observe(data.x, D, data.s, K);
    assert.equal(w.report().examplesSeen, 0);
    assert.equal(w.report().detectors.ks.status, 'off');
    await w.close();
  });
});

describe('monitoring.evaluation in the gateway config', () => {
  it('accepts worker and background, defaults to unset (worker), and names a bad value', () => {
    const models = { cnn: { path: 'cnn.onnx' } };
    assert.equal(parseGatewayConfig({ models }).monitoring.evaluation, undefined);
    assert.equal(
      parseGatewayConfig({ models, monitoring: { evaluation: 'background' } }).monitoring.evaluation,
      'background',
    );
    assert.equal(parseGatewayConfig({ models, monitoring: { evaluation: 'worker' } }).monitoring.evaluation, 'worker');
    assert.throws(
      () => parseGatewayConfig({ models, monitoring: { evaluation: 'thread' } }, 'aegis.yaml'),
      /aegis\.yaml: invalid gateway configuration:\n {2}monitoring\.evaluation: /,
    );
  });
});
