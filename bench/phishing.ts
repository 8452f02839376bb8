/**
 * Phishing detection figures on the real corpora in ../shared/datasets. Stages (--stage,
 * comma-separated; default all):
 *
 * - random: all phishing (Nazario 2004–05 + phishing-pot 2022–26) against all SpamAssassin ham,
 *   stratified 70/30 split (seeded); also the PILFER-comparable setting (Nazario only vs ham).
 *   The test figures are also broken down by guessed language (src/detectors/phishing/language.ts).
 *   Operating threshold: out-of-fold on the training part at 0.1% FPR, never the test part.
 * - cross: splits that keep sources apart — Nazario batch 1 → batch 2 (time), Nazario →
 *   phishing-pot (era; ham easy → hard), phishing-pot → Nazario.
 * - artefacts: the artefact-only baseline (dates, hop counts, header-name sets, envelope,
 *   bookkeeping headers) on the random and cross-corpus splits.
 * - url / sms: the URL data set (Hannousse & Yahiouche 2021, raw URL only) and the SMS Spam
 *   Collection, stratified 70/30.
 * - evasion: homoglyph/typo/synonym attack on the random split's test phishing at word budgets
 *   1/2/5%, each transformation alone and together, without and with the homoglyph fold.
 * - adversarial: adversarial training (training phishing attacked out-of-fold at 5%) and the same
 *   attack before and after.
 * - nested (not in the default list; 8–15 minutes here): the whole training procedure judged on the
 *   TRAINING part of the random split only — outer 5 folds (3 seeds); on the other 4 folds the
 *   procedure picks its threshold out-of-fold (inner 5 folds) and trains its final model, then
 *   scores the held-out fold. False positives summed over the held-out legitimate mail, per
 *   threshold rule: the previous defaults, then with the monotone indicators, then also with the
 *   language weights (--language-weight).
 * - curve (not in the default list; ~8 minutes here): learning curve — the detector trained on
 *   stratified 25/50/75/100% shares of the random split's training part (3 seeds each; at 100%
 *   only the training seed differs), with its out-of-fold and nested figures and the test part's
 *   recall and false positives. Asks whether more mail of the same kind would help; chooses nothing.
 *
 * Usage: npx tsx bench/phishing.ts [--stage random,cross,artefacts,url,sms,evasion,adversarial,nested,curve] [--seed 1]
 *        [--attack-limit 200] [--at-add evading|all] [--char-ngrams 3,5] [--bits 18] [--l2 1e-6] [--epochs 20]
 *        [--threshold-rule order-statistic|tail-fit] [--monotone true|false] [--language-weight 0.1]
 *        [--out FILE.json].
 *        The random stage also reports the test figures at the other rule's threshold (same model).
 *        Prints one JSON document; progress on stderr.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { adversariallyTrain } from '../src/detectors/phishing/adversarial-training.js';
import { ARTEFACT_BUCKETS, artefactRow } from '../src/detectors/phishing/artefacts.js';
import {
  calibratedLogistic,
  PHISH_TRAIN_DEFAULTS,
  stratifiedFolds,
} from '../src/detectors/phishing/calibrated-training.js';
import { loadMailCorpus, splitIndices } from '../src/detectors/phishing/corpus.js';
import { type LabelledStrings, readSmsData, readUrlCsv } from '../src/detectors/phishing/datasets.js';
import { evaluateLogits, type PhishEvaluation } from '../src/detectors/phishing/evaluate.js';
import { runTextEvasion, type TextEvasionResult } from '../src/detectors/phishing/evasion/text-attack.js';
import type { FeatureConfig, FeatureRow, PhishEvent } from '../src/detectors/phishing/features.js';
import {
  figuresByLanguage,
  languageCounts,
  languageSampleWeights,
  tallyLanguages,
} from '../src/detectors/phishing/language.js';
import { LOGISTIC_DEFAULTS, type LogisticOptions, logitOf, trainLogistic } from '../src/detectors/phishing/logistic.js';
import { chooseThreshold, parseThresholdRule, THRESHOLD_RULES } from '../src/detectors/phishing/operating-threshold.js';
import type { MailMessage } from '../src/detectors/phishing/parse-mail.js';
import { PhishingDetector } from '../src/detectors/phishing/phishing-detector.js';

const { values } = parseArgs({
  options: {
    stage: { type: 'string', default: 'random,cross,artefacts,url,sms,evasion,adversarial' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    shared: { type: 'string', default: process.env.AEGIS_SHARED ?? '../shared' },
    'attack-limit': { type: 'string', default: '200' },
    'at-add': { type: 'string', default: 'evading' },
    // Feature variants of the mail detector (random, cross and artefacts stages), e.g. --char-ngrams 3,5 --bits 20.
    'char-ngrams': { type: 'string' },
    bits: { type: 'string' },
    // Training variants and the threshold rule (order-statistic | tail-fit) of the mail detector.
    l2: { type: 'string' },
    epochs: { type: 'string' },
    'threshold-rule': { type: 'string' },
    // Non-negative weights for the named phishing indicators (the detector's default); --monotone false for the old model.
    monotone: { type: 'string', default: 'true' },
    // Weight of the abundant class in lopsided languages (the detector's default 0.1); 1 for the old model.
    'language-weight': { type: 'string' },
  },
});
const stages = new Set(String(values.stage).split(','));
const seed = Number(values.seed);
const DATA = `${values.shared}/datasets`;
const SA = `${DATA}/spamassassin-public-corpus`;
const NAZ = `${DATA}/nazario-phishing-mbox`;
const POT = `${DATA}/phishing-pot-sample/phishing_pot_sample1000.tar.gz`;
const SOURCES = {
  easy: `${SA}/easy_ham.tar.gz`,
  easy2: `${SA}/easy_ham_2.tar.gz`,
  hard: `${SA}/hard_ham.tar.gz`,
  naz0: `${NAZ}/phishing0.mbox.gz`,
  naz1: `${NAZ}/20051114.mbox.gz`,
  pot: POT,
};
const log = (text: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
const round = (v: unknown): unknown => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v);
const brief = (e: PhishEvaluation) => {
  const { roc: _roc, ...rest } = e;
  return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, round(v)]));
};

const out: Record<string, unknown> = { seed, node: process.version, stages: [...stages] };
const missing = Object.values(SOURCES).find((p) => !existsSync(p));
if (missing) {
  out.skipped = `needs ${missing} (the team's shared folder)`;
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  process.exit(0);
}

log('reading and parsing the mail corpora');
const corpus = await loadMailCorpus(
  [SOURCES.easy, SOURCES.easy2, SOURCES.hard],
  [SOURCES.naz0, SOURCES.naz1, SOURCES.pot],
);
const n = corpus.messages.length;
out.corpus = {
  messages: n,
  phishing: corpus.labels.reduce((a, b) => a + b, 0),
  legitimate: n - corpus.labels.reduce((a, b) => a + b, 0),
  duplicatesDropped: corpus.duplicates,
  skipped: corpus.skipped.length,
  warnings: corpus.warnings.length,
  parseSeconds: round(corpus.seconds),
  parsedPerSecond: round(n / corpus.seconds),
  bySource: Object.fromEntries(
    Object.entries(SOURCES).map(([k, p]) => [k, corpus.sources.filter((s) => s === p).length]),
  ),
};
const parsePerMessage = corpus.seconds / n;

const variant: Partial<FeatureConfig> = {
  ...(values['char-ngrams']
    ? { charNgrams: String(values['char-ngrams']).split(',').map(Number) as [number, number] }
    : {}),
  ...(values.bits ? { bits: Number(values.bits) } : {}),
};
const training: Partial<LogisticOptions> = {
  ...(values.l2 ? { l2: Number(values.l2) } : {}),
  ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
};
const thresholdRule = parseThresholdRule(String(values['threshold-rule'] ?? PHISH_TRAIN_DEFAULTS.thresholdRule));
const monotone = values.monotone !== 'false';
const languageWeight =
  values['language-weight'] !== undefined ? Number(values['language-weight']) : PHISH_TRAIN_DEFAULTS.languageWeight;
out.features = variant;
out.training = { ...training, thresholdRule, monotone, languageWeight };
const detector = new PhishingDetector({ mode: 'mail', ...variant });
log('featurizing');
const t = performance.now();
const rows: FeatureRow[] = corpus.messages.map((m) => detector.featurize(m));
const featurizeSeconds = (performance.now() - t) / 1000;
const artefacts: FeatureRow[] = corpus.messages.map(artefactRow);
const y = corpus.labels;

/**
 * Trains on trainIdx with the out-of-fold threshold and scores testIdx. `owner`: the detector whose
 * featurization `rowsOf` is — its training options (monotone indicators, language weights) apply,
 * as in PhishingDetector.fitRows; the artefact baseline passes null (its own buckets, plain options).
 */
function fitEval(
  trainIdx: number[],
  testIdx: number[],
  what: string,
  rowsOf = rows,
  owner: PhishingDetector | null = detector,
) {
  log(`fit ${what}: ${trainIdx.length} train, ${testIdx.length} test`);
  const trainRows = trainIdx.map((i) => rowsOf[i] as FeatureRow);
  const trainLabels = trainIdx.map((i) => y[i] as number);
  const fitted = calibratedLogistic(
    trainRows,
    trainLabels,
    owner ? owner.featurizer.hasher.buckets : ARTEFACT_BUCKETS,
    owner
      ? owner.trainingOptions(trainRows, trainLabels, { seed, thresholdRule, monotone, languageWeight, training })
          .options
      : { seed },
  );
  const started = performance.now();
  const logits = testIdx.map((i) => logitOf(fitted.model, rowsOf[i] as FeatureRow));
  const scoreSeconds = (performance.now() - started) / 1000;
  const ev = evaluateLogits(
    logits,
    testIdx.map((i) => y[i] as number),
    fitted.threshold,
    scoreSeconds,
  );
  const trainTruth = trainIdx.map((i) => y[i] as number);
  return { fitted, ev, logits, truth: testIdx.map((i) => y[i] as number), trainTruth, scoreSeconds };
}

/** Test figures of the same model at each threshold rule's threshold (rules fixed before the test run). */
function byRule(r: ReturnType<typeof fitEval>) {
  const benign = r.fitted.outOfFold.filter((_, i) => r.trainTruth[i] === 0);
  return Object.fromEntries(
    THRESHOLD_RULES.map((rule) => {
      const t = chooseThreshold(benign, PHISH_TRAIN_DEFAULTS.targetFpr, rule);
      const e = evaluateLogits(r.logits, r.truth, t, r.scoreSeconds);
      const { auc: _auc, eventsPerSecond: _eps, seconds: _s, ...figures } = brief(e);
      return [rule, { ...figures, logitThreshold: round(t), nestedOutOfFold: r.fitted.summary.nested[rule] }];
    }),
  );
}

const bySource = (...paths: string[]) => corpus.sources.flatMap((s, i) => (paths.includes(s) ? [i] : []));
const [trainAll, testAll] = splitIndices(y, 0.3, seed);

if (stages.has('random')) {
  const main = fitEval(trainAll, testAll, 'random split');
  const { fitted, ev } = main;
  const featurizePerMessage = featurizeSeconds / n;
  out.random = {
    ...brief(ev),
    training: fitted.summary,
    byThresholdRule: byRule(main),
    byLanguage: figuresByLanguage(
      testAll.map((i) => (rows[i] as FeatureRow).text),
      main.truth,
      main.logits.map((z) => (z > main.fitted.threshold ? 1 : 0)),
    ),
    trainingLanguages: languageCounts(
      trainAll.map((i) => (rows[i] as FeatureRow).text),
      trainAll.map((i) => y[i] as number),
    ),
    messagesPerSecondScoring: round(1 / (featurizePerMessage + ev.seconds / ev.size)),
    messagesPerSecondWithParsing: round(1 / (parsePerMessage + featurizePerMessage + ev.seconds / ev.size)),
  };
  const pilferIdx = bySource(SOURCES.easy, SOURCES.easy2, SOURCES.hard, SOURCES.naz0, SOURCES.naz1);
  const pilferLabels = pilferIdx.map((i) => y[i] as number);
  const [ptr, pte] = splitIndices(pilferLabels, 0.3, seed);
  const pilfer = fitEval(
    ptr.map((k) => pilferIdx[k] as number),
    pte.map((k) => pilferIdx[k] as number),
    'PILFER setting (Nazario vs SpamAssassin ham)',
  );
  out.randomNazarioOnly = { ...brief(pilfer.ev), training: pilfer.fitted.summary, byThresholdRule: byRule(pilfer) };
  const textOnly = new PhishingDetector({ mode: 'mail', ...variant, textOnly: true });
  const textRows = corpus.messages.map((m) => textOnly.featurize(m));
  const tOnly = fitEval(trainAll, testAll, 'text only (ablation)', textRows, textOnly);
  out.randomTextOnly = brief(tOnly.ev);
}

const CROSS: { name: string; train: string[]; test: string[] }[] = [
  {
    name: 'time: Nazario Nov04–Jun05 + easy_ham → Nazario Jun–Nov05 + easy_ham_2',
    train: [SOURCES.naz0, SOURCES.easy],
    test: [SOURCES.naz1, SOURCES.easy2],
  },
  {
    name: 'era: Nazario 2004–05 + easy_ham(+2) → phishing-pot 2022–26 + hard_ham',
    train: [SOURCES.naz0, SOURCES.naz1, SOURCES.easy, SOURCES.easy2],
    test: [SOURCES.pot, SOURCES.hard],
  },
  {
    name: 'era reversed: phishing-pot + easy_ham → Nazario + easy_ham_2 + hard_ham',
    train: [SOURCES.pot, SOURCES.easy],
    test: [SOURCES.naz0, SOURCES.naz1, SOURCES.easy2, SOURCES.hard],
  },
];

if (stages.has('cross') || stages.has('artefacts')) {
  const cross: unknown[] = [];
  for (const split of CROSS) {
    const trainIdx = bySource(...split.train);
    const testIdx = bySource(...split.test);
    const row: Record<string, unknown> = { split: split.name, train: trainIdx.length, test: testIdx.length };
    if (stages.has('cross')) row.detector = brief(fitEval(trainIdx, testIdx, split.name).ev);
    if (stages.has('artefacts')) {
      row.artefactOnly = brief(fitEval(trainIdx, testIdx, `artefacts: ${split.name}`, artefacts, null).ev);
    }
    cross.push(row);
  }
  out.crossCorpus = cross;
}

if (stages.has('artefacts')) {
  out.artefactOnlyRandom = brief(fitEval(trainAll, testAll, 'artefact-only, random split', artefacts, null).ev);
}

/** URL-only or text-only mode: stratified 70/30 split, threshold at 1% FPR out-of-fold, scored on the 30%. */
function splitFitEval(mode: 'url' | 'sms', data: LabelledStrings): PhishEvaluation {
  const d = new PhishingDetector({ mode });
  const [tr, te] = splitIndices(data.labels, 0.3, seed);
  log(`${mode} mode: ${tr.length} train, ${te.length} test`);
  d.fitRows(
    tr.map((i) => d.featurize(data.items[i] as string)),
    tr.map((i) => data.labels[i] as number),
    { seed, targetFpr: 0.01 },
  );
  const started = performance.now();
  const logits = te.map((i) => d.logit(data.items[i] as string));
  return evaluateLogits(
    logits,
    te.map((i) => data.labels[i] as number),
    d.threshold,
    (performance.now() - started) / 1000,
  );
}

if (stages.has('nested')) {
  const trY = Int32Array.from(trainAll, (i) => y[i] as number);
  const trRows = trainAll.map((i) => rows[i] as FeatureRow);
  const buckets = detector.featurizer.hasher.buckets;
  const results: unknown[] = [];
  // The previous defaults (no monotone indicators, no language weights), then each added in turn.
  const variants = [
    { monotone: false, languageWeight: 1 },
    { monotone: true, languageWeight: 1 },
    { monotone: true, languageWeight },
  ];
  for (const { monotone: mono, languageWeight: lw } of variants) {
    const options = {
      ...LOGISTIC_DEFAULTS,
      ...training,
      ...(mono ? { nonNegativeDense: detector.featurizer.indicatorIndices } : {}),
    };
    for (const outerSeed of [11, 12, 13]) {
      log(`nested: monotone ${mono}, language weight ${lw}, outer seed ${outerSeed}`);
      const outer = stratifiedFolds(trY, 5, outerSeed);
      const tally = Object.fromEntries(THRESHOLD_RULES.map((r) => [r, { falsePositives: 0, caught: 0 }]));
      let legitimate = 0;
      let phishing = 0;
      for (let f = 0; f < 5; f++) {
        const inner = [...trY.keys()].filter((i) => outer[i] !== f);
        const innerY = inner.map((i) => trY[i] as number);
        const innerFold = stratifiedFolds(innerY, 5, outerSeed * 7 + f);
        // The procedure weighs languages by its own training part, as fitRows does.
        const innerTexts = inner.map((i) => (trRows[i] as FeatureRow).text);
        const weights = languageSampleWeights(tallyLanguages(innerTexts, innerY), innerY, lw)?.weights;
        const oof = new Float64Array(inner.length);
        for (let g = 0; g < 5; g++) {
          const fit = inner.flatMap((_, k) => (innerFold[k] === g ? [] : [k]));
          const m = trainLogistic(
            fit.map((k) => trRows[inner[k] as number] as FeatureRow),
            fit.map((k) => innerY[k] as number),
            buckets,
            {
              ...options,
              seed: 100 * f + g + 1,
              ...(weights ? { sampleWeights: fit.map((k) => weights[k] as number) } : {}),
            },
          );
          inner.forEach((i, k) => {
            if (innerFold[k] === g) oof[k] = logitOf(m, trRows[i] as FeatureRow);
          });
        }
        const final = trainLogistic(
          inner.map((i) => trRows[i] as FeatureRow),
          innerY,
          buckets,
          { ...options, seed: 100 * f + 99, ...(weights ? { sampleWeights: weights } : {}) },
        );
        const benign = oof.filter((_, k) => innerY[k] === 0);
        const held = [...trY.keys()].filter((i) => outer[i] === f);
        for (const i of held) trY[i] === 1 ? phishing++ : legitimate++;
        for (const rule of THRESHOLD_RULES) {
          const t = chooseThreshold(benign, PHISH_TRAIN_DEFAULTS.targetFpr, rule);
          const c = tally[rule] as { falsePositives: number; caught: number };
          for (const i of held) {
            if (logitOf(final, trRows[i] as FeatureRow) <= t) continue;
            if (trY[i] === 1) c.caught++;
            else c.falsePositives++;
          }
        }
      }
      results.push({
        monotone: mono,
        languageWeight: lw,
        outerSeed,
        legitimate,
        phishing,
        ...Object.fromEntries(
          THRESHOLD_RULES.map((r) => {
            const c = tally[r] as { falsePositives: number; caught: number };
            return [r, { falsePositives: c.falsePositives, recall: round(c.caught / phishing) }];
          }),
        ),
      });
    }
  }
  out.nested = results;
}

if (stages.has('curve')) {
  const trainLabels = Int32Array.from(trainAll, (i) => y[i] as number);
  const testTruth = testAll.map((i) => y[i] as number);
  const results: unknown[] = [];
  for (const share of [0.25, 0.5, 0.75, 1]) {
    for (const s of [0, 1, 2]) {
      // splitIndices keeps its first part (1 − testFraction) stratified by label.
      const part =
        share === 1 ? trainAll : splitIndices(trainLabels, 1 - share, 200 + s)[0].map((k) => trainAll[k] as number);
      const partRows = part.map((i) => rows[i] as FeatureRow);
      const partLabels = part.map((i) => y[i] as number);
      const fitted = calibratedLogistic(
        partRows,
        partLabels,
        detector.featurizer.hasher.buckets,
        detector.trainingOptions(partRows, partLabels, { seed: s, thresholdRule, monotone, languageWeight, training })
          .options,
      );
      const logits = testAll.map((i) => logitOf(fitted.model, rows[i] as FeatureRow));
      const ev = evaluateLogits(logits, testTruth, fitted.threshold, 0);
      const nested = fitted.summary.nested[thresholdRule];
      const row = {
        share,
        seed: s,
        legitimate: fitted.summary.legitimate,
        phishing: fitted.summary.phishing,
        outOfFoldAuc: round(fitted.summary.outOfFoldAuc),
        outOfFoldRecall: round(fitted.summary.outOfFoldRecall),
        nestedFalsePositives: nested?.falsePositives,
        nestedRecall: round(nested?.recall),
        testMissed: ev.fn,
        testFalsePositives: ev.fp,
        testRecall: round(ev.recall),
        testAuc: round(ev.auc),
      };
      log(`curve: ${JSON.stringify(row)}`);
      results.push(row);
    }
  }
  out.curve = results;
}

if (stages.has('url')) {
  const path = `${DATA}/web-phishing-hannousse2021/dataset_phishing.csv.gz`;
  const data = readUrlCsv(path);
  const ev = splitFitEval('url', data);
  out.url = { ...brief(ev), targetFpr: 0.01, duplicates: data.duplicates, skipped: data.skipped.length };
}

if (stages.has('sms')) {
  const data = readSmsData('sms-spam');
  const ev = splitFitEval('sms', data);
  out.sms = { ...brief(ev), targetFpr: 0.01, duplicatesDropped: data.duplicates };
}

if (stages.has('evasion')) {
  const limit = Number(values['attack-limit']);
  const budgets = [0.01, 0.02, 0.05];
  const testPhish = testAll.filter((i) => y[i] === 1).slice(0, limit);
  const events: PhishEvent[] = testPhish.map((i) => corpus.messages[i] as MailMessage);
  const trainEvents = trainAll.map((i) => corpus.messages[i] as MailMessage);
  const trainLabels = trainAll.map((i) => y[i] as number);
  const rowsFor = (r: TextEvasionResult) =>
    r.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, round(v)])));
  const evasion: Record<string, unknown> = { attacked: events.length, budgets, unit: 'words' };
  for (const fold of [false, true]) {
    const d = new PhishingDetector({ mode: 'mail', foldHomoglyphs: fold });
    log(`evasion: training (fold ${fold})`);
    d.fitRows(
      trainEvents.map((e) => d.featurize(e)),
      trainLabels,
      { seed, monotone },
    );
    const key = fold ? 'withHomoglyphFold' : 'noFold';
    for (const transformations of [['homoglyph'], ['typo'], ['synonym'], ['homoglyph', 'typo', 'synonym']] as const) {
      log(`evasion: attack ${transformations.join('+')} (fold ${fold})`);
      const r = runTextEvasion(d, events, { budgets, transformations: [...transformations] });
      evasion[`${key}:${transformations.join('+')}`] = { rows: rowsFor(r), seconds: round(r.seconds) };
    }
  }
  out.evasion = evasion;
}

if (stages.has('adversarial')) {
  // Adversarial training (each training phishing attacked out-of-fold at ε 0.05, all transformations, 1 round),
  // then the same attack on the same test phishing as the undefended (fold-on) model.
  const limit = Number(values['attack-limit']);
  const budgets = [0.01, 0.02, 0.05];
  const events: PhishEvent[] = testAll
    .filter((i) => y[i] === 1)
    .slice(0, limit)
    .map((i) => corpus.messages[i] as MailMessage);
  const trainEvents = trainAll.map((i) => corpus.messages[i] as MailMessage);
  const trainLabels = trainAll.map((i) => y[i] as number);
  const testRows = (d: PhishingDetector) => testAll.map((i) => d.featurize(corpus.messages[i] as MailMessage));
  const rowsFor = (r: TextEvasionResult) =>
    r.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, round(v)])));
  const result: Record<string, unknown> = { attacked: events.length, budgets, trainEps: 0.05 };
  for (const hardened of [false, true]) {
    const d = new PhishingDetector({ mode: 'mail' });
    log(`adversarial stage: ${hardened ? 'adversarial training' : 'clean training'}`);
    if (hardened) {
      const rounds = adversariallyTrain(d, trainEvents, trainLabels, {
        eps: 0.05,
        add: values['at-add'] === 'all' ? 'all' : 'evading',
        seed,
        monotone,
        rounds: 1,
        onProgress: (stage, done, total) => log(`  ${stage} ${done}/${total}`),
      });
      result.rounds = rounds.map(({ summary, ...x }) => ({ ...x, outOfFoldRecall: round(summary.outOfFoldRecall) }));
    } else {
      d.fitRows(
        trainEvents.map((e) => d.featurize(e)),
        trainLabels,
        { seed, monotone },
      );
    }
    const clean = evaluateLogits(
      d.logits(testRows(d)),
      testAll.map((i) => y[i] as number),
      d.threshold,
      1,
    );
    log(`adversarial stage: attack (${hardened ? 'hardened' : 'clean'})`);
    const r = runTextEvasion(d, events, { budgets });
    result[hardened ? 'hardened' : 'clean'] = { test: brief(clean), attack: rowsFor(r) };
  }
  out.adversarialTraining = result;
}

const json = JSON.stringify(out, null, 2);
if (values.out) writeFileSync(values.out, `${json}\n`);
process.stdout.write(`${json}\n`);
