/** `aegis train`: train a classifier (default: the small CNN on the bundled Fashion-MNIST). */

import type { Command } from 'commander';
import { AegisInputError } from '../core/errors.js';
import { initRuntime } from '../core/runtime.js';
import { slice } from '../data/dataset.js';
import { loadDataset } from '../data/load-dataset.js';
import type { TabularDataset } from '../data/tabular-schema.js';
import { openLineageStore } from '../defenses/lineage/graph.js';
import { linkModelToDataset } from '../defenses/lineage/link.js';
import { readManifest } from '../defenses/lineage/manifest.js';
import { evaluateAccuracy } from '../models/evaluate.js';
import { saveTfjsModel } from '../models/tfjs-model.js';
import { trainingSummary } from '../models/train.js';
import { parseArchitecture, trainClassifier } from '../models/train-classifier.js';
import { cliOutput } from './io.js';
import { parseNonNegativeInt, parsePositiveInt, parsePositiveNumber } from './parse-options.js';

interface TrainFlags {
  data: string;
  testData?: string;
  arch: string;
  epochs: string;
  batchSize: string;
  lr: string;
  seed: string;
  limit?: string;
  validation: string;
  patience?: string;
  labelColumn?: string;
  out: string;
  lineage?: string;
  store?: string;
}

/** Keyword and folder datasets have train/test splits; files are used as given. */
function hasSplits(path: string): boolean {
  return ['bundled', 'fashion-mnist', 'fashion-mnist-full'].includes(path);
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('train a classifier and save it as a model directory')
    .option('--data <path>', 'training data: "bundled", .npz, IDX, .csv, or a Fashion-MNIST folder', 'bundled')
    .option('--test-data <path>', 'held-out data to report accuracy on (default: the test split of keyword data)')
    .option('--arch <name>', 'cnn, mlp or logistic', 'cnn')
    .option('--epochs <n>', 'training epochs', '5')
    .option('--batch-size <n>', 'examples per step', '64')
    .option('--lr <x>', 'Adam learning rate', '0.001')
    .option('--seed <n>', 'random seed (weights and shuffling)', '0')
    .option('--limit <n>', 'use only the first N training examples')
    .option('--validation <fraction>', 'fraction held out for validation and early stopping', '0.1')
    .option('--patience <n>', 'early stopping: epochs without improvement before stopping')
    .option('--label-column <name>', 'CSV data: the label column')
    .requiredOption('--out <dir>', 'where to save the model')
    .option('--lineage <manifest>', 'lineage manifest of the training data: records dataset → model in the store')
    .option('--store <path>', 'lineage store for --lineage (default: $AEGIS_STORE or ./.aegis/aegis.db)')
    .action(async (flags: TrainFlags) => {
      const arch = parseArchitecture(flags.arch);
      const validation = Number(flags.validation);
      if (!(validation >= 0 && validation < 1)) {
        throw new AegisInputError(`--validation takes a fraction in [0, 1), got '${flags.validation}'`);
      }
      const seed = parseNonNegativeInt('--seed', flags.seed);
      if (flags.lineage) readManifest(flags.lineage); // a bad manifest fails before training, not after
      await initRuntime();
      let train = await loadDataset(flags.data, { split: 'train', labelColumn: flags.labelColumn });
      if (flags.limit) train = slice(train, 0, parsePositiveInt('--limit', flags.limit));
      const options = {
        epochs: parsePositiveInt('--epochs', flags.epochs),
        batchSize: parsePositiveInt('--batch-size', flags.batchSize),
        learningRate: parsePositiveNumber('--lr', flags.lr),
        seed,
        validation: validation > 0 ? validation : undefined,
        earlyStopping: flags.patience ? { patience: parsePositiveInt('--patience', flags.patience) } : undefined,
        progress: Boolean(process.stderr.isTTY),
      };
      const { model, result } = await trainClassifier(arch, train, options);
      const schema = (train as Partial<TabularDataset>).schema;
      const saved = await saveTfjsModel(model, flags.out, {
        training: trainingSummary(result, options, train),
        tabular: schema as Record<string, unknown> | undefined,
      });
      const last = result.history[result.history.length - 1];
      cliOutput().out(
        `trained ${arch} on ${train.shape[0]} examples of ${train.name}: ${result.history.length} epochs, ` +
          `train accuracy ${last?.accuracy.toFixed(4)}${last?.valAccuracy !== undefined ? `, validation ${last.valAccuracy.toFixed(4)}` : ''}\n`,
      );
      const testPath = flags.testData ?? (hasSplits(flags.data) ? flags.data : undefined);
      if (testPath) {
        const test = await loadDataset(testPath, { split: 'test', labelColumn: flags.labelColumn, schema });
        cliOutput().out(
          `test accuracy ${(await evaluateAccuracy(model, test)).toFixed(4)} on ${test.shape[0]} examples\n`,
        );
      }
      cliOutput().out(`saved to ${saved.dir} (sha256 ${saved.sha256})\n`);
      model.dispose();
      if (flags.lineage) {
        const db = openLineageStore(flags.store);
        try {
          const { dataset } = await linkModelToDataset(db, flags.lineage, saved.dir);
          cliOutput().out(`lineage: dataset ${dataset.name} → model ${saved.dir}\n`);
        } finally {
          db.close();
        }
      }
    });
}
