/**
 * `aegis assess`: the defense matrix — each defense (and none) against each evasion attack at
 * each budget: robust accuracy, success rate, detection rate and false-positive rate for
 * detectors, and each defense's clean-accuracy cost. Writes the standard report.
 */
import type { Command } from 'commander';
import { evasionAttackNames, getEvasionAttack } from '../attacks/evasion/registry.js';
import { AegisInputError } from '../core/errors.js';
import { initRuntime } from '../core/runtime.js';
import { ADAPTIVE_ATTACK, assessDefenses, type DefenseChoice, type DefenseMatrix } from '../defenses/assess.js';
import { matrixAttackResults, matrixDefenses } from '../defenses/assess-report.js';
import {
  cliDefenseParams,
  type DefenseParams,
  defenseNames,
  parseDefenseList,
  parseDefenseParams,
} from '../defenses/registry.js';
import { buildReport, datasetSummary, writeReport } from '../report/build-report.js';
import { formatTable } from '../report/print-table.js';
import { loadDefenseInputs } from './defense-data.js';
import { cliOutput } from './io.js';
import { parseNameList, parseNonNegativeList, parseNorm, parsePositiveInt } from './parse-options.js';
import { createProgress } from './progress.js';

interface AssessFlags {
  model: string;
  data: string;
  train?: string;
  defenses: string;
  attacks: string;
  eps: string;
  norm: string;
  params?: string;
  steps?: string;
  queryBudget?: string;
  limit?: string;
  calibrationFraction: string;
  seed: string;
  access?: string;
  labelColumn?: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

/** 'top-k.k=2,rounding.decimals=1' → params per defense; each key must name a chosen defense. */
export function parseMatrixParams(text: string | undefined, chosen: string[]): Map<string, DefenseParams> {
  const out = new Map<string, DefenseParams>(chosen.map((name) => [name, {}]));
  if (!text) return out;
  for (const [key, value] of Object.entries(parseDefenseParams(text))) {
    const dot = key.indexOf('.');
    const defense = dot < 0 ? '' : key.slice(0, dot);
    const params = out.get(defense);
    if (!params) {
      throw new AegisInputError(
        `--params: '${key}' must be <defense>.<name> with a defense from --defenses (${chosen.join(', ')})`,
      );
    }
    params[key.slice(dot + 1)] = value;
  }
  return out;
}

function formatMatrix(m: DefenseMatrix): string {
  const pct = (x: number | null | undefined) => (x === undefined ? '' : x === null ? '—' : `${(100 * x).toFixed(1)}%`);
  const columns = m.attacks.flatMap((attack) => m.epsilons.map((eps) => ({ attack, eps })));
  const rows = m.rows.map((row) => [
    row.defense,
    pct(row.cleanAccuracy),
    pct(row.cleanAccuracyCost),
    ...columns.map(({ attack, eps }) => {
      const c = row.cells.find((x) => x.attack === attack && x.eps === eps);
      if (!c) return '';
      if (c.status !== 'ok') return c.status;
      const det = c.detectionRate !== undefined ? ` det ${pct(c.detectionRate)} fpr ${pct(c.falsePositiveRate)}` : '';
      return `${pct(c.accuracy)}${det}`;
    }),
  ]);
  const notes = m.rows.flatMap((row) =>
    row.cells
      .filter((c) => c.status !== 'ok' && c.eps === m.epsilons[0])
      .map((c) => `  ${row.defense} × ${c.attack}: ${c.status} — ${c.reason}`),
  );
  const table = formatTable(['defense', 'clean', 'cost', ...columns.map((c) => `${c.attack}@${c.eps}`)], rows, [
    'left',
    'right',
    'right',
    ...columns.map(() => 'right' as const),
  ]);
  return `${table}\n${notes.length ? `\n${notes.join('\n')}\n` : ''}`;
}

export function registerAssessCommand(program: Command): void {
  program
    .command('assess')
    .description('defense matrix: defenses (rows) × attacks at each budget (columns), with clean-accuracy cost')
    .requiredOption('--model <path>', 'an .onnx file or a saved model directory')
    .option(
      '--data <spec>',
      'data to attack (a seeded part calibrates detectors), e.g. bundled:test[0:500]',
      'bundled:test',
    )
    .option('--train <spec>', 'training data for training defenses (pgd-at, fbf, trades) and Mahalanobis')
    .requiredOption('--defenses <names>', `comma-separated: ${defenseNames().join(',')}`)
    .option('--attacks <names>', `comma-separated: ${evasionAttackNames().join(',')},${ADAPTIVE_ATTACK}`, 'fgsm,pgd')
    .option('--eps <list>', 'perturbation budgets, comma-separated', '0.1')
    .option('--norm <norm>', 'linf or l2', 'linf')
    .option('--params <list>', 'defense settings as <defense>.<name>=<value>, e.g. top-k.k=2,pgd-at.epochs=5')
    .option('--steps <n>', 'attack iterations (PGD, C&W, DeepFool, HSJ) or queries per example (Square)')
    .option('--query-budget <n>', 'queries per example for black-box attacks')
    .option('--limit <n>', 'attack only the first N test examples')
    .option('--calibration-fraction <x>', 'share of --data kept aside to calibrate detectors', '0.3')
    .option('--seed <n>', 'random seed', '0')
    .option('--access <level>', 'treat the model as gradients, scores or labels')
    .option('--label-column <name>', 'CSV data: the label column')
    .option('--out <dir>', 'write report.json and report.html here')
    .option('--json', 'print the JSON report to stdout')
    .option('--quiet', 'no progress bars')
    .action(async (flags: AssessFlags) => {
      // Every name and flag is checked before anything loads or trains.
      const defenses = parseDefenseList(flags.defenses);
      const attacks = parseNameList(flags.attacks);
      for (const a of attacks) if (a !== ADAPTIVE_ATTACK) getEvasionAttack(a);
      const epsilons = parseNonNegativeList('--eps', flags.eps);
      const norm = parseNorm(flags.norm);
      const params = parseMatrixParams(
        flags.params,
        defenses.map((d) => d.name),
      );
      const limit = flags.limit ? parsePositiveInt('--limit', flags.limit) : undefined;
      const steps = flags.steps ? parsePositiveInt('--steps', flags.steps) : undefined;
      const queryBudget = flags.queryBudget ? parsePositiveInt('--query-budget', flags.queryBudget) : undefined;
      const backend = await initRuntime();
      const inputs = await loadDefenseInputs(flags);
      const { model } = inputs;
      try {
        const choices: DefenseChoice[] = defenses.map((d) => ({
          name: d.name,
          params: cliDefenseParams(d, params.get(d.name) ?? {}),
        }));
        const progress = createProgress(!flags.quiet && Boolean(process.stderr.isTTY));
        const matrix = await assessDefenses({
          model,
          train: inputs.train,
          calibration: inputs.calibration,
          test: inputs.test,
          defenses: choices,
          attacks,
          epsilons,
          norm,
          seed: inputs.seed,
          limit,
          steps,
          queryBudget,
          progress: !flags.quiet && Boolean(process.stderr.isTTY),
          onProgress: (defense, attack, done, total) => progress.update(`${defense}/${attack}`, done, total),
        }).finally(() => progress.stop());
        const none = matrix.rows[0];
        const report = buildReport({
          model: model.info,
          dataset: datasetSummary(inputs.test),
          cleanAccuracy: none?.cleanAccuracy ?? 0,
          cleanSize: matrix.examples,
          seed: inputs.seed,
          backend,
          command: `aegis ${process.argv.slice(2).join(' ')}`,
          attacks: matrixAttackResults(matrix, model.info.inputRange),
          defenses: matrixDefenses(matrix),
        });
        if (flags.out) {
          const files = await writeReport(flags.out, report);
          cliOutput().err(`report: ${files.json}\n        ${files.html}\n`);
        }
        if (flags.json) cliOutput().out(`${JSON.stringify(report, null, 2)}\n`);
        else {
          cliOutput().out(
            `model ${model.info.name}, ${inputs.test.name}: ${matrix.examples} examples attacked, ${inputs.calibration.shape[0]} for calibration; norm ${norm}\n\n`,
          );
          cliOutput().out(formatMatrix(matrix));
        }
      } finally {
        await model.dispose();
      }
    });
}
