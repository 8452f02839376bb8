/**
 * `aegis triage ingest|queue|verdict|explain`: automated alert triage over the store.
 * ingest streams alert files (Suricata EVE, ECS, Aegis alerts and verdicts; .gz accepted), and
 * optionally the store's own gateway/monitor alerts, groups them into incidents and ranks them;
 * queue prints the ranked incidents; verdict records an analyst's tp/fp and updates the ranking
 * model kept in the store; explain shows an incident, its alerts, features and the rank's reasons.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AegisInputError } from '../core/errors.js';
import type { TriageAlert } from '../detectors/triage/alert.js';
import { GROUP_DEFAULTS, type GroupBy } from '../detectors/triage/group.js';
import { aegisStoreAlerts } from '../detectors/triage/parse-aegis.js';
import {
  applyVerdict,
  explainIncident,
  ingestAlerts,
  loadTriageModel,
  parseAssetCriticality,
  queue,
} from '../detectors/triage/pipeline.js';
import { type AlertIngestCounts, emptyIngestCounts, readAlerts } from '../detectors/triage/read-alerts.js';
import {
  listIncidents,
  listVerdicts,
  type StoredIncident,
  TRIAGE_MIGRATIONS,
} from '../detectors/triage/triage-store.js';
import { ALERT_MIGRATIONS, listAlerts } from '../gateway/alerts.js';
import { buildReport, writeReport } from '../report/build-report.js';
import { defaultStorePath, openStore, type StoreDatabase } from '../store/store.js';
import { cliOutput } from './io.js';
import { parsePositiveInt, parsePositiveNumber } from './parse-options.js';

const GROUP_BY: readonly GroupBy[] = ['technique', 'tactic', 'signature', 'entity'];

function open(path: string | undefined): StoreDatabase {
  return openStore(path ?? defaultStorePath(), [...ALERT_MIGRATIONS, ...TRIAGE_MIGRATIONS]);
}

const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

/** Pads columns of string cells (left-aligned, last column free). */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Alerts from the store's `alerts` table (gateway/monitor), time order. */
function* storeAlerts(db: StoreDatabase): Generator<TriageAlert> {
  const rows = listAlerts(db, { limit: -1 });
  yield* aegisStoreAlerts(rows).sort((a, b) => a.time - b.time);
}

async function* allAlerts(files: string[], db: StoreDatabase, fromStore: boolean, counts: AlertIngestCounts) {
  if (fromStore) yield* storeAlerts(db);
  if (files.length) yield* readAlerts(files, { counts });
}

interface IngestFlags {
  store?: string;
  aegisAlerts?: boolean;
  gap: string;
  dedupWindow: string;
  by: string;
  assets?: string;
  json?: boolean;
}

interface QueueFlags {
  store?: string;
  top: string;
  all?: boolean;
  json?: boolean;
  report?: string;
}

function queueRow(i: StoredIncident): Record<string, unknown> {
  return {
    id: i.id,
    key: i.key,
    score: i.score ?? null,
    verdict: i.verdict ?? null,
    maxSeverity: i.maxSeverity,
    alerts: i.alertCount,
    duplicates: i.duplicates,
    firstSeen: iso(i.firstSeen),
    lastSeen: iso(i.lastSeen),
    reasons: i.scoreExplanation.slice(0, 3),
  };
}

function topReason(i: StoredIncident): string {
  const r = i.scoreExplanation.find((x) => x.feature !== 'bias');
  return r ? r.detail.replace(/ \(weight .*\)$/, '') : '';
}

function queueReport(db: StoreDatabase, incidents: StoredIncident[], command: string) {
  const verdicts = listVerdicts(db);
  const judged = listIncidents(db, { status: 'judged' });
  const tp = judged.filter((i) => i.verdict === 'tp').length;
  const model = loadTriageModel(db);
  const total = db.prepare('SELECT COUNT(*) FROM triage_incidents').pluck().get() as number;
  const alerts = db.prepare('SELECT COUNT(*) FROM triage_alerts').pluck().get() as number;
  return buildReport({
    model: { name: 'triage-ranker', access: 'scores', inputShape: [], numClasses: 2, inputRange: [0, 1] },
    dataset: { name: 'triage store', size: total, shape: [total], classNames: ['fp', 'tp'] },
    cleanAccuracy: judged.length ? tp / judged.length : 0,
    cleanSize: judged.length,
    seed: 0,
    backend: 'none (TypeScript linear model)',
    command,
    attacks: [],
    detectors: [
      {
        name: 'triage-ranker',
        title: 'Alert triage queue',
        kind: 'triage',
        citation:
          'Online logistic regression (AdaGrad, Duchi et al. 2011) over incident features; Valeur et al. 2004 correlation',
        metrics: {
          incidents: total,
          openIncidents: total - judged.length,
          alerts,
          verdicts: verdicts.length,
          truePositives: tp,
          falsePositives: judged.length - tp,
          rankerVerdictsLearned: model.ranker.verdicts.tp + model.ranker.verdicts.fp,
        },
        notes: [
          'clean accuracy here is the share of judged incidents analysts marked true positive, not a model accuracy.',
          ...incidents.map(
            (i, k) =>
              `#${k + 1} ${i.id} score ${(i.score ?? 0).toFixed(3)} ${i.maxSeverity} ${i.alertCount} alerts ${i.key}${i.verdict ? ` [${i.verdict}]` : ''}: ${topReason(i)}`,
          ),
        ],
      },
    ],
  });
}

export function registerTriageCommand(program: Command): void {
  const triage = program
    .command('triage')
    .description('alert triage: ingest alerts, rank incidents, learn from analyst verdicts, explain');

  triage
    .command('ingest')
    .description('read alert files (Suricata EVE, ECS, Aegis; .gz accepted), group them into incidents and rank them')
    .argument('[files...]', 'alert files: NDJSON, a JSON array or JSON values; formats detected per record')
    .option('--store <path>', 'the SQLite store (default $AEGIS_STORE or .aegis/aegis.db)')
    .option('--aegis-alerts', "also ingest the store's own gateway and monitor alerts (table alerts)")
    .option('--gap <minutes>', 'largest pause inside one incident', String(GROUP_DEFAULTS.gapMs / 60000))
    .option('--dedup-window <seconds>', 'same alert content within this time is a duplicate (0: off)', '60')
    .option('--by <what>', `incident key beside the entity: ${GROUP_BY.join(', ')}`, GROUP_DEFAULTS.by)
    .option('--assets <file>', 'JSON {"host or IP": "low|medium|high|critical"} asset criticality (kept in the store)')
    .option('--json', 'print the counts as JSON')
    .action(async (files: string[], f: IngestFlags) => {
      if (files.length === 0 && !f.aegisAlerts) {
        throw new AegisInputError('give alert files to ingest, or --aegis-alerts to read the store’s own alerts');
      }
      if (!(GROUP_BY as readonly string[]).includes(f.by)) {
        throw new AegisInputError(`--by takes one of ${GROUP_BY.join(', ')}, got '${f.by}'`);
      }
      const dedup = Number(f.dedupWindow);
      if (!(dedup >= 0)) throw new AegisInputError(`--dedup-window takes seconds ≥ 0, got '${f.dedupWindow}'`);
      let assets: ReturnType<typeof parseAssetCriticality> | undefined;
      if (f.assets) {
        let json: unknown;
        try {
          json = JSON.parse(readFileSync(f.assets, 'utf8'));
        } catch (error) {
          throw new AegisInputError(`--assets ${f.assets}: ${(error as Error).message}`);
        }
        assets = parseAssetCriticality(json, f.assets);
      }
      const db = open(f.store);
      try {
        const counts = emptyIngestCounts();
        const result = await ingestAlerts(db, allAlerts(files, db, Boolean(f.aegisAlerts), counts), {
          group: {
            gapMs: parsePositiveNumber('--gap', f.gap) * 60000,
            dedupWindowMs: dedup * 1000,
            by: f.by as GroupBy,
          },
          ...(assets ? { assets } : {}),
        });
        const out = cliOutput();
        for (const w of counts.warnings) out.err(`aegis: ${w}\n`);
        if (f.json) {
          out.out(`${JSON.stringify({ read: counts, ...result }, null, 2)}\n`);
          return;
        }
        const skipped = counts.malformed + counts.unknown;
        const formats = Object.entries(counts.byFormat).map(([k, v]) => `${k} ${v}`);
        out.out(
          `read ${counts.read} records: ${counts.parsed} alerts${formats.length ? ` (${formats.join(', ')})` : ''}, ${counts.ignored} non-alert events ignored, ${counts.duplicates} duplicate deliveries, ` +
            `${counts.malformed} malformed, ${counts.unknown} of unknown shape\n`,
        );
        out.out(
          `${result.stored} new alerts stored (${result.alreadyStored} already in the store, ${result.group.duplicates} folded as duplicates, ` +
            `${result.group.late} arrived late); ${result.newIncidents} new incidents, ${result.touchedIncidents} updated and ranked ` +
            `(${Math.round(result.alerts / Math.max(result.seconds, 1e-9))} alerts/s)\n`,
        );
        if (skipped > 0) for (const e of counts.examples) out.err(`aegis: skipped ${e}\n`);
      } finally {
        db.close();
      }
    });

  triage
    .command('queue')
    .description('incidents ranked for the analyst: open ones first, highest score first')
    .option('--store <path>', 'the SQLite store (default $AEGIS_STORE or .aegis/aegis.db)')
    .option('--top <n>', 'how many incidents', '20')
    .option('--all', 'include incidents that already have a verdict (after the open ones)')
    .option('--json', 'print JSON')
    .option('--report <dir>', 'write report.json and report.html here')
    .action(async (f: QueueFlags) => {
      const top = parsePositiveInt('--top', f.top);
      const db = open(f.store);
      try {
        const incidents = queue(db, { limit: top, status: f.all ? 'all' : 'open' });
        if (f.report) {
          const files = await writeReport(f.report, queueReport(db, incidents, 'aegis triage queue'));
          cliOutput().err(`report: ${files.json}\n        ${files.html}\n`);
        }
        if (f.json) {
          cliOutput().out(`${JSON.stringify({ incidents: incidents.map(queueRow) }, null, 2)}\n`);
          return;
        }
        if (incidents.length === 0) {
          cliOutput().out('no incidents in the queue (run `aegis triage ingest` first)\n');
          return;
        }
        const rows = incidents.map((i, k) => [
          String(k + 1),
          i.id,
          i.score === undefined ? '-' : i.score.toFixed(3),
          i.verdict ?? '',
          i.maxSeverity,
          String(i.alertCount),
          String(i.duplicates),
          iso(i.firstSeen),
          i.key,
          topReason(i),
        ]);
        cliOutput().out(
          `${table(['#', 'incident', 'score', 'verdict', 'severity', 'alerts', 'dup', 'first seen', 'key', 'top reason'], rows)}\n`,
        );
      } finally {
        db.close();
      }
    });

  triage
    .command('verdict')
    .description('record an analyst verdict (tp: true positive, fp: false positive) and update the ranking model')
    .argument('<id>', 'incident id (or a unique prefix of at least 6 characters)')
    .argument('<verdict>', 'tp or fp')
    .option('--store <path>', 'the SQLite store (default $AEGIS_STORE or .aegis/aegis.db)')
    .option('--analyst <name>', 'who decided', process.env.USER ?? '')
    .option('--json', 'print JSON')
    .action((id: string, verdict: string, f: { store?: string; analyst: string; json?: boolean }) => {
      const v = verdict.toLowerCase();
      if (v !== 'tp' && v !== 'fp') {
        throw new AegisInputError(`the verdict is 'tp' (true positive) or 'fp' (false positive), got '${verdict}'`);
      }
      const db = open(f.store);
      try {
        const r = applyVerdict(db, id, v, f.analyst);
        if (f.json) cliOutput().out(`${JSON.stringify(r, null, 2)}\n`);
        else {
          cliOutput().out(
            `${r.incident} marked ${r.verdict}; its score ${r.scoreBefore.toFixed(3)} → ${r.scoreAfter.toFixed(3)}; ` +
              `model has learned ${r.verdicts.tp} tp and ${r.verdicts.fp} fp verdicts; ${r.rescored} open incidents rescored\n`,
          );
        }
      } finally {
        db.close();
      }
    });

  triage
    .command('explain')
    .description('an incident: its alerts, features and why it ranks where it does')
    .argument('<id>', 'incident id (or a unique prefix of at least 6 characters)')
    .option('--store <path>', 'the SQLite store (default $AEGIS_STORE or .aegis/aegis.db)')
    .option('--alerts <n>', 'alerts to list', '20')
    .option('--json', 'print JSON')
    .action((id: string, f: { store?: string; alerts: string; json?: boolean }) => {
      const limit = parsePositiveInt('--alerts', f.alerts);
      const db = open(f.store);
      try {
        const e = explainIncident(db, id);
        const out = cliOutput();
        if (f.json) {
          out.out(`${JSON.stringify(e, null, 2)}\n`);
          return;
        }
        const i = e.incident;
        out.out(
          `incident ${i.id}  key ${i.key}\n` +
            `${i.alertCount} alerts (+${i.duplicates} duplicates), ${iso(i.firstSeen)} … ${iso(i.lastSeen)}, ` +
            `highest severity ${i.maxSeverity}${i.verdict ? `, verdict ${i.verdict}` : ''}\n` +
            `score ${e.rank.score.toFixed(3)} (${e.rank.label})${e.queuePosition ? `, #${e.queuePosition} in the open queue` : ''}\n\n`,
        );
        out.out('why (contributions to the log-odds, largest first):\n');
        out.out(
          `${table(
            ['weight', 'feature', 'reason'],
            e.rank.reasons.map((r) => [(r.weight >= 0 ? '+' : '') + r.weight.toFixed(3), r.feature, r.detail]),
          )}\n\n`,
        );
        const shown = e.alerts.slice(0, limit);
        out.out(`alerts${e.alerts.length > limit ? ` (first ${limit} of ${e.alerts.length})` : ''}:\n`);
        out.out(
          `${table(
            ['time', 'source', 'severity', 'signature', 'src → dst', 'host', 'user', 'technique'],
            shown.map((a) => [
              iso(a.time),
              a.source,
              a.severity,
              a.signature.length > 60 ? `${a.signature.slice(0, 57)}…` : a.signature,
              `${a.srcIp || '-'} → ${a.destIp || '-'}`,
              a.host || '-',
              a.user || '-',
              a.technique || a.tactic || '-',
            ]),
          )}\n`,
        );
      } finally {
        db.close();
      }
    });
}
