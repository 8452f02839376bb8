/**
 * The Python verifier printed in docs/gateway-audit.md is correct: run against a log written here,
 * it prints the same head as AuditLog, and it stops at an edited row.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { filledStore, sampleEntry } from './audit-fixture.js';

const python = spawnSync('python3', ['-c', 'import sqlite3, hashlib, json'], { encoding: 'utf8' });
const skip = python.status === 0 ? false : 'python3 with sqlite3 is not installed';
const dir = mkdtempSync(join(tmpdir(), 'aegis-audit-py-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function documentedVerifier(): string {
  const doc = readFileSync(new URL('../../../docs/gateway-audit.md', import.meta.url), 'utf8');
  const block = /```python\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, 'docs/gateway-audit.md has a python block');
  const path = join(dir, 'verify.py');
  writeFileSync(path, block[1]);
  return path;
}

test('the documented Python verifier agrees with AuditLog', { skip }, () => {
  const script = documentedVerifier();
  const { db, log, path } = filledStore(dir, 'aegis.db', 30);
  // Odd values the canonical encoding must carry through: non-ASCII, escapes, nested objects.
  log.append({
    ...sampleEntry(31),
    requestId: 'req-ünï "quoted" \\ \n ✓ 𝛆',
    outputSummary: { z: [1.5e-7, 1e21, -0, null], a: { nested: true } },
  });
  const head = log.head();
  db.close();
  const ok = spawnSync('python3', [script, path], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), `ok ${head?.seq}:${head?.hash}`);

  const { db: db2, path: path2 } = filledStore(dir, 'edited.db', 30);
  db2.prepare(`UPDATE audit_log SET record = replace(record, '"status":200', '"status":201') WHERE seq = 8`).run();
  db2.close();
  const bad = spawnSync('python3', [script, path2], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /AssertionError: seq 8: edited/);
});
