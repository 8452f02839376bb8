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

function digestAt(packed: Uint8Array, i: number): Uint8Array {
  return packed.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES);
}

function hexAt(packed: Uint8Array, i: number): string {
  return Buffer.from(packed.buffer, packed.byteOffset + i * DIGEST_BYTES, DIGEST_BYTES).toString('hex');
}

function sameAt(a: Uint8Array, i: number, b: Uint8Array, j: number): boolean {
  return Buffer.compare(digestAt(a, i), digestAt(b, j)) === 0;
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
  before: Uint8Array,
  after: Uint8Array,
  cap = 20,
  label: (i: number) => string = String,
  indexBase = 0,
): RecordDiff {
  const nOld = before.length / DIGEST_BYTES;
  const nNew = after.length / DIGEST_BYTES;
  const added = new Capped<RecordRef>(cap);
  const removed = new Capped<RecordRef>(cap);
  const changed = new Capped<RecordChange>(cap);
  for (let i = 0; i < Math.min(nOld, nNew); i++) {
    if (sameAt(before, i, after, i)) continue;
    changed.add(() => ({
      key: label(i),
      index: indexBase + i,
      newIndex: indexBase + i,
      before: hexAt(before, i),
      after: hexAt(after, i),
    }));
  }
  for (let i = nNew; i < nOld; i++)
    removed.add(() => ({ key: label(i), index: indexBase + i, sha256: hexAt(before, i) }));
  for (let i = nOld; i < nNew; i++) added.add(() => ({ key: label(i), index: indexBase + i, sha256: hexAt(after, i) }));
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

/** Content-keyed diff (see the file comment). */
export function diffByContent(before: Uint8Array, after: Uint8Array, cap = 20): RecordDiff {
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

  // Occurrence numbers count from the start of the file, so keys read the same in both lists.
  const occurrence = new Map<string, number>();
  for (let i = 0; i < prefix; i++) {
    const h = hexAt(before, i);
    occurrence.set(h, (occurrence.get(h) ?? 0) + 1);
  }
  const oldOccurrence: number[] = [];
  const queues = new Map<string, number[]>(); // digest → old indices in the middle, in order
  for (let i = prefix; i < oldEnd; i++) {
    const h = hexAt(before, i);
    const k = occurrence.get(h) ?? 0;
    occurrence.set(h, k + 1);
    oldOccurrence.push(k);
    const q = queues.get(h);
    if (q) q.push(i);
    else queues.set(h, [i]);
  }
  // Match each current middle record with the earliest unmatched recorded one of the same digest.
  const matchOfOld = new Int32Array(oldEnd - prefix).fill(-1);
  const newMatch = new Int32Array(newEnd - prefix).fill(-1);
  let lastMatchedOld = -1;
  let reordered = false;
  for (let j = prefix; j < newEnd; j++) {
    const q = queues.get(hexAt(after, j));
    const i = q?.shift();
    if (i === undefined) continue;
    newMatch[j - prefix] = i;
    matchOfOld[i - prefix] = j;
    if (i < lastMatchedOld) reordered = true;
    lastMatchedOld = i;
  }
  // Gap anchors: the recorded index of the nearest matched record before (-1 = start of the middle).
  const removedByAnchor = new Map<number, number[]>();
  let anchor = -1;
  for (let i = prefix; i < oldEnd; i++) {
    if (matchOfOld[i - prefix] !== -1) anchor = i;
    else {
      const list = removedByAnchor.get(anchor);
      if (list) list.push(i);
      else removedByAnchor.set(anchor, [i]);
    }
  }
  const addedByAnchor = new Map<number, number[]>();
  anchor = -1;
  for (let j = prefix; j < newEnd; j++) {
    const m = newMatch[j - prefix] as number;
    if (m !== -1) anchor = m;
    else {
      const list = addedByAnchor.get(anchor);
      if (list) list.push(j);
      else addedByAnchor.set(anchor, [j]);
    }
  }
  const keyOld = (i: number): string => `${hexAt(before, i).slice(0, 16)}#${oldOccurrence[i - prefix]}`;
  // Keys of added records: digest plus occurrence among the current records with that digest.
  const keyNew = new Map<number, string>();
  const seen = new Map<string, number>();
  for (let j = 0; j < newEnd; j++) {
    const h = hexAt(after, j);
    const k = seen.get(h) ?? 0;
    seen.set(h, k + 1);
    if (j >= prefix && newMatch[j - prefix] === -1) keyNew.set(j, `${h.slice(0, 16)}#${k}`);
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
      changed.add(() => ({ key: keyOld(i), index: i, newIndex: j, before: hexAt(before, i), after: hexAt(after, j) }));
    }
    for (const i of gone.slice(pairs)) removed.add(() => ({ key: keyOld(i), index: i, sha256: hexAt(before, i) }));
    for (const j of come.slice(pairs)) {
      added.add(() => ({ key: keyNew.get(j) as string, index: j, sha256: hexAt(after, j) }));
    }
  }
  diff.added = added.list;
  diff.removed = removed.list;
  diff.changed = changed.list;
  if (reordered) diff.reordered = true;
  return diff;
}
