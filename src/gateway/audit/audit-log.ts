/**
 * The gateway's tamper-evident audit log: one row per request in the store (SQLite, WAL), each
 * chained to the one before by SHA-256 (canonical.ts has the byte format), so `verify()` finds an
 * edited, deleted or moved row. `head()` is the seq:hash to keep elsewhere: a log cut short at the
 * end, or recomputed from an edit onwards, is still a valid chain, and only that saved anchor
 * shows it (`verify({expectHead})`).
 *
 * Durability: append() commits one transaction before it returns. In WAL mode a commit has written
 * its frames to the -wal file (write(2), into the kernel's page cache) before COMMIT returns, so a
 * process killed right after (kill -9) loses nothing, with synchronous=NORMAL or FULL alike. NORMAL
 * (what `synchronous: 'normal'` sets) skips the fsync per commit: the last commits can be lost on
 * power loss or a kernel crash, never the database's consistency. FULL (better-sqlite3's default)
 * fsyncs the WAL at each commit, which also survives power loss but costs a disk flush per request.
 *
 * Several writers: append runs in BEGIN IMMEDIATE (the write lock is taken before reading) and reads
 * the newest row inside that transaction, so two processes (or two AuditLog objects) appending to
 * one file interleave into one valid chain. Reading the head is one B-tree seek on the primary key.
 */
import { AegisInputError } from '../../core/errors.js';
import type { Migration, StoreDatabase } from '../../store/store.js';
import type { AuditEntry, Decision } from '../types.js';
import { auditRecord, chainHash, GENESIS_HASH } from './canonical.js';
import { type AuditAnchor, type AuditRow, type AuditVerification, verifyChain } from './verify-chain.js';

export type { AuditAnchor, AuditProblem, AuditProblemKind, AuditRow, AuditVerification } from './verify-chain.js';

export const AUDIT_MIGRATIONS: readonly Migration[] = [
  {
    id: 'gateway/audit-001-log',
    // time … status copy record fields for SQL filters; verify checks they agree with the record.
    sql: `CREATE TABLE audit_log (
      seq INTEGER PRIMARY KEY,
      time TEXT NOT NULL,
      request_id TEXT NOT NULL,
      key_id TEXT,
      model TEXT,
      status INTEGER NOT NULL,
      record TEXT NOT NULL,
      prev_hash TEXT NOT NULL,
      hash TEXT NOT NULL
    );`,
  },
  {
    // A request-id index briefly existed for journal recovery; on random UUIDs it made every fold
    // dirty a random B-tree page per row (p99 at ten connections 10 → 16 ms). Recovery scans the tail.
    id: 'gateway/audit-003-drop-request-id-index',
    sql: 'DROP INDEX IF EXISTS audit_log_request_id;',
  },
];

/** An entry read back, with its chain position. */
export interface StoredAuditEntry extends AuditEntry {
  seq: number;
  hash: string;
}

export interface AuditQuery {
  keyId?: string;
  model?: string;
  /** Newest first; default 20. */
  limit?: number;
}

export interface AuditLogOptions {
  /**
   * Sets the connection's synchronous pragma (it applies to the whole connection). 'normal': durable
   * against a process crash, not an OS crash or power loss; 'full': fsync per commit. Unset: as is.
   */
  synchronous?: 'normal' | 'full';
}

const ROW_COLUMNS =
  'seq, time, request_id AS requestId, key_id AS keyId, model, status, record, prev_hash AS prevHash, hash';

export class AuditLog {
  private readonly db: StoreDatabase;
  private readonly insert;
  private readonly last;
  private readonly at;
  private readonly appendTx;
  private readonly appendManyTx;
  private readonly newestRequestIds;

  constructor(db: StoreDatabase, options: AuditLogOptions = {}) {
    this.db = db;
    if (options.synchronous) db.pragma(`synchronous = ${options.synchronous.toUpperCase()}`);
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'").get();
    if (!exists) {
      throw new AegisInputError(
        `the store '${db.name}' has no audit_log table (open it with AUDIT_MIGRATIONS; if they were applied, the table was dropped)`,
      );
    }
    this.insert = db.prepare(
      'INSERT INTO audit_log (seq, time, request_id, key_id, model, status, record, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.last = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.at = db.prepare(`SELECT ${ROW_COLUMNS} FROM audit_log WHERE seq = ?`);
    this.newestRequestIds = db.prepare('SELECT request_id FROM audit_log ORDER BY seq DESC LIMIT ?').pluck();
    this.appendTx = db.transaction((entry: AuditEntry): AuditAnchor => this.appendRows([entry])[0] as AuditAnchor);
    this.appendManyTx = db.transaction((entries: readonly AuditEntry[]) => this.appendRows(entries));
  }

  /** Appends one request; when it returns the row is committed (see the durability note above). */
  append(entry: AuditEntry): { seq: number; hash: string } {
    return this.appendTx.immediate(entry);
  }

  /**
   * Appends several requests in order, in one transaction and one commit (group commit). Called
   * inside a transaction the caller opened with BEGIN IMMEDIATE (`db.transaction(fn).immediate()`),
   * the rows join that transaction — no savepoint — and are committed with it; otherwise it runs
   * its own IMMEDIATE transaction. Either way the head is read under the write lock.
   */
  appendMany(entries: readonly AuditEntry[]): { seq: number; hash: string }[] {
    return this.db.inTransaction ? this.appendRows(entries) : this.appendManyTx.immediate(entries);
  }

  /** Chains and inserts the entries after the newest row; the caller holds the write lock. */
  private appendRows(entries: readonly AuditEntry[]): AuditAnchor[] {
    const head = this.last.get() as AuditAnchor | undefined;
    let seq = head ? head.seq : 0;
    let prevHash = head ? head.hash : GENESIS_HASH;
    const anchors: AuditAnchor[] = [];
    for (const entry of entries) {
      seq++;
      const record = auditRecord(seq, entry);
      const hash = chainHash(prevHash, record);
      this.insert.run(seq, entry.time, entry.requestId, entry.keyId, entry.model, entry.status, record, prevHash, hash);
      anchors.push({ seq, hash });
      prevHash = hash;
    }
    return anchors;
  }

  /**
   * Which of these request ids have a row among the newest `scanRows` (the journal's recovery: never
   * log a request twice). A journal's entries that a fold committed before a crash are the newest
   * rows of their writer, so the tail is where they are; the default scans 100,000 rows past them.
   */
  loggedRequestIds(requestIds: readonly string[], scanRows = requestIds.length + 100_000): Set<string> {
    const wanted = new Set(requestIds);
    const found = new Set<string>();
    if (wanted.size === 0) return found;
    for (const id of this.newestRequestIds.iterate(scanRows) as IterableIterator<string>) {
      if (wanted.has(id)) found.add(id);
      if (found.size === wanted.size) break;
    }
    return found;
  }

  /** The newest row's position, to save elsewhere as an anchor; null for an empty log. */
  head(): { seq: number; hash: string } | null {
    return (this.last.get() as AuditAnchor | undefined) ?? null;
  }

  /** Walks the whole chain (in one read transaction, so concurrent appends do not disturb it). */
  verify(options: { expectHead?: AuditAnchor } = {}): AuditVerification {
    let byHash: Map<string, number> | undefined;
    const lookups = {
      rowAt: (seq: number) => this.at.get(seq) as AuditRow | undefined,
      seqOfHash: (hash: string) => {
        byHash ??= new Map(
          (this.db.prepare('SELECT hash, seq FROM audit_log').raw().all() as [string, number][]).map(([h, s]) => [
            h,
            s,
          ]),
        );
        return byHash.get(hash);
      },
    };
    const all = this.db.prepare(`SELECT ${ROW_COLUMNS} FROM audit_log ORDER BY seq`);
    return this.db.transaction(() => verifyChain(all.iterate() as IterableIterator<AuditRow>, lookups, options))();
  }

  /** Entries newest first, optionally of one key or model (for `aegis audit show`). */
  list(query: AuditQuery = {}): StoredAuditEntry[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (query.keyId !== undefined) {
      where.push('key_id = ?');
      args.push(query.keyId);
    }
    if (query.model !== undefined) {
      where.push('model = ?');
      args.push(query.model);
    }
    const sql = `SELECT seq, record, hash FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, query.limit ?? 20) as {
      seq: number;
      record: string;
      hash: string;
    }[];
    return rows.map((r) => toStoredEntry(r.seq, r.record, r.hash));
  }
}

function toStoredEntry(seq: number, record: string, hash: string): StoredAuditEntry {
  let value: Partial<AuditEntry> = {};
  try {
    value = JSON.parse(record) as Partial<AuditEntry>;
  } catch {
    // A damaged record is shown with what is left; verify() says what happened to it.
  }
  return {
    time: String(value.time ?? ''),
    requestId: String(value.requestId ?? ''),
    keyId: value.keyId ?? null,
    model: value.model ?? null,
    method: String(value.method ?? ''),
    route: String(value.route ?? ''),
    status: Number(value.status ?? 0),
    inputDigest: value.inputDigest ?? null,
    outputSummary: value.outputSummary ?? null,
    decisions: Array.isArray(value.decisions) ? (value.decisions as Decision[]) : [],
    latencyMs: Number(value.latencyMs ?? 0),
    seq,
    hash,
  };
}
