/**
 * Lineage throughput: `recordDataset` (file + per-record SHA-256, RFC 6962 Merkle roots, manifest)
 * and `verifyDataset` (unchanged: one streamed SHA-256 per file; changed: records re-read and diffed)
 * on the bundled Fashion-MNIST IDX files, the full Fashion-MNIST when /usr/share/datasets has it, and
 * a generated CSV (default ~200 MB, quoted fields with commas and newlines) in a temp folder that is
 * deleted afterwards. The changed-CSV case edits one byte of one row in place. maxRssMB after each
 * phase is the process's peak so far (phases run in the order listed).
 * Prints one JSON document. Usage: npx tsx bench/lineage.ts [--csv-mb 200] [--seed 0]
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../src/core/rng.js';
import { recordDataset } from '../src/defenses/lineage/record.js';
import { verifyDataset } from '../src/defenses/lineage/verify.js';

const { values } = parseArgs({
  options: { 'csv-mb': { type: 'string', default: '200' }, seed: { type: 'string', default: '0' } },
});
const csvMb = Number(values['csv-mb']);
const seed = Number(values.seed);

const WORDS = [
  'free',
  'entry',
  'win',
  'call',
  'now',
  'meeting',
  'tomorrow',
  'invoice',
  'urgent',
  'prize',
  'ok',
  'lunch',
];

/** Writes ~`mb` MB of CSV: id, 8 numeric features, a label and a quoted text (some with commas or newlines). */
function writeCsv(path: string, mb: number, rng: Rng): { bytes: number; rows: number } {
  const fd = openSync(path, 'w');
  let bytes = 0;
  let rows = 0;
  try {
    const header = `id,${Array.from({ length: 8 }, (_, i) => `f${i}`).join(',')},label,text\n`;
    bytes += writeSync(fd, header);
    while (bytes < mb * 1e6) {
      const lines: string[] = [];
      for (let k = 0; k < 10_000; k++, rows++) {
        const features = Array.from({ length: 8 }, () => rng.normal().toFixed(4)).join(',');
        const words = Array.from({ length: 3 + rng.int(5) }, () => WORDS[rng.int(WORDS.length)]).join(' ');
        const text = rng.next() < 0.05 ? `${words},\n${words}` : words;
        lines.push(`${rows},${features},${rng.int(2)},"${text}"`);
      }
      bytes += writeSync(fd, `${lines.join('\n')}\n`);
    }
  } finally {
    closeSync(fd);
  }
  return { bytes, rows };
}

/** Changes one byte inside a row near the middle (same length: a value digit). */
function editMiddleRow(path: string): void {
  const size = statSync(path).size;
  const fd = openSync(path, 'r+');
  try {
    const buffer = Buffer.alloc(4096);
    const at = Math.floor(size / 2);
    readSync(fd, buffer, 0, buffer.length, at);
    const digit = buffer.findIndex((b, i) => i > 200 && b >= 0x30 && b <= 0x38);
    buffer[digit] = (buffer[digit] as number) + 1;
    writeSync(fd, buffer, digit, 1, at + digit);
  } finally {
    closeSync(fd);
  }
}

/**
 * The cost floor on this machine right now: one node:crypto SHA-256 object per 100-byte input.
 * Recording costs three such calls a record (its digest, its Merkle leaf, about one inner node).
 */
function hashCallsPerSecond(): number {
  const input = Buffer.alloc(100, 7);
  const n = 200_000;
  const start = performance.now();
  for (let i = 0; i < n; i++) createHash('sha256').update(input).digest();
  return Math.round(n / ((performance.now() - start) / 1000));
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - start) / 1000 };
}

/** Peak resident memory of the process so far (monotonic: read after each phase). */
function maxRssMB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

function rates(bytes: number, records: number, seconds: number) {
  return {
    seconds: Number(seconds.toFixed(3)),
    maxRssMB: maxRssMB(),
    mbPerSecond: Number((bytes / 1e6 / seconds).toFixed(1)),
    recordsPerSecond: Math.round(records / seconds),
  };
}

async function benchDataset(label: string, path: string, work: string, edit?: () => void) {
  const out = join(work, `${label}.lineage.json`);
  const rec = await timed(() => recordDataset(path, { out }));
  const m = rec.value.manifest;
  const bytes = m.files.reduce((s, f) => s + f.bytes, 0);
  const records = m.files.reduce((s, f) => s + (f.records ?? 0), 0);
  const recordRates = rates(bytes, records, rec.seconds);
  const same = await timed(() => verifyDataset(out, { dataset: path }));
  if (!same.value.identical) throw new Error(`${label}: verify of unchanged data reported a difference`);
  const row: Record<string, unknown> = {
    dataset: label,
    files: m.files.length,
    bytes,
    records,
    digestStorage: m.recordDigests.storage,
    manifestBytes: statSync(out).size,
    ...(rec.value.sidecarPath ? { sidecarBytes: statSync(rec.value.sidecarPath).size } : {}),
    record: recordRates,
    verifyUnchanged: rates(bytes, records, same.seconds),
  };
  if (edit) {
    edit();
    const changed = await timed(() => verifyDataset(out, { dataset: path }));
    const diff = changed.value.files.changed[0]?.records?.diff;
    row.verifyOneRowChanged = {
      ...rates(bytes, records, changed.seconds),
      reported: { added: diff?.added.count, removed: diff?.removed.count, changed: diff?.changed.count },
    };
  }
  return row;
}

const work = mkdtempSync(join(tmpdir(), 'aegis-bench-lineage-'));
try {
  const calibration = hashCallsPerSecond();
  const rows: Record<string, unknown>[] = [];
  rows.push(await benchDataset('fashion-mnist-bundled', 'data/fashion-mnist', work));
  const full = '/usr/share/datasets/fashion-mnist';
  if (existsSync(join(full, 'train-images-idx3-ubyte.gz')))
    rows.push(await benchDataset('fashion-mnist-full', full, work));
  const csvDir = join(work, 'csv');
  mkdirSync(csvDir);
  const csvPath = join(csvDir, 'flows.csv');
  const generated = writeCsv(csvPath, csvMb, new Rng(seed));
  rows.push({
    generated,
    ...(await benchDataset(`csv-${csvMb}mb`, csvDir, work, () => editMiddleRow(csvPath))),
  });
  console.log(
    JSON.stringify(
      {
        bench: 'lineage',
        node: process.version,
        maxRssMB: maxRssMB(),
        sha256CallsPerSecond: calibration,
        rows,
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
