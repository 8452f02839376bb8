/**
 * `aegis audit verify|show|head`: check the gateway's hash-chained audit log in `<data-dir>/aegis.db`
 * (exit 0 intact, 1 tampered, 2 bad input), list entries, and print the head (SEQ:HASH) to keep
 * elsewhere, so that `verify --expect-head` can later catch rows cut off the end or a rewritten chain.
 * Entries still in the write-ahead journal (`<data-dir>/audit.journal`: a gateway folds them into
 * the chain within milliseconds, or at its next start after a crash) are reported by verify and
 * listed by show as pending; these commands only read, they never fold.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AegisInputError } from '../core/errors.js';
import { JOURNAL_FILE, type JournalContents, readJournal } from '../gateway/audit/audit-journal.js';
import { AUDIT_MIGRATIONS, AuditLog, type StoredAuditEntry } from '../gateway/audit/audit-log.js';
import { GENESIS_HASH } from '../gateway/audit/canonical.js';
import { type AuditVerification, parseAuditAnchor } from '../gateway/audit/verify-chain.js';
import type { AuditEntry } from '../gateway/types.js';
import { openStore, type StoreDatabase } from '../store/store.js';
import { cliOutput, requestExitCode } from './io.js';
import { parsePositiveInt } from './parse-options.js';

const DATA_DIR_HELP = 'the gateway data directory holding aegis.db';
const LISTED_PROBLEMS = 50;

interface DataDirFlags {
  dataDir: string;
}

/** An entry still in the journal: answered, not yet in the hash chain. */
type PendingAuditEntry = AuditEntry & { seq: null; hash: null; pending: true };

/** The journal's records that are not in the log yet (a crash between a fold's commit and truncation leaves both). */
function journalOf(dataDir: string, log: AuditLog): JournalContents {
  const journal = readJournal(resolve(join(dataDir, JOURNAL_FILE)));
  const logged = log.loggedRequestIds(journal.records.map((r) => r.entry.requestId));
  return { ...journal, records: journal.records.filter((r) => !logged.has(r.entry.requestId)) };
}

/** What verify adds about the journal (lines; empty when it holds nothing). */
export function formatJournal(journal: JournalContents): string[] {
  const lines: string[] = [];
  const n = journal.records.length;
  if (n > 0)
    lines.push(
      `journal: ${n} answered request${n === 1 ? '' : 's'} not yet folded into the chain (${JOURNAL_FILE}; the gateway folds them within milliseconds while it runs, or when it next starts)`,
    );
  if (journal.torn)
    lines.push('journal: an incomplete last line (a write cut by a crash: that request was never answered)');
  if (journal.badLines.length > 0)
    lines.push(
      `JOURNAL DAMAGED: ${journal.badLines.length} line(s) are not journal records (line ${journal.badLines.slice(0, 10).join(', ')})`,
    );
  return lines;
}

/** Opens `<dir>/aegis.db`; a missing store is a user error, never silently created. */
function withStore<T>(dataDir: string, use: (db: StoreDatabase, path: string) => T): T {
  const path = resolve(join(dataDir, 'aegis.db'));
  if (!existsSync(path)) throw new AegisInputError(`no store at '${path}' (is --data-dir right?)`);
  const db = openStore(path, AUDIT_MIGRATIONS);
  try {
    return use(db, path);
  } finally {
    db.close();
  }
}

function withAuditLog<T>(dataDir: string, use: (log: AuditLog, path: string) => T): T {
  return withStore(dataDir, (db, path) => use(new AuditLog(db), path));
}

/** openStore has just applied AUDIT_MIGRATIONS, so a missing table was dropped after it was made. */
function auditTableDropped(db: StoreDatabase): boolean {
  return !db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_log'").get();
}

export function formatVerification(result: AuditVerification, path: string): string {
  const head = result.head ? `${result.head.seq}:${result.head.hash}` : `0:${GENESIS_HASH} (empty)`;
  const lines: string[] = [];
  if (result.ok) {
    lines.push(`OK  ${path}: ${result.rows} rows, every hash and link checks out`, `head ${head}`);
    if (result.anchor) lines.push(`anchor ${result.anchor.seq}:${result.anchor.hash} is in the chain`);
    else lines.push('(rows cut off the end show only against a saved head: --expect-head SEQ:HASH)');
    return `${lines.join('\n')}\n`;
  }
  const n = result.problems.length;
  lines.push(`TAMPERED  ${path}: ${result.rows} rows, ${n} problem${n === 1 ? '' : 's'}`);
  for (const p of result.problems.slice(0, LISTED_PROBLEMS)) {
    lines.push(`  seq ${String(p.seq).padEnd(8)} ${p.kind.padEnd(12)} ${p.message}`);
  }
  if (n > LISTED_PROBLEMS) lines.push(`  … and ${n - LISTED_PROBLEMS} more (--json lists all)`);
  lines.push(`head ${head}`);
  if (result.anchor && !result.anchor.matches)
    lines.push(`anchor ${result.anchor.seq}:${result.anchor.hash} does NOT match`);
  return `${lines.join('\n')}\n`;
}

function formatEntries(entries: (StoredAuditEntry | PendingAuditEntry)[]): string {
  if (entries.length === 0) return 'no audit entries\n';
  const rows = entries.map((e) => [
    e.seq === null ? 'pending' : String(e.seq),
    e.time,
    String(e.status),
    e.keyId ?? '-',
    e.model ?? '-',
    `${e.method} ${e.route}`,
    `${e.latencyMs.toFixed(2)} ms`,
    e.decisions.map((d) => `${d.stage}:${d.outcome}`).join(' '),
  ]);
  const header = ['seq', 'time', 'status', 'key', 'model', 'request', 'latency', 'decisions'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

export function registerAuditCommand(program: Command): void {
  const audit = program
    .command('audit')
    .description("the gateway's tamper-evident audit log: verify the hash chain, show entries, print the head");

  audit
    .command('verify')
    .description('walk the hash chain: exit 0 if intact, 1 if rows were edited, deleted or moved (each named by seq)')
    .option('--data-dir <dir>', DATA_DIR_HELP, '.aegis')
    .option('--expect-head <seq:hash>', "a head saved earlier ('aegis audit head'): catches rows cut off the end")
    .option('--json', 'print the result as JSON')
    .action((flags: DataDirFlags & { expectHead?: string; json?: boolean }) => {
      const expectHead = flags.expectHead === undefined ? undefined : parseAuditAnchor(flags.expectHead);
      withStore(flags.dataDir, (db, path) => {
        if (auditTableDropped(db)) {
          cliOutput().out(`TAMPERED  ${path}: the audit_log table was dropped (its migration is recorded)\n`);
          requestExitCode(1);
          return;
        }
        const log = new AuditLog(db);
        const result = log.verify(expectHead ? { expectHead } : {});
        const journal = journalOf(flags.dataDir, log);
        const journalSummary = {
          pending: journal.records.length,
          torn: journal.torn,
          damagedLines: journal.badLines,
        };
        const text =
          formatVerification(result, path) +
          formatJournal(journal)
            .map((l) => `${l}\n`)
            .join('');
        cliOutput().out(flags.json ? `${JSON.stringify({ ...result, journal: journalSummary }, null, 2)}\n` : text);
        if (!result.ok || journal.badLines.length > 0) requestExitCode(1);
      });
    });

  audit
    .command('show')
    .description('list audit entries, newest first')
    .option('--data-dir <dir>', DATA_DIR_HELP, '.aegis')
    .option('--limit <n>', 'how many entries', '20')
    .option('--key <id>', 'only this key id')
    .option('--model <name>', 'only this model')
    .option('--json', 'print the entries as JSON')
    .action((flags: DataDirFlags & { limit: string; key?: string; model?: string; json?: boolean }) => {
      // Past 2^53 the number binds as a REAL, which SQLite's LIMIT refuses: any such limit means 'all'.
      const limit = Math.min(parsePositiveInt('--limit', flags.limit), Number.MAX_SAFE_INTEGER);
      withAuditLog(flags.dataDir, (log) => {
        const journal = journalOf(flags.dataDir, log);
        if (journal.badLines.length > 0) {
          // Not entries, so not listed; said on stderr so that --json output stays one document.
          cliOutput().err(
            `aegis: ${JOURNAL_FILE} has ${journal.badLines.length} damaged line(s), not shown (line ${journal.badLines.slice(0, 10).join(', ')}); see aegis audit verify\n`,
          );
        }
        const pending: PendingAuditEntry[] = journal.records
          .map((r): PendingAuditEntry => ({ ...r.entry, seq: null, hash: null, pending: true }))
          .filter(
            (e) =>
              (flags.key === undefined || e.keyId === flags.key) &&
              (flags.model === undefined || e.model === flags.model),
          )
          .reverse();
        const logged = log.list({
          limit,
          ...(flags.key !== undefined ? { keyId: flags.key } : {}),
          ...(flags.model !== undefined ? { model: flags.model } : {}),
        });
        // Newest first: the journal holds the newest answers.
        const entries = [...pending, ...logged].slice(0, limit);
        cliOutput().out(flags.json ? `${JSON.stringify(entries, null, 2)}\n` : formatEntries(entries));
      });
    });

  audit
    .command('head')
    .description('print the newest row as SEQ:HASH, to keep outside this machine for verify --expect-head')
    .option('--data-dir <dir>', DATA_DIR_HELP, '.aegis')
    .action((flags: DataDirFlags) => {
      withAuditLog(flags.dataDir, (log) => {
        const head = log.head();
        cliOutput().out(`${head ? `${head.seq}:${head.hash}` : `0:${GENESIS_HASH}`}\n`);
      });
    });
}
