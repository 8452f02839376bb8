/**
 * Walks an audit hash chain (rows in seq order) and says what is wrong and where: an edited record
 * or column, a deleted row (a gap in seq, or renumbered rows), rows moved to another position, a
 * prev_hash that links to nothing. Pure: the rows and two look-ups come from the caller (AuditLog).
 *
 * What a chain cannot show from inside the file: rows cut off the end (the shorter chain is valid)
 * or a chain recomputed from an edit onwards. `expectHead`, a seq:hash saved elsewhere earlier,
 * catches both: that row must still be there with that hash.
 */
import { AegisInputError } from '../../core/errors.js';
import { chainHash, GENESIS_HASH } from './canonical.js';

/** One stored row: the queryable column copies, the hashed record text and the two hashes. */
export interface AuditRow {
  seq: number;
  time: string;
  requestId: string;
  keyId: string | null;
  model: string | null;
  status: number;
  record: string;
  prevHash: string;
  hash: string;
}

export const AUDIT_PROBLEM_KINDS = ['edited', 'deleted', 'reordered', 'broken-link'] as const;
export type AuditProblemKind = (typeof AUDIT_PROBLEM_KINDS)[number];

export interface AuditProblem {
  seq: number;
  kind: AuditProblemKind;
  message: string;
}

/** A chain position saved elsewhere (`aegis audit head`): the row seq must exist with this hash. */
export interface AuditAnchor {
  seq: number;
  hash: string;
}

export interface AuditVerification {
  ok: boolean;
  rows: number;
  /** The newest row's seq and stored hash; null for an empty log. */
  head: AuditAnchor | null;
  problems: AuditProblem[];
  /** Present when an anchor was given: whether the chain still holds it. */
  anchor?: AuditAnchor & { matches: boolean };
}

export interface ChainLookups {
  /** The row stored at seq, if any. */
  rowAt(seq: number): AuditRow | undefined;
  /** The seq of the row whose stored hash column is `hash`, if any (may scan the table once). */
  seqOfHash(hash: string): number | undefined;
}

/** Columns that copy record fields so SQL can filter on them; verify checks they agree. */
const COLUMN_COPIES = [
  ['time', 'time'],
  ['requestId', 'request_id'],
  ['keyId', 'key_id'],
  ['model', 'model'],
  ['status', 'status'],
] as const;

const short = (hash: string): string => `${hash.slice(0, 16)}…`;

function parseRecord(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function recordSeq(row: AuditRow | undefined): number | undefined {
  if (!row) return undefined;
  const seq = parseRecord(row.record)?.seq;
  return typeof seq === 'number' ? seq : undefined;
}

/** A problem with, for intact rows found at the wrong position, how far they moved (merged afterwards). */
interface Found extends AuditProblem {
  shift?: number;
}

interface Previous {
  seq: number;
  /** The hash column as stored. */
  hash: string;
  /** What the next row should link to: the stored hash, or the recomputed one when the hash column was edited. */
  linkHash: string;
}

export function verifyChain(
  rows: Iterable<AuditRow>,
  lookups: ChainLookups,
  options: { expectHead?: AuditAnchor } = {},
): AuditVerification {
  const found: Found[] = [];
  const anchor = options.expectHead;
  let anchorMatches: boolean | undefined = anchor?.seq === 0 ? anchor.hash === GENESIS_HASH : undefined;
  let prev: Previous | null = null;
  let count = 0;
  let pending: AuditRow | undefined;

  const check = (cur: AuditRow, next: AuditRow | undefined): void => {
    const here: Found[] = [];
    const add = (kind: AuditProblemKind, message: string, shift?: number) =>
      here.push({ seq: cur.seq, kind, message, ...(shift !== undefined ? { shift } : {}) });
    const expectedSeq = prev ? prev.seq + 1 : 1;
    const gap = cur.seq > expectedSeq;
    if (gap) {
      const span = cur.seq - 1 === expectedSeq ? `row ${expectedSeq} is` : `rows ${expectedSeq}..${cur.seq - 1} are`;
      const where = prev ? `seq jumps from ${prev.seq} to ${cur.seq}` : `the log starts at seq ${cur.seq}`;
      found.push({ seq: expectedSeq, kind: 'deleted', message: `${span} missing (${where})` });
    } else if (cur.seq < expectedSeq) {
      add('edited', `seq ${cur.seq} is not a chain position (the chain starts at seq 1)`);
    }

    const rec = parseRecord(cur.record);
    const computed = chainHash(cur.prevHash, cur.record);
    const intact = computed === cur.hash;
    const recSeq = typeof rec?.seq === 'number' ? rec.seq : undefined;
    const linkTo = prev ? prev.linkHash : GENESIS_HASH;
    let linkHash = cur.hash;
    let checkLink = !gap;

    if (rec === null) {
      add('edited', 'the record is not a JSON object (the row was overwritten)');
    } else if (recSeq === undefined) {
      add('edited', 'the record has no seq (the row was overwritten)');
    }
    if (intact && recSeq !== undefined && recSeq !== cur.seq) {
      // A whole row (record, prev_hash, hash) that belongs at another position.
      add(
        'reordered',
        `the row stored at seq ${cur.seq} is the chain's row ${recSeq} (intact, moved here)`,
        recSeq - cur.seq,
      );
      checkLink = false;
    } else if (!intact) {
      const movedFrom = recSeq !== undefined && recSeq !== cur.seq ? lookups.rowAt(recSeq) : undefined;
      if (next && next.prevHash === computed) {
        add(
          'edited',
          `the hash column was changed (record and prev_hash are intact; seq ${next.seq} links to their hash ${short(computed)})`,
        );
        linkHash = computed;
      } else if (cur.prevHash !== linkTo && !gap && chainHash(linkTo, cur.record) === cur.hash) {
        add(
          'edited',
          `the prev_hash column was changed (the record and hash are intact and follow seq ${cur.seq - 1})`,
        );
        checkLink = false;
      } else if (movedFrom && chainHash(movedFrom.prevHash, cur.record) === movedFrom.hash) {
        add(
          'reordered',
          `the record stored at seq ${cur.seq} is the record of seq ${recSeq} (moved; prev_hash and hash left in place)`,
        );
      } else if (rec !== null) {
        add(
          'edited',
          `the record does not match its hash (stored ${short(cur.hash)}, computed ${short(computed)}): a field or the hash column was changed`,
        );
      }
    }
    if (rec !== null) {
      const columns = cur as unknown as Record<string, unknown>;
      const differs: string[] = [];
      for (const [field, column] of COLUMN_COPIES) {
        const said = rec[field] ?? null;
        if (said !== columns[field]) {
          differs.push(
            `column ${column} holds ${JSON.stringify(columns[field])} but the record says ${JSON.stringify(said)}`,
          );
        }
      }
      if (differs.length > 0) add('edited', differs.join('; '));
    }
    if (checkLink && cur.prevHash !== linkTo && cur.prevHash !== prev?.hash) {
      const at = cur.prevHash === GENESIS_HASH ? 0 : lookups.seqOfHash(cur.prevHash);
      const wanted = prev ? `seq ${prev.seq}'s hash ${short(linkTo)}` : `the genesis hash ${short(GENESIS_HASH)}`;
      if (at === undefined) {
        add(
          'broken-link',
          `prev_hash ${short(cur.prevHash)} is not ${wanted} nor any row's hash: the row it followed was deleted or changed`,
        );
      } else if (at > 0 && recordSeq(lookups.rowAt(at)) === cur.seq - 1) {
        // The predecessor was moved to seq `at`; that move is reported there.
      } else {
        add(
          'reordered',
          `prev_hash links to ${at === 0 ? 'the genesis hash' : `seq ${at}'s hash`}, not ${wanted}: rows were moved`,
        );
      }
    }
    if (anchor && cur.seq === anchor.seq) {
      anchorMatches = anchor.hash === cur.hash || anchor.hash === linkHash;
      if (!anchorMatches) {
        add(
          'edited',
          `seq ${cur.seq} has hash ${short(cur.hash)} but the saved anchor says ${short(anchor.hash)}: the log up to seq ${cur.seq} was rewritten (its hashes recomputed) or replaced`,
        );
      }
    }
    // One problem per kind and row.
    for (const kind of here.length > 0 ? AUDIT_PROBLEM_KINDS : []) {
      const of = here.filter((p) => p.kind === kind);
      if (of.length > 0) found.push({ ...of[0], message: of.map((p) => p.message).join('; ') } as Found);
    }
    prev = { seq: cur.seq, hash: cur.hash, linkHash };
    count++;
  };

  for (const row of rows) {
    if (pending) check(pending, row);
    pending = row;
  }
  if (pending) check(pending, undefined);
  const last = prev as Previous | null;
  const head = last ? { seq: last.seq, hash: last.hash } : null;

  if (anchor && anchorMatches === undefined) {
    anchorMatches = false;
    const end = head?.seq ?? 0;
    if (anchor.seq > end) {
      const span = anchor.seq === end + 1 ? `row ${anchor.seq} was` : `rows ${end + 1}..${anchor.seq} were`;
      found.push({
        seq: end + 1,
        kind: 'deleted',
        message: `the log ends at seq ${end} but the saved anchor is seq ${anchor.seq}: ${span} cut off the end (or the log was replaced)`,
      });
    } else {
      found.push({ seq: anchor.seq, kind: 'deleted', message: `the anchored row seq ${anchor.seq} is missing` });
    }
  }

  const problems = mergeShifts(found).sort((a, b) => a.seq - b.seq);
  return {
    ok: problems.length === 0,
    rows: count,
    head,
    problems,
    ...(anchor ? { anchor: { ...anchor, matches: anchorMatches === true } } : {}),
  };
}

/**
 * Consecutive intact rows moved by the same amount are one event: rows deleted and the rest
 * renumbered (shift > 0), or renumbered upwards. Swaps (opposite shifts) stay separate.
 */
function mergeShifts(found: Found[]): AuditProblem[] {
  const plain = (p: Found): AuditProblem => ({ seq: p.seq, kind: p.kind, message: p.message });
  const out = found.filter((p) => p.shift === undefined).map(plain);
  const moved = found.filter((p) => p.shift !== undefined).sort((a, b) => a.seq - b.seq);
  for (let i = 0; i < moved.length; i++) {
    let j = i;
    while (j + 1 < moved.length && moved[j + 1].shift === moved[i].shift && moved[j + 1].seq === moved[j].seq + 1) j++;
    if (j - i + 1 < 3) {
      for (let k = i; k <= j; k++) out.push(plain(moved[k]));
    } else {
      const a = moved[i].seq;
      const b = moved[j].seq;
      const d = moved[i].shift as number;
      const chain = `seq ${a}..${b} hold the chain's rows ${a + d}..${b + d} (intact, renumbered by ${-d})`;
      out.push(
        d > 0
          ? {
              seq: a,
              kind: 'deleted',
              message: `${chain}: the chain's ${d === 1 ? `row ${a} was` : `rows ${a}..${a + d - 1} were`} deleted and the rest renumbered`,
            }
          : { seq: a, kind: 'reordered', message: chain },
      );
    }
    i = j;
  }
  return out;
}

/** Parses `SEQ:HASH` as printed by `aegis audit head` (0:<64 zeros> is the empty log). */
export function parseAuditAnchor(text: string): AuditAnchor {
  const match = /^(\d+):([0-9a-fA-F]{64})$/.exec(text.trim());
  if (!match) {
    throw new AegisInputError(
      `an audit anchor is SEQ:HASH (a seq and 64 hex digits, as 'aegis audit head' prints), got '${text}'`,
    );
  }
  const anchor = { seq: Number(match[1]), hash: match[2].toLowerCase() };
  if (!Number.isSafeInteger(anchor.seq)) throw new AegisInputError(`audit anchor seq ${match[1]} is too large`);
  if (anchor.seq === 0 && anchor.hash !== GENESIS_HASH) {
    throw new AegisInputError('audit anchor seq 0 is the empty log; its hash is 64 zeros');
  }
  return anchor;
}
