/**
 * Drift detection delay for planted shifts. Prints one JSON document.
 *
 * - Model: the reference Fashion-MNIST CNN (/work/shared/baseline/fmnist_cnn.onnx; the same file ships as
 *   test/fixtures/fmnist_cnn.onnx), run by ONNX Runtime.
 * - Reference: training images (a seeded 10,000 of Debian's full 60k set, else the 4,000 bundled ones) and the
 *   CNN's scores on them.
 * - Stream: test images (all 10k, else the 1,000 bundled) in a seeded order, observed one request of one image at
 *   a time, as the gateway does. The first `--shift-at` examples are clean; from there on every example is shifted:
 *     brightness  +0.2 on every pixel, clipped to [0, 1]
 *     noise       Gaussian noise σ 0.1 per pixel, clipped to [0, 1]
 *     prior       class-prior shift: classes 5–9 kept with probability 1/2, so classes 0–4 are twice as frequent
 *                 (images themselves unchanged)
 *     none        no shift: every window is clean, so every alert in the stream is false
 * - Per detector: examples after the shift until the first alert (the end of the window that raised it), windows
 *   evaluated with shifted examples until then, and alerts raised by windows entirely before the shift.
 * - Cost: process CPU ms per window evaluation (median), µs per observed example outside evaluations, and how long one
 *   evaluation blocks the event loop inside observe ('sync') against the longest loop delay when it runs in slices
 *   ('background', the gateway's mode).
 *
 * Usage: npx tsx bench/drift.ts [--windows 500,1000] [--shift-at 5250] [--seeds 0,1,2]
 *   [--shifts brightness,noise,prior,none] [--embeddings projection,scores] [--alpha 0.01] [--mmd-samples 250]
 */
import { parseArgs } from 'node:util';
import { Rng } from '../src/core/rng.js';
import { initRuntime } from '../src/core/runtime.js';
import type { Dataset } from '../src/data/dataset.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import type { MonitoringConfig } from '../src/gateway/config.js';
import { loadOnnxModel } from '../src/models/onnx-model.js';
import type { EmbeddingKind } from '../src/monitoring/embedding.js';
import { createModelMonitor } from '../src/monitoring/model-monitor.js';
import { modelScores } from '../src/monitoring/model-scores.js';
import { DRIFT_DETECTORS, type DriftDetector, type WindowEvaluation } from '../src/monitoring/types.js';

const { values } = parseArgs({
  options: {
    windows: { type: 'string', default: '500,1000' },
    'shift-at': { type: 'string' },
    seeds: { type: 'string', default: '0,1,2' },
    shifts: { type: 'string', default: 'brightness,noise,prior,none' },
    embeddings: { type: 'string', default: 'projection,scores' },
    alpha: { type: 'string', default: '0.01' },
    'mmd-samples': { type: 'string', default: '250' },
  },
});
const list = (s: string | undefined) => String(s).split(',').filter(Boolean);
const windowSizes = list(values.windows).map(Number);
const seeds = list(values.seeds).map(Number);
const shifts = list(values.shifts);
const embeddings = list(values.embeddings) as EmbeddingKind[];
const alpha = Number(values.alpha);
const mmdSamples = Number(values['mmd-samples']);
const log = (msg: string) => process.stderr.write(`[drift ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const CNN = new URL('../test/fixtures/fmnist_cnn.onnx', import.meta.url).pathname;
const D = 784;
const K = 10;

await initRuntime();
const model = await loadOnnxModel(CNN);
const trainAll = loadFashionMnist({ split: 'train', source: 'auto' });
const test = loadFashionMnist({ split: 'test', source: 'auto' });
const full = test.shape[0] === 10_000;
const shiftAt = values['shift-at'] ? Number(values['shift-at']) : full ? 5250 : 525;

function subset(data: Dataset, n: number, rng: Rng): { x: Float32Array; y: Int32Array; n: number } {
  const total = data.shape[0] as number;
  const idx =
    total <= n ? Int32Array.from({ length: total }, (_, i) => i) : rng.permutation(total).subarray(0, n).sort();
  const x = new Float32Array(idx.length * D);
  const y = new Int32Array(idx.length);
  idx.forEach((i, r) => {
    x.set(data.x.subarray(i * D, (i + 1) * D), r * D);
    y[r] = data.y[i] as number;
  });
  return { x, y, n: idx.length };
}

const reference = subset(trainAll, 10_000, new Rng(12345));
log(`reference: ${reference.n} training images; stream: ${test.shape[0]} test images, shift at ${shiftAt}`);
const referenceScores = await modelScores(model, reference.x, reference.n);
const testScores = await modelScores(model, test.x, test.shape[0] as number);

/** The stream for one seed and shift: images, scores, and how many clean examples lead. */
function buildStream(shift: string, seed: number): { x: Float32Array; s: Float32Array; n: number } {
  const rng = new Rng(seed);
  const order = rng.permutation(test.shape[0] as number);
  const rows: number[] = [];
  for (const i of order) {
    if (rows.length >= shiftAt && shift === 'prior' && (test.y[i] as number) >= 5 && rng.next() < 0.5) continue;
    rows.push(i);
  }
  const n = rows.length;
  const x = new Float32Array(n * D);
  const s = new Float32Array(n * K);
  rows.forEach((i, r) => {
    x.set(test.x.subarray(i * D, (i + 1) * D), r * D);
    s.set(testScores.subarray(i * K, (i + 1) * K), r * K);
  });
  if (shift === 'brightness' || shift === 'noise') {
    for (let p = shiftAt * D; p < n * D; p++) {
      const v = (x[p] as number) + (shift === 'brightness' ? 0.2 : 0.1 * rng.normal());
      x[p] = Math.min(1, Math.max(0, v));
    }
  }
  return { x, s, n };
}

interface DetectorFigure {
  /** Examples after the shift until the first alert (null: never within the stream). */
  delay: number | null;
  /** Windows evaluated holding shifted examples, up to and including the alerting one. */
  windows: number | null;
  /** Alerts raised by windows that ended at or before the shift. */
  falseAlerts: number;
  /** Windows flagged (drift) that ended at or before the shift, of `cleanWindows`. */
  falseWindows: number;
}

const runs: Record<string, unknown>[] = [];
for (const shift of shifts) {
  for (const windowSize of windowSizes) {
    for (const embedding of embeddings) {
      for (const seed of seeds) {
        const stream = buildStream(shift, seed);
        // Scores of shifted images come from the model on the shifted pixels.
        if (shift === 'brightness' || shift === 'noise') {
          const shifted = await modelScores(model, stream.x.subarray(shiftAt * D), stream.n - shiftAt);
          stream.s.set(shifted, shiftAt * K);
        }
        const config: MonitoringConfig = { enabled: true, windowSize, alpha, psiThreshold: 0.2, confidenceDrop: 0.1 };
        const evaluations: WindowEvaluation[] = [];
        const monitor = createModelMonitor(config, {
          model: 'fmnist-cnn',
          inputShape: [28, 28, 1],
          numClasses: K,
          reference: { inputs: reference.x, scores: referenceScores },
          onAlert: () => {},
          onEvaluation: (e) => evaluations.push(e),
          evaluation: 'sync',
          seed,
          embedding,
          mmdSamples,
        });
        // Wall time of the observe calls that only copy; process CPU time of those that fill a window (this shared
        // machine's load inflates wall times, not CPU time).
        let copyMs = 0;
        let copies = 0;
        const evalCpuMs: number[] = [];
        for (let i = 0; i < stream.n; i++) {
          const fills = (i + 1) % windowSize === 0;
          const t = performance.now();
          const c = fills ? process.cpuUsage() : undefined;
          monitor.observe(stream.x.subarray(i * D, (i + 1) * D), D, stream.s.subarray(i * K, (i + 1) * K), K);
          if (c) {
            const used = process.cpuUsage(c);
            evalCpuMs.push((used.user + used.system) / 1000);
          } else {
            copyMs += performance.now() - t;
            copies++;
          }
        }
        evalCpuMs.sort((a, b) => a - b);
        // Without a shift every window is clean: alerts anywhere in the stream are false.
        const cleanUntil = shift === 'none' ? stream.n : shiftAt;
        const detectors: Partial<Record<DriftDetector, DetectorFigure>> = {};
        for (const d of DRIFT_DETECTORS) {
          const fig: DetectorFigure = { delay: null, windows: null, falseAlerts: 0, falseWindows: 0 };
          let shiftedWindows = 0;
          for (const e of evaluations) {
            const end = e.firstExample + e.examples;
            const result = e.results.find((r) => r.detector === d);
            const alerted = e.alerts.some((a) => a.source === result?.source);
            if (end <= cleanUntil) {
              if (result?.drift) fig.falseWindows++;
              if (alerted) fig.falseAlerts++;
              continue;
            }
            shiftedWindows++;
            if (fig.delay === null && result?.drift) {
              fig.delay = end - shiftAt;
              fig.windows = shiftedWindows;
            }
          }
          detectors[d] = fig;
        }
        const cleanWindows = evaluations.filter((e) => e.firstExample + e.examples <= cleanUntil).length;
        const run = {
          shift,
          windowSize,
          embedding,
          seed,
          examples: stream.n,
          cleanWindows,
          windowsEvaluated: evaluations.length,
          detectors,
          evaluationCpuMsMedian: Number((evalCpuMs[Math.floor(evalCpuMs.length / 2)] ?? 0).toFixed(1)),
          observeMicrosPerExample: Number(((copyMs * 1000) / copies).toFixed(2)),
        };
        runs.push(run);
        log(
          `${shift} w=${windowSize} ${embedding} seed=${seed}: ` +
            DRIFT_DETECTORS.map((d) => `${d} ${detectors[d]?.delay ?? '-'}/${detectors[d]?.falseAlerts}`).join(' ') +
            ` eval ${run.evaluationCpuMsMedian} ms CPU`,
        );
      }
    }
  }
}
/** Event-loop blocking of one window evaluation: inside observe ('sync') vs in slices ('background'). */
async function eventLoopCost(windowSize: number): Promise<Record<string, number>> {
  const stream = buildStream('brightness', 0);
  const make = (evaluation: 'sync' | 'background') =>
    createModelMonitor(
      { enabled: true, windowSize, alpha, psiThreshold: 0.2, confidenceDrop: 0.1 },
      {
        model: 'fmnist-cnn',
        inputShape: [28, 28, 1],
        numClasses: K,
        reference: { inputs: reference.x, scores: referenceScores },
        onAlert: () => {},
        evaluation,
      },
    );
  const fill = (m: ReturnType<typeof make>, last: boolean) => {
    const n = last ? windowSize : windowSize - 1;
    m.observe(stream.x.subarray(0, n * D), D, stream.s.subarray(0, n * K), K);
  };
  const sync = make('sync');
  fill(sync, false);
  let t = performance.now();
  const cpu = process.cpuUsage();
  sync.observe(stream.x.subarray(0, D), D, stream.s.subarray(0, K), K);
  const syncBlockMs = performance.now() - t;
  const syncCpu = process.cpuUsage(cpu);
  const bg = make('background');
  fill(bg, false);
  // Probe the loop every millisecond: first with nothing running (the machine's own noise), then while the
  // evaluation runs in slices.
  const probe = () => {
    const delays: number[] = [];
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      delays.push(now - last - 1);
      last = now;
    }, 1);
    return () => {
      clearInterval(timer);
      return delays.sort((a, b) => a - b);
    };
  };
  const stopIdle = probe();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const idle = stopIdle();
  const stop = probe();
  t = performance.now();
  bg.observe(stream.x.subarray(0, D), D, stream.s.subarray(0, K), K);
  const observeMs = performance.now() - t;
  await bg.idle();
  const wallMs = performance.now() - t;
  const delays = stop();
  return {
    windowSize,
    syncBlockMs: Number(syncBlockMs.toFixed(1)),
    syncCpuMs: Number(((syncCpu.user + syncCpu.system) / 1000).toFixed(1)),
    backgroundObserveMs: Number(observeMs.toFixed(2)),
    backgroundWallMs: Number(wallMs.toFixed(1)),
    backgroundCpuMs: Number((bg.report().lastEvaluationMs ?? 0).toFixed(1)),
    loopDelayP50Ms: Number((delays[Math.floor(delays.length / 2)] ?? 0).toFixed(1)),
    loopDelayMaxMs: Number((delays[delays.length - 1] ?? 0).toFixed(1)),
    idleLoopDelayP50Ms: Number((idle[Math.floor(idle.length / 2)] ?? 0).toFixed(1)),
    idleLoopDelayMaxMs: Number((idle[idle.length - 1] ?? 0).toFixed(1)),
  };
}
const eventLoop = [];
for (const w of windowSizes) {
  eventLoop.push(await eventLoopCost(w));
  log(`event loop, window ${w}: ${JSON.stringify(eventLoop[eventLoop.length - 1])}`);
}
await model.dispose();

process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'drift',
      model: 'fmnist_cnn.onnx (sha256 bdceaa39…)',
      reference: { images: reference.n, source: full ? 'Fashion-MNIST train (seeded 10k of 60k)' : 'bundled train' },
      stream: { images: test.shape[0], shiftAt },
      alpha,
      mmdSamples,
      psiThreshold: 0.2,
      confidenceDrop: 0.1,
      eventLoop,
      runs,
    },
    null,
    2,
  )}\n`,
);
