/**
 * `aegis poison detect`: look for poisoned rows in a training set. Trains the victim recipe on the
 * data (or loads a model trained on it), reads its penultimate-layer representations and runs the
 * chosen detectors (spectral signatures, activation clustering, label consistency); prints how
 * many rows each flags, overall and per class (`--json`: the flagged indices), and optionally
 * writes the data without the flagged rows as .npz (arrays x and y, as the loaders read them).
 */
import type { Command } from 'commander';
import { architectureVictim, defaultArchitecture } from '../attacks/poisoning/victims.js';
import { AegisInputError } from '../core/errors.js';
import { initRuntime } from '../core/runtime.js';
import { type Dataset, size, take } from '../data/dataset.js';
import { writeNpzFile } from '../data/npz.js';
import { DEFAULT_EXPECTED_POISON_FRACTION } from '../defenses/poison/detection-input.js';
import { POISON_DETECTOR_NAMES, POISON_DETECTORS, parsePoisonDetectors } from '../defenses/poison/registry.js';
import { detectPoison, type PoisonDetectionRun } from '../defenses/poison/run-poison-defense.js';
import { loadModel } from '../models/load-model.js';
import type { Model } from '../models/model.js';
import { parseArchitecture } from '../models/train-classifier.js';
import { formatTable } from '../report/print-table.js';
import { loadDataSpec } from './data-spec.js';
import { cliOutput } from './io.js';
import { parseNonNegativeInt, parsePositiveInt } from './parse-options.js';
import {
  addClusteringOptions,
  addLabelKnnOptions,
  type ClusteringFlags,
  type LabelKnnFlags,
  parseClusteringFlags,
  parseLabelKnnFlags,
  parseReclassificationEpochs,
} from './poisoning-defenses.js';

interface DetectFlags extends ClusteringFlags, LabelKnnFlags {
  data: string;
  model?: string;
  arch?: string;
  epochs: string;
  methods: string;
  expectedFraction: string;
  seed: string;
  labelMethod: string;
  labelRepresentation: string;
  reduction: string;
  folds: string;
  labelColumn?: string;
  writeClean?: string;
  json?: boolean;
  quiet?: boolean;
}

const LABEL_METHODS = ['auto', 'knn', 'confident-learning'] as const;

function parseExpectedFraction(text: string): number {
  const value = Number(text);
  if (!(Number.isFinite(value) && value > 0 && value <= 0.5)) {
    throw new AegisInputError(`--expected-fraction takes a fraction in (0, 0.5], got '${text}'`);
  }
  return value;
}

function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new AegisInputError(`${flag} must be one of ${allowed.join(', ')}, got '${text}'`);
  }
  return text as T;
}

/** Flagged rows per class, for each run. */
function perClass(run: PoisonDetectionRun, data: Dataset): number[] {
  const counts = new Array<number>(data.classNames.length).fill(0);
  for (const i of run.flagged) counts[data.y[i] as number]++;
  return counts;
}

function formatText(data: Dataset, modelName: string, runs: PoisonDetectionRun[], eps: number): string {
  const n = size(data);
  const lines = [
    `poison detection on ${data.name}: ${n} rows, ${data.classNames.length} classes; representations from ${modelName}; expected poison fraction ${eps}`,
    '',
    formatTable(
      ['method', 'flagged', 'share', 'seconds'],
      runs.map((r) => [
        r.method,
        String(r.flagged.length),
        `${((100 * r.flagged.length) / n).toFixed(1)}%`,
        r.seconds.toFixed(1),
      ]),
      ['left', 'right', 'right', 'right'],
    ),
    '',
    'flagged rows per class:',
  ];
  const classRows = new Array<number>(data.classNames.length).fill(0);
  for (const y of data.y) classRows[y]++;
  const counts = runs.map((r) => perClass(r, data));
  lines.push(
    formatTable(
      ['class', 'rows', ...runs.map((r) => r.method)],
      data.classNames.map((name, c) => [`${c} ${name}`, String(classRows[c]), ...counts.map((k) => String(k[c]))]),
      ['left', 'right', ...runs.map(() => 'right' as const)],
    ),
  );
  return `${lines.join('\n')}\n`;
}

/** The rows no run flagged, as .npz (x float32 in the data's shape, y int32). */
function writeClean(path: string, data: Dataset, runs: PoisonDetectionRun[]): { kept: number; removed: number } {
  const n = size(data);
  const drop = new Uint8Array(n);
  for (const r of runs) for (const i of r.flagged) drop[i] = 1;
  const keep: number[] = [];
  for (let i = 0; i < n; i++) if (!drop[i]) keep.push(i);
  if (keep.length === 0) throw new AegisInputError(`--write-clean: every row was flagged; nothing to write`);
  const kept = take(data, keep);
  try {
    writeNpzFile(path, {
      x: { dtype: 'float32', shape: kept.shape, data: kept.x },
      y: { dtype: 'int32', shape: [keep.length], data: kept.y },
    });
  } catch (error) {
    throw new AegisInputError(`--write-clean: cannot write '${path}': ${(error as Error).message}`);
  }
  return { kept: keep.length, removed: n - keep.length };
}

export function registerPoisonCommand(program: Command): void {
  const poison = program.command('poison').description('find poisoned rows in training data');
  const detect = poison
    .command('detect')
    .description('flag suspicious training rows: spectral signatures, activation clustering, label consistency')
    .requiredOption('--data <data>', 'the training data, e.g. bundled:train[0:2000] or train.npz')
    .option('--model <dir>', 'a tfjs model trained on this data (default: train one with --arch/--epochs)')
    .option('--arch <arch>', 'victim architecture to train: cnn, mlp or logistic (default: cnn for images, else mlp)')
    .option('--epochs <n>', 'training epochs of the victim (and of cross-validation models)', '10')
    .option('--methods <names>', `comma-separated: ${POISON_DETECTOR_NAMES.join(',')}`, POISON_DETECTOR_NAMES.join(','))
    .option(
      '--expected-fraction <x>',
      'budgeted poisoned share of a class, in (0, 0.5] (spectral signatures remove 1.5x it per class)',
      String(DEFAULT_EXPECTED_POISON_FRACTION),
    )
    .option('--label-method <m>', `label consistency: ${LABEL_METHODS.join(', ')}`, 'auto')
    .option(
      '--label-representation <r>',
      'label consistency k-NN: activations (the victim) or inputs (the rows; finds relabelled backdoor images)',
      'activations',
    )
    .option('--reduction <r>', 'activation clustering: pca (unwhitened) or ica (the paper)', 'pca')
    .option('--folds <n>', 'cross-validation folds for confident learning', '4')
    .option('--seed <n>', 'random seed', '0')
    .option('--label-column <name>', 'CSV data: the label column')
    .option('--write-clean <file.npz>', 'write the data without the rows any chosen method flagged')
    .option('--json', 'print JSON (flagged indices per method)')
    .option('--quiet', 'no progress messages');
  addClusteringOptions(addLabelKnnOptions(detect)).action(async (flags: DetectFlags) => {
    const methods = parsePoisonDetectors(flags.methods);
    const eps = parseExpectedFraction(flags.expectedFraction);
    const seed = parseNonNegativeInt('--seed', flags.seed);
    const epochs = parsePositiveInt('--epochs', flags.epochs);
    const folds = parsePositiveInt('--folds', flags.folds);
    if (folds < 2) throw new AegisInputError(`--folds takes a whole number >= 2, got '${flags.folds}'`);
    const labelMethod = oneOf('--label-method', flags.labelMethod, LABEL_METHODS);
    const labelRepresentation = oneOf('--label-representation', flags.labelRepresentation, [
      'activations',
      'inputs',
    ] as const);
    const reduction = oneOf('--reduction', flags.reduction, ['ica', 'pca'] as const);
    const clustering = parseClusteringFlags(flags);
    const knn = parseLabelKnnFlags(flags);
    const reclassificationEpochs = parseReclassificationEpochs(flags);
    const arch = flags.arch === undefined ? undefined : parseArchitecture(flags.arch);
    if (flags.writeClean !== undefined && !flags.writeClean.toLowerCase().endsWith('.npz')) {
      throw new AegisInputError(`--write-clean writes .npz files; got '${flags.writeClean}'`);
    }
    await initRuntime();
    const data = await loadDataSpec('--data', flags.data, { split: 'train', labelColumn: flags.labelColumn });
    const trainVictim = architectureVictim(arch ?? defaultArchitecture(data), { epochs });
    const say = (text: string) => {
      if (!flags.quiet && !flags.json) cliOutput().err(`${text}\n`);
    };
    let model: Model;
    if (flags.model) {
      model = await loadModel(flags.model, { access: 'gradients' });
    } else {
      say(`training ${arch ?? defaultArchitecture(data)} for ${epochs} epochs on ${size(data)} rows`);
      model = await trainVictim(data, seed);
    }
    let runs: PoisonDetectionRun[];
    try {
      runs = await detectPoison({
        train: data,
        model,
        detectors: methods,
        expectedPoisonFraction: eps,
        seed,
        trainVictim,
        folds,
        detectorOptions: {
          labelConsistency: { method: labelMethod, representation: labelRepresentation, ...knn },
          activationClustering: { reduction, ...clustering },
        },
        ...(reclassificationEpochs !== undefined
          ? {
              reclassificationTrainer: architectureVictim(arch ?? defaultArchitecture(data), {
                epochs: reclassificationEpochs,
              }),
            }
          : {}),
        onProgress: say,
      });
    } finally {
      await model.dispose();
    }
    const clean = flags.writeClean ? writeClean(flags.writeClean, data, runs) : undefined;
    if (flags.json) {
      const doc = {
        data: { name: data.name, rows: size(data), classes: data.classNames },
        model: model.info.name,
        expectedPoisonFraction: eps,
        seed,
        methods: runs.map((r) => ({
          method: r.method,
          citation: POISON_DETECTORS[r.method as (typeof methods)[number]].citation,
          flaggedCount: r.flagged.length,
          perClass: perClass(r, data),
          seconds: r.seconds,
          flagged: Array.from(r.flagged),
        })),
        ...(clean ? { clean: { path: flags.writeClean, ...clean } } : {}),
      };
      cliOutput().out(`${JSON.stringify(doc)}\n`);
    } else {
      cliOutput().out(formatText(data, model.info.name, runs, eps));
      if (clean) {
        cliOutput().out(`wrote ${clean.kept} rows to ${flags.writeClean} (${clean.removed} flagged rows left out)\n`);
      }
    }
  });
}
