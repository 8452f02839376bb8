import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { diffByContent, diffByIndex } from '../../../src/defenses/lineage/record-diff.js';

const d = (s: string): Buffer => createHash('sha256').update(s).digest();
const pack = (rows: string[]): Buffer => Buffer.concat(rows.map(d));
const rows = (n: number): string[] => Array.from({ length: n }, (_, i) => `row ${i}`);

test('content keying: an inserted line is one addition, not a shift of every later record', () => {
  const before = rows(50);
  const after = [...before.slice(0, 20), 'inserted', ...before.slice(20)];
  const diff = diffByContent(pack(before), pack(after));
  assert.equal(diff.added.count, 1);
  assert.equal(diff.removed.count, 0);
  assert.equal(diff.changed.count, 0);
  assert.equal(diff.added.items[0]?.index, 20);
  assert.equal(diff.added.items[0]?.sha256, d('inserted').toString('hex'));
});

test('content keying: an edited line is one change at its position; a deleted line one removal', () => {
  const before = rows(30);
  const edited = before.map((r, i) => (i === 7 ? 'row 7 edited' : r));
  const changed = diffByContent(pack(before), pack(edited));
  assert.deepEqual([changed.added.count, changed.removed.count, changed.changed.count], [0, 0, 1]);
  assert.deepEqual([changed.changed.items[0]?.index, changed.changed.items[0]?.newIndex], [7, 7]);
  assert.equal(changed.changed.items[0]?.before, d('row 7').toString('hex'));

  const deleted = diffByContent(pack(before), pack(before.filter((_, i) => i !== 12)));
  assert.deepEqual([deleted.added.count, deleted.removed.count, deleted.changed.count], [0, 1, 0]);
  assert.equal(deleted.removed.items[0]?.index, 12);
});

test('content keying: edits in several places, an insertion and a deletion, each reported where it is', () => {
  const before = rows(100);
  const after = [...before];
  after[3] = 'three';
  after[90] = 'ninety';
  after.splice(50, 1); // delete row 50
  after.splice(10, 0, 'new'); // insert before row 10
  const diff = diffByContent(pack(before), pack(after));
  assert.deepEqual(
    diff.changed.items.map((c) => c.index),
    [3, 90],
  );
  assert.deepEqual(
    diff.removed.items.map((c) => c.index),
    [50],
  );
  assert.deepEqual(
    diff.added.items.map((c) => c.index),
    [10],
  );
});

test('content keying: duplicate rows are told apart by occurrence; a reorder is reported as such', () => {
  const before = ['a', 'b', 'a', 'c'];
  const dup = diffByContent(pack(before), pack(['a', 'b', 'a', 'a', 'c']));
  assert.equal(dup.added.count, 1);
  assert.match(dup.added.items[0]?.key ?? '', /#2$/, 'the third copy of a is the added one');
  const removedDup = diffByContent(pack(before), pack(['a', 'b', 'c']));
  assert.equal(removedDup.removed.count, 1);
  assert.equal(removedDup.removed.items[0]?.index, 2);
  const swapped = diffByContent(pack(before), pack(['c', 'b', 'a', 'a']));
  assert.deepEqual([swapped.added.count, swapped.removed.count, swapped.changed.count], [0, 0, 0]);
  assert.equal(swapped.reordered, true);
});

test('index keying: changed rows by index, growth as additions, shrinkage as removals; lists are capped, counts are not', () => {
  const before = rows(40);
  const after = before.map((r, i) => (i % 2 === 0 ? `${r}!` : r)).slice(0, 38);
  after.push('x', 'y', 'z');
  const diff = diffByIndex(pack(before), pack(after), 5);
  assert.equal(diff.changed.count, 21, '19 even rows below 38, then rows 38 and 39 replaced by x and y');
  assert.equal(diff.changed.items.length, 5);
  assert.deepEqual(
    diff.changed.items.map((c) => c.key),
    ['0', '2', '4', '6', '8'],
  );
  assert.equal(diff.added.count, 1, '41 rows now: row 40 (z) is new');
  assert.equal(diff.removed.count, 0);
  assert.equal(diffByIndex(pack(before), pack(before.slice(0, 35))).removed.count, 5);
  const same = diffByIndex(pack(before), pack(before));
  assert.equal(same.added.count + same.removed.count + same.changed.count, 0);
});
