/** The audit journal (write-ahead file) and journal mode: fold, crash recovery without duplicates, failed folds. */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AegisInputError } from '../../../src/core/errors.js';
import { auditCommit } from '../../../src/gateway/audit/audit-commit.js';
import { AuditJournal, readJournal } from '../../../src/gateway/audit/audit-journal.js';
import type { AuditLog } from '../../../src/gateway/audit/audit-log.js';
import { type BudgetCharge, JournaledAudit } from '../../../src/gateway/audit/journaled-audit.js';
import type { StoreDatabase } from '../../../src/store/store.js';
import { openAuditStore, sampleEntry } from './audit-fixture.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'aegis-journal-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Request ids in the chain, oldest first. */
function loggedIds(log: AuditLog): string[] {
  return log
    .list({ limit: 100 })
    .map((e) => e.requestId)
    .reverse();
}

function journaled(
  db: StoreDatabase,
  log: AuditLog,
  journal: AuditJournal,
  hooks: { fail?: () => boolean; charges?: BudgetCharge[]; errors?: unknown[] } = {},
) {
  const commit = auditCommit(db, log, undefined);
  return new JournaledAudit({
    journal,
    commit: (entries) => {
      if (hooks.fail?.()) throw new Error('SQLITE_BUSY: database is locked');
      commit(entries);
    },
    logged: (ids) => log.loggedRequestIds(ids),
    recharge: (charges) => {
      hooks.charges?.push(...charges);
    },
    onError: (error) => hooks.errors?.push(error),
    foldMs: 60_000, // the tests fold by hand
  });
}

test('journal: records come back in order with their charges; clear empties it; reopening appends', () => {
  const path = join(dir, 'order.journal');
  const journal = AuditJournal.open(path);
  journal.append({ entry: sampleEntry(1), charge: 3 });
  journal.append({ entry: sampleEntry(2) });
  journal.close();
  const again = AuditJournal.open(path);
  assert.equal(again.bytes, readFileSync(path).length);
  again.append({ entry: sampleEntry(3), charge: 1 });
  const read = readJournal(path);
  assert.deepEqual(
    read.records.map((r) => [r.entry.requestId, r.charge]),
    [
      ['req-1', 3],
      ['req-2', undefined],
      ['req-3', 1],
    ],
  );
  assert.deepEqual(read.records[0]?.entry, sampleEntry(1), 'the entry round-trips exactly');
  assert.equal(read.torn, false);
  again.clear();
  assert.deepEqual(readJournal(path).records, []);
  again.close();
  assert.deepEqual(readJournal(join(dir, 'absent.journal')), { records: [], torn: false, badLines: [] });
});

test('journal: a torn last line is counted and skipped; a damaged line stops recovery with its line number', async () => {
  const path = join(dir, 'torn.journal');
  const journal = AuditJournal.open(path);
  journal.append({ entry: sampleEntry(1) });
  appendFileSync(path, '{"entry":{"requestId":"req-2","ti');
  const torn = readJournal(path);
  assert.equal(torn.records.length, 1);
  assert.equal(torn.torn, true);
  assert.deepEqual(torn.badLines, []);

  const damagedPath = join(dir, 'damaged.journal');
  appendFileSync(damagedPath, `${JSON.stringify({ entry: sampleEntry(1) })}\nnot json\n{"entry":{"requestId":7}}\n`);
  const damaged = readJournal(damagedPath);
  assert.deepEqual(damaged.badLines, [2, 3]);
  const { db, log } = openAuditStore(dir, 'damaged.db');
  const writer = journaled(db, log, AuditJournal.open(damagedPath));
  await assert.rejects(
    writer.recover(damaged),
    (e: unknown) => e instanceof AegisInputError && /line 2, 3/.test(e.message),
  );
  assert.equal(log.head(), null, 'nothing folded from a damaged journal');
  writer.close();
  journal.close();
  db.close();
});

test('journal mode: entries reach the chain at the fold, then the journal is empty', () => {
  const { db, log } = openAuditStore(dir, 'fold.db');
  const path = join(dir, 'fold.journal');
  const writer = journaled(db, log, AuditJournal.open(path));
  for (let i = 1; i <= 5; i++) writer.record(sampleEntry(i), i);
  assert.equal(log.head(), null, 'not in the log before the fold');
  assert.equal(readJournal(path).records.length, 5, 'but safe in the journal');
  assert.equal(writer.fold(), true);
  assert.deepEqual(loggedIds(log), ['req-1', 'req-2', 'req-3', 'req-4', 'req-5']);
  assert.equal(readJournal(path).records.length, 0);
  assert.deepEqual(writer.stats(), { waiting: 0, folds: 1, journalBytes: 0 });
  assert.equal(log.verify().ok, true);
  writer.close();
  db.close();
});

test('recovery after a crash between commit and truncation: each request logged once, budgets restored only for the unfolded', async () => {
  const { db, log } = openAuditStore(dir, 'crash.db');
  const path = join(dir, 'crash.journal');
  // A process journaled 1..4, folded 1..2 and died before emptying the journal; 3..4 never reached the log.
  const first = AuditJournal.open(path);
  for (let i = 1; i <= 4; i++) first.append({ entry: sampleEntry(i), charge: 10 + i });
  first.close();
  log.appendMany([sampleEntry(1), sampleEntry(2)]);
  appendFileSync(path, '{"entry":{"req'); // and the last write was cut

  const charges: BudgetCharge[] = [];
  const writer = journaled(db, log, AuditJournal.open(path), { charges });
  const report = await writer.recover(readJournal(path));
  assert.deepEqual(report, { recovered: 2, alreadyLogged: 2, torn: true });
  assert.deepEqual(loggedIds(log), ['req-1', 'req-2', 'req-3', 'req-4']);
  const keyed = [3, 4].map((i) => sampleEntry(i)).filter((e) => e.keyId !== null);
  assert.deepEqual(
    charges,
    keyed.map((e) => ({ keyId: e.keyId, model: e.model, points: 10 + Number(e.requestId.slice(4)) })),
  );
  assert.equal(readFileSync(path).length, 0, 'the journal is empty after recovery, torn line included');
  assert.equal(log.verify().ok, true);
  assert.deepEqual([...log.loggedRequestIds(['req-4', 'req-1', 'req-9'])].sort(), ['req-1', 'req-4']);
  assert.deepEqual(
    [...log.loggedRequestIds(['req-4', 'req-1'], 1)],
    ['req-4'],
    'only the newest scanRows rows are looked at',
  );
  // Recovering the (now empty) journal again changes nothing.
  assert.deepEqual(await writer.recover(readJournal(path)), { recovered: 0, alreadyLogged: 0, torn: false });
  writer.close();
  db.close();
});

test('a failed fold keeps the entries in the journal and retries; nothing is lost or doubled', () => {
  const { db, log } = openAuditStore(dir, 'retry.db');
  const path = join(dir, 'retry.journal');
  let failing = true;
  const errors: unknown[] = [];
  const writer = journaled(db, log, AuditJournal.open(path), { fail: () => failing, errors });
  writer.record(sampleEntry(1));
  writer.record(sampleEntry(2));
  assert.equal(writer.fold(), false);
  assert.equal(errors.length, 1);
  assert.equal(readJournal(path).records.length, 2, 'still in the journal');
  assert.equal(writer.stats().waiting, 2);
  writer.record(sampleEntry(3));
  failing = false;
  assert.equal(writer.fold(), true);
  assert.deepEqual(loggedIds(log), ['req-1', 'req-2', 'req-3']);
  assert.equal(log.verify().ok, true);
  writer.close();
  assert.throws(() => writer.record(sampleEntry(4)), 'a closed journal refuses (the gateway answers 500)');
  db.close();
});

test('a journal that cannot be emptied after a fold is reported, not thrown (the entries are in the log)', () => {
  const { db, log } = openAuditStore(dir, 'clear.db');
  const stuck = {
    path: 'stuck.journal',
    bytes: 0,
    append() {},
    clear() {
      throw new Error('EIO: i/o error, ftruncate');
    },
    close() {},
  } as unknown as AuditJournal;
  const errors: unknown[] = [];
  const writer = journaled(db, log, stuck, { errors });
  writer.record(sampleEntry(1));
  assert.equal(writer.fold(), true);
  assert.deepEqual(loggedIds(log), ['req-1']);
  assert.equal(errors.length, 1);
  writer.close();
  db.close();
});
