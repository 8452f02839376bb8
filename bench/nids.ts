/**
 * Network intrusion detection figures on the real files in ../shared/datasets (NSL-KDD, UNSW-NB15).
 * Stages (--stage, comma-separated; default eval,unsw,evasion):
 *
 * - select: model selection on the TRAINING file only (src/detectors/network/selection.ts): attack
 *   names at even frequency ranks per category are held out, the detector is trained on the rest
 *   (minus a stratified 20% validation share) and every design (class weights, binary/multi-class,
 *   novelty detectors, operating points) is scored on validation + the held-out names.
 * - eval: the chosen design trained on KDDTrain+_20Percent, evaluated once on KDDTest+ and KDDTest-21.
 * - unsw: UNSW-NB15's 82k partition split 70/30 stratified by attack_cat (seeded).
 * - evasion: constrained evasion of the classifier on KDDTest+ attacks at several budgets, then
 *   constrained adversarial training and the same attack again.
 * - curve (not in the default list; ~5 min here): learning curve — the chosen design trained on
 *   stratified 25% / 50% / 100% shares of KDDTrain+_20Percent (two seeds each), scored on both test
 *   files. Asks whether more training rows of the same kind would move the figures; chooses nothing.
 *
 * Only KDDTrain+_20Percent is available: published baselines trained on the full KDDTrain+.
 * Usage: npx tsx bench/nids.ts [--stage select,eval,unsw,evasion,curve] [--seed 0] [--out FILE.json]
 *   [--designs a,b] (select: only designs whose name contains one of these comma-separated substrings)
 *   [--skip-designs a,b] (select: leave out designs whose name contains one of these)
 *   [--evasion-flows 2000] [--train-eps 1] [--at-epochs 20]
 * Prints one JSON document (stderr has progress).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Rng } from '../src/core/rng.js';
import { initRuntime } from '../src/core/runtime.js';
import { evaluateNids, type NidsEvaluation } from '../src/detectors/network/evaluate.js';
import { constrainedAdversarialTraining } from '../src/detectors/network/evasion/adversarial-training.js';
import { constrainedEvasion } from '../src/detectors/network/evasion/constrained-evasion.js';
import {
  NidsDetector,
  type NidsTrainOptions,
  type NoveltyKind,
  stratifiedSplit,
} from '../src/detectors/network/nids-detector.js';
import { readFlows, takeRows } from '../src/detectors/network/read-flows.js';
import {
  leaveAttacksOut,
  pickDesign,
  SELECTION_BA_TOLERANCE,
  SELECTION_FPR_CAP,
  type SelectionRow,
  selectionFigures,
} from '../src/detectors/network/selection.js';

const { values } = parseArgs({
  options: {
    stage: { type: 'string', default: 'eval,unsw,evasion' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string' },
    shared: { type: 'string', default: process.env.AEGIS_SHARED ?? '../shared' },
    'evasion-flows': { type: 'string', default: '2000' },
    designs: { type: 'string' },
    'skip-designs': { type: 'string' },
    'train-eps': { type: 'string', default: '1' },
    'at-epochs': { type: 'string', default: '20' },
  },
});
const stages = new Set(String(values.stage).split(','));
const seed = Number(values.seed);
const DATA = `${values.shared}/datasets`;
const NSL = `${DATA}/nsl-kdd`;
const log = (text: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
const round = (v: unknown): unknown => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v);

const backend = await initRuntime();
const out: Record<string, unknown> = {
  backend,
  seed,
  note: 'trained on KDDTrain+_20Percent only (25,192 rows); published baselines trained on the full KDDTrain+ (125,973 rows)',
};

function headline(e: NidsEvaluation) {
  return { accuracy: round(e.accuracy), macroF1: round(e.macroF1), auc: round(e.auc), fpr: round(e.falsePositiveRate) };
}

function summary(e: NidsEvaluation) {
  const { roc, binary, multiclass, ...rest } = e;
  return {
    ...rest,
    confusion: multiclass.confusion,
    perClass: multiclass.perClass,
    tp: binary.tp,
    fp: binary.fp,
    tn: binary.tn,
    fn: binary.fn,
  };
}

/** The design the eval and evasion stages train: the selection's pick, else the library defaults (the same, recorded). */
let chosen: Partial<NidsTrainOptions> = {};

if (stages.has('select')) {
  const train = readFlows(`${NSL}/KDDTrain+_20Percent.txt.gz`).table;
  const split = leaveAttacksOut(train, 0.2, seed);
  log(
    `select: held out ${split.heldOut.join(', ')} (${split.novelRows} rows); train ${split.train.size}, validation ${split.validation.size}`,
  );
  const allDesigns: { name: string; options: Partial<NidsTrainOptions> }[] = [
    { name: 'multiclass, unweighted', options: { mode: 'multiclass', classifier: { classWeightPower: 0 } } },
    { name: 'multiclass, class weights ^0.5', options: { mode: 'multiclass', classifier: { classWeightPower: 0.5 } } },
    { name: 'multiclass, balanced weights', options: { mode: 'multiclass', classifier: { classWeightPower: 1 } } },
    { name: 'binary, unweighted', options: { mode: 'binary', classifier: { classWeightPower: 0 } } },
    { name: 'binary, class weights ^0.5', options: { mode: 'binary', classifier: { classWeightPower: 0.5 } } },
    {
      name: 'multiclass, unweighted, ensemble of 5',
      options: { mode: 'multiclass', classifier: { classWeightPower: 0, members: 5 } },
    },
    {
      name: 'multiclass, unweighted, autoencoder 128-32',
      options: { mode: 'multiclass', classifier: { classWeightPower: 0 }, autoencoder: { hidden: [128, 32] } },
    },
    {
      name: 'multiclass, unweighted, autoencoder 128-32 x 60 epochs',
      options: {
        mode: 'multiclass',
        classifier: { classWeightPower: 0 },
        autoencoder: { hidden: [128, 32], epochs: 60 },
      },
    },
    {
      name: 'multiclass, unweighted, autoencoder 256-64',
      options: { mode: 'multiclass', classifier: { classWeightPower: 0 }, autoencoder: { hidden: [256, 64] } },
    },
  ];
  const matches = (list: unknown, name: string) =>
    String(list)
      .split(',')
      .some((k) => name.includes(k));
  const designs = allDesigns.filter(
    (d) =>
      (!values.designs || matches(values.designs, d.name)) &&
      (!values['skip-designs'] || !matches(values['skip-designs'], d.name)),
  );
  const noveltySets: NoveltyKind[][] = [
    [],
    ['autoencoder'],
    ['iforest'],
    ['knn'],
    ['autoencoder', 'iforest'],
    ['autoencoder', 'knn'],
    ['iforest', 'knn'],
    ['autoencoder', 'iforest', 'knn'],
  ];
  const fprs = [0.005, 0.01, 0.02, 0.05, 0.1];
  const supervised: (number | 'argmax')[] = ['argmax', 0.005, 0.01, 0.02, 0.05, 0.1];
  // 'evidence' combination (combine.ts): the classifier's weight; the novelty detectors share the rest.
  const weights = [0.1, 0.2, 0.35, 0.5, 0.65, 0.8];
  const rows: (SelectionRow & { options: Partial<NidsTrainOptions> })[] = [];
  for (const design of designs) {
    log(`select: training '${design.name}'`);
    const t0 = performance.now();
    const det = await NidsDetector.train(split.train, {
      ...design.options,
      combine: 'any',
      novelty: ['autoencoder', 'iforest', 'knn'],
      seed,
    });
    log(`select: trained in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    // Component scores do not depend on the operating point: score the validation flows once.
    const cached = det.scoreTable(split.validation);
    for (const novelty of noveltySets) {
      for (const targetFpr of novelty.length ? fprs : [0.01]) {
        for (const supervisedFpr of supervised) {
          const op = det.withOperatingPoint({ targetFpr, supervisedFpr, novelty });
          rows.push({
            design: design.name,
            novelty: novelty.join('+') || 'none',
            combine: 'any',
            noveltyFpr: novelty.length ? targetFpr : null,
            supervisedFpr,
            ...selectionFigures(op, split, cached),
            options: { ...design.options, combine: 'any', novelty, targetFpr, supervisedFpr },
          });
        }
      }
      if (novelty.length === 0) continue;
      for (const targetFpr of fprs) {
        for (const supervisedWeight of weights) {
          const op = det.withOperatingPoint({ targetFpr, novelty, combine: 'evidence', supervisedWeight });
          rows.push({
            design: design.name,
            novelty: novelty.join('+'),
            combine: 'evidence',
            supervisedWeight,
            noveltyFpr: null,
            supervisedFpr: targetFpr,
            ...selectionFigures(op, split, cached),
            options: { ...design.options, combine: 'evidence', novelty, targetFpr, supervisedWeight },
          });
        }
      }
    }
    det.dispose();
  }
  rows.sort((a, b) => b.balancedAccuracy - a.balancedAccuracy);
  const pick = pickDesign(rows);
  chosen = pick.options;
  out.select = {
    heldOut: split.heldOut,
    novelRows: split.novelRows,
    validation: split.validation.size,
    rule: `validation FPR <= ${SELECTION_FPR_CAP}, balanced accuracy within ${SELECTION_BA_TOLERANCE} of the best such design, then the highest AUC on held-out attack names vs benign validation flows`,
    chosen: { ...pick, options: undefined },
    rows: rows.map(({ options, ...r }) => r),
  };
  log(`select: chosen ${JSON.stringify({ ...pick, options: undefined })}`);
}

if (stages.has('eval')) {
  const train = readFlows(`${NSL}/KDDTrain+_20Percent.txt.gz`).table;
  const t0 = performance.now();
  const det = await NidsDetector.train(train, { ...chosen, seed });
  const trainSeconds = (performance.now() - t0) / 1000;
  log(`eval: trained in ${trainSeconds.toFixed(0)} s; thresholds ${JSON.stringify(det.thresholds)}`);
  const results: Record<string, unknown> = {
    design: { ...det.meta, training: undefined },
    trainSeconds,
    training: det.meta.training,
  };
  for (const name of ['KDDTest+', 'KDDTest-21']) {
    const test = readFlows(`${NSL}/${name}.txt.gz`).table;
    results[name] = summary(evaluateNids(det, test));
    log(`eval: ${name} ${JSON.stringify(headline(results[name] as NidsEvaluation))}`);
  }
  out.eval = results;
  det.dispose();
}

if (stages.has('unsw')) {
  const { table, report } = readFlows(`${DATA}/unsw-nb15/UNSW_NB15_training-set.csv.gz`);
  const [trainIdx, testIdx] = stratifiedSplit(
    table.classes.map((c) => String(c)),
    0.3,
    seed,
  );
  const train = takeRows(table, trainIdx);
  const test = takeRows(table, testIdx);
  const results: Record<string, unknown> = {
    rows: table.size,
    train: train.size,
    test: test.size,
    warnings: report.warnings,
  };
  for (const [name, exclude] of [
    ['all features', []],
    ['without TTL features (sttl, dttl, ct_state_ttl)', ['sttl', 'dttl', 'ct_state_ttl']],
  ] as [string, string[]][]) {
    const t0 = performance.now();
    const det = await NidsDetector.train(train, { ...chosen, seed, excludeColumns: exclude });
    const trainSeconds = (performance.now() - t0) / 1000;
    const e = evaluateNids(det, test);
    results[name] = { trainSeconds, thresholds: det.thresholds, ...summary(e) };
    log(`unsw: ${name}: ${JSON.stringify(headline(e))}`);
    det.dispose();
  }
  out.unsw = results;
}

if (stages.has('evasion')) {
  const train = readFlows(`${NSL}/KDDTrain+_20Percent.txt.gz`).table;
  const test = readFlows(`${NSL}/KDDTest+.txt.gz`).table;
  const attackRows = test.classes.flatMap((c, i) => (c === 'normal' ? [] : [i]));
  const sampleSize = Math.min(Number(values['evasion-flows']), attackRows.length);
  const rng = new Rng(seed);
  const sample = takeRows(
    test,
    Array.from(rng.permutation(attackRows.length).subarray(0, sampleSize), (k) => attackRows[k] as number),
  );
  const epsilons = [0.25, 0.5, 1, 2, Number.POSITIVE_INFINITY];
  const det = await NidsDetector.train(train, { ...chosen, seed });
  const results: Record<string, unknown> = {
    flows: sample.size,
    epsilons: epsilons.map(String),
    thresholds: det.thresholds,
  };
  const attack = async (d: NidsDetector, label: string) => {
    const rows: Record<string, unknown> = {};
    for (const goal of ['classifier', 'combined'] as const) {
      const t0 = performance.now();
      const r = await constrainedEvasion(d, sample, { epsilons, seed, goal });
      rows[goal] = { rows: r.rows, violations: r.violationsByConstraint, seconds: (performance.now() - t0) / 1000 };
      log(
        `evasion ${label} ${goal}: ${r.rows.map((x) => `eps ${x.eps}: clf ${x.classifierRecall.toFixed(3)} all ${x.combinedRecall.toFixed(3)}`).join('; ')}`,
      );
    }
    return rows;
  };
  results.standard = { attack: await attack(det, 'standard'), test: summary(evaluateNids(det, test)) };
  const trainEps = Number(values['train-eps']);
  const t0 = performance.now();
  const hardened = await constrainedAdversarialTraining(det, train, {
    eps: trainEps,
    seed,
    epochs: Number(values['at-epochs']),
  });
  log(`evasion: adversarial training at eps ${trainEps} took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  results.adversariallyTrained = {
    trainEps,
    seconds: hardened.seconds,
    thresholds: hardened.detector.thresholds,
    attack: await attack(hardened.detector, 'hardened'),
    test: summary(evaluateNids(hardened.detector, test)),
    test21: summary(evaluateNids(hardened.detector, readFlows(`${NSL}/KDDTest-21.txt.gz`).table)),
  };
  out.evasion = results;
  hardened.detector.classifier.dispose();
  det.dispose();
}

if (stages.has('curve')) {
  const full = readFlows(`${NSL}/KDDTrain+_20Percent.txt.gz`).table;
  const tests = ['KDDTest+', 'KDDTest-21'].map((name) => [name, readFlows(`${NSL}/${name}.txt.gz`).table] as const);
  const rows: Record<string, unknown>[] = [];
  for (const share of [0.25, 0.5, 1]) {
    for (const s of [seed, seed + 1]) {
      // The share is drawn per label (stratifiedSplit's second part); at 100% only the training seed differs.
      const train = share === 1 ? full : takeRows(full, stratifiedSplit(full.labels, share, 100 + s)[1]);
      const t0 = performance.now();
      const det = await NidsDetector.train(train, { ...chosen, seed: s });
      const row: Record<string, unknown> = {
        share,
        seed: s,
        rows: train.size,
        trainSeconds: (performance.now() - t0) / 1000,
      };
      for (const [name, test] of tests) row[name] = headline(evaluateNids(det, test));
      log(`curve: ${JSON.stringify(row)}`);
      rows.push(row);
      det.dispose();
    }
  }
  out.curve = rows;
}

const json = JSON.stringify(out, (_k, v) => (v === Number.POSITIVE_INFINITY ? 'Infinity' : round(v)), 2);
if (values.out) writeFileSync(String(values.out), `${json}\n`);
process.stdout.write(`${json}\n`);
