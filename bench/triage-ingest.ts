/**
 * Alert triage ingest throughput (issue 8): a generated Suricata EVE file of ~200k alerts
 * (seeded: Zipf-distributed signatures and sources (60 rules, 300 sources), 2,000 targets, bursts over one day, local
 * time jitter so lines arrive out of order, 2% duplicate deliveries, 3% flow/stats events, 0.1%
 * broken lines), read plain and gzipped, then:
 *
 *   read     stream + parse + format detection + duplicate ids (readAlerts)
 *   group    read + dedup/grouping into incidents in memory (AlertGrouper)
 *   ingest   the whole `aegis triage ingest`: read, group, store alerts/incidents in SQLite on
 *            disk (WAL), compute features and rank every incident (ingestAlerts)
 *
 * Each stage reports alerts/s (alerts offered per wall second) and alerts per CPU second of this
 * process (user + system; steadier than wall time on a shared machine), the ingest its phases;
 * the process's peak RSS is sampled. Prints one JSON document.
 *
 * Usage: npx tsx bench/triage-ingest.ts [--alerts 200000] [--seed 0] [--keep DIR]
 */
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { Rng } from '../src/core/rng.js';
import { AlertGrouper } from '../src/detectors/triage/group.js';
import { ingestAlerts } from '../src/detectors/triage/pipeline.js';
import { emptyIngestCounts, readAlerts } from '../src/detectors/triage/read-alerts.js';
import { TRIAGE_MIGRATIONS } from '../src/detectors/triage/triage-store.js';
import { openStore } from '../src/store/store.js';

const { values: args } = parseArgs({
  options: {
    alerts: { type: 'string', default: '200000' },
    seed: { type: 'string', default: '0' },
    keep: { type: 'string' },
  },
});
const N = Number(args.alerts);
const rng = new Rng(Number(args.seed));

const SIGNATURES = Array.from({ length: 60 }, (_, k) => ({
  sid: 2_000_000 + k * 37,
  name: `ET RULE ${k}`,
  severity: 1 + (k % 3),
  tactic: ['TA0043', 'TA0007', 'TA0001', 'TA0011', ''][k % 5] as string,
  technique: ['T1595', 'T1046', 'T1190', 'T1071', ''][k % 5] as string,
}));
/** Sampler of index k with probability ∝ 1/(k+1)^s (a few loud items, a long tail). */
function zipf(n: number, s: number): () => number {
  const w = Array.from({ length: n }, (_, k) => 1 / (k + 1) ** s);
  const total = w.reduce((a, b) => a + b, 0);
  let acc = 0;
  const cumulative = w.map((x) => (acc += x / total));
  return () => {
    const u = rng.next();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
const pickSignatureIndex = zipf(SIGNATURES.length, 1.1);
const pickSignature = () => SIGNATURES[pickSignatureIndex()] as (typeof SIGNATURES)[number];
const SOURCES = Array.from({ length: 300 }, (_, k) => `10.${k % 3}.${Math.floor(k / 3) % 10}.${Math.floor(k / 30)}`);
const pickSource = zipf(SOURCES.length, 1.0);

const T0 = Date.UTC(2024, 2, 1);
function* eveLines(): Generator<string> {
  let t = T0;
  let previous = '';
  for (let i = 0; i < N; i++) {
    // Bursts: mostly seconds apart, sometimes a pause of up to an hour.
    t += rng.next() < 0.0001 ? rng.uniform(0, 3_600_000) : rng.uniform(0, 800);
    const jitter = Math.round(rng.uniform(-30_000, 30_000)); // sensors out of sync: out-of-order lines
    const sig = pickSignature();
    const src = SOURCES[pickSource()] as string;
    const dst = `192.168.${rng.int(8)}.${rng.int(250)}`;
    const record = {
      timestamp: new Date(t + jitter).toISOString().replace('Z', '+0000'),
      flow_id: 1e12 + i,
      in_iface: 'eth0',
      event_type: 'alert',
      src_ip: src,
      src_port: 1024 + rng.int(60000),
      dest_ip: dst,
      dest_port: [22, 80, 443, 445, 3389][rng.int(5)],
      proto: 'TCP',
      alert: {
        action: 'allowed',
        gid: 1,
        signature_id: sig.sid,
        rev: 3,
        signature: sig.name,
        category: 'Attempted Information Leak',
        severity: sig.severity,
        metadata: sig.tactic ? { mitre_tactic_id: [sig.tactic], mitre_technique_id: [sig.technique] } : {},
      },
    };
    const line = JSON.stringify(record);
    yield line;
    if (rng.next() < 0.02 && previous) yield previous; // a redelivered earlier line
    if (rng.next() < 0.03) yield JSON.stringify({ timestamp: record.timestamp, event_type: 'flow', flow_id: 1e12 + i });
    if (rng.next() < 0.001) yield line.slice(0, 50);
    previous = line;
  }
}

async function writeFiles(dir: string): Promise<{ plain: string; gz: string; lines: number }> {
  const plain = join(dir, 'eve.json');
  const gz = join(dir, 'eve.json.gz');
  let lines = 0;
  const out = createWriteStream(plain);
  for (const line of eveLines()) {
    lines++;
    if (!out.write(`${line}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  await pipeline(createReadStream(plain), createGzip(), createWriteStream(gz));
  return { plain, gz, lines };
}

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 50);

/** CPU seconds (user + system) of this process since `from`. */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1e6;
};

async function timeRead(path: string) {
  const counts = emptyIngestCounts();
  const cpu = process.cpuUsage();
  const t = performance.now();
  let n = 0;
  for await (const _ of readAlerts(path, { counts })) n++;
  const seconds = (performance.now() - t) / 1000;
  const cpuSeconds = cpuSince(cpu);
  return { alerts: n, seconds, cpuSeconds, alertsPerSecond: n / seconds, alertsPerCpuSecond: n / cpuSeconds, counts };
}

async function timeGroup(path: string) {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const g = new AlertGrouper();
  let n = 0;
  for await (const a of readAlerts(path)) {
    g.add(a);
    n++;
  }
  g.flush();
  const seconds = (performance.now() - t) / 1000;
  const cpuSeconds = cpuSince(cpu);
  return {
    alerts: n,
    seconds,
    cpuSeconds,
    alertsPerSecond: n / seconds,
    alertsPerCpuSecond: n / cpuSeconds,
    incidents: g.incidents().length,
    ...g.counts,
  };
}

async function timeIngest(path: string, dir: string) {
  const storePath = join(dir, `store-${Date.now()}.db`);
  const db = openStore(storePath, TRIAGE_MIGRATIONS);
  try {
    const counts = emptyIngestCounts();
    const cpu = process.cpuUsage();
    const r = await ingestAlerts(db, readAlerts(path, { counts }));
    const cpuSeconds = cpuSince(cpu);
    return {
      ...r,
      cpuSeconds,
      alertsPerSecond: r.alerts / r.seconds,
      alertsPerCpuSecond: r.alerts / cpuSeconds,
      storeBytes: statSync(storePath).size + (statSync(`${storePath}-wal`, { throwIfNoEntry: false })?.size ?? 0),
    };
  } finally {
    db.close();
  }
}

const dir = args.keep ?? mkdtempSync(join(tmpdir(), 'aegis-bench-triage-'));
if (args.keep) mkdirSync(args.keep, { recursive: true });
try {
  const t = performance.now();
  const files = await writeFiles(dir);
  const generateSeconds = (performance.now() - t) / 1000;
  const readPlain = await timeRead(files.plain);
  const readGz = await timeRead(files.gz);
  const group = await timeGroup(files.plain);
  const ingest = await timeIngest(files.gz, dir);
  clearInterval(sampler);
  const round = (x: number) => Math.round(x);
  console.log(
    JSON.stringify(
      {
        alertsGenerated: N,
        lines: files.lines,
        bytes: { plain: statSync(files.plain).size, gz: statSync(files.gz).size },
        generateSeconds,
        read: {
          plain: {
            ...readPlain,
            alertsPerSecond: round(readPlain.alertsPerSecond),
            alertsPerCpuSecond: round(readPlain.alertsPerCpuSecond),
          },
          gz: {
            ...readGz,
            alertsPerSecond: round(readGz.alertsPerSecond),
            alertsPerCpuSecond: round(readGz.alertsPerCpuSecond),
            counts: undefined,
          },
        },
        group: {
          ...group,
          alertsPerSecond: round(group.alertsPerSecond),
          alertsPerCpuSecond: round(group.alertsPerCpuSecond),
        },
        ingest: {
          ...ingest,
          alertsPerSecond: round(ingest.alertsPerSecond),
          alertsPerCpuSecond: round(ingest.alertsPerCpuSecond),
        },
        peakRssMiB: round(peakRss / 2 ** 20),
        machine: { node: process.version, loadavg: loadavg().map((x) => Number(x.toFixed(2))) },
      },
      null,
      2,
    ),
  );
} finally {
  clearInterval(sampler);
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}
