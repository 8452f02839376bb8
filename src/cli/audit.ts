/**
 * `aegis audit verify|show|head`: check the gateway's hash-chained audit log in `<data-dir>/aegis.db`
 * (exit 0 intact, 1 tampered, 2 bad input), list entries, and print the head (SEQ:HASH) to keep
 * elsewhere, so that `verify --expect-head` can later catch rows cut off the end or a rewritten chain.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AegisInputError } from '../core/errors.js';
import { AUDIT_MIGRATIONS, AuditLog, type StoredAuditEntry } from '../gateway/audit/audit-log.js';
import { GENESIS_HASH } from '../gateway/audit/canonical.js';
import { type AuditVerification, parseAuditAnchor } from '../gateway/audit/verify-chain.js';
import { openStore, type StoreDatabase } from '../store/store.js';
import { cliOutput, requestExitCode } from './io.js';
import { parsePositiveInt } from './parse-options.js';

const DATA_DIR_HELP = 'the gateway data directory holding aegis.db';
const LISTED_PROBLEMS = 50;

interface DataDirFlags {
  dataDir: string;
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

function formatEntries(entries: StoredAuditEntry[]): string {
  if (entries.length === 0) return 'no audit entries\n';
  const rows = entries.map((e) => [
    String(e.seq),
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
        const result = new AuditLog(db).verify(expectHead ? { expectHead } : {});
        cliOutput().out(flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatVerification(result, path));
        if (!result.ok) requestExitCode(1);
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
      const limit = parsePositiveInt('--limit', flags.limit);
      withAuditLog(flags.dataDir, (log) => {
        const entries = log.list({
          limit,
          ...(flags.key !== undefined ? { keyId: flags.key } : {}),
          ...(flags.model !== undefined ? { model: flags.model } : {}),
        });
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
