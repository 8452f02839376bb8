/**
 * `aegis monitor --reference A --current B [--model M] [--window N] [--json]`: the gateway's drift detectors, offline.
 * A is the reference; B is cut into windows of N examples (default: all of B in one window, a shorter tail is tested
 * too) and each window is compared with A by KS and PSI per feature, MMD on an embedding and, with a model, χ² on
 * the predicted labels and the drop in mean confidence. Exit 1 when any detector finds drift, 0 when none does,
 * 2 on bad input.
 */
import type { Command } from 'commander';
import { AegisInputError } from '../core/errors.js';
import { initRuntime } from '../core/runtime.js';
import type { MonitoringConfig } from '../gateway/config.js';
import { loadModel, tabularSchemaOf } from '../models/load-model.js';
import type { Model } from '../models/model.js';
import { formatFigure as f } from '../monitoring/drift-alert.js';
import { EMBEDDINGS, type EmbeddingKind } from '../monitoring/embedding.js';
import { createModelMonitor } from '../monitoring/model-monitor.js';
import { modelScores } from '../monitoring/model-scores.js';
import type { DetectorResult, MonitoringReport, WindowEvaluation } from '../monitoring/types.js';
import { cliOutput, requestExitCode } from './io.js';
import { loadMonitorInputs, type MonitorInputs } from './monitor-inputs.js';
import { parsePositiveInt, parsePositiveNumber } from './parse-options.js';

interface MonitorFlags {
  reference: string;
  current: string;
  model?: string;
  window?: string;
  alpha: string;
  psiThreshold: string;
  confidenceDrop: string;
  embedding: string;
  seed: string;
  labelColumn?: string;
  numClasses?: string;
  json?: boolean;
}

function parseFraction(flag: string, text: string, max: number, inclusive: boolean): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0 || (inclusive ? v > max : v >= max)) {
    throw new AegisInputError(`${flag} takes a number in (0, ${max}${inclusive ? ']' : ')'}, got '${text}'`);
  }
  return v;
}

function describeResult(r: DetectorResult): string {
  const d = r.detail;
  const verdict = r.drift ? 'DRIFT' : 'ok   ';
  const name = r.detector.padEnd(11);
  switch (r.detector) {
    case 'ks':
      return `${name}${verdict}  D=${f(r.statistic)} p=${f(r.pValue as number)} (threshold ${f(r.threshold)}: α=${d.alpha} Bonferroni over ${d.features} features; ${d.driftedFeatures} drifted)`;
    case 'psi':
      return `${name}${verdict}  max PSI ${f(r.statistic)}, mean ${f(d.meanPsi as number)} (threshold ${f(r.threshold)}; ${d.featuresAbove} features above)`;
    case 'mmd':
      return `${name}${verdict}  MMD²=${f(r.statistic)} p=${f(r.pValue as number)} (α ${f(r.threshold)}; ${d.embedding} embedding, ${d.dims} dims)`;
    case 'chi-square':
      return `${name}${verdict}  χ²=${f(r.statistic)} df=${d.df} p=${f(r.pValue as number)} (α ${f(r.threshold)})`;
    case 'confidence':
      return `${name}${verdict}  drop ${f(r.statistic)} (${f(d.referenceMean as number)} → ${f(d.currentMean as number)}; threshold ${f(r.threshold)})`;
  }
}

function describeWindow(e: WindowEvaluation): string {
  const lines = e.results.map((r) => `  ${describeResult(r)}\n`).join('');
  return `window ${e.window} (examples ${e.firstExample}–${e.firstExample + e.examples - 1}):\n${lines}`;
}

function sameSize(a: MonitorInputs, b: MonitorInputs): void {
  const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
  if (size(a.featureShape) !== size(b.featureShape)) {
    throw new AegisInputError(
      `--current: examples of '${b.name}' have shape [${b.featureShape}] but those of --reference '${a.name}' have [${a.featureShape}]`,
    );
  }
}

export function registerMonitorCommand(program: Command): void {
  program
    .command('monitor')
    .description(
      'detect drift between reference and current data offline (KS, PSI, MMD; χ² and confidence with --model)',
    )
    .requiredOption(
      '--reference <data>',
      'reference data: .npz/.npy/.csv/IDX, a folder, or "bundled[:train|:test][[a:b]]"',
    )
    .requiredOption('--current <data>', 'current data, same kinds; tested in windows of --window examples')
    .option('--model <path|url>', 'model whose predictions and confidence are checked too (.onnx, saved model, URL)')
    .option('--window <n>', 'examples per current window (default: all of --current in one window)')
    .option('--alpha <p>', 'significance for KS (Bonferroni-corrected over features), MMD and χ²', '0.01')
    .option('--psi-threshold <x>', 'population stability index above this is drift', '0.2')
    .option('--confidence-drop <x>', 'fall in mean top-class confidence that is drift', '0.1')
    .option('--embedding <kind>', `MMD embedding: auto, ${EMBEDDINGS.join(', ')}`, 'auto')
    .option('--seed <n>', 'random seed (projection, subsampling, permutations)', '0')
    .option('--label-column <name>', 'CSV data: the label column (not a feature)')
    .option('--num-classes <k>', 'http model endpoints: number of classes')
    .option('--json', 'print JSON: {reference, current, model, windows: [...], report, drift, detectors}')
    .action(async (flags: MonitorFlags) => {
      const alpha = parseFraction('--alpha', flags.alpha, 1, false);
      const psiThreshold = parsePositiveNumber('--psi-threshold', flags.psiThreshold);
      const confidenceDrop = parseFraction('--confidence-drop', flags.confidenceDrop, 1, true);
      const seed = Number(flags.seed);
      if (!Number.isInteger(seed)) throw new AegisInputError(`--seed takes a whole number, got '${flags.seed}'`);
      if (flags.embedding !== 'auto' && !(EMBEDDINGS as readonly string[]).includes(flags.embedding)) {
        throw new AegisInputError(
          `--embedding must be one of auto, ${EMBEDDINGS.join(', ')}; got '${flags.embedding}'`,
        );
      }
      const requestedWindow = flags.window === undefined ? undefined : parsePositiveInt('--window', flags.window);
      if (requestedWindow !== undefined && requestedWindow < 2)
        throw new AegisInputError('--window must be at least 2');

      const schema = flags.model ? tabularSchemaOf(flags.model) : undefined;
      const reference = await loadMonitorInputs('--reference', flags.reference, {
        schema,
        labelColumn: flags.labelColumn,
      });
      if (reference.n < 2) throw new AegisInputError(`--reference: '${reference.name}' needs at least 2 examples`);
      const current = await loadMonitorInputs('--current', flags.current, {
        schema: schema ?? reference.schema,
        labelColumn: flags.labelColumn,
      });
      sameSize(reference, current);
      if (current.n < 2) throw new AegisInputError(`--current: '${current.name}' needs at least 2 examples`);

      let model: Model | undefined;
      if (flags.model) {
        await initRuntime();
        model = await loadModel(flags.model, {
          access: 'scores',
          inputShape: reference.featureShape,
          numClasses: flags.numClasses ? parsePositiveInt('--num-classes', flags.numClasses) : undefined,
        });
      }
      try {
        const inputShape = model?.info.inputShape ?? reference.featureShape;
        const perModel = inputShape.reduce((a, b) => a * b, 1);
        if (model && perModel !== reference.x.length / reference.n) {
          throw new AegisInputError(
            `--model '${model.info.name}' takes inputs of shape [${inputShape}], but the data's examples have shape [${reference.featureShape}]`,
          );
        }
        const numClasses = model?.info.numClasses ?? 0;
        const refScores = model ? await modelScores(model, reference.x, reference.n) : new Float32Array(0);
        const curScores = model ? await modelScores(model, current.x, current.n) : new Float32Array(0);
        const windowSize = Math.min(requestedWindow ?? current.n, Math.max(current.n, 2));
        const config: MonitoringConfig = { enabled: true, windowSize, alpha, psiThreshold, confidenceDrop };
        const windows: WindowEvaluation[] = [];
        const monitor = createModelMonitor(config, {
          model: model?.info.name ?? 'offline',
          inputShape,
          numClasses,
          reference: { inputs: reference.x, scores: refScores },
          onAlert: () => {},
          onEvaluation: (e) => windows.push(e),
          evaluation: 'sync',
          seed,
          embedding: flags.embedding as EmbeddingKind | 'auto',
        });
        monitor.observe(current.x, perModel, curScores, numClasses);
        monitor.flush();
        const report: MonitoringReport = monitor.report();
        const drifted = Object.entries(report.detectors)
          .filter(([, d]) => d.windowsFlagged > 0)
          .map(([name]) => name);
        const out = cliOutput();
        if (flags.json) {
          const doc = {
            reference: { data: reference.name, examples: reference.n, featureShape: reference.featureShape },
            current: { data: current.name, examples: current.n, featureShape: current.featureShape },
            model: model ? { name: model.info.name, numClasses, sha256: model.info.sha256 ?? null } : null,
            windows,
            report,
            drift: drifted.length > 0,
            detectors: drifted,
          };
          out.out(`${JSON.stringify(doc, null, 2)}\n`);
        } else {
          const features = reference.x.length / reference.n;
          out.out(
            `reference: ${reference.name} (${reference.n} examples, ${features} features)\n` +
              `current:   ${current.name} (${current.n} examples, ${windows.length} window${windows.length === 1 ? '' : 's'} of up to ${windowSize})\n` +
              (model
                ? `model:     ${model.info.name} (${numClasses} classes)\n`
                : 'model:     none (input drift only)\n'),
          );
          for (const e of windows) out.out(describeWindow(e));
          out.out(drifted.length > 0 ? `drift found by ${drifted.join(', ')}\n` : 'no drift found\n');
        }
        if (drifted.length > 0) requestExitCode(1);
      } finally {
        await model?.dispose();
      }
    });
}
