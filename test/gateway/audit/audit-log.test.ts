/** The audit hash chain: appends verify, and each kind of tampering is named at the right seq. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isInputError } from '../../../src/core/errors.js';
import { AUDIT_MIGRATIONS, AuditLog } from '../../../src/gateway/audit/audit-log.js';
import { auditRecord, chainHash, GENESIS_HASH } from '../../../src/gateway/audit/canonical.js';
import type { AuditProblem } from '../../../src/gateway/audit/verify-chain.js';
import { openStore, type StoreDatabase } from '../../../src/store/store.js';
import { filledStore, openAuditStore, sampleEntry } from './audit-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-audit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function fresh(n = 40) {
  return filledStore(dir, `log-${++counter}.db`, n);
}

const kinds = (problems: AuditProblem[]) => problems.map((p) => `${p.seq}:${p.kind}`);

/** Rewrites every hash from `from` on, as an attacker with write access would after an edit. */
function rechain(db: StoreDatabase, from: number): void {
  let prev =
    from === 1
      ? GENESIS_HASH
      : (db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(from - 1) as { hash: string }).hash;
  const rows = db.prepare('SELECT seq, record FROM audit_log WHERE seq >= ? ORDER BY seq').all(from) as {
    seq: number;
    record: string;
  }[];
  for (const row of rows) {
    const hash = chainHash(prev, row.record);
    db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, row.seq);
    prev = hash;
  }
}

test('appends form a chain from the genesis hash; verify is ok and head is the last append', () => {
  const { db, log } = openAuditStore(dir, 'chain.db');
  assert.equal(log.head(), null);
  assert.deepEqual(log.verify(), { ok: true, rows: 0, head: null, problems: [] });
  const appended = Array.from({ length: 25 }, (_, i) => log.append(sampleEntry(i + 1)));
  assert.deepEqual(
    appended.map((a) => a.seq),
    Array.from({ length: 25 }, (_, i) => i + 1),
  );
  const result = log.verify();
  assert.deepEqual(result, { ok: true, rows: 25, head: appended[24], problems: [] });
  assert.deepEqual(log.head(), appended[24]);

  // Recompute the chain independently from the entries: hash = SHA-256(prev ‖ canonical(seq, entry)).
  const rows = db.prepare('SELECT seq, record, prev_hash, hash FROM audit_log ORDER BY seq').all() as {
    seq: number;
    record: string;
    prev_hash: string;
    hash: string;
  }[];
  let prev = GENESIS_HASH;
  for (const row of rows) {
    assert.equal(row.prev_hash, prev);
    assert.equal(row.record, auditRecord(row.seq, sampleEntry(row.seq)));
    assert.deepEqual(JSON.parse(row.record), { ...sampleEntry(row.seq), seq: row.seq });
    assert.equal(row.hash, chainHash(prev, row.record));
    prev = row.hash;
  }
  assert.equal(log.list({ limit: 1 })[0].requestId, 'req-25');
  db.close();

  // Reopening continues the chain from the stored head.
  const again = openAuditStore(dir, 'chain.db');
  assert.equal(again.log.append(sampleEntry(26)).seq, 26);
  assert.equal(again.log.verify().ok, true);
  again.db.close();
});

test('an edited field, column, hash or prev_hash is "edited" at exactly that seq', () => {
  const { db, log } = fresh();
  db.prepare(`UPDATE audit_log SET record = json_set(record, '$.status', 200) WHERE seq = 3`).run(); // was 401
  db.prepare(`UPDATE audit_log SET key_id = 'key-admin' WHERE seq = 9`).run();
  db.prepare(`UPDATE audit_log SET hash = ? WHERE seq = 15`).run('f'.repeat(64));
  db.prepare(`UPDATE audit_log SET prev_hash = ? WHERE seq = 21`).run('e'.repeat(64));
  const result = log.verify();
  assert.equal(result.ok, false);
  assert.deepEqual(kinds(result.problems), ['3:edited', '9:edited', '15:edited', '21:edited']);
  const [field, column, hash, prevHash] = result.problems.map((p) => p.message);
  assert.match(field, /record does not match its hash/);
  assert.match(field, /column status holds 401 but the record says 200/);
  assert.match(column, /column key_id holds "key-admin" but the record says "key-0"/);
  assert.match(hash, /hash column was changed/);
  assert.match(prevHash, /prev_hash column was changed/);
  assert.equal(result.rows, 40);
  db.close();
});

test('a deleted row is "deleted" at its seq, also when the rows after it were renumbered', () => {
  const { db, log } = fresh();
  db.prepare('DELETE FROM audit_log WHERE seq = 17').run();
  assert.deepEqual(kinds(log.verify().problems), ['17:deleted']);
  assert.match(log.verify().problems[0].message, /row 17 is missing \(seq jumps from 16 to 18\)/);
  db.prepare('DELETE FROM audit_log WHERE seq IN (1, 30, 31, 32)').run();
  const result = log.verify();
  assert.deepEqual(kinds(result.problems), ['1:deleted', '17:deleted', '30:deleted']);
  assert.match(result.problems[2].message, /rows 30\.\.32 are missing/);

  // Delete 10 and close the gap by renumbering 11.. down: no gap left, still found.
  const other = fresh();
  other.db.prepare('DELETE FROM audit_log WHERE seq = 10').run();
  for (let seq = 11; seq <= 40; seq++) other.db.prepare('UPDATE audit_log SET seq = seq - 1 WHERE seq = ?').run(seq);
  const renumbered = other.log.verify();
  assert.deepEqual(kinds(renumbered.problems), ['10:deleted']);
  assert.match(renumbered.problems[0].message, /seq 10\.\.39 hold the chain's rows 11\.\.40.*row 10 was deleted/);
  db.close();
  other.db.close();
});

test('swapped rows are "reordered" at both positions, whether whole rows or records were swapped', () => {
  const columns = 'time, request_id, key_id, model, status, record, prev_hash, hash';
  const swap = (db: StoreDatabase, a: number, b: number, cols: string) => {
    const get = db.prepare(`SELECT ${cols} FROM audit_log WHERE seq = ?`).raw();
    const set = db.prepare(
      `UPDATE audit_log SET ${cols
        .split(', ')
        .map((c) => `${c} = ?`)
        .join(', ')} WHERE seq = ?`,
    );
    const [ra, rb] = [get.get(a) as unknown[], get.get(b) as unknown[]];
    db.transaction(() => {
      set.run(...rb, a);
      set.run(...ra, b);
    })();
  };
  const whole = fresh();
  swap(whole.db, 5, 30, columns);
  assert.deepEqual(kinds(whole.log.verify().problems), ['5:reordered', '30:reordered']);
  assert.match(whole.log.verify().problems[0].message, /row stored at seq 5 is the chain's row 30/);

  const records = fresh();
  swap(records.db, 8, 9, 'time, request_id, key_id, model, status, record');
  const result = records.log.verify();
  assert.deepEqual(kinds(result.problems), ['8:reordered', '9:reordered']);
  assert.match(result.problems[1].message, /record stored at seq 9 is the record of seq 8/);

  const adjacent = fresh();
  swap(adjacent.db, 39, 40, columns);
  assert.deepEqual(kinds(adjacent.log.verify().problems), ['39:reordered', '40:reordered']);
  for (const s of [whole, records, adjacent]) s.db.close();
});

test('a row inserted from another chain is a broken link', () => {
  const { db, log } = fresh(10);
  const stranger = auditRecord(11, sampleEntry(99));
  db.prepare(
    'INSERT INTO audit_log (seq, time, request_id, key_id, model, status, record, prev_hash, hash) VALUES (11, ?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(
    sampleEntry(99).time,
    'req-99',
    'key-0',
    'mlp',
    200,
    stranger,
    'c'.repeat(64),
    chainHash('c'.repeat(64), stranger),
  );
  const result = log.verify();
  assert.deepEqual(kinds(result.problems), ['11:broken-link']);
  db.close();
});

test('a truncated tail or a recomputed chain verifies alone, and fails against a saved head', () => {
  const { db, log } = fresh(50);
  const anchor = log.head();
  assert.ok(anchor);
  const early = {
    seq: 30,
    hash: (db.prepare('SELECT hash FROM audit_log WHERE seq = 30').get() as { hash: string }).hash,
  };
  db.prepare('DELETE FROM audit_log WHERE seq > 40').run();
  assert.deepEqual(log.verify(), { ok: true, rows: 40, head: log.head(), problems: [] });
  const cut = log.verify({ expectHead: anchor });
  assert.equal(cut.ok, false);
  assert.deepEqual(kinds(cut.problems), ['41:deleted']);
  assert.match(cut.problems[0].message, /ends at seq 40 but the saved anchor is seq 50: rows 41\.\.50 were cut off/);
  assert.deepEqual(cut.anchor, { ...anchor, matches: false });
  // An older anchor still inside the chain is fine, and the log may have grown since.
  log.append(sampleEntry(41));
  assert.deepEqual(log.verify({ expectHead: early }).anchor, { ...early, matches: true });
  assert.equal(log.verify({ expectHead: early }).ok, true);

  // Edit seq 12 and recompute every hash after it: a valid chain, but not the anchored one.
  db.prepare(
    `UPDATE audit_log SET record = json_set(record, '$.keyId', 'key-admin'), key_id = 'key-admin' WHERE seq = 12`,
  ).run();
  rechain(db, 12);
  assert.equal(log.verify().ok, true);
  const rewritten = log.verify({ expectHead: early });
  assert.deepEqual(kinds(rewritten.problems), ['30:edited']);
  assert.match(rewritten.problems[0].message, /saved anchor says .*rewritten/);
  db.close();
});

test('two AuditLog objects on one file appending alternately keep one chain', () => {
  const path = join(dir, 'shared.db');
  const a = openStore(path, AUDIT_MIGRATIONS);
  const b = openStore(path, AUDIT_MIGRATIONS);
  const [logA, logB] = [new AuditLog(a), new AuditLog(b)];
  const seqs: number[] = [];
  for (let i = 1; i <= 30; i++) seqs.push((i % 3 === 0 ? logB : logA).append(sampleEntry(i)).seq);
  assert.deepEqual(
    seqs,
    Array.from({ length: 30 }, (_, i) => i + 1),
  );
  const fromB = logB.verify();
  assert.equal(fromB.ok, true, JSON.stringify(fromB.problems));
  assert.equal(fromB.rows, 30);
  assert.deepEqual(logA.head(), logB.head());
  a.close();
  b.close();
});

test('list filters by key and model, newest first', () => {
  const { db, log } = fresh(30);
  const cnn = log.list({ model: 'cnn', keyId: 'key-1', limit: 3 });
  assert.deepEqual(
    cnn.map((e) => e.seq),
    [28, 22, 16],
  );
  assert.deepEqual(cnn[0].decisions[0], { stage: 'auth', outcome: 'allowed' });
  assert.equal(log.list().length, 20);
  db.close();
});

test('a store without the audit table is an input error', () => {
  const db = openStore(join(dir, 'other.db'), []);
  assert.throws(
    () => new AuditLog(db),
    (e: unknown) => isInputError(e) && /no audit_log table/.test((e as Error).message),
  );
  db.close();
});
