/**
 * Which records were added, removed or changed between a recorded and a current list of record
 * digests (packed, 32 bytes each, in canonical order).
 *
 * Array formats (IDX, NPY, NPZ rows) are keyed by index: row i is compared with row i, rows past the
 * old end were added, rows past the new end were removed. Inserting a row in the middle of an
 * array therefore shows as every later row changed — which is what it does to an index-keyed array.
 *
 * Line formats (CSV, TSV, JSONL, text) are keyed by content: a record's key is its digest plus its
 * occurrence number (the k-th record with that digest, so duplicate rows stay distinct). Matching
 * the two multisets of keys means an inserted line is one addition, not a shift of every later
 * record, and a deleted line is one removal. A changed line is a removal and an addition; they are
 * reported as one change when they sit in the same gap between records that matched (the nearest
 * matched record before each is the same, or both are at the start), which is where an edit in place
 * leaves them. Common leading and trailing records are trimmed first (as diff tools do), so the
 * hash map only holds the edited middle of a large file. Identical lines are interchangeable: when a
 * copy of a duplicated line is inserted, which copy counts as "added" is reported by occurrence
 * order. A pure reordering (same multiset) is reported as `reordered`.
 */

export interface RecordRef {
  /** Index-keyed: the index ('12', or 'x[12]' for an NPZ array); content-keyed: 'digest-prefix#occurrence'. */
  key: string;
  /** Position of the record in its list (old list for removed, new list for added). */
  index: number;
  sha256: string;
}

export interface RecordChange {
  key: string;
  /** Position in the recorded list. */
  index: number;
  /** Position in the current list. */
  newIndex: number;
  before: string;
  after: string;
}

export interface CappedList<T> {
  count: number;
  items: T[];
}

export interface RecordDiff {
  keying: 'index' | 'content';
  added: CappedList<RecordRef>;
  removed: CappedList<RecordRef>;
  changed: CappedList<RecordChange>;
  /** Content-keyed only: the same records in another order. */
  reordered?: boolean;
}

export const DIGEST_BYTES = 32;

function hexAt(packed: Uint8Array, i: number): string {
  return Buffer.from(packed.buffer, packed.byteOffset + i * DIGEST_BYTES, DIGEST_BYTES).toString('hex');
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Digest i of `a` equals digest j of `b` (compared in place, nothing allocated). */
function sameAt(a: Buffer, i: number, b: Buffer, j: number): boolean {
  return a.compare(b, j * DIGEST_BYTES, (j + 1) * DIGEST_BYTES, i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES) === 0;
}

class Capped<T> {
  readonly list: CappedList<T> = { count: 0, items: [] };
  constructor(private readonly cap: number) {}
  add(make: () => T): void {
    if (this.list.items.length < this.cap) this.list.items.push(make());
    this.list.count++;
  }
}

function emptyDiff(keying: RecordDiff['keying']): RecordDiff {
  return {
    keying,
    added: { count: 0, items: [] },
    removed: { count: 0, items: [] },
    changed: { count: 0, items: [] },
  };
}

/** Index-keyed diff; `label(i)` names record i ('12' or 'x[12]'). */
export function diffByIndex(
  beforeBytes: Uint8Array,
  afterBytes: Uint8Array,
  cap = 20,
  label: (i: number) => string = String,
): RecordDiff {
  const before = asBuffer(beforeBytes);
  const after = asBuffer(afterBytes);
  const nOld = before.length / DIGEST_BYTES;
  const nNew = after.length / DIGEST_BYTES;
  const added = new Capped<RecordRef>(cap);
  const removed = new Capped<RecordRef>(cap);
  const changed = new Capped<RecordChange>(cap);
  for (let i = 0; i < Math.min(nOld, nNew); i++) {
    if (sameAt(before, i, after, i)) continue;
    changed.add(() => ({
      key: label(i),
      index: i,
      newIndex: i,
      before: hexAt(before, i),
      after: hexAt(after, i),
    }));
  }
  for (let i = nNew; i < nOld; i++) removed.add(() => ({ key: label(i), index: i, sha256: hexAt(before, i) }));
  for (let i = nOld; i < nNew; i++) added.add(() => ({ key: label(i), index: i, sha256: hexAt(after, i) }));
  return { keying: 'index', added: added.list, removed: removed.list, changed: changed.list };
}

/** Appends the lists of `part` to `into` (NPZ: one index diff per array), keeping the cap. */
export function mergeDiffs(into: RecordDiff, part: RecordDiff, cap = 20): RecordDiff {
  for (const field of ['added', 'removed', 'changed'] as const) {
    const target = into[field] as CappedList<unknown>;
    const source = part[field] as CappedList<unknown>;
    target.count += source.count;
    target.items.push(...source.items.slice(0, Math.max(0, cap - target.items.length)));
  }
  return into;
}

/**
 * Occurrence numbers (how many equal digests come earlier in the list) for a few positions, in one
 * pass that only looks at the digests asked about: keys cost nothing for records not reported.
 */
function occurrences(packed: Buffer, positions: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  if (positions.length === 0) return out;
  const wanted = new Map<number, number[]>(); // first 4 bytes → positions asked about with that prefix
  for (const p of positions) {
    const head = packed.readUInt32BE(p * DIGEST_BYTES);
    wanted.set(head, [...(wanted.get(head) ?? []), p]);
  }
  const end = Math.max(...positions);
  const counts = new Map<number, number>(); // asked position → equal digests seen so far
  for (let k = 0; k <= end; k++) {
    const asked = wanted.get(packed.readUInt32BE(k * DIGEST_BYTES));
    if (!asked) continue;
    for (const p of asked) {
      if (k > p || !sameAt(packed, k, packed, p)) continue;
      if (k === p) out.set(p, counts.get(p) ?? 0);
      else counts.set(p, (counts.get(p) ?? 0) + 1);
    }
  }
  return out;
}

/** Content-keyed diff (see the file comment). */
export function diffByContent(beforeBytes: Uint8Array, afterBytes: Uint8Array, cap = 20): RecordDiff {
  const before = asBuffer(beforeBytes);
  const after = asBuffer(afterBytes);
  const nOld = before.length / DIGEST_BYTES;
  const nNew = after.length / DIGEST_BYTES;
  let prefix = 0;
  while (prefix < nOld && prefix < nNew && sameAt(before, prefix, after, prefix)) prefix++;
  let suffix = 0;
  while (
    suffix < nOld - prefix &&
    suffix < nNew - prefix &&
    sameAt(before, nOld - 1 - suffix, after, nNew - 1 - suffix)
  ) {
    suffix++;
  }
  const diff = emptyDiff('content');
  const oldEnd = nOld - suffix;
  const newEnd = nNew - suffix;
  if (prefix === oldEnd && prefix === newEnd) return diff;

  const queues = new Map<string, number[]>(); // digest → recorded indices in the middle, in order
  for (let i = prefix; i < oldEnd; i++) {
    const h = hexAt(before, i);
    const q = queues.get(h);
    if (q) q.push(i);
    else queues.set(h, [i]);
  }
  // Match each current middle record with the earliest unmatched recorded one of the same digest
  // (the k-th occurrence with the k-th: equal keys).
  const matchOfOld = new Int32Array(oldEnd - prefix).fill(-1);
  const newMatch = new Int32Array(newEnd - prefix).fill(-1);
  let lastMatchedOld = -1;
  let reordered = false;
  for (let j = prefix; j < newEnd; j++) {
    const i = queues.get(hexAt(after, j))?.shift();
    if (i === undefined) continue;
    newMatch[j - prefix] = i;
    matchOfOld[i - prefix] = j;
    if (i < lastMatchedOld) reordered = true;
    lastMatchedOld = i;
  }
  // Gap anchors: the recorded index of the nearest matched record before (-1: start of the middle).
  const group = (map: Map<number, number[]>, anchor: number, at: number): void => {
    const list = map.get(anchor);
    if (list) list.push(at);
    else map.set(anchor, [at]);
  };
  const removedByAnchor = new Map<number, number[]>();
  let anchor = -1;
  for (let i = prefix; i < oldEnd; i++) {
    if (matchOfOld[i - prefix] !== -1) anchor = i;
    else group(removedByAnchor, anchor, i);
  }
  const addedByAnchor = new Map<number, number[]>();
  anchor = -1;
  for (let j = prefix; j < newEnd; j++) {
    const m = newMatch[j - prefix] as number;
    if (m !== -1) anchor = m;
    else group(addedByAnchor, anchor, j);
  }
  const added = new Capped<RecordRef>(cap);
  const removed = new Capped<RecordRef>(cap);
  const changed = new Capped<RecordChange>(cap);
  const anchors = [...new Set([...removedByAnchor.keys(), ...addedByAnchor.keys()])].sort((a, b) => a - b);
  for (const a of anchors) {
    const gone = removedByAnchor.get(a) ?? [];
    const come = addedByAnchor.get(a) ?? [];
    const pairs = Math.min(gone.length, come.length);
    for (let k = 0; k < pairs; k++) {
      const i = gone[k] as number;
      const j = come[k] as number;
      changed.add(() => ({ key: '', index: i, newIndex: j, before: hexAt(before, i), after: hexAt(after, j) }));
    }
    for (const i of gone.slice(pairs)) removed.add(() => ({ key: '', index: i, sha256: hexAt(before, i) }));
    for (const j of come.slice(pairs)) added.add(() => ({ key: '', index: j, sha256: hexAt(after, j) }));
  }
  // Keys (digest prefix # occurrence) for the listed records only: recorded side for removed and
  // changed records, current side for added ones.
  const oldSeen = occurrences(
    before,
    [...removed.list.items, ...changed.list.items].map((r) => r.index),
  );
  const newSeen = occurrences(
    after,
    added.list.items.map((r) => r.index),
  );
  for (const r of [...removed.list.items, ...changed.list.items]) {
    r.key = `${hexAt(before, r.index).slice(0, 16)}#${oldSeen.get(r.index) ?? 0}`;
  }
  for (const r of added.list.items) r.key = `${r.sha256.slice(0, 16)}#${newSeen.get(r.index) ?? 0}`;
  diff.added = added.list;
  diff.removed = removed.list;
  diff.changed = changed.list;
  if (reordered) diff.reordered = true;
  return diff;
}
