/** `aegis attack evasion`: adversarial examples against a model, one report row per budget. */
import type { Command } from 'commander';
import { evasionAttackNames, getEvasionAttack } from '../attacks/evasion/registry.js';
import { runEvasionSuite } from '../attacks/evasion/run-evasion.js';
import { AegisInputError } from '../core/errors.js';
import { initRuntime } from '../core/runtime.js';
import { slice } from '../data/dataset.js';
import { loadDataset } from '../data/load-dataset.js';
import { loadModel, tabularSchemaOf } from '../models/load-model.js';
import { buildReport, datasetSummary } from '../report/build-report.js';
import { emitReport } from './emit-report.js';
import {
  parseAccess,
  parseNameList,
  parseNonNegativeList,
  parseNorm,
  parseNumberList,
  parsePositiveInt,
  parsePositiveNumber,
} from './parse-options.js';
import { createProgress } from './progress.js';

interface EvasionFlags {
  model: string;
  data: string;
  attack: string;
  eps: string;
  norm: string;
  steps?: string;
  stepSize?: string;
  restarts?: string;
  queryBudget?: string;
  batchSize?: string;
  limit?: string;
  seed: string;
  access?: string;
  labelColumn?: string;
  inputShape?: string;
  numClasses?: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerEvasionCommand(attack: Command): void {
  attack
    .command('evasion')
    .description('craft adversarial examples (white-box and black-box) and measure accuracy under attack')
    .requiredOption('--model <path|url>', 'an .onnx file, a saved model directory, or an http(s) endpoint')
    .requiredOption('--data <path>', 'test data: .npz, IDX (raw or .gz), .csv, a Fashion-MNIST folder, or "bundled"')
    .option('--attack <names>', `comma-separated: ${evasionAttackNames().join(',')}`, 'fgsm,pgd')
    .option('--eps <list>', 'perturbation budgets, comma-separated', '0.03,0.1,0.2')
    .option('--norm <norm>', 'linf or l2', 'linf')
    .option('--steps <n>', 'iterations (PGD, C&W, DeepFool, HSJ) or queries per example (Square)')
    .option('--step-size <x>', 'PGD step size (absolute; default 2.5·eps/steps)')
    .option('--restarts <n>', 'PGD random restarts')
    .option('--query-budget <n>', 'queries per example for black-box attacks')
    .option('--batch-size <n>', 'examples per batch')
    .option('--limit <n>', 'attack only the first N examples')
    .option('--seed <n>', 'random seed', '0')
    .option('--access <level>', 'treat the model as gradients, scores or labels (default: all it grants)')
    .option('--label-column <name>', 'CSV data: the label column')
    .option('--input-shape <dims>', "http endpoints: one example's shape, e.g. 28,28,1")
    .option('--num-classes <k>', 'http endpoints: number of classes')
    .option('--out <dir>', 'write report.json and report.html here')
    .option('--json', 'print the JSON report to stdout')
    .option('--quiet', 'no progress bars')
    .action(async (flags: EvasionFlags) => {
      const names = parseNameList(flags.attack);
      names.forEach(getEvasionAttack); // unknown names fail before any loading
      const epsilons = parseNonNegativeList('--eps', flags.eps);
      const norm = parseNorm(flags.norm);
      const seed = Number(flags.seed);
      if (!Number.isInteger(seed)) throw new AegisInputError(`--seed takes a whole number, got '${flags.seed}'`);
      const backend = await initRuntime();
      const model = await loadModel(flags.model, {
        access: parseAccess(flags.access),
        inputShape: flags.inputShape ? parseNumberList('--input-shape', flags.inputShape) : undefined,
        numClasses: flags.numClasses ? parsePositiveInt('--num-classes', flags.numClasses) : undefined,
      });
      try {
        let data = await loadDataset(flags.data, {
          labelColumn: flags.labelColumn,
          schema: tabularSchemaOf(flags.model),
        });
        if (flags.limit) data = slice(data, 0, parsePositiveInt('--limit', flags.limit));
        const progress = createProgress(!flags.quiet && Boolean(process.stderr.isTTY));
        const suite = await runEvasionSuite(model, data, {
          attacks: names,
          epsilons,
          norm,
          seed,
          steps: flags.steps ? parsePositiveInt('--steps', flags.steps) : undefined,
          stepSize: flags.stepSize ? parsePositiveNumber('--step-size', flags.stepSize) : undefined,
          restarts: flags.restarts ? parsePositiveInt('--restarts', flags.restarts) : undefined,
          queryBudget: flags.queryBudget ? parsePositiveInt('--query-budget', flags.queryBudget) : undefined,
          batchSize: flags.batchSize ? parsePositiveInt('--batch-size', flags.batchSize) : undefined,
          onProgress: progress.update,
        }).finally(() => progress.stop());
        const report = buildReport({
          model: model.info,
          dataset: datasetSummary(data),
          cleanAccuracy: suite.cleanAccuracy,
          seed,
          backend,
          command: `aegis ${process.argv.slice(2).join(' ')}`,
          attacks: suite.results,
        });
        await emitReport(report, { out: flags.out, json: flags.json });
      } finally {
        await model.dispose();
      }
    });
}
