/**
 * Audit log speed: AuditLog.append (BEGIN IMMEDIATE, head re-read inside the transaction, canonical
 * JSON, SHA-256, one INSERT) at synchronous=NORMAL and FULL; a single-writer variant that keeps the
 * head in memory and uses a plain BEGIN, to price the re-read; the encoding + hash alone; and
 * verify() over the whole chain. Stores live in a temp folder that is deleted afterwards.
 * Prints one JSON document. Usage: npx tsx bench/gateway-audit.ts [--rows 100000] [--full-rows 2000]
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AUDIT_MIGRATIONS, AuditLog } from '../src/gateway/audit/audit-log.js';
import { auditRecord, chainHash, GENESIS_HASH } from '../src/gateway/audit/canonical.js';
import type { AuditEntry } from '../src/gateway/types.js';
import { openStore, type StoreDatabase } from '../src/store/store.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '100000' }, 'full-rows': { type: 'string', default: '2000' } },
});
const rows = Number(values.rows);
if (!Number.isInteger(rows) || rows < 2) throw new Error('--rows takes a whole number ≥ 2');
const fullRows = Number(values['full-rows']);
const dir = mkdtempSync(join(tmpdir(), 'aegis-bench-audit-'));

/** A request as the gateway logs it (~400 bytes of record). */
function entry(i: number): AuditEntry {
  return {
    time: new Date(1_780_000_000_000 + i).toISOString(),
    requestId: `req-${i.toString(36)}`,
    keyId: `key_${i % 16}`,
    model: 'cnn',
    method: 'POST',
    route: '/v1/models/:name/predict',
    status: 200,
    inputDigest: 'a3'.repeat(32),
    outputSummary: { rows: 1, labels: [i % 10] },
    decisions: [
      { stage: 'auth', outcome: 'allowed' },
      { stage: 'limits', outcome: 'allowed' },
      { stage: 'validation', outcome: 'allowed' },
      { stage: 'model', outcome: 'served' },
      { stage: 'output', outcome: 'top-k', detail: 'k=3' },
    ],
    latencyMs: 0.42 + (i % 100) / 1000,
  };
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Times n calls of `append(i)`, each on its own, and summarises in µs. */
function timeAppends(n: number, append: (i: number) => void) {
  const each = new Float64Array(n);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    append(i);
    each[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  each.sort();
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    appends: n,
    appendsPerSecond: Math.round(n / seconds),
    meanMicros: round((seconds * 1e6) / n),
    p50Micros: round(quantile(each, 0.5)),
    p99Micros: round(quantile(each, 0.99)),
    /** CPU time (user + system) per append: what the append costs when the machine is shared. */
    cpuMicros: round((used.user + used.system) / n),
  };
}

function store(name: string, synchronous: 'normal' | 'full'): { db: StoreDatabase; log: AuditLog; path: string } {
  const path = join(dir, name);
  const db = openStore(path, AUDIT_MIGRATIONS);
  return { db, log: new AuditLog(db, { synchronous }), path };
}

/** How fast this machine is right now (shared runners vary): SHA-256 calls/s on 100-byte inputs. */
function calibrate(): number {
  const input = 'x'.repeat(100);
  const start = process.hrtime.bigint();
  for (let i = 0; i < 100_000; i++) createHash('sha256').update(input).digest('hex');
  return Math.round(100_000 / (Number(process.hrtime.bigint() - start) / 1e9));
}

try {
  const sha256PerSecondBefore = calibrate();
  const sample = entry(1);
  const encodeHash = timeAppends(rows, (i) => void chainHash(GENESIS_HASH, auditRecord(i + 1, sample)));

  const normal = store('normal.db', 'normal');
  const appendNormal = timeAppends(rows, (i) => void normal.log.append(entry(i)));
  normal.db.pragma('wal_checkpoint(TRUNCATE)');
  const bytes = statSync(normal.path).size;

  const verifyCpu = process.cpuUsage();
  const verifyStart = process.hrtime.bigint();
  const verified = normal.log.verify();
  const verifySeconds = Number(process.hrtime.bigint() - verifyStart) / 1e9;
  const verifyUsed = process.cpuUsage(verifyCpu);
  const verifyCpuSeconds = (verifyUsed.user + verifyUsed.system) / 1e6;
  normal.db.prepare(`UPDATE audit_log SET record = json_set(record, '$.status', 500) WHERE seq = ?`).run(rows >> 1);
  const tamperedStart = process.hrtime.bigint();
  const tampered = normal.log.verify();
  const tamperedSeconds = Number(process.hrtime.bigint() - tamperedStart) / 1e9;
  normal.db.close();

  // Single writer: the head kept in memory, a deferred transaction, no re-read.
  const single = store('single.db', 'normal');
  const insert = single.db.prepare(
    'INSERT INTO audit_log (seq, time, request_id, key_id, model, status, record, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  let head = { seq: 0, hash: GENESIS_HASH };
  const singleTx = single.db.transaction((e: AuditEntry) => {
    const seq = head.seq + 1;
    const record = auditRecord(seq, e);
    const hash = chainHash(head.hash, record);
    insert.run(seq, e.time, e.requestId, e.keyId, e.model, e.status, record, head.hash, hash);
    head = { seq, hash };
  });
  const appendSingle = timeAppends(rows, (i) => singleTx(entry(i)));
  single.db.close();

  // The same appends with automatic WAL checkpoints off: how much of the tail is the checkpoint
  // (at synchronous=NORMAL the only fsyncs) that every ~1000 pages runs inside a commit.
  const manual = store('manual.db', 'normal');
  manual.db.pragma('wal_autocheckpoint = 0');
  const appendNoCheckpoint = timeAppends(rows, (i) => void manual.log.append(entry(i)));
  manual.db.close();

  const full = store('full.db', 'full');
  const appendFull = timeAppends(fullRows, (i) => void full.log.append(entry(i)));
  full.db.close();

  const result = {
    node: process.version,
    sha256PerSecond: { before: sha256PerSecondBefore, after: calibrate() },
    loadAverage: loadavg().map((x) => Math.round(x * 10) / 10),
    rows,
    encodeAndHashOnly: encodeHash,
    appendSynchronousNormal: appendNormal,
    appendSingleWriterInMemoryHead: appendSingle,
    appendNoAutoCheckpoint: appendNoCheckpoint,
    appendSynchronousFull: appendFull,
    bytesPerRow: Math.round(bytes / rows),
    verify: {
      rows: verified.rows,
      ok: verified.ok,
      seconds: Math.round(verifySeconds * 1000) / 1000,
      rowsPerSecond: Math.round(verified.rows / verifySeconds),
      rowsPerCpuSecond: Math.round(verified.rows / verifyCpuSeconds),
    },
    verifyOneEditedRow: {
      problems: tampered.problems.map((p) => `${p.seq}:${p.kind}`),
      seconds: Math.round(tamperedSeconds * 1000) / 1000,
    },
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
