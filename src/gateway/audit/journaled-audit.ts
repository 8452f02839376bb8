/**
 * The audit log in journal mode (the gateway's default, `audit.mode: journal`): each answered
 * request is appended to the write-ahead journal (audit-journal.ts: one write(2), ~10 µs) before
 * its answer leaves, and the journal is folded into the hash-chained SQLite log off the request
 * path — one transaction per fold, every `foldMs` (10 ms) or sooner when many are waiting — then
 * emptied. A fold also writes the sqlite limits store's pending budget changes, as the per-request
 * commit did. `audit.mode: commit` instead makes every answer wait for its own SQLite commit.
 *
 * Crash safety: after `kill -9` every answered request is in the journal or already in the log.
 * At the next start `recover()` folds what the journal holds that the log does not (a crash
 * between a fold's commit and the journal's truncation leaves entries in both: found by request
 * id, never logged twice), restores those requests' budget charges, and empties the journal.
 * A failed fold (SQLite busy or full) keeps the entries in the journal and retries with backoff;
 * past MAX_UNFOLDED waiting entries the gateway refuses new answers (500) rather than answer
 * what it may never log.
 */
import type { AuditEntry } from '../types.js';
import { type AuditJournal, assertJournalReadable, type JournalContents } from './audit-journal.js';

/** A request's spend from a persisted query budget, restored when its entry is recovered from the journal. */
export interface BudgetCharge {
  keyId: string;
  model: string;
  points: number;
}

export interface JournaledAuditOptions {
  journal: AuditJournal;
  /** One transaction: pending budget writes, then the entries appended to the chain; throws when it rolled back. */
  commit(entries: AuditEntry[]): void;
  /** Which of these request ids the log already holds (recovery). */
  logged(requestIds: readonly string[]): Set<string>;
  /** Spends recovered requests' budgets again (their writes may have died with the process); before commit. */
  recharge?(charges: readonly BudgetCharge[]): Promise<void> | void;
  /** A fold failed; the entries stay in the journal and are retried. */
  onError(error: unknown, waiting: number): void;
  /** Longest wait before a fold (ms). Default 10. */
  foldMs?: number;
  /** Fold at once when this many entries wait. Default 512. */
  foldAt?: number;
}

/** Waiting entries past which record() refuses (the caller answers 500): the log is not keeping up at all. */
export const MAX_UNFOLDED = 100_000;
const MAX_RETRY_MS = 5_000;

export interface RecoveryReport {
  /** Entries the journal held that the log did not: now folded. */
  recovered: number;
  /** Entries the journal held that a fold had already committed. */
  alreadyLogged: number;
  /** An incomplete last line was dropped (its request was never answered). */
  torn: boolean;
}

export class JournaledAudit {
  private readonly journal: AuditJournal;
  private readonly foldMs: number;
  private readonly foldAt: number;
  private pending: AuditEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private retryMs = 0;
  private folds = 0;

  constructor(private readonly opts: JournaledAuditOptions) {
    this.journal = opts.journal;
    this.foldMs = opts.foldMs ?? 10;
    this.foldAt = opts.foldAt ?? 512;
  }

  /** Folds what a previous process left in the journal (see the crash-safety note), then empties it. */
  async recover(contents: JournalContents): Promise<RecoveryReport> {
    assertJournalReadable(this.journal.path, contents);
    const ids = contents.records.map((r) => r.entry.requestId);
    const logged = ids.length > 0 ? this.opts.logged(ids) : new Set<string>();
    const missing = contents.records.filter((r) => !logged.has(r.entry.requestId));
    if (missing.length > 0) {
      const charges = missing.flatMap((r) =>
        r.charge !== undefined && r.entry.keyId !== null && r.entry.model !== null
          ? [{ keyId: r.entry.keyId, model: r.entry.model, points: r.charge }]
          : [],
      );
      if (charges.length > 0) await this.opts.recharge?.(charges);
      this.opts.commit(missing.map((r) => r.entry));
    }
    this.journal.clear();
    return { recovered: missing.length, alreadyLogged: contents.records.length - missing.length, torn: contents.torn };
  }

  /**
   * Journals one answered request; when it returns the entry survives a crash of this process.
   * Throws when it cannot (the caller must not send the answer).
   */
  record(entry: AuditEntry, charge?: number): void {
    if (this.pending.length >= MAX_UNFOLDED) {
      throw new Error(`the audit log is ${this.pending.length} entries behind (folds keep failing)`);
    }
    this.journal.append(charge === undefined ? { entry } : { entry, charge });
    this.pending.push(entry);
    if (this.pending.length >= this.foldAt && this.retryMs === 0) this.scheduleNow();
    else if (this.timer === null && this.immediate === null) this.scheduleIn(this.retryMs || this.foldMs);
  }

  /** Folds every waiting entry now; false (entries kept, retry scheduled) when the commit failed. */
  fold(): boolean {
    this.cancel();
    if (this.pending.length === 0) return true;
    const batch = this.pending;
    try {
      this.opts.commit(batch);
    } catch (error) {
      this.retryMs = Math.min(MAX_RETRY_MS, Math.max(this.foldMs, this.retryMs * 2));
      this.opts.onError(error, batch.length);
      this.scheduleIn(this.retryMs);
      return false;
    }
    this.pending = [];
    this.retryMs = 0;
    this.folds++;
    try {
      this.journal.clear();
    } catch (error) {
      // The entries are in the log; left in the journal too, a restart's recovery skips them by request id.
      this.opts.onError(error, 0);
    }
    return true;
  }

  /** Entries journaled and not yet in the log; folds so far. */
  stats(): { waiting: number; folds: number; journalBytes: number } {
    return { waiting: this.pending.length, folds: this.folds, journalBytes: this.journal.bytes };
  }

  /** Last fold, then closes the journal (what a failed fold left stays in it for the next start). */
  close(): void {
    try {
      this.fold();
    } finally {
      this.cancel();
      this.journal.close();
    }
  }

  private scheduleNow(): void {
    if (this.immediate !== null) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.immediate = setImmediate(() => {
      this.immediate = null;
      this.fold();
    });
  }

  private scheduleIn(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.fold();
    }, ms);
    this.timer.unref();
  }

  private cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }
}
