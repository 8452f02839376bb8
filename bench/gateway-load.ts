/**
 * Gateway load: requests/s and latency of one batch-1 request (a real Fashion-MNIST test image as
 * JSON, the HttpModel protocol {"inputs": [row], "shape": [1, 28, 28, 1]}) to the reference CNN in
 *   a  inprocess  the model called in-process, no HTTP (µs per call)
 *   b  bare       a bare fastify route calling the same model in-process (the overhead baseline)
 *   c  auth       the gateway with API-key auth only (limits service removed; extraction,
 *                 monitoring, audit off in the config)
 *   l  auth+mem   c plus the lightest limits a config can ask for (store: memory)
 *   d  full       auth, limits (sqlite), extraction (PRADA, action log), monitoring, audit, output tier
 *   d-sqlite, d-audit, d-monitoring, d-extraction: d without that part (limits in memory for d-sqlite)
 *   d-sampled     d with monitoring.sampleRate 0.1 (the drift monitors see every 10th request)
 *   d-commit      d with audit.mode commit (each answer waits for its SQLite commit instead of the journal)
 *   d-background  d with monitoring.evaluation background (window tests on the event loop, not a worker)
 * Each server runs in its own child process (this file with --child); autocannon runs in this
 * (parent) process on loopback. The machine has 2 cores, so load generator and server share them.
 * Latency: autocannon's own percentiles (an HDR histogram of whole milliseconds) and exact ones
 * from its per-response times (float ms), which resolve the sub-millisecond differences.
 * Configurations are interleaved per repeat (order rotated) so machine-load drift hits them alike.
 *
 * With 10 connections the server is saturated and p50 is mostly queueing (≈ connections / rate);
 * with 1 connection p50 is one request's own latency. `--connections 1,10` measures both.
 *
 * Usage: npx tsx bench/gateway-load.ts [--configs a,b,c,d] [--connections 1,10] [--duration 20]
 *   [--warmup 5] [--repeats 3] [--calls 20000] [--images 1]
 *   [--cpu-prof DIR]  (CPU profile of each server child over its measured run, time per pipeline stage)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MonitoringReport } from '../src/monitoring/types.js';

const BASELINE_MODEL = '/work/shared/baseline/fmnist_cnn.onnx';
const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));
const FIXTURE_MODEL = join(REPO, 'test', 'fixtures', 'fmnist_cnn.onnx');
const TEST_NPZ = join(REPO, 'test', 'fixtures', 'fmnist_test200.npz');
const SELF = fileURLToPath(import.meta.url);

/** d-<part>: the full pipeline without one part (ablation: what that part costs). */
const ABLATIONS = [
  'd-sqlite',
  'd-audit',
  'd-monitoring',
  'd-extraction',
  'd-sampled',
  'd-commit',
  'd-background',
] as const;
type Ablation = (typeof ABLATIONS)[number];
type GatewayName = 'c' | 'l' | 'd' | Ablation;
type ConfigName = 'a' | 'b' | GatewayName;
const DESCRIPTIONS: Record<ConfigName, string> = {
  a: 'model in-process, no HTTP',
  b: 'bare fastify route, model in-process',
  c: 'gateway, auth only',
  l: 'gateway, auth + memory limits',
  d: 'gateway, full pipeline',
  'd-sqlite': 'full pipeline, limits in memory instead of sqlite',
  'd-audit': 'full pipeline without the audit log',
  'd-monitoring': 'full pipeline without drift monitoring',
  'd-extraction': 'full pipeline without extraction detection',
  'd-sampled': 'full pipeline, drift monitoring on every 10th request (monitoring.sampleRate 0.1)',
  'd-commit': 'full pipeline, audit.mode commit (each answer waits for its SQLite commit)',
  'd-background': 'full pipeline, drift window tests on the event loop (monitoring.evaluation background)',
};

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const quantile = (sorted: Float64Array | number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;

function modelPath(): { path: string; source: string } {
  if (existsSync(BASELINE_MODEL)) return { path: BASELINE_MODEL, source: BASELINE_MODEL };
  return { path: FIXTURE_MODEL, source: `${FIXTURE_MODEL} (the baseline is absent)` };
}

/** Bundled test image `i` as a flat row of 784 values in [0, 1]. */
async function testRow(i = 0): Promise<number[]> {
  const { loadNpzDataset } = await import('../src/data/npz-dataset.js');
  const data = await loadNpzDataset(TEST_NPZ);
  return Array.from(data.x.subarray(i * 28 * 28, (i + 1) * 28 * 28));
}

// ---------------------------------------------------------------------------------------------
// Child: one server (or the in-process loop), driven by the parent through stdout lines.

async function childInProcess(path: string, calls: number): Promise<void> {
  const { loadServedModel } = await import('../src/gateway/model-registry.js');
  const served = await loadServedModel('cnn', { path });
  const rows = Float32Array.from(await testRow());
  for (let i = 0; i < 2000; i++) await served.predict(rows, 1);
  const times = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t = process.hrtime.bigint();
    await served.predict(rows, 1);
    times[i] = Number(process.hrtime.bigint() - t) / 1e3;
  }
  times.sort();
  const mean = times.reduce((a, b) => a + b, 0) / calls;
  const result = {
    calls,
    p50Us: round(quantile(times, 0.5), 1),
    p99Us: round(quantile(times, 0.99), 1),
    meanUs: round(mean, 1),
    callsPerSecond: Math.round(1e6 / mean),
  };
  await served.dispose();
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
}

interface ChildServer {
  url: string;
  key: string;
  stats(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

async function childBare(path: string): Promise<ChildServer> {
  const { default: Fastify } = await import('fastify');
  const { loadServedModel } = await import('../src/gateway/model-registry.js');
  const served = await loadServedModel('cnn', { path });
  const k = served.info.numClasses;
  const app = Fastify({ logger: false });
  app.post('/predict', async (request) => {
    const body = request.body as { inputs: number[][] };
    const scores = await served.predict(Float32Array.from(body.inputs[0] as number[]), 1);
    let best = 0;
    for (let j = 1; j < k; j++) if ((scores[j] as number) > (scores[best] as number)) best = j;
    return { labels: [best], scores: [Array.from(scores)], model: 'cnn' };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/predict`,
    key: '',
    stats: async () => ({}),
    close: async () => {
      await app.close();
      await served.dispose();
    },
  };
}

async function childGateway(path: string, which: GatewayName): Promise<ChildServer> {
  const { parseGatewayConfig } = await import('../src/gateway/config.js');
  const { buildGateway, STORE_FILE } = await import('../src/gateway/server.js');
  const { ExtractionMonitor } = await import('../src/gateway/extraction/extraction-monitor.js');
  const { GATEWAY_MIGRATIONS } = await import('../src/gateway/services.js');
  const { ApiKeyStore } = await import('../src/gateway/auth/api-keys.js');
  const { openStore } = await import('../src/store/store.js');
  const dir = mkdtempSync(join(tmpdir(), 'aegis-load-'));
  const full = which.startsWith('d');
  const on = (part: string) => full && which !== `d-${part}`;
  const config = parseGatewayConfig({
    server: { host: '127.0.0.1', port: 0 },
    dataDir: dir,
    models: { cnn: { path } },
    tiers: { default: { output: 'full' } },
    limits: {
      store: on('sqlite') ? 'sqlite' : 'memory',
      // Never reached by the load: the stage runs (counters are read and written), nobody is refused.
      rate: { requests: 1_000_000_000, perSeconds: 1 },
      budget: { queries: 1_000_000_000_000, perSeconds: 30 * 24 * 3600 },
    },
    // 'log': PRADA runs on every query but never changes an answer, so every request is a 200.
    extraction: { enabled: on('extraction'), action: 'log' },
    monitoring: {
      enabled: on('monitoring'),
      ...(which === 'd-sampled' ? { sampleRate: 0.1 } : {}),
      ...(which === 'd-background' ? { evaluation: 'background' } : {}),
    },
    audit: { enabled: on('audit'), ...(which === 'd-commit' ? { mode: 'commit' } : {}) },
  });
  const keyDb = openStore(join(dir, STORE_FILE), GATEWAY_MIGRATIONS);
  let made: { id: string; key: string };
  try {
    made = new ApiKeyStore(keyDb).create({ name: 'load', scopes: [{ model: 'cnn', actions: ['predict'] }] });
  } finally {
    keyDb.close();
  }
  // No config switch turns limits off; 'c' removes the service, as buildGateway's options allow.
  const services = which === 'c' ? { services: { limits: undefined } } : {};
  const gateway = await buildGateway(config, { logger: false, ...services });
  await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  const address = gateway.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/v1/models/cnn/predict`,
    key: made.key,
    stats: async () => {
      if (!full) return {};
      const db = gateway.services.db;
      const auditRows = on('audit') ? db.prepare('SELECT count(*) FROM audit_log').pluck().get() : 0;
      const alerts = db.prepare('SELECT source, count(*) AS n FROM alerts GROUP BY source').all();
      // What the after-reply detectors did: PRADA tests run, drift windows evaluated.
      const extraction = gateway.services.extraction;
      const prada = extraction instanceof ExtractionMonitor ? extraction.inspect(made.id, 'cnn') : null;
      const report = gateway.services.monitors.get('cnn')?.report() as MonitoringReport | undefined;
      const drift = report && {
        examplesSeen: report.examplesSeen,
        windowsEvaluated: report.windowsEvaluated,
        lastEvaluationMs: report.lastEvaluationMs,
      };
      // Journal mode: rows still waiting for their fold (folded at close).
      const auditJournal = gateway.services.auditJournal?.stats();
      return { auditRows, auditJournal, alerts, prada: prada?.detector ?? prada?.alert?.detail ?? null, drift };
    },
    close: async () => {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function child(): Promise<void> {
  const which = flag('child', 'b') as ConfigName;
  const path = flag('model', FIXTURE_MODEL);
  const { initRuntime } = await import('../src/core/runtime.js');
  await initRuntime();
  if (which === 'a') {
    await childInProcess(path, Number(flag('calls', '20000')));
    return;
  }
  const server = which === 'b' ? await childBare(path) : await childGateway(path, which as GatewayName);
  // --profile FILE: the parent sends SIGUSR2 after the warm-up; the CPU profile covers the measured run only.
  const profileFile = flag('profile', '');
  const session = profileFile ? new Session() : undefined;
  const post = (method: string) =>
    new Promise<unknown>((ok, fail) => session?.post(method, (err, res) => (err ? fail(err) : ok(res))));
  // SIGUSR2 marks the start of the measured run: CPU time (and the profile) count from there.
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  session?.connect();
  process.on('SIGUSR2', () => {
    cpuAtStart = process.cpuUsage();
    if (session) void post('Profiler.enable').then(() => post('Profiler.start'));
  });
  process.stdout.write(`ready ${JSON.stringify({ url: server.url, key: server.key })}\n`);
  process.once('SIGTERM', () => {
    void (async () => {
      const cpu = process.cpuUsage(cpuAtStart);
      if (session) {
        const { profile } = (await post('Profiler.stop')) as { profile: unknown };
        writeFileSync(profileFile, JSON.stringify(profile));
      }
      const stats = await server.stats().catch((e: Error) => ({ error: e.message }));
      process.stdout.write(`stats ${JSON.stringify({ cpuUs: cpu.user + cpu.system, ...stats })}\n`);
      await server.close();
      process.exit(0);
    })();
  });
}

// ---------------------------------------------------------------------------------------------
// Parent: spawns children, drives autocannon, aggregates.

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; p97_5: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
interface AutocannonInstance {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  on(event: 'done', fn: (result: AutocannonResult) => void): void;
  stop(): void;
}
type Autocannon = ((
  opts: Record<string, unknown>,
  cb: (err: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance) & { track?: unknown };

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface Spawned {
  lines: AsyncIterator<string>;
  exit: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

function spawnChild(which: ConfigName, path: string, extra: string[]): Spawned {
  const proc = spawn(process.execPath, ['--import', 'tsx', SELF, '--child', which, '--model', path, ...extra], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const queue: string[] = [];
  const waiting: ((v: IteratorResult<string>) => void)[] = [];
  let ended = false;
  let buffered = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (text: string) => {
    buffered += text;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      const w = waiting.shift();
      if (w) w({ value: line, done: false });
      else queue.push(line);
    }
  });
  const exit = new Promise<number | null>((r) =>
    proc.on('exit', (code) => {
      ended = true;
      for (const w of waiting.splice(0)) w({ value: undefined, done: true });
      r(code);
    }),
  );
  const lines: AsyncIterator<string> = {
    next: () => {
      const line = queue.shift();
      if (line !== undefined) return Promise.resolve({ value: line, done: false });
      if (ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise((r) => waiting.push(r));
    },
  };
  return { lines, exit, kill: (s) => void proc.kill(s) };
}

async function expectLine(child: Spawned, prefix: string): Promise<string> {
  for (;;) {
    const { value, done } = await child.lines.next();
    if (done) throw new Error(`child exited before printing '${prefix}'`);
    if (value.startsWith(`${prefix} `)) return value.slice(prefix.length + 1);
  }
}

function cannon(
  url: string,
  headers: Record<string, string>,
  bodies: string[],
  connections: number,
  duration: number,
  times?: number[],
): Promise<AutocannonResult> {
  return new Promise((resolveRun, reject) => {
    const instance = autocannon(
      {
        url,
        method: 'POST',
        headers,
        // Several bodies: each connection cycles through them.
        ...(bodies.length === 1 ? { body: bodies[0] } : { requests: bodies.map((body) => ({ body })) }),
        connections,
        duration,
        pipelining: 1,
        timeout: 30,
      },
      (err, result) => (err ? reject(err) : resolveRun(result)),
    );
    if (times) {
      instance.on('response', (_client, status, _bytes, ms) => {
        if (status === 200) times.push(ms);
      });
    }
  });
}

interface HttpRun {
  requestsPerSecond: number;
  autocannonP50Ms: number;
  autocannonP99Ms: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  total: number;
  serverCpuUsPerRequest: number;
  non2xx: number;
  errors: number;
  load1: number;
  stats?: Record<string, unknown>;
}

async function runHttp(
  which: Exclude<ConfigName, 'a'>,
  path: string,
  bodies: string[],
  opts: { connections: number; duration: number; warmup: number; profDir?: string },
): Promise<HttpRun> {
  const profile = opts.profDir ? join(opts.profDir, `${which}-${Date.now()}.cpuprofile`) : undefined;
  const child = spawnChild(which, path, profile ? ['--profile', profile] : []);
  try {
    const ready = JSON.parse(await expectLine(child, 'ready')) as { url: string; key: string };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (ready.key) headers.authorization = `Bearer ${ready.key}`;
    if (opts.warmup > 0) await cannon(ready.url, headers, bodies, opts.connections, opts.warmup);
    const times: number[] = [];
    const load1 = loadavg()[0] as number;
    child.kill('SIGUSR2');
    const result = await cannon(ready.url, headers, bodies, opts.connections, opts.duration, times);
    const sorted = Float64Array.from(times).sort();
    child.kill('SIGTERM');
    const { cpuUs, ...stats } = JSON.parse(await expectLine(child, 'stats')) as Record<string, unknown>;
    await child.exit;
    return {
      requestsPerSecond: round(result.requests.average, 1),
      autocannonP50Ms: result.latency.p50,
      autocannonP99Ms: result.latency.p99,
      p50Ms: round(quantile(sorted, 0.5)),
      p99Ms: round(quantile(sorted, 0.99)),
      meanMs: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
      total: result.requests.total,
      /** Server CPU (user + system) per request over the measured run: what the pipeline costs, queueing aside. */
      serverCpuUsPerRequest: round((cpuUs as number) / Math.max(1, result.requests.total), 1),
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      load1: round(load1, 2),
      ...(Object.keys(stats).length > 0 ? { stats } : {}),
      ...(profile ? { profile: profileSummary(profile, result.requests.total) } : {}),
    };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

async function runInProcess(path: string, calls: number) {
  const child = spawnChild('a', path, ['--calls', String(calls)]);
  const load1 = loadavg()[0] as number;
  const result = JSON.parse(await expectLine(child, 'result')) as Record<string, number>;
  await child.exit;
  return { ...result, load1: round(load1, 2) };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Where a sample's time goes: the nearest frame on its stack that matches one of these (first match wins per frame). */
const STAGES: [string, RegExp][] = [
  ['profiler (the bench itself)', /node:inspector/],
  ['limits (rate-limiter-flexible, sqlite budget)', /rate-limiter-flexible|gateway\/limits\//],
  ['audit (canonical JSON, hash chain, SQLite append)', /gateway\/audit\/|pipeline\/audit-hook/],
  ['drift monitoring (after the reply)', /src\/monitoring\//],
  ['extraction detection (PRADA, after the reply)', /gateway\/extraction\//],
  ['auth (API key cache + revocation check)', /gateway\/auth\/|pipeline\/auth-hook/],
  ['body: JSON parse + SHA-256 digest', /pipeline\/json-body|secure-json-parse|content-type-parser/],
  ['input validation', /pipeline\/predict-body|pipeline\/validation-hook|defenses\/validation\//],
  ['model (ONNX Runtime + tensor)', /onnxruntime|onnx-model|model-registry|tfjs-core|tfjs-backend/],
  ['output tier + answer', /output-tiers|predict-handler|defenses\/output\//],
  ['metrics (prom-client)', /prom-client|gateway\/metrics/],
  ['logging, ids, request state', /pino|pipeline\/state|node:crypto|randomUUID/],
  ['fastify routing, hooks, reply', /fastify|find-my-way|avvio|light-my-request/],
  [
    'socket writes and HTTP parsing (node)',
    /^writev$|^writeBuffer|^writeUtf8String|_http_|node:net|stream_base_commons/,
  ],
];

/** The profile of the measured run: ms and µs per request by pipeline stage (inclusive, nearest stage), top self time. */
function profileSummary(file: string, requests: number, n = 20) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const c of node.children ?? []) parentOf.set(c, node.id);
  const label = (node: ProfileNode) => {
    const url = node.callFrame.url.replace(/^file:\/\//, '').replace(`${REPO}/`, '');
    return `${node.callFrame.functionName || '(anonymous)'} ${url}`;
  };
  const stageOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = stageOf.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id) as ProfileNode;
    const name = node.callFrame.functionName;
    let stage: string | undefined;
    if (name === '(idle)') stage = 'idle';
    else if (name === '(garbage collector)') stage = 'garbage collector';
    else {
      const text = `${node.callFrame.url} ${name}`;
      stage = STAGES.find(([, re]) => re.test(text) || re.test(name))?.[0];
    }
    const parent = parentOf.get(id);
    const result = stage ?? (parent === undefined ? 'other' : classify(parent));
    stageOf.set(id, result);
    return result;
  };
  const stages = new Map<string, number>();
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    total += ms;
    const stage = classify(id);
    stages.set(stage, (stages.get(stage) ?? 0) + ms);
    const name = label(byId.get(id) as ProfileNode);
    self.set(name, (self.get(name) ?? 0) + ms);
  });
  const perRequest = (ms: number) => round((ms * 1000) / Math.max(1, requests), 1);
  const idle = stages.get('idle') ?? 0;
  return {
    file,
    requests,
    profiledMs: round(total, 0),
    busyUsPerRequest: perRequest(total - idle),
    stages: [...stages.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([stage, ms]) => ({ stage, ms: round(ms, 0), usPerRequest: perRequest(ms) })),
    topSelf: [...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms: round(ms, 0), usPerRequest: perRequest(ms) })),
  };
}

type Run = Record<string, number>;

/** Medians over repeats of one connection count: per config figures and overhead against the bare route. */
function summarise(configs: ConfigName[], runs: Record<string, Run[]>) {
  const med = (which: string, field: string) => {
    const list = runs[which] ?? [];
    return list.length ? round(median(list.map((x) => x[field] as number))) : null;
  };
  const summary: Record<string, unknown> = {};
  for (const which of configs) {
    summary[which] =
      which === 'a'
        ? {
            what: DESCRIPTIONS.a,
            p50Us: med('a', 'p50Us'),
            p99Us: med('a', 'p99Us'),
            callsPerSecond: med('a', 'callsPerSecond'),
          }
        : {
            what: DESCRIPTIONS[which],
            requestsPerSecond: med(which, 'requestsPerSecond'),
            serverCpuUsPerRequest: med(which, 'serverCpuUsPerRequest'),
            p50Ms: med(which, 'p50Ms'),
            p99Ms: med(which, 'p99Ms'),
            autocannonP50Ms: med(which, 'autocannonP50Ms'),
            autocannonP99Ms: med(which, 'autocannonP99Ms'),
          };
  }
  const overheadVsBare: Record<string, unknown> = {};
  const b50 = med('b', 'p50Ms');
  const b99 = med('b', 'p99Ms');
  const bRps = med('b', 'requestsPerSecond');
  for (const which of configs.filter((c) => c !== 'a' && c !== 'b')) {
    const p50 = med(which, 'p50Ms');
    const p99 = med(which, 'p99Ms');
    const rps = med(which, 'requestsPerSecond');
    const cpu = med(which, 'serverCpuUsPerRequest');
    const bCpu = med('b', 'serverCpuUsPerRequest');
    if (b50 && p50 && b99 && p99 && bRps && rps) {
      overheadVsBare[which] = {
        p50: round(p50 / b50 - 1),
        p99: round(p99 / b99 - 1),
        throughput: round(rps / bRps - 1),
        ...(cpu && bCpu ? { serverCpuPerRequest: round(cpu / bCpu - 1) } : {}),
      };
    }
  }
  const d = overheadVsBare.d as { p50: number } | undefined;
  return {
    summary,
    overheadVsBare,
    goalFullPipelineP50UnderBarePlus15Percent: d ? d.p50 < 0.15 : null,
  };
}

async function parent(): Promise<void> {
  const configs = flag('configs', 'a,b,c,d').split(',') as ConfigName[];
  const connectionCounts = flag('connections', '10').split(',').map(Number);
  const duration = Number(flag('duration', '20'));
  const warmup = Number(flag('warmup', '5'));
  const repeats = Number(flag('repeats', '3'));
  const calls = Number(flag('calls', '20000'));
  const profArg = flag('cpu-prof', '');
  const profDir = profArg ? resolve(profArg) : undefined;
  if (profDir) mkdirSync(profDir, { recursive: true });
  const model = modelPath();
  // --images N: cycle through the first N test images (PRADA and the drift tests then see varied traffic).
  const images = Number(flag('images', '1'));
  const bodies: string[] = [];
  for (let i = 0; i < images; i++) bodies.push(JSON.stringify({ inputs: [await testRow(i)], shape: [1, 28, 28, 1] }));
  const loadAtStart = loadavg().map((x) => round(x, 2));

  const byConnections: Record<string, unknown> = {};
  const inProcess: Run[] = [];
  for (const connections of connectionCounts) {
    const runs: Record<string, Run[]> = {};
    for (let r = 0; r < repeats; r++) {
      // Rotate the order each repeat, so a slow spell of the machine does not always hit the same config.
      const order = configs.map((_, i) => configs[(i + r) % configs.length] as ConfigName);
      for (const which of order) {
        // The in-process loop does not depend on connections: measured with the first count only.
        if (which === 'a' && connections !== connectionCounts[0]) continue;
        const run =
          which === 'a'
            ? await runInProcess(model.path, calls)
            : ((await runHttp(which, model.path, bodies, {
                connections,
                duration,
                warmup,
                profDir,
              })) as unknown as Run);
        if (which === 'a') inProcess.push(run);
        const list = runs[which] ?? [];
        list.push(run);
        runs[which] = list;
        process.stderr.write(`${connections} conn, repeat ${r + 1}/${repeats} ${which}: ${JSON.stringify(run)}\n`);
      }
    }
    runs.a = inProcess;
    byConnections[String(connections)] = { ...summarise(configs, runs), runs };
  }
  const out = {
    bench: 'gateway-load',
    model: model.source,
    body: `${images === 1 ? 'the first image' : `the first ${images} images (cycled)`} of test/fixtures/fmnist_test200.npz as {"inputs": [784 values], "shape": [1, 28, 28, 1]}`,
    setup: `server in a child process, autocannon 9 in the parent, loopback, ${warmup} s warm-up + ${duration} s per run, ${repeats} repeats (median), configurations interleaved`,
    node: process.version,
    loadavgAtStart: loadAtStart,
    loadavgAtEnd: loadavg().map((x) => round(x, 2)),
    connections: byConnections,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

if (process.argv.includes('--child')) await child();
else await parent();
