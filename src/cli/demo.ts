/**
 * `aegis demo` (what `npm start` runs): the whole default story on bundled data.
 * Train the small CNN on the bundled Fashion-MNIST subset (or reuse the cached one), run
 * the evasion suite — white-box and black-box, L-inf and L2, three budgets each — write
 * the report and print the table.
 */

import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { EvasionResult } from '../attacks/evasion/evasion-attack.js';
import { runEvasionSuite } from '../attacks/evasion/run-evasion.js';
import { initRuntime } from '../core/runtime.js';
import { slice } from '../data/dataset.js';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { evaluateAccuracy } from '../models/evaluate.js';
import { loadTfjsModel, saveTfjsModel, type TfjsModel } from '../models/tfjs-model.js';
import { trainingSummary } from '../models/train.js';
import { trainClassifier } from '../models/train-classifier.js';
import { buildReport, datasetSummary } from '../report/build-report.js';
import { emitReport } from './emit-report.js';
import { cliOutput } from './io.js';
import { parseNonNegativeInt, parsePositiveInt } from './parse-options.js';
import { createProgress } from './progress.js';

/** The demo's suites: each norm has its own budgets (an L2 budget of 1 is small; an L-inf one is not). */
const SUITES = [
  { norm: 'linf' as const, attacks: ['fgsm', 'pgd', 'square'], epsilons: [0.03, 0.1, 0.2] },
  { norm: 'l2' as const, attacks: ['deepfool', 'cw', 'hsj'], epsilons: [0.5, 1, 2] },
];

interface DemoFlags {
  modelDir: string;
  out: string;
  limit: string;
  epochs: string;
  seed: string;
  retrain?: boolean;
  json?: boolean;
}

async function defaultModel(flags: DemoFlags, seed: number): Promise<TfjsModel> {
  if (!flags.retrain && existsSync(flags.modelDir)) {
    cliOutput().err(`using the cached default model in ${flags.modelDir} (--retrain to train it again)\n`);
    return loadTfjsModel(flags.modelDir);
  }
  const train = await loadFashionMnist({ split: 'train', source: 'bundled' });
  const options = {
    epochs: parsePositiveInt('--epochs', flags.epochs),
    seed,
    validation: 0.1,
    earlyStopping: { patience: 2 },
    progress: true,
  };
  cliOutput().err(`training the small CNN on ${train.shape[0]} bundled Fashion-MNIST images…\n`);
  const { model, result } = await trainClassifier('cnn', train, { ...options, name: 'fashion-mnist-cnn' });
  await saveTfjsModel(model, flags.modelDir, { training: trainingSummary(result, options, train) });
  return loadTfjsModel(flags.modelDir); // reload so the report carries the saved files' SHA-256
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('train (or reuse) the default model on bundled data, attack it, write a report')
    .option('--model-dir <dir>', 'where the default model is cached', '.cache/default-model')
    .option('--out <dir>', 'report folder', 'out/demo')
    .option('--limit <n>', 'test images to attack', '100')
    .option('--epochs <n>', 'training epochs when no cached model exists', '8')
    .option('--seed <n>', 'random seed', '0')
    .option('--retrain', 'train the default model again even if cached')
    .option('--json', 'print the JSON report to stdout')
    .action(async (flags: DemoFlags) => {
      const seed = parseNonNegativeInt('--seed', flags.seed);
      const backend = await initRuntime();
      const model = await defaultModel(flags, seed);
      const test = await loadFashionMnist({ split: 'test', source: 'bundled' });
      cliOutput().err(
        `clean accuracy on the ${test.shape[0]} bundled test images: ${(await evaluateAccuracy(model, test)).toFixed(4)}\n`,
      );
      const data = slice(test, 0, parsePositiveInt('--limit', flags.limit));
      const progress = createProgress();
      const results: EvasionResult[] = [];
      let cleanAccuracy = 0;
      try {
        for (const suite of SUITES) {
          const run = await runEvasionSuite(model, data, { ...suite, seed, onProgress: progress.update });
          cleanAccuracy = run.cleanAccuracy;
          results.push(...run.results);
        }
      } finally {
        progress.stop();
      }
      const report = buildReport({
        model: model.info,
        dataset: datasetSummary(data),
        cleanAccuracy,
        seed,
        backend,
        command: 'aegis demo',
        attacks: results,
      });
      await emitReport(report, { out: flags.out, json: flags.json });
      model.dispose();
    });
}
