/**
 * `aegis nids train|eval|detect`: network intrusion detection on NSL-KDD, UNSW-NB15 or
 * CIC-IDS2017 flow files (.gz accepted). train fits the detector and saves it; eval trains (or
 * loads) it and reports the test file's figures (table, or JSON with --json) and writes the
 * JSON/HTML report, optionally with the constrained evasion attack; detect prints one verdict per
 * flow with its score and reasons. Malformed rows are skipped and counted on stderr.
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { AegisInputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { initRuntime } from '../core/runtime.js';
import type { Verdict } from '../detectors/detector.js';
import { formatClassTable } from '../detectors/metrics.js';
import { evaluateNids, type NidsEvaluation } from '../detectors/network/evaluate.js';
import { constrainedEvasion } from '../detectors/network/evasion/constrained-evasion.js';
import { detectLayout } from '../detectors/network/layouts.js';
import {
  NIDS_DEFAULTS,
  NidsDetector,
  type NidsTrainOptions,
  NOVELTY_KINDS,
  type NoveltyKind,
} from '../detectors/network/nids-detector.js';
import { type FlowTable, parseFlows, readFlowText, takeRows } from '../detectors/network/read-flows.js';
import { buildNidsReport } from '../detectors/network/report.js';
import { writeReport } from '../report/build-report.js';
import { cliOutput } from './io.js';
import { ensureOutputDir } from './output-dir.js';
import { parseFraction, parseNonNegativeInt, parseNonNegativeList, parsePositiveInt } from './parse-options.js';

interface TrainFlags {
  train: string;
  layout?: string;
  mode: string;
  novelty: string;
  combine: string;
  supervisedWeight: string;
  targetFpr: string;
  supervisedFpr: string;
  epochs?: string;
  seed: string;
  json?: boolean;
}

/**
 * Reads a flow file, printing the reader's warnings (skipped rows, NaN/Infinity, unknown labels) to
 * stderr. For a saved model (`modelLayout`, no --layout) the file is read in the model's layout, and
 * one whose first line is plainly another layout's is refused naming both (its rows would all be
 * skipped as malformed).
 */
function load(
  path: string,
  layout: string | undefined,
  options: { ignoreLabels?: boolean; modelLayout?: string } = {},
): FlowTable {
  const text = readFlowText(path);
  if (layout === undefined && options.modelLayout !== undefined) {
    const first = /[^\r\n]*\S[^\r\n]*/.exec(text)?.[0];
    const seen = first === undefined ? undefined : detectLayout(first);
    if (seen && seen.name !== options.modelLayout) {
      throw new AegisInputError(
        `${path}: ${seen.title} flows, but the model was trained on the ${options.modelLayout} layout`,
      );
    }
  }
  const chosen = layout ?? options.modelLayout;
  const { table, report } = parseFlows(text, {
    source: path,
    ...(chosen !== undefined ? { layout: chosen } : {}),
    ignoreLabels: options.ignoreLabels ?? false,
  });
  for (const w of report.warnings) cliOutput().err(`aegis: ${w}\n`);
  return table;
}

/** A fraction in [0, 1], or [0, 1) with `below1` (a false-positive rate of 1 leaves no threshold). */
function trainOptions(f: TrainFlags): NidsTrainOptions {
  if (f.mode !== 'multiclass' && f.mode !== 'binary') {
    throw new AegisInputError(`--mode takes multiclass or binary, got '${f.mode}'`);
  }
  const novelty = f.novelty === 'none' ? [] : f.novelty.split(',').map((s) => s.trim());
  const unknown = novelty.filter((n) => !(NOVELTY_KINDS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new AegisInputError(
      `--novelty: unknown detector '${unknown[0]}'; choose from ${NOVELTY_KINDS.join(', ')} or none`,
    );
  }
  if (f.combine !== 'any' && f.combine !== 'evidence') {
    throw new AegisInputError(`--combine takes any or evidence, got '${f.combine}'`);
  }
  return {
    seed: parseNonNegativeInt('--seed', f.seed),
    mode: f.mode,
    combine: f.combine,
    supervisedWeight: parseFraction('--supervised-weight', f.supervisedWeight),
    novelty: novelty as NoveltyKind[],
    targetFpr: parseFraction('--target-fpr', f.targetFpr, true),
    supervisedFpr: f.supervisedFpr === 'argmax' ? 'argmax' : parseFraction('--supervised-fpr', f.supervisedFpr, true),
    ...(f.epochs !== undefined ? { classifier: { epochs: parsePositiveInt('--epochs', f.epochs) } } : {}),
    progress: Boolean(process.stderr.isTTY) && !f.json,
  };
}

/** Training flags shared by train and eval. */
function addTrainOptions(cmd: Command): Command {
  return cmd
    .option('--layout <name>', 'nsl-kdd, unsw-nb15 or cic-ids2017 (default: detected from the first line)')
    .option('--mode <mode>', 'multiclass (the layout classes) or binary', NIDS_DEFAULTS.mode)
    .option(
      '--novelty <list>',
      `novelty detectors, comma-separated (${NOVELTY_KINDS.join(', ')}), or none`,
      NIDS_DEFAULTS.novelty.join(','),
    )
    .option(
      '--combine <how>',
      "evidence (weighted sum of each score's benign-tail evidence) or any (a component over its own threshold)",
      NIDS_DEFAULTS.combine,
    )
    .option(
      '--supervised-weight <w>',
      "evidence: the classifier's weight in [0, 1]; the novelty detectors share the rest",
      String(NIDS_DEFAULTS.supervisedWeight),
    )
    .option(
      '--target-fpr <x>',
      'share of benign validation flows the detector may flag (any: each novelty detector)',
      String(NIDS_DEFAULTS.targetFpr),
    )
    .option(
      '--supervised-fpr <x>',
      "any: share the classifier may flag, or 'argmax'",
      String(NIDS_DEFAULTS.supervisedFpr),
    )
    .option('--epochs <n>', 'classifier epochs (early stopping on the validation split)')
    .option('--seed <n>', 'random seed', '0');
}

/** The evidence combination without its benign quantiles. */
function combinationSummary(detector: NidsDetector) {
  const c = detector.meta.combination;
  return c && { kind: c.kind, weights: c.weights, benignFpr: c.fpr, threshold: c.threshold };
}

function headline(e: NidsEvaluation) {
  return {
    accuracy: e.accuracy,
    macroF1: e.macroF1,
    auc: e.auc,
    falsePositiveRate: e.falsePositiveRate,
    precision: e.precision,
    recall: e.recall,
    f1: e.f1,
    multiclassAccuracy: e.multiclassAccuracy,
    flows: e.flows,
    attacks: e.attacks,
    flowsPerSecond: e.flowsPerSecond,
    unclassified: e.unclassified,
  };
}

/** Recall on attack names seen and never seen in training, and the least-caught unseen names. */
function seenUnseenLines(e: NidsEvaluation): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const group = (what: string, g: NidsEvaluation['seenAttacks']) =>
    g ? `attacks ${what}: ${g.names} names, ${g.flows} flows, recall ${pct(g.recall)}\n` : '';
  const unseen = e.byLabel
    .filter((l) => l.attack && l.seenInTraining === false && l.flows >= 10)
    .sort((a, b) => a.flagged / a.flows - b.flagged / b.flows || b.flows - a.flows)
    .slice(0, 5)
    .map((l) => `${l.label} ${l.flagged}/${l.flows}`);
  return (
    group('seen in training', e.seenAttacks) +
    group('never seen in training', e.unseenAttacks) +
    (unseen.length > 0 ? `  least caught of those (≥ 10 flows): ${unseen.join(', ')}\n` : '')
  );
}

function printEvaluation(e: NidsEvaluation, detector: NidsDetector): void {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const out = cliOutput();
  out.out(`${e.source}: ${e.flows} flows, ${e.attacks} attacks\n`);
  out.out(
    `accuracy ${pct(e.accuracy)}  precision ${pct(e.precision)}  recall ${pct(e.recall)}  F1 ${e.f1.toFixed(4)}  ` +
      `FPR ${pct(e.falsePositiveRate)}  AUC ${e.auc.toFixed(4)}\n`,
  );
  out.out(`class decision: accuracy ${pct(e.multiclassAccuracy)}  macro-F1 ${e.macroF1.toFixed(4)}\n`);
  for (const [name, c] of Object.entries(e.components)) {
    out.out(
      `  ${name.padEnd(11)} AUC ${c.auc.toFixed(4)}  recall ${pct(c.recall)}  FPR ${pct(c.falsePositiveRate)} (alone, at its threshold)\n`,
    );
  }
  out.out(`${formatClassTable(e.multiclass)}\n`);
  out.out(seenUnseenLines(e));
  out.out(`${Math.round(e.flowsPerSecond)} flows/s\n`);
  if (Object.keys(e.unknownCategories).length > 0) {
    out.err(
      `aegis: categorical values unseen in training (encoded as unseen): ${JSON.stringify(e.unknownCategories)}\n`,
    );
  }
  if (detector.meta.layout === 'nsl-kdd') {
    out.err(
      'note: published NSL-KDD baselines trained on the full KDDTrain+; compare with care when training on the 20% subset\n',
    );
  }
}

export function registerNidsCommand(program: Command): void {
  const nids = program.command('nids').description('network intrusion detection: train, evaluate, detect');

  addTrainOptions(
    nids
      .command('train')
      .description('train the detector on a labelled flow file and save it')
      .requiredOption('--train <file>', 'labelled flows (NSL-KDD .txt, UNSW-NB15 / CIC-IDS2017 .csv; .gz accepted)')
      .option('--out <dir>', 'where to save the detector', 'nids-model')
      .option('--json', 'print the training summary as JSON'),
  ).action(async (f: TrainFlags & { out: string }) => {
    const options = trainOptions(f);
    ensureOutputDir('--out', f.out);
    await initRuntime();
    const table = load(f.train, f.layout);
    const detector = await NidsDetector.train(table, options);
    try {
      await detector.save(f.out);
      const summary = {
        out: f.out,
        layout: detector.meta.layout,
        mode: detector.meta.mode,
        classNames: detector.classNames,
        novelty: detector.meta.novelty,
        thresholds: detector.thresholds,
        ...(detector.meta.combination ? { combination: combinationSummary(detector) } : {}),
        training: detector.meta.training,
      };
      if (f.json) cliOutput().out(`${JSON.stringify(summary, null, 2)}\n`);
      else {
        cliOutput().out(
          `trained on ${table.size} ${detector.meta.layout} flows (${detector.classNames.join(', ')}); ` +
            `novelty: ${detector.meta.novelty.join(', ') || 'none'}\n` +
            `thresholds: ${JSON.stringify(detector.thresholds)}\n` +
            (detector.meta.combination ? `combination: ${JSON.stringify(combinationSummary(detector))}\n` : '') +
            `saved to ${f.out}\n`,
        );
      }
    } finally {
      detector.dispose();
    }
  });

  addTrainOptions(
    nids
      .command('eval')
      .description('train on one file (or load --model) and evaluate on a test file')
      .option('--train <file>', 'labelled training flows')
      .option('--model <dir>', 'a detector saved by `aegis nids train` (instead of --train)')
      .requiredOption('--test <file>', 'labelled test flows')
      .option('--evasion <eps>', 'also run the constrained evasion attack at these budgets (e.g. 0.5,1,2)')
      .option('--evasion-goal <goal>', 'classifier or combined (the adaptive attacker)', 'classifier')
      .option('--evasion-flows <n>', 'attack flows sampled from the test file for the evasion attack', '500')
      .option('--report <dir>', 'write report.json and report.html here')
      .option('--json', 'print the figures as JSON'),
  ).action(
    async (
      f: TrainFlags & {
        train?: string;
        model?: string;
        test: string;
        evasion?: string;
        evasionGoal: string;
        evasionFlows: string;
        report?: string;
      },
    ) => {
      if (!f.train === !f.model)
        throw new AegisInputError('nids eval needs exactly one of --train <file> or --model <dir>');
      if (f.evasionGoal !== 'classifier' && f.evasionGoal !== 'combined') {
        throw new AegisInputError(`--evasion-goal takes classifier or combined, got '${f.evasionGoal}'`);
      }
      const options = trainOptions(f);
      const epsilons = f.evasion !== undefined ? parseNonNegativeList('--evasion', f.evasion) : undefined;
      const evasionFlows = parsePositiveInt('--evasion-flows', f.evasionFlows);
      if (f.report) ensureOutputDir('--report', f.report);
      const backend = await initRuntime();
      // The evasion transformations (delay, pad, cover) act on NSL-KDD's columns: said before any training.
      const evasionLayout = (layout: string) => {
        if (epsilons && layout !== 'nsl-kdd') {
          throw new AegisInputError(
            `--evasion: the constrained evasion attack works on NSL-KDD flows (its delay, pad and cover act on their columns); these are ${layout} flows`,
          );
        }
      };
      let detector: NidsDetector;
      if (f.model) {
        detector = await NidsDetector.load(f.model);
        try {
          evasionLayout(detector.meta.layout);
        } catch (error) {
          detector.dispose();
          throw error;
        }
      } else {
        const table = load(f.train as string, f.layout);
        evasionLayout(table.layout.name);
        detector = await NidsDetector.train(table, options);
      }
      try {
        const test = load(f.test, f.layout, { modelLayout: detector.meta.layout });
        if (!test.labelled) throw new AegisInputError(`${f.test}: evaluation needs labelled flows`);
        const attackFlows = test.classes.filter((c) => c !== test.layout.normalClass).length;
        if (attackFlows === 0 || attackFlows === test.size) {
          throw new AegisInputError(
            `${f.test}: evaluation needs both normal and attack flows (${attackFlows} attack, ${test.size - attackFlows} normal)`,
          );
        }
        const evaluation = evaluateNids(detector, test);
        if (evaluation.unclassified > 0) {
          cliOutput().err(
            `aegis: ${f.test}: ${evaluation.unclassified} flow(s) with labels outside the model's classes ` +
              `(${detector.classNames.join(', ')}) are left out of the class figures\n`,
          );
        }
        const evasion = [];
        if (epsilons) {
          const attacks = test.classes.flatMap((c, i) => (c === test.layout.normalClass ? [] : [i]));
          const pick = new Rng(options.seed)
            .permutation(attacks.length)
            .subarray(0, Math.min(evasionFlows, attacks.length));
          const sample = takeRows(
            test,
            Array.from(pick, (k) => attacks[k] as number),
          );
          evasion.push(
            await constrainedEvasion(detector, sample, { epsilons, seed: options.seed, goal: f.evasionGoal }),
          );
        }
        if (f.report) {
          const report = buildNidsReport({
            detector,
            evaluation,
            testName: basename(f.test),
            testSource: f.test,
            evasion,
            seed: options.seed,
            backend,
            command: `aegis nids eval ${process.argv.slice(3).join(' ')}`.trim(),
          });
          const files = await writeReport(f.report, report);
          cliOutput().err(`report: ${files.json}\n        ${files.html}\n`);
        }
        const evasionRows = evasion.flatMap((r) => r.rows.map((row) => ({ goal: r.goal, ...row })));
        if (f.json) {
          cliOutput().out(
            `${JSON.stringify(
              {
                ...headline(evaluation),
                perClass: evaluation.multiclass.perClass,
                confusion: evaluation.multiclass.confusion,
                classNames: detector.classNames,
                components: evaluation.components,
                thresholds: detector.thresholds,
                unknownCategories: evaluation.unknownCategories,
                seenAttacks: evaluation.seenAttacks,
                unseenAttacks: evaluation.unseenAttacks,
                byLabel: evaluation.byLabel,
                ...(evasionRows.length ? { evasion: evasionRows } : {}),
              },
              null,
              2,
            )}\n`,
          );
        } else {
          printEvaluation(evaluation, detector);
          for (const r of evasionRows) {
            cliOutput().out(
              `evasion eps ${r.eps}: classifier recall ${r.classifierRecallClean.toFixed(3)} → ${r.classifierRecall.toFixed(3)}, ` +
                `detector recall ${r.combinedRecallClean.toFixed(3)} → ${r.combinedRecall.toFixed(3)} ` +
                `(${r.attacks} attack flows, ${r.constraintViolations} constraint violations)\n`,
            );
          }
        }
      } finally {
        detector.dispose();
      }
    },
  );

  nids
    .command('detect')
    .description('score flows with a saved detector: verdict, score and reasons per flow')
    .requiredOption('--model <dir>', 'a detector saved by `aegis nids train`')
    .argument('<file>', 'flows to score (labels, if present, are ignored)')
    .option('--layout <name>', 'layout of the file (default: the model’s)')
    .option('--alerts-only', 'print only flows flagged as attacks')
    .option('--json', 'print a JSON array of verdicts')
    .action(async (file: string, f: { model: string; layout?: string; alertsOnly?: boolean; json?: boolean }) => {
      await initRuntime();
      const detector = await NidsDetector.load(f.model);
      try {
        const table = load(file, f.layout, { ignoreLabels: true, modelLayout: detector.meta.layout });
        const scores = detector.scoreTable(table);
        const rows = Array.from({ length: table.size }, (_, i) => i).filter((i) => !f.alertsOnly || scores.attack[i]);
        const verdicts: (Verdict & { line: number; attack: boolean })[] = [];
        const chunk = 1024;
        for (let start = 0; start < rows.length; start += chunk) {
          const part = rows.slice(start, start + chunk);
          const v = detector.verdicts(table, scores, part);
          part.forEach((row, k) => {
            verdicts.push({ line: table.lines[row] as number, attack: scores.attack[row] === 1, ...(v[k] as Verdict) });
          });
        }
        if (f.json) cliOutput().out(`${JSON.stringify(verdicts, null, 2)}\n`);
        else {
          for (const v of verdicts) {
            const why = v.reasons
              .slice(0, 3)
              .map((r) => r.detail)
              .join('; ');
            cliOutput().out(`line ${v.line}\t${v.label}\t${v.score.toFixed(4)}\t${why}\n`);
          }
          const flagged = scores.attack.reduce((a, b) => a + b, 0);
          cliOutput().err(
            `${table.size} flows, ${flagged} flagged (${Math.round(table.size / scores.seconds)} flows/s)\n`,
          );
        }
      } finally {
        detector.dispose();
      }
    });
}
