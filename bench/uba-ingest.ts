/**
 * UBA ingest throughput: lines read and events parsed per second by the streaming reader
 * (src/detectors/behavior/read-events.ts: gunzip, line split, format detection, parse, dedup,
 * order check; no scoring) on the real Windows logs in ../shared/datasets (OTRF Security-Datasets,
 * evtx-attack-samples) and on generated auth.log / CSV / JSONL files of --lines lines each.
 * Each input is read --repeats times; the median wall time is reported with CPU time and peak
 * heap. Usage: npx tsx bench/uba-ingest.ts [--repeats 3] [--lines 200000] [--out FILE.json]
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { IngestCounts } from '../src/detectors/behavior/event.js';
import { emptyCounts } from '../src/detectors/behavior/parse-common.js';
import { readEvents } from '../src/detectors/behavior/read-events.js';

const { values } = parseArgs({
  options: {
    repeats: { type: 'string', default: '3' },
    lines: { type: 'string', default: '200000' },
    out: { type: 'string' },
    shared: { type: 'string', default: process.env.AEGIS_SHARED ?? '../shared' },
  },
});
const repeats = Number(values.repeats);
const lines = Number(values.lines);
const shared = resolve(values.shared as string, 'datasets');

interface Row {
  input: string;
  files: number;
  bytes: number;
  counts: IngestCounts;
  medianSeconds: number;
  cpuSeconds: number;
  linesPerSecond: number;
  eventsPerSecond: number;
  megabytesPerSecond: number;
  peakHeapMB: number;
}

async function measure(input: string, files: string[]): Promise<Row> {
  const bytes = files.reduce((sum, f) => sum + statSync(f).size, 0);
  const times: number[] = [];
  const cpu: number[] = [];
  let counts = emptyCounts();
  let peakHeap = 0;
  for (let r = 0; r < repeats; r++) {
    counts = emptyCounts();
    globalThis.gc?.();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    for await (const _ of readEvents(files, { counts })) {
      if (++n % 20_000 === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }
    times.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(cpu0);
    cpu.push((c.user + c.system) / 1e6);
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    process.stderr.write(`${input}: run ${r + 1} ${times.at(-1)?.toFixed(2)} s\n`);
  }
  const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)] as number;
  const medianCpu = [...cpu].sort((a, b) => a - b)[Math.floor(cpu.length / 2)] as number;
  return {
    input,
    files: files.length,
    bytes,
    counts,
    medianSeconds: Number(median.toFixed(3)),
    cpuSeconds: Number(medianCpu.toFixed(3)),
    linesPerSecond: Math.round(counts.read / median),
    eventsPerSecond: Math.round(counts.parsed / median),
    megabytesPerSecond: Number((bytes / 2 ** 20 / median).toFixed(2)),
    peakHeapMB: Number((peakHeap / 2 ** 20).toFixed(1)),
  };
}

async function generate(path: string, make: (i: number) => string, header = ''): Promise<void> {
  const out = createWriteStream(path);
  if (header) out.write(header);
  for (let from = 0; from < lines; from += 10_000) {
    const chunk: string[] = [];
    for (let i = from; i < Math.min(lines, from + 10_000); i++) chunk.push(make(i));
    if (!out.write(chunk.join(''))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

const T0 = Date.UTC(2024, 0, 1);
const rows: Row[] = [];
const otrf = join(shared, 'otrf-security-datasets');
if (existsSync(otrf)) {
  const files = [
    'purplesharp_ad_playbook_I.jsonl.gz',
    'empire_psexec_dcerpc_tcp_svcctl.jsonl.gz',
    'empire_over_pth_patch_lsass.jsonl.gz',
    'rdp_interactive_taskmanager_lsass_dump.jsonl.gz',
    'mimikatz_zerologon_cve_2020_1472.jsonl.gz',
    'golden_saml_adfs_mail_access/WindowsEvents.jsonl.gz',
  ].map((f) => join(otrf, f));
  rows.push(await measure('otrf-security-datasets (6 Windows .jsonl.gz)', files));
} else process.stderr.write(`skipping OTRF: ${otrf} absent\n`);
const evtx = join(shared, 'evtx-attack-samples', 'evtx_attack_samples.jsonl.gz');
if (existsSync(evtx)) rows.push(await measure('evtx-attack-samples (python-evtx .jsonl.gz)', [evtx]));
else process.stderr.write(`skipping evtx-attack-samples: ${evtx} absent\n`);

const dir = mkdtempSync(join(tmpdir(), 'aegis-uba-bench-'));
try {
  const months = ['Jan', 'Feb', 'Mar'];
  const auth = join(dir, 'auth.log');
  await generate(auth, (i) => {
    const t = new Date(T0 + i * 1000);
    const stamp = `${months[t.getUTCMonth()] ?? 'Mar'} ${String(t.getUTCDate()).padStart(2)} ${t.toISOString().slice(11, 19)}`;
    const kind = i % 4;
    const msg =
      kind === 0
        ? `sshd[${i}]: Accepted publickey for user${i % 500} from 10.0.${i % 250}.${i % 200} port ${1024 + (i % 60000)} ssh2`
        : kind === 1
          ? `sshd[${i}]: Failed password for invalid user guest${i % 97} from 203.0.113.${i % 250} port ${1024 + (i % 60000)} ssh2`
          : kind === 2
            ? `sudo:  user${i % 500} : TTY=pts/${i % 9} ; PWD=/home/user${i % 500} ; USER=root ; COMMAND=/usr/bin/systemctl restart app${i % 13}`
            : `CRON[${i}]: pam_unix(cron:session): session opened for user root by (uid=0)`;
    return `${stamp} host${i % 20} ${msg}\n`;
  });
  rows.push(await measure(`generated auth.log (${lines} lines)`, [auth]));
  const csv = join(dir, 'events.csv');
  await generate(
    csv,
    (i) =>
      `${new Date(T0 + i * 1000).toISOString()},user${i % 5000},host${i % 300},10.1.${i % 250}.${i % 200},logon,${i % 10 === 0 ? 'failure' : 'success'},${i}\n`,
    'time,user,host,source,action,outcome,id\n',
  );
  rows.push(await measure(`generated CSV (${lines} lines)`, [csv]));
  const jsonl = join(dir, 'events.jsonl');
  await generate(
    jsonl,
    (i) =>
      `${JSON.stringify({ time: T0 + i * 1000, user: `user${i % 5000}`, host: `host${i % 300}`, source: `10.1.${i % 250}.${i % 200}`, action: 'logon', outcome: 'success', id: String(i) })}\n`,
  );
  rows.push(await measure(`generated JSONL (${lines} lines)`, [jsonl]));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const doc = {
  bench: 'uba-ingest',
  node: process.version,
  repeats,
  note: 'wall time on a shared 2-core machine; cpuSeconds is the process CPU time of the median run',
  rows,
};
const text = `${JSON.stringify(doc, null, 2)}\n`;
if (values.out) writeFileSync(values.out, text);
process.stdout.write(text);
