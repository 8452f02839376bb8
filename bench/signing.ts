/**
 * Model signing throughput: `signArtifact` + `verifyArtifact` on one generated ~1 GiB file and on
 * a folder of 1,000 small files (1–64 KiB, 10 sub-folders), in a temp dir deleted afterwards.
 * Rounds alternate sign and verify; prints medians as JSON, with `sha256sum` on the same big file
 * and `openssl dgst -sha256` on the
 * same big file as ceilings (one core, no signing). Files are freshly written, so reads come from the page cache.
 * Usage: npx tsx bench/signing.ts [--mib 1024] [--files 1000] [--rounds 3]
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { signArtifact } from '../src/defenses/lineage/sign-artifact.js';
import { generateSigningKeyPair } from '../src/defenses/lineage/signing-keys.js';
import { verifyArtifact } from '../src/defenses/lineage/verify-artifact.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const mib = flag('mib', 1024);
const fileCount = flag('files', 1000);
const rounds = flag('rounds', 3);
const rng = new Rng(0);

function randomBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rng.next() * 256);
  return out;
}

/** Writes `mib` MiB: a 16 MiB seeded block, each copy stamped with its index so no two repeat. */
function writeBigFile(path: string): number {
  const block = randomBytes(16 << 20);
  const fd = openSync(path, 'w');
  let written = 0;
  try {
    for (let i = 0; written < mib << 20; i++) {
      block.writeUInt32LE(i, 0);
      const n = Math.min(block.length, (mib << 20) - written);
      writeSync(fd, block, 0, n);
      written += n;
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

function writeSmallFiles(dir: string): number {
  let bytes = 0;
  for (let i = 0; i < fileCount; i++) {
    const sub = join(dir, `part-${i % 10}`);
    mkdirSync(sub, { recursive: true });
    const size = 1024 + Math.floor(rng.next() * 63 * 1024);
    writeFileSync(join(sub, `tensor-${String(i).padStart(4, '0')}.bin`), randomBytes(size));
    bytes += size;
  }
  return bytes;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = process.hrtime.bigint();
  const result = await fn();
  return [Number(process.hrtime.bigint() - start) / 1e9, result];
}

async function measure(target: string, bytes: number, files: number) {
  const { privateKey, publicKey } = generateSigningKeyPair();
  const sign: number[] = [];
  const verify: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const [s, signed] = await time(() => signArtifact(target, { privateKey }));
    const [v, report] = await time(() => verifyArtifact(target, { publicKey }));
    if (signed.files !== files || !report.valid) throw new Error(`bench: unexpected result on ${target}`);
    sign.push(s);
    verify.push(v);
  }
  const mbps = (seconds: number) => Number((bytes / 1e6 / seconds).toFixed(1));
  return {
    files,
    megabytes: Number((bytes / 1e6).toFixed(1)),
    signSeconds: Number(median(sign).toFixed(3)),
    verifySeconds: Number(median(verify).toFixed(3)),
    signMBps: mbps(median(sign)),
    verifyMBps: mbps(median(verify)),
    signFilesPerSecond: Math.round(files / median(sign)),
    verifyFilesPerSecond: Math.round(files / median(verify)),
  };
}

/** MB/s of an external SHA-256 tool on the same file (a ceiling for one core), if it is installed. */
function toolMBps(command: string, args: string[], bytes: number): number | undefined {
  const start = process.hrtime.bigint();
  const run = spawnSync(command, args);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return run.status === 0 ? Number((bytes / 1e6 / seconds).toFixed(1)) : undefined;
}

const dir = mkdtempSync(join(tmpdir(), 'aegis-bench-signing-'));
try {
  const bigDir = join(dir, 'big');
  mkdirSync(bigDir);
  const bigFile = join(bigDir, 'model.safetensors');
  const bigBytes = writeBigFile(bigFile);
  const smallDir = join(dir, 'small');
  mkdirSync(smallDir);
  const smallBytes = writeSmallFiles(smallDir);
  const bigResult = await measure(bigFile, bigBytes, 1);
  const smallResult = await measure(smallDir, smallBytes, fileCount);
  console.log(
    JSON.stringify(
      {
        node: process.version,
        rounds,
        bigFile: {
          ...bigResult,
          sha256sumMBps: toolMBps('sha256sum', [bigFile], bigBytes),
          opensslSha256MBps: toolMBps('openssl', ['dgst', '-sha256', bigFile], bigBytes),
        },
        smallFiles: smallResult,
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
