/**
 * `aegis phish train|eval|scan`: the phishing detector (src/detectors/phishing).
 *
 * Mail mode (default) reads --ham / --phish paths: .eml files, folders, mbox files, .gz and
 * .tar.gz archives of messages. `--mode url` and `--mode sms` read one labelled file with --data
 * (URLs: a CSV with url and status/label columns, .gz accepted; SMS: `label<TAB>text` lines or
 * the bundled `sms-spam`). Evaluation uses --test-ham/--test-phish (or --test-data), a model from
 * --model, or a seeded stratified --split of the training data. The operating threshold is always
 * chosen on training data. Unreadable messages are counted skips, reported on stderr.
 */
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { AegisInputError } from '../core/errors.js';
import { adversariallyTrain } from '../detectors/phishing/adversarial-training.js';
import { PHISH_TRAIN_DEFAULTS, type TrainingSummary } from '../detectors/phishing/calibrated-training.js';
import { loadMailCorpus, splitIndices } from '../detectors/phishing/corpus.js';
import { type LabelledStrings, readSmsData, readTextFile, readUrlCsv } from '../detectors/phishing/datasets.js';
import { evaluateDetector, type PhishEvaluation } from '../detectors/phishing/evaluate.js';
import { runTextEvasion, type TextEvasionResult } from '../detectors/phishing/evasion/text-attack.js';
import { type PhishEvent, type PhishMode, parsePhishMode } from '../detectors/phishing/features.js';
import { LANGUAGE_NAMES, type LanguageFigures } from '../detectors/phishing/language.js';
import { parseThresholdRule, type ThresholdRule } from '../detectors/phishing/operating-threshold.js';
import { parseMailBatch } from '../detectors/phishing/parse-mail.js';
import { PhishingDetector, type PhishVerdict } from '../detectors/phishing/phishing-detector.js';
import { readMailPaths } from '../detectors/phishing/read-mail.js';
import { buildPhishReport } from '../detectors/phishing/report.js';
import { writeReport } from '../report/build-report.js';
import { cliOutput, requestExitCode } from './io.js';
import { ensureOutputDir } from './output-dir.js';
import {
  parseFraction,
  parseNonNegativeInt,
  parseNumberList,
  parsePositiveInt,
  parsePositiveNumber,
} from './parse-options.js';

interface DataFlags {
  mode: string;
  ham?: string[];
  phish?: string[];
  data?: string;
  seed: string;
  targetFpr: string;
  thresholdRule: string;
  folds: string;
  epochs?: string;
  languageWeight: string;
  foldHomoglyphs: boolean;
  charNgrams?: string;
  adversarial?: string;
  maxMessageBytes?: string;
  json?: boolean;
}

interface Labelled {
  events: PhishEvent[];
  labels: number[];
  name: string;
  /** Seconds spent reading and parsing (mail). */
  seconds: number;
}

function note(text: string): void {
  cliOutput().err(`${text}\n`);
}

function reportSkips(skipped: { id?: string; line?: number; reason: string }[], warnings: string[]): void {
  if (skipped.length > 0) {
    const first = skipped
      .slice(0, 3)
      .map((s) => `${s.id ?? `line ${s.line}`}: ${s.reason}`)
      .join('; ');
    note(`skipped ${skipped.length} input(s): ${first}${skipped.length > 3 ? '; …' : ''}`);
  }
  if (warnings.length > 0) {
    note(`${warnings.length} message(s) decoded or cut best-effort, e.g. ${warnings[0]}`);
  }
}

function readOptions(f: { maxMessageBytes?: string }) {
  // An empty value is refused (parsePositiveInt reads it as 0), not taken for the default.
  return f.maxMessageBytes !== undefined
    ? { maxMessageBytes: parsePositiveInt('--max-message-bytes', f.maxMessageBytes) }
    : {};
}

async function loadMail(
  ham: string[] | undefined,
  phish: string[] | undefined,
  what: string,
  f: DataFlags,
  flags: readonly [string, string] = ['--ham', '--phish'],
): Promise<Labelled> {
  if (!ham?.length || !phish?.length) {
    throw new AegisInputError(`${what} needs both legitimate (${flags[0]}) and phishing (${flags[1]}) mail paths`);
  }
  const corpus = await loadMailCorpus(ham, phish, readOptions(f));
  reportSkips(corpus.skipped, corpus.warnings);
  if (corpus.duplicates > 0) note(`dropped ${corpus.duplicates} duplicate message(s)`);
  for (const [label, kind, paths] of [
    [0, 'legitimate', ham],
    [1, 'phishing', phish],
  ] as const) {
    if (!corpus.labels.includes(label)) {
      throw new AegisInputError(`${what}: no ${kind} messages read from ${paths.join(', ')}`);
    }
  }
  return {
    events: corpus.messages,
    labels: [...corpus.labels],
    name: [...ham, ...phish].join(', '),
    seconds: corpus.seconds,
  };
}

function loadStrings(mode: PhishMode, path: string | undefined, what: string, flag = '--data'): Labelled {
  if (!path) throw new AegisInputError(`${what} in ${mode} mode needs ${flag} <file>`);
  const data: LabelledStrings = mode === 'url' ? readUrlCsv(path) : readSmsData(path);
  reportSkips(data.skipped, []);
  if (data.duplicates > 0) note(`dropped ${data.duplicates} duplicate row(s)`);
  return { events: data.items, labels: [...data.labels], name: path, seconds: 0 };
}

/** The separate test set of eval: mail from --test-ham/--test-phish, url/sms from --test-data. */
function loadTest(
  mode: PhishMode,
  f: DataFlags & { testHam?: string[]; testPhish?: string[]; testData?: string },
): Promise<Labelled> | Labelled {
  if (mode === 'mail') {
    if (f.testData)
      throw new AegisInputError('--test-data is for --mode url|sms; mail is tested on --test-ham and --test-phish');
    return loadMail(f.testHam, f.testPhish, 'the test set', f, ['--test-ham', '--test-phish']);
  }
  if (f.testHam || f.testPhish) {
    throw new AegisInputError(`--test-ham/--test-phish are for mail mode; --mode ${mode} is tested on --test-data`);
  }
  return loadStrings(mode, f.testData, 'the test set', '--test-data');
}

function loadTraining(f: DataFlags): Promise<Labelled> | Labelled {
  const mode = parsePhishMode(f.mode);
  if (mode === 'mail') {
    if (f.data) throw new AegisInputError('--data is for --mode url|sms; mail mode reads --ham and --phish');
    return loadMail(f.ham, f.phish, 'training', f);
  }
  if (f.ham || f.phish) throw new AegisInputError(`--ham/--phish are for mail mode; --mode ${mode} reads --data`);
  return loadStrings(mode, f.data, 'training');
}

function newDetector(f: DataFlags): PhishingDetector {
  const mode = parsePhishMode(f.mode);
  const ngrams = f.charNgrams !== undefined ? parseNumberList('--char-ngrams', f.charNgrams) : undefined;
  if (ngrams && ngrams.length !== 2) throw new AegisInputError('--char-ngrams takes two numbers, e.g. 3,5');
  const charNgrams = ngrams as [number, number] | undefined;
  return new PhishingDetector({
    mode,
    foldHomoglyphs: f.foldHomoglyphs,
    ...(charNgrams ? { charNgrams } : {}),
  });
}

function trainOptions(f: DataFlags) {
  const targetFpr = parseFraction('--target-fpr', f.targetFpr, true);
  return {
    seed: parseNonNegativeInt('--seed', f.seed),
    targetFpr,
    thresholdRule: parseThresholdRule(f.thresholdRule),
    folds: parsePositiveInt('--folds', f.folds),
    languageWeight: parseFraction('--language-weight', f.languageWeight),
    ...(f.epochs !== undefined ? { training: { epochs: parsePositiveInt('--epochs', f.epochs) } } : {}),
  };
}

/** Test figures per guessed language, largest first; '' when there is only one language. */
function languageTable(byLanguage: Record<string, LanguageFigures>): string {
  const entries = Object.entries(byLanguage).sort(
    (a, b) => b[1].phishing + b[1].legitimate - a[1].phishing - a[1].legitimate,
  );
  if (entries.length < 2) return '';
  const lines = entries.map(([code, c]) => {
    const name = (LANGUAGE_NAMES[code] ?? code).padEnd(17);
    const legitimate =
      c.legitimate === 0
        ? 'no legitimate (false-positive rate not measured)'
        : `${c.falsePositives}/${c.legitimate} legitimate flagged`;
    return `    ${name}${`${c.missed}/${c.phishing}`.padStart(11)} phishing missed   ${legitimate}\n`;
  });
  return `  by language (guessed from common words):\n${lines.join('')}`;
}

/** The nested check of the rule in use, one line ('' when it could not run). */
function nestedLine(summary: Record<string, unknown>): string {
  const nested = summary.nested as TrainingSummary['nested'] | undefined;
  const rule = summary.thresholdRule as ThresholdRule | undefined;
  const check = rule ? nested?.[rule] : null;
  if (!check) return '';
  return `nested check (${rule}, threshold chosen without each fold): ${check.falsePositives} legitimate flagged (${pct(check.falsePositiveRate)}), recall ${pct(check.recall)}\n`;
}

/** Trains (adversarially when --adversarial ε is given); prints the training warnings; returns the training summary. */
function train(detector: PhishingDetector, data: Labelled, f: DataFlags): Record<string, unknown> {
  const options = trainOptions(f);
  let summary: Record<string, unknown>;
  if (f.adversarial !== undefined) {
    const eps = parsePositiveNumber('--adversarial', f.adversarial);
    const rounds = adversariallyTrain(detector, data.events, data.labels, { ...options, eps });
    summary = { ...(rounds.at(-1)?.summary ?? {}), adversarial: rounds.map(({ summary: _s, ...r }) => r) };
  } else {
    summary = detector.fitRows(
      data.events.map((e) => detector.featurize(e)),
      data.labels,
      options,
    );
  }
  for (const warning of (summary.warnings as string[] | undefined) ?? []) note(`warning: ${warning}`);
  return summary;
}

function addDataOptions(cmd: Command): Command {
  return cmd
    .option('--mode <mode>', 'mail, url (one URL per CSV row) or sms (text messages)', 'mail')
    .option('--ham <paths...>', 'legitimate mail: .eml files, folders, mbox, .tar.gz')
    .option('--phish <paths...>', 'phishing mail: .eml files, folders, mbox, .tar.gz')
    .option(
      '--data <file>',
      '--mode url: CSV with url + status/label columns (.gz ok); --mode sms: label<TAB>text or "sms-spam"',
    )
    .option('--seed <n>', 'random seed (splits, folds, training order)', '0')
    .option('--target-fpr <x>', 'share of legitimate training messages (out-of-fold) the threshold may flag', '0.001')
    .option(
      '--threshold-rule <rule>',
      'order-statistic (the k-th highest out-of-fold legitimate score) or tail-fit (generalized Pareto over the top 2%; ≥ 1,000 legitimate messages)',
      'order-statistic',
    )
    .option('--folds <k>', 'folds for the out-of-fold threshold', '5')
    .option(
      '--language-weight <w>',
      'weight of the abundant class in a language the other class barely has (mail, sms; 1 = off)',
      String(PHISH_TRAIN_DEFAULTS.languageWeight),
    )
    .option('--epochs <n>', 'training epochs (default 20)')
    .option('--no-fold-homoglyphs', 'do not fold homoglyphs (NFKC + confusables) before reading the text')
    .option('--char-ngrams <min,max>', 'also hash character n-grams (default: mail none, url/sms 3,5)')
    .option('--adversarial <eps>', 'adversarial training: attack the training phishing at this word budget and retrain')
    .option('--max-message-bytes <n>', 'cut longer messages (huge attachments) at this size', String(4 * 2 ** 20))
    .option('--json', 'print JSON');
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

function headline(e: PhishEvaluation) {
  return {
    precision: e.precision,
    recall: e.recall,
    f1: e.f1,
    auc: e.auc,
    falsePositiveRate: e.falsePositiveRate,
    accuracy: e.accuracy,
    messages: e.size,
    phishing: e.phishing,
    legitimate: e.legitimate,
    tp: e.tp,
    fp: e.fp,
    tn: e.tn,
    fn: e.fn,
    recallAtFpr001: e.recallAtFpr001,
    recallAtFpr01: e.recallAtFpr01,
    threshold: e.threshold,
    messagesPerSecond: e.eventsPerSecond,
  };
}

function take(data: Labelled, idx: number[]): Labelled {
  return {
    events: idx.map((i) => data.events[i] as PhishEvent),
    labels: idx.map((i) => data.labels[i] as number),
    name: data.name,
    seconds: (data.seconds * idx.length) / Math.max(1, data.events.length),
  };
}

/** Positional inputs of `scan`: mail paths, or (url/sms) files of one item per line or literal items. */
async function scanInputs(
  mode: PhishMode,
  inputs: string[],
  f: { maxMessageBytes?: string },
): Promise<{ id: string; event: PhishEvent }[]> {
  if (mode === 'mail') {
    const parsed = await parseMailBatch(readMailPaths(inputs, readOptions(f)));
    reportSkips(parsed.skipped, parsed.warnings);
    return parsed.messages.map((m) => ({ id: m.id, event: m }));
  }
  const blank = inputs.filter((input) => input.trim() === '').length;
  if (blank > 0) note(`skipped ${blank} empty item(s)`);
  return inputs.flatMap((input) => {
    if (input.trim() === '') return [];
    if (!existsSync(input)) return [{ id: input.slice(0, 60), event: input }];
    const stat = statSync(input);
    if (stat.isDirectory()) {
      throw new AegisInputError(
        `${input}: a folder; --mode ${mode} scan reads files of one item per line (.gz accepted), or literal items`,
      );
    }
    if (!stat.isFile()) throw new AegisInputError(`${input}: not a regular file`);
    const text = readTextFile(input);
    if (text.includes('\0')) {
      throw new AegisInputError(`${input}: binary data (NUL bytes), not one item per line`);
    }
    return text
      .split(/\r?\n/)
      .map((line, k) => ({ id: `${input}:${k + 1}`, event: line.trim() }))
      .filter((x) => x.event !== '');
  });
}

export function registerPhishCommand(program: Command): void {
  const phish = program.command('phish').description('phishing detection: mail, URLs and text messages');

  addDataOptions(phish.command('train').description('train a phishing detector and save it'))
    .option('--out <dir>', 'where to save the detector', 'phish-model')
    .action(async (f: DataFlags & { out: string }) => {
      const data = await loadTraining(f);
      const detector = newDetector(f);
      ensureOutputDir('--out', f.out);
      const summary = train(detector, data, f);
      const path = await detector.save(f.out);
      if (f.json)
        cliOutput().out(
          `${JSON.stringify({ model: path, mode: detector.mode, threshold: detector.thresholdProbability, training: summary }, null, 2)}\n`,
        );
      else {
        cliOutput().out(
          `trained ${detector.name} on ${data.events.length} examples (${data.labels.filter((y) => y === 1).length} phishing); ` +
            `threshold ${detector.thresholdProbability.toFixed(6)} (≤ ${pct(Number(f.targetFpr))} of legitimate training mail out-of-fold)\n` +
            `out-of-fold AUC ${Number(summary.outOfFoldAuc).toFixed(4)}, recall ${pct(Number(summary.outOfFoldRecall))}\n` +
            nestedLine(summary) +
            `saved to ${path}\n`,
        );
      }
    });

  addDataOptions(phish.command('eval').description('train (or load --model) and evaluate on held-out data'))
    .option('--model <dir>', 'a detector saved by `aegis phish train` (instead of training)')
    .option('--test-ham <paths...>', 'legitimate test mail')
    .option('--test-phish <paths...>', 'phishing test mail')
    .option('--test-data <file>', '--mode url|sms: labelled test file')
    .option('--split <fraction>', 'hold out this stratified share of the training data as the test set', '0.3')
    .option(
      '--attack <eps>',
      'run the text evasion attack on the test phishing at these word budgets, e.g. 0.01,0.02,0.05',
    )
    .option('--attack-limit <n>', 'test phishing messages attacked', '200')
    .option('--report <dir>', 'write report.json and report.html here')
    .action(
      async (
        f: DataFlags & {
          model?: string;
          testHam?: string[];
          testPhish?: string[];
          testData?: string;
          split: string;
          attack?: string;
          attackLimit: string;
          report?: string;
        },
      ) => {
        const budgets = f.attack !== undefined ? parseNumberList('--attack', f.attack) : undefined;
        const attackLimit = parsePositiveInt('--attack-limit', f.attackLimit);
        if (f.report) ensureOutputDir('--report', f.report);
        const seed = parseNonNegativeInt('--seed', f.seed);
        let detector: PhishingDetector;
        let test: Labelled;
        const separate = Boolean(f.testHam || f.testPhish || f.testData);
        if (f.model) {
          detector = await PhishingDetector.load(f.model);
          const mode = detector.mode;
          if (!separate)
            throw new AegisInputError('eval with --model needs test data (--test-ham/--test-phish or --test-data)');
          test = await loadTest(mode, f);
        } else {
          const data = await loadTraining(f);
          detector = newDetector(f);
          let training = data;
          if (separate) {
            test = await loadTest(detector.mode, f);
          } else {
            const fraction = f.split.trim() === '' ? Number.NaN : Number(f.split);
            if (!(fraction > 0 && fraction < 1)) {
              throw new AegisInputError(`--split must be a fraction in (0, 1), got '${f.split}'`);
            }
            const [tr, te] = splitIndices(data.labels, fraction, seed);
            training = take(data, tr);
            test = take(data, te);
          }
          train(detector, training, f);
        }
        const evaluation = evaluateDetector(detector, test.events, test.labels, test.seconds);
        let evasion: TextEvasionResult | undefined;
        if (budgets) {
          const phishing = test.events.filter((_, i) => test.labels[i] === 1).slice(0, attackLimit);
          evasion = runTextEvasion(detector, phishing, { budgets });
        }
        if (f.report) {
          const report = buildPhishReport({
            detector,
            evaluation,
            testName: test.name,
            ...(evasion ? { evasion } : {}),
            seed,
            command: `aegis phish eval ${process.argv.slice(4).join(' ')}`.trim(),
          });
          const files = await writeReport(f.report, report);
          note(`report: ${files.json}\n        ${files.html}`);
        }
        if (f.json) {
          const doc = {
            mode: detector.mode,
            ...headline(evaluation),
            ...(evaluation.byLanguage ? { byLanguage: evaluation.byLanguage } : {}),
            ...(evasion ? { evasion: evasion.rows } : {}),
          };
          cliOutput().out(`${JSON.stringify(doc, null, 2)}\n`);
          return;
        }
        const e = evaluation;
        const unit = detector.mode === 'url' ? 'URLs' : 'messages';
        cliOutput().out(
          `${detector.name} on ${e.size} test ${unit} (${e.phishing} phishing, ${e.legitimate} legitimate)\n` +
            `  precision ${pct(e.precision)}  recall ${pct(e.recall)}  F1 ${e.f1.toFixed(4)}  ROC AUC ${e.auc.toFixed(4)}\n` +
            `  false positives ${e.fp}/${e.legitimate} (${pct(e.falsePositiveRate)})  missed ${e.fn}/${e.phishing}\n` +
            `  threshold ${e.threshold.toFixed(6)} (chosen on training data)  ${Math.round(e.eventsPerSecond)} ${unit}/s\n`,
        );
        if (e.byLanguage) cliOutput().out(languageTable(e.byLanguage));
        if (evasion) {
          cliOutput().out('\n  budget  recall  robust recall  evasion rate  mean edits  queries\n');
          for (const r of evasion.rows) {
            cliOutput().out(
              `  ${pct(r.eps).padStart(6)}  ${pct(r.cleanRecall).padStart(6)}  ${pct(r.robustRecall).padStart(13)}  ${pct(r.evasionRate).padStart(12)}  ${r.meanEdits.toFixed(1).padStart(10)}  ${Math.round(r.meanQueries).toString().padStart(7)}\n`,
            );
          }
        }
      },
    );

  phish
    .command('scan')
    .description('score messages with a saved detector: verdict, score and top reasons each')
    .requiredOption('--model <dir>', 'a detector saved by `aegis phish train`')
    .argument('<inputs...>', 'mail: .eml files, folders, mbox, .tar.gz; url/sms: files (one per line) or literal items')
    .option('--alerts-only', 'print only messages flagged as phishing')
    .option('--max-message-bytes <n>', 'cut longer messages (huge attachments) at this size')
    .option('--json', 'print a JSON array of verdicts')
    .action(
      async (
        inputs: string[],
        f: { model: string; alertsOnly?: boolean; json?: boolean; maxMessageBytes?: string },
      ) => {
        const detector = await PhishingDetector.load(f.model);
        const items = await scanInputs(detector.mode, inputs, f);
        if (items.length === 0)
          throw new AegisInputError(
            `no ${detector.mode === 'mail' ? 'messages' : 'items'} found in ${inputs.join(', ')}`,
          );
        const started = performance.now();
        const verdicts: (PhishVerdict & { id: string })[] = items.map(({ id, event }) => ({
          id,
          ...detector.score(event),
        }));
        const seconds = (performance.now() - started) / 1000;
        const flagged = verdicts.filter((v) => v.label === 'phishing').length;
        const shown = f.alertsOnly ? verdicts.filter((v) => v.label === 'phishing') : verdicts;
        if (f.json) cliOutput().out(`${JSON.stringify(shown, null, 2)}\n`);
        else {
          for (const v of shown) {
            const why = v.reasons
              .slice(0, 3)
              .map((r) => r.detail)
              .join('; ');
            const caveat = v.caveat ? `\tcaveat: ${v.caveat}` : '';
            cliOutput().out(`${v.id}\t${v.label}\t${v.score.toFixed(4)}\t${why}${caveat}\n`);
          }
          note(
            `${verdicts.length} scanned, ${flagged} flagged as phishing (${Math.round(verdicts.length / Math.max(seconds, 1e-9))}/s)`,
          );
        }
        if (flagged > 0) requestExitCode(1);
      },
    );
}
