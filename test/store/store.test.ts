import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isInputError } from '../../src/core/errors.js';
import { migrate, openStore } from '../../src/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const first = [{ id: 'test/001-items', sql: 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)' }];
const second = [...first, { id: 'test/002-items-size', sql: 'ALTER TABLE items ADD COLUMN size INTEGER DEFAULT 0' }];

test('migrations apply once, and a later version upgrades an old database in place', () => {
  const path = join(dir, 'nested', 'aegis.db');
  const db = openStore(path, first);
  db.prepare('INSERT INTO items (name) VALUES (?)').run('kept');
  assert.deepEqual(migrate(db, first), [], 'nothing applied twice');
  db.close();
  const upgraded = openStore(path, second);
  const row = upgraded.prepare('SELECT name, size FROM items').get();
  assert.deepEqual(row, { name: 'kept', size: 0 });
  assert.equal(upgraded.pragma('journal_mode', { simple: true }), 'wal');
  upgraded.close();
});

test('a failing migration leaves nothing half-applied', () => {
  const db = openStore(':memory:', first);
  const broken = [
    ...first,
    { id: 'test/002-broken', sql: 'CREATE TABLE other (x INTEGER); SELECT nonsense FROM nowhere' },
  ];
  assert.throws(() => migrate(db, broken));
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'other'").all();
  assert.equal(tables.length, 0);
  db.close();
});

test('a file that is not a database is an input error', () => {
  const path = join(dir, 'junk.db');
  writeFileSync(path, 'this is not sqlite at all, just some text that is long enough to look like a header....');
  assert.throws(
    () => openStore(path, first),
    (e) => isInputError(e) && /not an SQLite database/.test(e.message),
  );
});
