/**
 * `aegis defend <defense>`: applies one defense and says what it costs. Training defenses
 * (pgd-at, fbf, trades, fgsm-rs) train a new model and save it to --out; wrappers print utility
 * before/after (accuracy, calibration error, label agreement); detectors also print the calibrated
 * threshold and the false-positive rate on the test part of --data (never the calibration part).
 */
import type { Command } from 'commander';
import { AegisInputError } from '../core/errors.js';
import { initRuntime, tf } from '../core/runtime.js';
import { toTensor } from '../data/dataset.js';
import { isDetectingModel } from '../defenses/defense.js';
import { flaggedRate } from '../defenses/detection/calibration.js';
import { utilityMetrics } from '../defenses/output/utility.js';
import { cliDefenseParams, defenseNames, getDefense, parseDefenseParams } from '../defenses/registry.js';
import { saveTfjsModel, TfjsModel } from '../models/tfjs-model.js';
import { formatTable } from '../report/print-table.js';
import { loadDefenseInputs } from './defense-data.js';
import { cliOutput } from './io.js';

interface DefendFlags {
  model: string;
  data: string;
  train?: string;
  params?: string;
  calibrationFraction: string;
  seed: string;
  access?: string;
  labelColumn?: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerDefendCommand(program: Command): void {
  program
    .command('defend')
    .description('apply one defense: train a robust model, or wrap the model and measure what it costs')
    .argument('<defense>', defenseNames().join(', '))
    .requiredOption('--model <path>', 'an .onnx file or a saved model directory')
    .option(
      '--data <spec>',
      'held-out data (a seeded part calibrates detectors), e.g. bundled:test[0:500]',
      'bundled:test',
    )
    .option('--train <spec>', 'training data (training defenses, Mahalanobis), e.g. bundled:train[0:5000]')
    .option('--params <list>', 'defense settings, e.g. k=3 or epochs=5,eps=0.1')
    .option('--calibration-fraction <x>', 'share of --data kept aside to calibrate detectors', '0.3')
    .option('--seed <n>', 'random seed', '0')
    .option('--access <level>', 'treat the model as gradients, scores or labels')
    .option('--label-column <name>', 'CSV data: the label column')
    .option('--out <dir>', 'training defenses: save the new model here')
    .option('--json', 'print a JSON summary')
    .option('--quiet', 'no progress bars')
    .action(async (name: string, flags: DefendFlags) => {
      const defense = getDefense(name);
      const params = cliDefenseParams(defense, parseDefenseParams(flags.params ?? ''));
      if (defense.kind === 'training' && !flags.out) {
        throw new AegisInputError(`defense '${name}' trains a new model; give --out <dir> to save it`);
      }
      if (defense.kind === 'training' && !flags.train) {
        throw new AegisInputError(`defense '${name}' trains a new model and needs training data (--train)`);
      }
      await initRuntime();
      const inputs = await loadDefenseInputs(flags);
      const { model, test } = inputs;
      try {
        const t0 = performance.now();
        const defended = await defense.apply(model, {
          train: inputs.train,
          calibration: inputs.calibration,
          seed: inputs.seed,
          progress: !flags.quiet && Boolean(process.stderr.isTTY),
          params,
        });
        const seconds = (performance.now() - t0) / 1000;
        try {
          const before = await utilityMetrics(model, test);
          const after = await utilityMetrics(defended, test, model);
          const summary: Record<string, unknown> = {
            defense: defense.name,
            kind: defense.kind,
            mitigations: defense.mitigations,
            params,
            model: model.info.name,
            data: test.name,
            examples: after.examples,
            access: defended.info.access,
            seconds,
            before,
            after,
            cleanAccuracyCost: before.accuracy - after.accuracy,
          };
          if (isDetectingModel(defended)) {
            const x = toTensor(test);
            const { scores } = await defended.detector.detect(x).finally(() => tf.dispose(x));
            summary.threshold = defended.detector.threshold;
            summary.targetFalsePositiveRate = defended.detector.targetFalsePositiveRate;
            summary.falsePositiveRate = flaggedRate(scores, defended.detector.threshold);
            summary.calibrationExamples = inputs.calibration.shape[0];
          }
          if (flags.out && defended instanceof TfjsModel) {
            summary.saved = (await saveTfjsModel(defended, flags.out)).dir;
          } else if (flags.out) {
            cliOutput().err(`note: '${name}' is a wrapper, not a new model; nothing saved to ${flags.out}\n`);
          }
          if (flags.json) {
            cliOutput().out(`${JSON.stringify(summary, null, 2)}\n`);
            return;
          }
          const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
          cliOutput().out(
            `${defense.name} (${defense.kind}) on ${model.info.name}, ${test.name}: ${after.examples} examples, access ${defended.info.access}, ${seconds.toFixed(1)} s\n\n`,
          );
          cliOutput().out(
            `${formatTable(
              ['', 'accuracy', 'ECE', 'agreement', 'mean confidence'],
              [
                [
                  'before',
                  pct(before.accuracy),
                  before.ece.toFixed(3),
                  pct(before.agreement),
                  before.meanConfidence.toFixed(3),
                ],
                [
                  'after',
                  pct(after.accuracy),
                  after.ece.toFixed(3),
                  pct(after.agreement),
                  after.meanConfidence.toFixed(3),
                ],
              ],
              ['left', 'right', 'right', 'right', 'right'],
            )}\n`,
          );
          if (summary.threshold !== undefined) {
            cliOutput().out(
              `\nthreshold ${Number(summary.threshold).toPrecision(4)} (target FPR ${pct(Number(summary.targetFalsePositiveRate))}, calibrated on ${summary.calibrationExamples} examples); clean FPR on the test part ${pct(Number(summary.falsePositiveRate))}\n`,
            );
          }
          if (summary.saved) cliOutput().out(`\nsaved ${summary.saved}\n`);
        } finally {
          if (defended !== model) await defended.dispose();
        }
      } finally {
        await model.dispose();
      }
    });
}
