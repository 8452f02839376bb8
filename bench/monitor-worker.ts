/**
 * Main-thread cost of drift monitoring per observed request: window tests on the event loop ('background') against
 * a worker thread ('worker', the gateway's default). Prints one JSON document.
 *
 * - Data: bundled Fashion-MNIST (784 features): the 4,000 training images are the reference, the 1,000 test images
 *   in seeded orders the stream; scores are seeded stand-ins (10 classes, the top class from the label), since the
 *   cost under test does not depend on them.
 * - Stream: one request of one image per event-loop turn (setImmediate), as the gateway's observe hook calls it,
 *   `--windows` windows of `--window` examples; then idle().
 * - Figures per mode, each minus the same driver loop with no monitor where it says so: main-thread CPU per request
 *   (Linux, /proc/self/task/<pid>/stat: only this thread, not the worker), main-thread busy time (event-loop
 *   utilisation, wall clock: inflated when the machine is contended); time inside observe() per call; how
 *   long each request's turn waited (scheduled → run: p50, p99, max), i.e. what window tests in slices add to
 *   requests arriving meanwhile; process CPU (all threads) per request; windows evaluated.
 *
 * Usage: nice -n 10 npx tsx bench/monitor-worker.ts [--window 1000] [--windows 8] [--seed 0] [--settle-ms 3000]
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Rng } from '../src/core/rng.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import type { MonitoringConfig } from '../src/gateway/config.js';
import { createModelMonitor, type ModelMonitor } from '../src/monitoring/model-monitor.js';
import { createWorkerMonitor } from '../src/monitoring/worker-monitor.js';

const { values } = parseArgs({
  options: {
    window: { type: 'string', default: '1000' },
    windows: { type: 'string', default: '8' },
    seed: { type: 'string', default: '0' },
    'settle-ms': { type: 'string', default: '3000' },
  },
});
const windowSize = Number(values.window);
const windows = Number(values.windows);
const seed = Number(values.seed);
const settleMs = Number(values['settle-ms']);
const D = 784;
const K = 10;

function fakeScores(labels: ArrayLike<number>, rng: Rng): Float32Array {
  const s = new Float32Array(labels.length * K);
  for (let i = 0; i < labels.length; i++) {
    for (let c = 0; c < K; c++) s[i * K + c] = c === labels[i] ? 0.6 + 0.3 * rng.next() : 0.04 * rng.next();
  }
  return s;
}

const rng = new Rng(seed);
const train = loadFashionMnist({ split: 'train', source: 'bundled' });
const test = loadFashionMnist({ split: 'test', source: 'bundled' });
const reference = { inputs: train.x, scores: fakeScores(train.y, rng) };
const testScores = fakeScores(test.y, rng);
const testN = test.y.length;
const n = windowSize * windows;
const order = Int32Array.from({ length: n }, (_, i) => i % testN);
for (let start = 0; start < n; start += testN) {
  const perm = rng.permutation(testN);
  for (let j = 0; j < testN && start + j < n; j++) order[start + j] = perm[j] as number;
}

const config: MonitoringConfig = { enabled: true, windowSize, alpha: 0.01, psiThreshold: 0.2, confidenceDrop: 0.1 };
/** CPU seconds of this process's main thread (Linux: /proc/self/task/<pid>/stat utime + stime), else NaN. */
function mainThreadCpuSeconds(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ 100)
  } catch {
    return Number.NaN;
  }
}
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

async function run(mode: 'none' | 'background' | 'worker') {
  const opts = { model: 'cnn', inputShape: [28, 28, 1], numClasses: K, reference, onAlert: () => {}, seed };
  const monitor: (ModelMonitor & { close?: () => Promise<void> }) | null =
    mode === 'none'
      ? null
      : mode === 'worker'
        ? createWorkerMonitor(config, opts)
        : createModelMonitor(config, { ...opts, evaluation: 'background' });
  // Let the worker start (under tsx it compiles the monitoring modules once: a start-up cost, not a per-request one).
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const waits: number[] = [];
  let inObserve = 0;
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const mainCpu = mainThreadCpuSeconds();
  const started = performance.now();
  await new Promise<void>((resolve) => {
    let i = 0;
    let scheduled = performance.now();
    const turn = () => {
      const t = performance.now();
      waits.push(t - scheduled);
      const r = order[i] as number;
      if (monitor) {
        monitor.observe(test.x.subarray(r * D, (r + 1) * D), D, testScores.subarray(r * K, (r + 1) * K), K);
        inObserve += performance.now() - t;
      }
      if (++i === n) return resolve();
      scheduled = performance.now();
      setImmediate(turn);
    };
    setImmediate(turn);
  });
  await monitor?.idle();
  const wallMs = performance.now() - started;
  const busy = performance.eventLoopUtilization(elu);
  const used = process.cpuUsage(cpu);
  const mainCpuS = mainThreadCpuSeconds() - mainCpu;
  const report = monitor?.report();
  await monitor?.close?.();
  waits.sort((a, b) => a - b);
  return {
    mode,
    mainCpuUsPerRequest: (mainCpuS * 1e6) / n,
    mainBusyUsPerRequest: (busy.active * 1000) / n,
    observeUsPerCall: (inObserve * 1000) / n,
    turnWaitMs: { p50: quantile(waits, 0.5), p99: quantile(waits, 0.99), max: waits[waits.length - 1] ?? 0 },
    processCpuUsPerRequest: (used.user + used.system) / n,
    wallMs,
    windowsEvaluated: report?.windowsEvaluated ?? 0,
    lastEvaluationMs: report?.lastEvaluationMs ?? null,
    lastError: report?.lastError ?? null,
  };
}

const results: Awaited<ReturnType<typeof run>>[] = [];
for (const mode of ['none', 'background', 'worker', 'none', 'background', 'worker'] as const)
  results.push(await run(mode));
const round = (v: number) => Number(v.toFixed(2));
const summary = (['background', 'worker'] as const).map((mode) => {
  const runs = results.filter((r) => r.mode === mode);
  const base = results.filter((r) => r.mode === 'none');
  const mean = (f: (r: (typeof results)[number]) => number, rs = runs) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  return {
    mode,
    mainThreadCpuUsPerRequest: round(mean((r) => r.mainCpuUsPerRequest) - mean((r) => r.mainCpuUsPerRequest, base)),
    mainThreadBusyUsPerRequest: round(mean((r) => r.mainBusyUsPerRequest) - mean((r) => r.mainBusyUsPerRequest, base)),
    observeUsPerCall: round(mean((r) => r.observeUsPerCall)),
    turnWaitP99Ms: round(mean((r) => r.turnWaitMs.p99)),
    turnWaitMaxMs: round(Math.max(...runs.map((r) => r.turnWaitMs.max))),
    processCpuUsPerRequest: round(mean((r) => r.processCpuUsPerRequest) - mean((r) => r.processCpuUsPerRequest, base)),
    windowsEvaluated: runs.map((r) => r.windowsEvaluated),
  };
});
console.log(
  JSON.stringify(
    {
      windowSize,
      windows,
      features: D,
      referenceExamples: train.y.length,
      requests: n,
      summary,
      runs: results.map((r) => ({
        ...r,
        mainCpuUsPerRequest: round(r.mainCpuUsPerRequest),
        mainBusyUsPerRequest: round(r.mainBusyUsPerRequest),
        observeUsPerCall: round(r.observeUsPerCall),
        processCpuUsPerRequest: round(r.processCpuUsPerRequest),
        wallMs: round(r.wallMs),
        turnWaitMs: {
          p50: round(r.turnWaitMs.p50),
          p99: round(r.turnWaitMs.p99),
          max: round(r.turnWaitMs.max),
        },
      })),
    },
    null,
    2,
  ),
);
