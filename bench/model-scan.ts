/**
 * Model-file scanner throughput (the pickle family and the scanner core). Writes its samples
 * to a temp dir (deleted after), scans each with scanPath as `aegis scan` does, and prints
 * one JSON document with the median of --rounds timed runs (after one untimed run):
 *
 * - pytorchZip: a torch.save-style zip, ~1 GiB: archive/data.pkl (a state dict of 64
 *   tensors) plus one stored 1 GiB storage entry (a sparse hole: the scanner never reads it).
 * - rawPickle: a protocol-4 pickle of ~1 GiB: a list of 64 BINBYTES8 payloads of 16 MiB
 *   (holes too), skipped by offset.
 * - densePickle: ~64 MiB of real opcodes (a list of (int, float, str) tuples with memo
 *   puts), the parser's own speed.
 * - joblibZlib: a zlib-compressed joblib file (128 MiB of inline float32 array data,
 *   compressible), inflated as a stream and scanned.
 * - smallFiles: a folder of 1,000 small files (pickles, .npy, PyTorch zips, text).
 *
 * Times are wall and CPU seconds (CPU counts every thread of the process, GC included); on a
 * shared machine the CPU figure is the steadier one. Throughput of the joblib workload is per
 * inflated byte. maxRssMiB is the process's peak resident set after each workload (it only grows).
 * Usage: npx tsx bench/model-scan.ts [--rounds 3] [--gib 1]
 */
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { crc32, deflateSync } from 'node:zlib';
import { scanPath } from '../src/defenses/model-scan/scan-path.js';
import { joblibFile, osSystemProtocol2, pickle, torchStateDict } from '../test/helpers/pickle-bytes.js';
import { buildZip, npyBytes } from '../test/helpers/zip-bytes.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, gib: { type: 'string', default: '1' } },
});
const rounds = Number(values.rounds);
const GiB = 1024 ** 3;
const total = Math.round(Number(values.gib) * GiB);
const MiB = 1024 ** 2;

function le(value: number, bytes: number): number[] {
  const out: number[] = [];
  let v = value;
  for (let k = 0; k < bytes; k++) {
    out.push(v % 256);
    v = Math.floor(v / 256);
  }
  return out;
}

function u16(v: number): number[] {
  return le(v, 2);
}

function u32(v: number): number[] {
  return le(v, 4);
}

/** CRC-32 of n zero bytes (the hole), 64 MiB at a time. */
function zeroCrc(n: number): number {
  const zeros = new Uint8Array(64 * MiB);
  let crc = 0;
  for (let done = 0; done < n; done += zeros.length)
    crc = crc32(zeros.subarray(0, Math.min(zeros.length, n - done)), crc);
  return crc;
}

/** A zip with archive/data.pkl and one stored ZIP64 storage entry of `size` zero bytes left as a hole. */
function writeTorchZip(path: string, size: number): void {
  const fd = openSync(path, 'w');
  const enc = new TextEncoder();
  const entries: { name: Uint8Array; crc: number; size: number; at: number }[] = [];
  let at = 0;
  const write = (bytes: number[] | Uint8Array) => {
    writeSync(fd, Uint8Array.from(bytes), 0, bytes.length, at);
    at += bytes.length;
  };
  const names = Array.from({ length: 64 }, (_, k) => `layer${k}.weight`);
  const pkl = torchStateDict(names);
  const local = (name: Uint8Array, crc: number, n: number, zip64: boolean) => [
    ...u32(0x04034b50),
    ...u16(45),
    ...u16(0),
    ...u16(0),
    ...u16(0),
    ...u16(0x21),
    ...u32(crc),
    ...u32(zip64 ? 0xffffffff : n),
    ...u32(zip64 ? 0xffffffff : n),
    ...u16(name.length),
    ...u16(zip64 ? 20 : 0),
    ...name,
    ...(zip64 ? [...u16(1), ...u16(16), ...le(n, 8), ...le(n, 8)] : []),
  ];
  const pklName = enc.encode('archive/data.pkl');
  entries.push({ name: pklName, crc: crc32(pkl), size: pkl.length, at });
  write(local(pklName, crc32(pkl), pkl.length, false));
  write(pkl);
  const dataName = enc.encode('archive/data/0');
  const crc = zeroCrc(size);
  entries.push({ name: dataName, crc, size, at });
  write(local(dataName, crc, size, true));
  at += size; // the hole
  const cdStart = at;
  for (const e of entries) {
    const big = e.size >= 0xffffffff || e.at >= 0xffffffff;
    const extra = big ? [...u16(1), ...u16(24), ...le(e.size, 8), ...le(e.size, 8), ...le(e.at, 8)] : [];
    write([
      ...u32(0x02014b50),
      ...u16(45),
      ...u16(45),
      ...u16(0),
      ...u16(0),
      ...u16(0),
      ...u16(0x21),
      ...u32(e.crc),
      ...u32(big ? 0xffffffff : e.size),
      ...u32(big ? 0xffffffff : e.size),
      ...u16(e.name.length),
      ...u16(extra.length),
      ...u16(0),
      ...u16(0),
      ...u16(0),
      ...u32(0),
      ...u32(big ? 0xffffffff : e.at),
      ...e.name,
      ...extra,
    ]);
  }
  const cdSize = at - cdStart;
  const zip64At = at;
  write([...u32(0x06064b50), ...le(44, 8), ...u16(45), ...u16(45), ...u32(0), ...u32(0)]);
  write([...le(entries.length, 8), ...le(entries.length, 8), ...le(cdSize, 8), ...le(cdStart, 8)]);
  write([...u32(0x07064b50), ...u32(0), ...le(zip64At, 8), ...u32(1)]);
  write([...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(0xffff), ...u16(0xffff)]);
  write([...u32(0xffffffff), ...u32(0xffffffff), ...u16(0)]);
  closeSync(fd);
}

/** PROTO 4, a list of BINBYTES8 payloads of `chunk` bytes each (holes), then STOP. */
function writeRawPickle(path: string, size: number, chunk = 16 * MiB): void {
  const fd = openSync(path, 'w');
  let at = 0;
  const write = (bytes: number[]) => {
    writeSync(fd, Uint8Array.from(bytes), 0, bytes.length, at);
    at += bytes.length;
  };
  write([0x80, 4, 0x5d, 0x94, 0x28]); // PROTO 4, EMPTY_LIST, MEMOIZE, MARK
  for (let k = 0; k * chunk < size; k++) {
    write([0x8e, ...le(chunk, 8)]);
    at += chunk;
    write([0x94]);
  }
  write([0x65, 0x2e]); // APPENDS, STOP
  ftruncateSync(fd, at);
  closeSync(fd);
}

/** ~size bytes of real opcodes: [(i, i/3, 'name_i'), …] with a MEMOIZE per tuple, in APPENDS batches of 1000. */
function writeDensePickle(path: string, size: number): void {
  const fd = openSync(path, 'w');
  let at = 0;
  const flush = (b: Uint8Array) => {
    writeSync(fd, b, 0, b.length, at);
    at += b.length;
  };
  flush(pickle().proto(4).emptyList().memoize().bytes());
  const batch = Buffer.alloc(1000 * 40 + 2);
  for (let i = 0; at < size; ) {
    let n = 0;
    batch[n++] = 0x28; // MARK
    for (let k = 0; k < 1000; k++, i++) {
      batch[n++] = 0x4a; // BININT
      n = batch.writeInt32LE(i, n);
      batch[n++] = 0x47; // BINFLOAT
      n = batch.writeDoubleBE(i / 3, n);
      const name = `name_${i}`;
      batch[n++] = 0x8c; // SHORT_BINUNICODE
      batch[n++] = name.length;
      n += batch.write(name, n, 'latin1');
      batch[n++] = 0x87; // TUPLE3
      batch[n++] = 0x94; // MEMOIZE
    }
    batch[n++] = 0x65; // APPENDS
    flush(batch.subarray(0, n));
  }
  flush(pickle().stop().bytes());
  closeSync(fd);
}

function writeJoblibZlib(path: string, arrayBytes: number): number {
  // The pickle around one array (built with no data), then the array bytes spliced in before TUPLE, STOP.
  const frame = joblibFile([{ dtype: 'f4', shape: [arrayBytes / 4], data: new Uint8Array(0), aligned: true }]);
  const data = new Uint8Array(arrayBytes);
  for (let i = 0; i < data.length; i += 4) data[i + 2] = (i >> 10) & 0xff; // compressible floats
  const raw = Buffer.concat([frame.subarray(0, frame.length - 2), data, frame.subarray(frame.length - 2)]);
  writeFileSync(path, deflateSync(raw, { level: 1 }));
  return raw.length;
}

function writeSmallFiles(dir: string): void {
  mkdirSync(dir);
  const enc = new TextEncoder();
  for (let i = 0; i < 1000; i++) {
    const name = join(dir, `f${String(i).padStart(4, '0')}`);
    switch (i % 10) {
      case 0:
      case 1:
      case 2:
      case 3:
        writeFileSync(`${name}.pkl`, torchStateDict([`w${i}`, `b${i}`]));
        break;
      case 4:
      case 5:
      case 6:
        writeFileSync(`${name}.npy`, npyBytes('<f4', [16, 16], new Uint8Array(1024)));
        break;
      case 7:
      case 8:
        writeFileSync(
          `${name}.pt`,
          buildZip([
            { name: 'archive/data.pkl', data: torchStateDict() },
            { name: 'archive/data/0', data: new Uint8Array(2048) },
          ]),
        );
        break;
      default:
        writeFileSync(`${name}.txt`, enc.encode(i === 9 ? 'x' : 'notes '.repeat(100)));
    }
  }
  writeFileSync(join(dir, 'evil.pkl'), osSystemProtocol2());
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Wall and CPU seconds (CPU: this process, all threads — on a loaded machine wall time overstates). */
function time(path: string): {
  seconds: number[];
  cpuSeconds: number[];
  files: number;
  bytes: number;
  findings: string[];
} {
  process.stderr.write(`scanning ${path}\n`);
  let last = scanPath(path);
  const seconds: number[] = [];
  const cpuSeconds: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    last = scanPath(path);
    const c = process.cpuUsage(c0);
    seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
    cpuSeconds.push((c.user + c.system) / 1e6);
  }
  return {
    seconds,
    cpuSeconds,
    files: last.length,
    bytes: last.reduce((a, s) => a + s.bytes, 0),
    findings: [...new Set(last.flatMap((s) => s.findings.map((f) => `${f.severity} ${f.rule}`)))].sort(),
  };
}

type Timing = ReturnType<typeof time>;

/** Medians of the timed rounds, throughput by wall and by CPU time, and the peak RSS so far. */
function summary(t: Timing, bytes = t.bytes): Record<string, unknown> {
  const wall = median(t.seconds);
  const cpu = median(t.cpuSeconds);
  return {
    files: t.files,
    bytes: t.bytes,
    findings: t.findings,
    wallSeconds: Number(wall.toFixed(4)),
    cpuSeconds: Number(cpu.toFixed(4)),
    wallRuns: t.seconds.map((x) => Number(x.toFixed(4))),
    mibPerSecondWall: Math.round(bytes / MiB / wall),
    mibPerSecondCpu: Math.round(bytes / MiB / Math.max(cpu, 1e-6)),
    filesPerSecondWall: Math.round(t.files / wall),
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'aegis-bench-scan-'));
try {
  const report: Record<string, unknown> = { node: process.version, rounds, loadAverage: loadavg() };

  writeTorchZip(join(dir, 'model.pt'), total);
  report.pytorchZip = summary(time(join(dir, 'model.pt')));

  writeRawPickle(join(dir, 'raw.pkl'), total);
  report.rawPickle = summary(time(join(dir, 'raw.pkl')));

  writeDensePickle(join(dir, 'dense.pkl'), 64 * MiB);
  report.densePickle = summary(time(join(dir, 'dense.pkl')));

  const inflated = writeJoblibZlib(join(dir, 'model.joblib'), 128 * MiB);
  report.joblibZlib = { inflatedBytes: inflated, ...summary(time(join(dir, 'model.joblib')), inflated) };

  writeSmallFiles(join(dir, 'small'));
  report.smallFiles = summary(time(join(dir, 'small')));

  report.loadAverageAfter = loadavg();
  console.log(JSON.stringify(report, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
