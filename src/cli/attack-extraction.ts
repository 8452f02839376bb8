/** `aegis attack extraction`: steal a model through its prediction API, then attack the victim with the copy. */
import type { Command } from 'commander';
import {
  EXTRACTION_ATTACKS,
  parseExtractionAttack,
  parseKnockoffStrategy,
  runExtractionSuite,
} from '../attacks/extraction/run-extraction.js';
import { parseArchitecture } from '../attacks/extraction/surrogate.js';
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
  parseNumberList,
  parsePositiveInt,
  parsePositiveNumber,
} from './parse-options.js';
import { createProgress } from './progress.js';

interface ExtractionFlags {
  model: string;
  data: string;
  transfer?: string;
  attack: string;
  budget?: string;
  strategy: string;
  surrogateArch?: string;
  epochs?: string;
  batchSize?: string;
  learningRate?: string;
  seedSize?: string;
  rounds?: string;
  lambda?: string;
  tau?: string;
  transferAttack: string;
  transferEps: string;
  transferLimit?: string;
  limit?: string;
  seed: string;
  access?: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

/** Query budgets: positive whole numbers. */
export function parseBudgets(text: string): number[] {
  const values = parseNumberList('--budget', text);
  const bad = values.find((v) => !Number.isInteger(v) || v <= 0);
  if (bad !== undefined) {
    throw new AegisInputError(`--budget: ${bad} is not a positive whole number of queries`);
  }
  return values;
}

const optional = <T>(text: string | undefined, parse: (t: string) => T): T | undefined =>
  text === undefined ? undefined : parse(text);

export function registerExtractionCommand(attack: Command): void {
  attack
    .command('extraction')
    .description('steal a copy of a model through its prediction API; measure fidelity and transfer attacks')
    .requiredOption('--model <path|url>', 'the victim: an .onnx file, a saved model directory, or an http(s) endpoint')
    .requiredOption('--data <path>', 'held-out evaluation data with true labels (never queried by the attacker)')
    .option('--transfer <path>', "the attacker's own data (labels ignored): knockoff's transfer set, jbda's seed pool")
    .option('--attack <names>', `comma-separated: ${EXTRACTION_ATTACKS.join(',')}`, 'knockoff')
    .option('--budget <list>', 'query-budget checkpoints, comma-separated (one row each; equation-solving default d+1)')
    .option('--strategy <list>', 'knockoff query strategies: random, adaptive', 'random')
    .option('--surrogate-arch <arch>', 'surrogate architecture: cnn, mlp or logistic (default cnn for images)')
    .option('--epochs <n>', 'surrogate training epochs (per checkpoint / per jbda round)', '10')
    .option('--batch-size <n>', 'surrogate training batch size', '64')
    .option('--learning-rate <x>', 'surrogate Adam step size', '0.001')
    .option('--seed-size <n>', 'jbda: seed-set size', '150')
    .option('--rounds <n>', 'jbda: substitute training rounds', '6')
    .option('--lambda <x>', 'jbda: augmentation step', '0.1')
    .option('--tau <n>', 'jbda: flip the step sign every tau rounds (periodic step size)')
    .option('--transfer-attack <name>', 'white-box evasion attack crafted on the surrogate (pgd, fgsm) or none', 'pgd')
    .option('--transfer-eps <list>', 'transfer-attack budgets (L-inf)', '0.1')
    .option('--transfer-limit <n>', 'held-out examples attacked through the surrogate', '500')
    .option('--limit <n>', 'use only the first N held-out examples')
    .option('--seed <n>', 'random seed', '0')
    .option('--access <level>', 'what the victim reveals: scores or labels (default: all it grants)')
    .option('--out <dir>', 'write report.json and report.html here')
    .option('--json', 'print the JSON report to stdout')
    .option('--quiet', 'no progress bars')
    .action(async (flags: ExtractionFlags) => {
      // Every flag is checked before anything is loaded or queried.
      const names = parseNameList(flags.attack).map(parseExtractionAttack);
      const budgets = optional(flags.budget, parseBudgets);
      const strategies = parseNameList(flags.strategy).map(parseKnockoffStrategy);
      const surrogate = optional(flags.surrogateArch, parseArchitecture);
      const seed = Number(flags.seed);
      if (!Number.isInteger(seed)) throw new AegisInputError(`--seed takes a whole number, got '${flags.seed}'`);
      const transferAttack = flags.transferAttack.toLowerCase();
      if (!['pgd', 'fgsm', 'none'].includes(transferAttack)) {
        throw new AegisInputError(`--transfer-attack must be pgd, fgsm or none, got '${flags.transferAttack}'`);
      }
      const options = {
        attacks: names,
        budgets,
        strategies,
        seed,
        surrogate,
        epochs: parsePositiveInt('--epochs', flags.epochs ?? '10'),
        batchSize: parsePositiveInt('--batch-size', flags.batchSize ?? '64'),
        learningRate: parsePositiveNumber('--learning-rate', flags.learningRate ?? '0.001'),
        jbda: {
          seedSize: parsePositiveInt('--seed-size', flags.seedSize ?? '150'),
          rounds: parsePositiveInt('--rounds', flags.rounds ?? '6'),
          lambda: parsePositiveNumber('--lambda', flags.lambda ?? '0.1'),
          tau: optional(flags.tau, (t) => parsePositiveInt('--tau', t)),
        },
        transferAttack,
        transferEpsilons: parseNonNegativeList('--transfer-eps', flags.transferEps),
        transferLimit: parsePositiveInt('--transfer-limit', flags.transferLimit ?? '500'),
      };
      if (names.some((n) => n !== 'equation-solving') && flags.transfer === undefined) {
        const needs = names.filter((n) => n !== 'equation-solving').join(', ');
        throw new AegisInputError(`${needs}: needs the attacker's own data; give it with --transfer <path>`);
      }
      const backend = await initRuntime();
      const model = await loadModel(flags.model, { access: parseAccess(flags.access) });
      try {
        const schema = tabularSchemaOf(flags.model);
        let data = await loadDataset(flags.data, { schema });
        if (flags.limit) data = slice(data, 0, parsePositiveInt('--limit', flags.limit));
        const transfer = flags.transfer ? await loadDataset(flags.transfer, { schema, split: 'train' }) : undefined;
        const progress = createProgress(!flags.quiet && Boolean(process.stderr.isTTY));
        const suite = await runExtractionSuite(model, data, transfer, {
          ...options,
          onProgress: progress.update,
        }).finally(() => progress.stop());
        const report = buildReport({
          model: model.info,
          dataset: datasetSummary(data),
          cleanAccuracy: suite.victimAccuracy,
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
