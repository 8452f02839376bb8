/**
 * kill -9 while appending: every append that returned (its seq printed) is in the log afterwards,
 * and the chain verifies. Also with two processes appending to one file at once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AUDIT_MIGRATIONS, AuditLog } from '../../../src/gateway/audit/audit-log.js';
import { openStore } from '../../../src/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-audit-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const child = fileURLToPath(new URL('./append-loop-child.ts', import.meta.url));

/** Starts an appender; resolves with the "seq hash" lines it printed once it was SIGKILLed after `atLeast` appends. */
function appendThenKill(
  path: string,
  atLeast: number,
): Promise<{ printed: Map<number, string>; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const printed = new Map<number, string>();
    let buffered = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (text: string) => {
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [seq, hash] = line.split(' ');
        if (hash) printed.set(Number(seq), hash);
      }
      if (printed.size >= atLeast && proc.exitCode === null && !proc.killed) proc.kill('SIGKILL');
    });
    proc.on('error', reject);
    proc.on('close', (_code, signal) => resolve({ printed, signal }));
  });
}

function checkLog(path: string, printed: Map<number, string>[]): number {
  const db = openStore(path, AUDIT_MIGRATIONS);
  try {
    const log = new AuditLog(db);
    const result = log.verify();
    assert.equal(result.ok, true, JSON.stringify(result.problems.slice(0, 5)));
    const hashes = new Map(
      (db.prepare('SELECT seq, hash FROM audit_log').raw().all() as [number, string][]).map(([s, h]) => [s, h]),
    );
    for (const map of printed) {
      for (const [seq, hash] of map)
        assert.equal(hashes.get(seq), hash, `seq ${seq} was returned but is not in the log`);
    }
    return result.rows;
  } finally {
    db.close();
  }
}

test('kill -9 during appends: every returned seq is in the log and the chain verifies', async () => {
  const path = join(dir, 'one.db');
  const { printed, signal } = await appendThenKill(path, 2000);
  assert.equal(signal, 'SIGKILL');
  assert.ok(printed.size >= 2000);
  const rows = checkLog(path, [printed]);
  assert.ok(rows >= printed.size, `${rows} rows for ${printed.size} returned appends`);
  // The log takes appends again after the crash.
  const { printed: more } = await appendThenKill(path, 200);
  assert.ok(Math.min(...more.keys()) > rows);
  checkLog(path, [printed, more]);
});

test('two processes appending to one file, both killed: one valid chain holding every returned seq', async () => {
  const path = join(dir, 'two.db');
  openStore(path, AUDIT_MIGRATIONS).close(); // create the table once, before both race to migrate
  const [a, b] = await Promise.all([appendThenKill(path, 1000), appendThenKill(path, 1000)]);
  const rows = checkLog(path, [a.printed, b.printed]);
  assert.equal(rows >= a.printed.size + b.printed.size, true);
  for (const seq of a.printed.keys()) assert.equal(b.printed.has(seq), false, `seq ${seq} returned to both`);
});
