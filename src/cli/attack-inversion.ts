/**
 * `aegis attack inversion`: reconstruct what a face (or any image) classifier learned about each
 * class with MI-Face, and score the reconstructions with a separate evaluation classifier and
 * SSIM against the class-mean images of --data.
 */
import type { Command } from 'commander';
import { type GradientSource, parseGradientSource } from '../attacks/inversion/gradient-source.js';
import { runInversion } from '../attacks/inversion/run-inversion.js';
import { AegisInputError } from '../core/errors.js';
import { initRuntime } from '../core/runtime.js';
import type { Dataset } from '../data/dataset.js';
import { loadDataset } from '../data/load-dataset.js';
import { evaluateAccuracy } from '../models/evaluate.js';
import { loadModel } from '../models/load-model.js';
import { type Model, requireAccess, requireGradients } from '../models/model.js';
import { parseArchitecture, trainClassifier } from '../models/train-classifier.js';
import { buildReport, datasetSummary } from '../report/build-report.js';
import { emitReport } from './emit-report.js';
import {
  parseAccess,
  parseNonNegativeInt,
  parseNumberList,
  parsePositiveInt,
  parsePositiveNumber,
} from './parse-options.js';
import { createProgress } from './progress.js';

export const INVERSION_ATTACKS = ['mi-face'] as const;

interface InversionFlags {
  model: string;
  data: string;
  attack: string;
  classes: string;
  gradient: string;
  steps?: string;
  stepSize?: string;
  patience?: string;
  confidence?: string;
  process: string;
  budget?: string;
  directions?: string;
  downscale?: string;
  evalModel?: string;
  evalArch: string;
  evalEpochs: string;
  access?: string;
  seed: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

/** `all`, or a comma-separated list of class names (as in --data) or indices. */
export function parseClassList(text: string, classNames: string[]): number[] {
  if (text.trim().toLowerCase() === 'all') return classNames.map((_, k) => k);
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) throw new AegisInputError(`--classes takes 'all' or a comma-separated list, got '${text}'`);
  return items.map((item) => {
    const byName = classNames.indexOf(item);
    if (byName >= 0) return byName;
    const index = Number(item);
    if (Number.isInteger(index) && index >= 0 && index < classNames.length) return index;
    const shown = classNames.length > 12 ? `${classNames.slice(0, 12).join(', ')}, …` : classNames.join(', ');
    throw new AegisInputError(
      `--classes: unknown class '${item}'; the data has ${classNames.length} classes (${shown}) or give indices 0 … ${classNames.length - 1}`,
    );
  });
}

function parseProcess(text: string): 'none' | 'denoise-sharpen' {
  if (text !== 'none' && text !== 'denoise-sharpen') {
    throw new AegisInputError(`--process must be none or denoise-sharpen, got '${text}'`);
  }
  return text;
}

/** The evaluation classifier: --eval-model, or one trained here on --data with another seed. */
async function evaluationModel(flags: InversionFlags, data: Dataset, seed: number): Promise<Model> {
  if (flags.evalModel) return loadModel(flags.evalModel, { access: 'labels' });
  const arch = parseArchitecture(flags.evalArch);
  const epochs = parsePositiveInt('--eval-epochs', flags.evalEpochs);
  const { model } = await trainClassifier(arch, data, {
    epochs,
    seed: seed + 1000,
    name: `${data.name}-eval-${arch}`,
    progress: !flags.quiet && Boolean(process.stderr.isTTY),
  });
  return model;
}

export function registerInversionCommand(attack: Command): void {
  attack
    .command('inversion')
    .description('model inversion (MI-Face): reconstruct each class from the model, scored by identification and SSIM')
    .requiredOption('--model <path|url>', 'the victim: an .onnx file, a saved model directory, or an http(s) endpoint')
    .requiredOption(
      '--data <path>',
      'training-like images of the same classes (class list and class-mean images), e.g. an image folder',
    )
    .option('--attack <name>', INVERSION_ATTACKS.join(','), 'mi-face')
    .option('--classes <list>', "'all' or class names/indices, comma-separated", 'all')
    .option('--gradient <source>', 'white-box (model gradients) or zeroth-order (scores only)', 'white-box')
    .option('--steps <n>', 'α: maximum descent iterations per class (default 1000)')
    .option('--step-size <x>', 'λ: gradient step (default 0.1)')
    .option('--patience <n>', 'β: stop after this many iterations without a lower cost (default 100)')
    .option('--confidence <p>', 'γ: stop once the target confidence reaches this (default 0.99)')
    .option('--process <name>', 'after each step: none or denoise-sharpen', 'none')
    .option('--budget <n>', 'zeroth-order: model queries allowed per class')
    .option('--directions <q>', 'zeroth-order: random directions per step (2 queries each; default 50)')
    .option('--downscale <k>', 'image folders: shrink images by this integer factor')
    .option('--eval-model <path>', 'evaluation classifier (default: train one on --data)')
    .option(
      '--eval-arch <arch>',
      'architecture of the evaluation classifier trained when --eval-model is absent',
      'mlp',
    )
    .option('--eval-epochs <n>', 'its training epochs', '60')
    .option('--access <level>', 'treat the victim as gradients, scores or labels (default: all it grants)')
    .option('--seed <n>', 'random seed', '0')
    .option('--out <dir>', 'write report.json and report.html here')
    .option('--json', 'print the JSON report to stdout')
    .option('--quiet', 'no progress bars')
    .action(async (flags: InversionFlags) => {
      if (!(INVERSION_ATTACKS as readonly string[]).includes(flags.attack.trim().toLowerCase())) {
        throw new AegisInputError(
          `unknown inversion attack '${flags.attack}'; choose one of ${INVERSION_ATTACKS.join(', ')}`,
        );
      }
      const gradient: GradientSource = parseGradientSource(flags.gradient);
      const seed = Number(flags.seed);
      if (!Number.isInteger(seed)) throw new AegisInputError(`--seed takes a whole number, got '${flags.seed}'`);
      const budget = flags.budget === undefined ? undefined : parseNonNegativeInt('--budget', flags.budget);
      if (gradient === 'zeroth-order' && !budget) {
        throw new AegisInputError(
          `--gradient zeroth-order needs --budget > 0 (model queries per class), got ${budget ?? 'none'}`,
        );
      }
      const options = {
        steps: flags.steps ? parsePositiveInt('--steps', flags.steps) : undefined,
        stepSize: flags.stepSize ? parsePositiveNumber('--step-size', flags.stepSize) : undefined,
        patience: flags.patience ? parsePositiveInt('--patience', flags.patience) : undefined,
        confidence: flags.confidence ? parseNumberList('--confidence', flags.confidence)[0] : undefined,
        process: parseProcess(flags.process),
        directions: flags.directions ? parsePositiveInt('--directions', flags.directions) : undefined,
      };
      const downscale = flags.downscale ? parsePositiveInt('--downscale', flags.downscale) : undefined;
      const backend = await initRuntime();
      const data = await loadDataset(flags.data, { split: 'train', downscale });
      const classes = parseClassList(flags.classes, data.classNames);
      const model = await loadModel(flags.model, { access: parseAccess(flags.access) });
      let evaluator: Model | undefined;
      try {
        // Access errors before the evaluation classifier is trained.
        if (gradient === 'white-box') requireGradients(model, 'MI-Face with white-box gradients');
        else requireAccess(model, 'scores', 'MI-Face with zeroth-order gradients');
        evaluator = await evaluationModel(flags, data, seed);
        const progress = createProgress(!flags.quiet && Boolean(process.stderr.isTTY));
        const result = await runInversion(model, data, {
          ...options,
          gradient,
          budget,
          classes,
          seed,
          evaluator,
          onProgress: (done, total) => progress.update('mi-face', done, total),
        }).finally(() => progress.stop());
        const report = buildReport({
          model: model.info,
          dataset: datasetSummary(data),
          cleanAccuracy: await evaluateAccuracy(model, data),
          seed,
          backend,
          command: `aegis ${process.argv.slice(2).join(' ')}`,
          attacks: [result],
        });
        await emitReport(report, { out: flags.out, json: flags.json });
      } finally {
        await evaluator?.dispose();
        await model.dispose();
      }
    });
}
