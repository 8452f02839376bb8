/**
 * `aegis uba ingest|score|users`: user behaviour analytics (src/detectors/behavior).
 *
 * ingest and score stream events from log files (Windows Security JSON, auth.log, generic
 * CSV/JSONL; .gz by content), score each against the baselines learned so far (test-then-train)
 * and rank users by decayed risk. ingest saves that risk to the store (table uba_user_risk,
 * which triage reads) with a record of the run's counts; score prints it (table, --json, --report).
 * users lists the stored risk. Bad lines are counted, never fatal; the counts go to stderr (or
 * the JSON).
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { AegisInputError } from '../core/errors.js';
import type { IngestCounts } from '../detectors/behavior/event.js';
import { INGEST_MIGRATIONS, listIngestRuns, recordIngestRun } from '../detectors/behavior/ingest-store.js';
import { emptyCounts } from '../detectors/behavior/parse-common.js';
import {
  EVENT_FORMATS,
  type EventFormat,
  type ReadEventsOptions,
  readEvents,
} from '../detectors/behavior/read-events.js';
import {
  type RankBy,
  RiskAccumulator,
  type RiskOptions,
  type ScoreStreamResult,
  scoreStream,
} from '../detectors/behavior/risk.js';
import { BEHAVIOR_MIGRATIONS, readUserRisk, saveUserRisk } from '../detectors/behavior/risk-store.js';
import { loadUbaState, type RestoredUba, STATE_MIGRATIONS, saveUbaState } from '../detectors/behavior/state-store.js';
import { UbaDetector } from '../detectors/behavior/uba-detector.js';
import {
  type FileCounts,
  formatCounts,
  formatUserTable,
  rankRows,
  type UbaScoreDocument,
  type UbaUserRow,
  writeUbaReport,
} from '../detectors/behavior/uba-report.js';
import { defaultStorePath, openStore } from '../store/store.js';
import { cliOutput } from './io.js';
import { parseNonNegativeInt, parsePositiveInt, parsePositiveNumber } from './parse-options.js';

interface IngestFlags {
  format: string;
  year?: string;
  skew: string;
  dedup: string;
  halfLife: string;
  rankBy: string;
  includeMachineAccounts?: boolean;
  json?: boolean;
}

const MIGRATIONS = [...BEHAVIOR_MIGRATIONS, ...INGEST_MIGRATIONS, ...STATE_MIGRATIONS];

function note(text: string): void {
  cliOutput().err(`${text}\n`);
}

function readOptions(f: IngestFlags, counts: IngestCounts): ReadEventsOptions {
  const format = f.format as EventFormat | 'auto';
  if (format !== 'auto' && !EVENT_FORMATS.includes(format)) {
    throw new AegisInputError(`--format takes auto, ${EVENT_FORMATS.join(', ')}; got '${f.format}'`);
  }
  let year: number | undefined;
  if (f.year !== undefined) {
    year = parsePositiveInt('--year', f.year);
    if (year < 1970 || year > 9999) throw new AegisInputError(`--year takes a four-digit year, got '${f.year}'`);
  }
  return {
    format,
    ...(year !== undefined ? { year } : {}),
    skewMs: parseNonNegativeInt('--skew', f.skew) * 1000,
    dedupCapacity: parseNonNegativeInt('--dedup', f.dedup),
    counts,
    onWarning: note,
  };
}

/** One stderr line per file when there are several (which file was unusable, duplicated …). */
function notePerFile(perFile: readonly FileCounts[]): void {
  if (perFile.length < 2) return;
  for (const p of perFile) note(`  ${p.path} (${p.format}): ${formatCounts(p.counts)}`);
}

function rankByFlag(f: IngestFlags): RankBy {
  if (f.rankBy === 'current') return 'risk';
  if (f.rankBy === 'peak') return 'peak';
  throw new AegisInputError(`--rank-by takes current or peak; got '${f.rankBy}'`);
}

function riskOptions(f: IngestFlags): RiskOptions {
  return {
    halfLifeMs: parsePositiveNumber('--half-life', f.halfLife) * 3_600_000,
    rankBy: rankByFlag(f),
    includeMachineAccounts: Boolean(f.includeMachineAccounts),
  };
}

interface Scored {
  result: ScoreStreamResult;
  detector: UbaDetector;
  risk: RiskAccumulator;
  counts: IngestCounts;
  perFile: FileCounts[];
  seconds: number;
  firstEvent: number | null;
}

async function scoreFiles(files: string[], f: IngestFlags, restored?: RestoredUba | null): Promise<Scored> {
  const counts = emptyCounts();
  const perFile: FileCounts[] = [];
  const options: ReadEventsOptions = {
    ...readOptions(f, counts),
    onFileDone: (path, format, own) => perFile.push({ path, format: format ?? 'empty', counts: own }),
  };
  const risk = riskOptions(f);
  let firstEvent: number | null = null;
  const started = performance.now();
  const detector = restored?.detector ?? new UbaDetector(risk);
  const accumulator =
    restored?.risk ??
    new RiskAccumulator(risk.halfLifeMs ?? 86_400_000, risk.riskThreshold ?? detector.options.threshold);
  const result = await scoreStream(readEvents(files, options), {
    ...risk,
    detector,
    risk: accumulator,
    onVerdict: (e) => {
      if (firstEvent === null || e.time < firstEvent) firstEvent = e.time;
    },
  });
  return {
    result,
    detector,
    risk: accumulator,
    counts,
    perFile,
    seconds: (performance.now() - started) / 1000,
    firstEvent,
  };
}

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined || !Number.isFinite(ms) || ms <= 0 ? null : new Date(ms).toISOString();
}

function toDocument(files: string[], s: Scored, top: number | undefined, rankBy: RankBy): UbaScoreDocument {
  const users: UbaUserRow[] = rankRows(
    s.result.users.map((u) => ({
      user: u.user,
      domain: u.domain,
      risk: u.risk,
      peakRisk: u.peakRisk,
      peakAt: iso(u.peakAt),
      reasons: u.reasons,
      events: u.events,
      alerts: u.alerts,
      firstAlert: iso(u.firstAlert),
      lastSeen: iso(u.lastSeen) ?? '',
    })),
    rankBy,
  );
  return {
    users: top === undefined ? users : users.slice(0, top),
    counts: s.counts,
    files,
    perFile: s.perFile,
    events: s.result.events,
    alerts: s.result.alertCount,
    asOf: s.result.events > 0 ? iso(s.result.asOf) : null,
    machineAccountsExcluded: s.result.machineAccountsExcluded,
    eventsPerSecond: Math.round(s.counts.read / Math.max(s.seconds, 1e-9)),
  };
}

function addReadOptions(cmd: Command): Command {
  return cmd
    .option(
      '--format <format>',
      `input format: auto (per file, from its first line), ${EVENT_FORMATS.join(', ')}`,
      'auto',
    )
    .option('--year <yyyy>', 'year of the first line of yearless syslog files (default: each file’s modification year)')
    .option('--skew <seconds>', 'allowed clock skew per host before an older event counts as out of order', '300')
    .option('--dedup <n>', 'recent record ids remembered to drop duplicate deliveries (0 = off)', '200000')
    .option('--half-life <hours>', 'half-life of a user’s risk', '24')
    .option('--rank-by <what>', 'current (risk at the last event) or peak (highest risk reached: old logs)', 'current')
    .option('--include-machine-accounts', 'rank machine and service accounts too')
    .option('--json', 'print JSON');
}

export function registerUbaCommand(program: Command): void {
  const uba = program
    .command('uba')
    .description('user behaviour analytics: per-user baselines and risk from Windows, auth.log and CSV/JSONL events');

  addReadOptions(
    uba
      .command('ingest')
      .description('score event files and save per-user risk (and the run’s counts) to the store')
      .argument('<files...>', 'event files (.gz accepted)'),
  )
    .option('--store <path>', 'the SQLite store (default $AEGIS_STORE or .aegis/aegis.db)')
    .option('--fresh', 'start from empty baselines instead of continuing from what the store learned before')
    .action(async (files: string[], f: IngestFlags & { store?: string; fresh?: boolean }) => {
      const storePath = f.store ?? defaultStorePath();
      const startedAt = Date.now();
      const db = openStore(storePath, MIGRATIONS);
      try {
        const restored = f.fresh ? null : loadUbaState(db, riskOptions(f));
        const scored = await scoreFiles(files, f, restored);
        saveUbaState(db, scored.detector, scored.risk);
        const asOf = scored.result.events > 0 ? scored.result.asOf : startedAt;
        const saved = saveUserRisk(db, scored.result.users, asOf);
        const runId = recordIngestRun(db, {
          startedAt,
          files,
          counts: scored.counts,
          users: saved,
          firstEvent: scored.firstEvent,
          lastEvent: scored.result.events > 0 ? scored.result.asOf : null,
        });
        const doc = {
          store: storePath,
          run: runId,
          users: saved,
          counts: scored.counts,
          perFile: scored.perFile,
          asOf: iso(asOf),
          continued: restored ? { savedAt: iso(restored.savedAt), users: restored.users } : null,
        };
        if (f.json) cliOutput().out(`${JSON.stringify(doc, null, 2)}\n`);
        else {
          notePerFile(scored.perFile);
          if (restored) {
            note(
              `continued from the baselines of ${restored.users} user(s) saved ${iso(restored.savedAt)} (--fresh to start over)`,
            );
          }
          cliOutput().out(
            `ingested ${files.length} file(s): ${formatCounts(scored.counts)}\n` +
              `saved risk of ${saved} user(s) as of ${iso(asOf) ?? 'n/a'} to ${storePath} (run ${runId})\n`,
          );
        }
      } finally {
        db.close();
      }
    });

  addReadOptions(
    uba
      .command('score')
      .description('score event files and print users ranked by risk, highest first')
      .argument('<files...>', 'event files (.gz accepted)'),
  )
    .option('--top <n>', 'users shown (table default 20; JSON: all unless given)')
    .option(
      '--report <path>',
      'write an HTML report (path.html, JSON beside it) or a folder with uba-report.html/.json',
    )
    .action(async (files: string[], f: IngestFlags & { top?: string; report?: string }) => {
      const top = f.top === undefined ? undefined : parsePositiveInt('--top', f.top);
      const scored = await scoreFiles(files, f);
      const doc = toDocument(files, scored, undefined, rankByFlag(f));
      if (f.report) {
        const written = await writeUbaReport(f.report, doc);
        note(`report: ${written.html}\n        ${written.json}`);
      }
      if (f.json) {
        const shown = top === undefined ? doc : { ...doc, users: doc.users.slice(0, top) };
        cliOutput().out(`${JSON.stringify(shown, null, 2)}\n`);
        return;
      }
      cliOutput().out(formatUserTable(doc.users, top ?? 20));
      notePerFile(scored.perFile);
      note(
        `${doc.events} events scored (${doc.eventsPerSecond} lines/s), ${doc.alerts} suspicious, ${doc.users.length} users; ` +
          `${formatCounts(doc.counts)}`,
      );
    });

  uba
    .command('users')
    .description('list the per-user risk saved by `aegis uba ingest`, highest first')
    .option('--store <path>', 'the SQLite store (default $AEGIS_STORE or .aegis/aegis.db)')
    .option('--top <n>', 'users shown', '50')
    .option('--json', 'print JSON')
    .action((f: { store?: string; top: string; json?: boolean }) => {
      const top = parsePositiveInt('--top', f.top);
      const storePath = f.store ?? defaultStorePath();
      if (!existsSync(storePath)) {
        throw new AegisInputError(
          `no store at '${storePath}'; run \`aegis uba ingest <files…> --store ${storePath}\` first`,
        );
      }
      const db = openStore(storePath, MIGRATIONS);
      try {
        const stored = readUserRisk(db);
        const rows = rankRows(
          [...stored].map(([user, r]) => ({
            user,
            domain: r.domain,
            risk: r.risk,
            reasons: r.reasons,
            lastSeen: iso(r.updatedAt) ?? '',
          })),
        );
        const lastRun = listIngestRuns(db, 1)[0];
        if (f.json) {
          cliOutput().out(
            `${JSON.stringify({ store: storePath, users: rows.slice(0, top).map(({ lastSeen, ...u }) => ({ ...u, updatedAt: lastSeen })), total: rows.length, lastIngest: lastRun ?? null }, null, 2)}\n`,
          );
          return;
        }
        cliOutput().out(formatUserTable(rows, top));
        if (lastRun)
          note(`last ingest (run ${lastRun.id}): ${lastRun.files.length} file(s), ${formatCounts(lastRun.counts)}`);
      } finally {
        db.close();
      }
    });
}
