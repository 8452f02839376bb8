/**
 * `aegis attack membership`: membership inference against a model whose training records are
 * (partly) known — an audit of how much the model leaks about who was in its training set.
 * Data specs take an optional split and range: `bundled:train[0:1000]` is the first 1000
 * bundled Fashion-MNIST training images, `data.npz[100:]` all but the first 100 records.
 */
import type { Command } from 'commander';
import type { MembershipResult } from '../attacks/membership/membership-attack.js';
import {
  MEMBERSHIP_ATTACKS,
  parseMembershipAttacks,
  runMembershipSuite,
} from '../attacks/membership/run-membership.js';
import { defaultShadowWorkers, type ShadowSpec } from '../attacks/membership/shadow-training.js';
import { AegisInputError } from '../core/errors.js';
import { initRuntime } from '../core/runtime.js';
import { type Dataset, size, slice } from '../data/dataset.js';
import { loadModel } from '../models/load-model.js';
import { parseArchitecture } from '../models/train-classifier.js';
import { buildReport } from '../report/build-report.js';
import { loadDataSpec } from './data-spec.js';
import { emitReport } from './emit-report.js';
import { cliOutput } from './io.js';
import {
  parseAccess,
  parseNameList,
  parseNonNegativeInt,
  parsePositiveInt,
  parsePositiveNumber,
} from './parse-options.js';
import { createProgress } from './progress.js';

export { type DataSpec, parseDataSpec } from './data-spec.js';

interface MembershipFlags {
  model: string;
  members?: string;
  nonmembers?: string;
  attack: string;
  shadowData?: string;
  shadows: string;
  shadowArch?: string;
  shadowEpochs: string;
  shadowBatchSize: string;
  shadowLearningRate: string;
  liraExtra?: boolean;
  budget?: string;
  workers?: string;
  audit: string;
  limit?: string;
  seed: string;
  access?: string;
  labelColumn?: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

async function loadSpec(flag: string, text: string, labelColumn: string | undefined): Promise<Dataset> {
  return loadDataSpec(flag, text, { labelColumn });
}

function formatExposed(results: MembershipResult[]): string {
  const lines = ['most exposed training records (member index, label, score):'];
  for (const r of results) {
    const list = r.exposed.map((e) => `#${e.index} (${e.label}) ${Number(e.score.toPrecision(4))}`).join(', ');
    lines.push(`  ${r.attack}: ${list}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerMembershipCommand(attack: Command): void {
  attack
    .command('membership')
    .description('membership inference: which records were in the training set (threshold, shadow, LiRA, label-only)')
    .requiredOption('--model <path|url>', 'an .onnx file, a saved model directory, or an http(s) endpoint')
    .option('--members <data>', 'records known to be in the training set, e.g. bundled:train[0:1000]')
    .option('--nonmembers <data>', 'records from the same distribution that were not, e.g. bundled:test[0:1000]')
    .option('--attack <names>', `comma-separated: ${MEMBERSHIP_ATTACKS.join(',')}`, 'threshold')
    .option('--shadow-data <data>', "the attacker's own records for shadow models, e.g. bundled:train[1000:4000]")
    .option('--shadows <n>', 'shadow models (shadow attack, LiRA)', '16')
    .option('--shadow-arch <arch>', 'shadow architecture: cnn, mlp or logistic (default: cnn for images, else mlp)')
    .option('--shadow-epochs <n>', 'training epochs per shadow model', '30')
    .option('--shadow-batch-size <n>', 'shadow training batch size', '64')
    .option('--shadow-learning-rate <x>', 'shadow training Adam step size', '0.001')
    .option('--lira-extra', "add --shadow-data to LiRA's shadow pool (default: the pool is the candidates)")
    .option('--budget <n>', 'queries per record (LiRA augmentations, label-only copies, boundary search)')
    .option('--workers <n>', `worker threads training shadows (default ${defaultShadowWorkers()})`)
    .option('--audit <n>', 'most exposed training records to list per attack', '10')
    .option('--limit <n>', 'use only the first N members and N non-members')
    .option('--seed <n>', 'random seed', '0')
    .option('--access <level>', 'treat the model as gradients, scores or labels (default: all it grants)')
    .option('--label-column <name>', 'CSV data: the label column')
    .option('--out <dir>', 'write report.json and report.html here')
    .option('--json', 'print the JSON report to stdout')
    .option('--quiet', 'no progress bars')
    .action(async (flags: MembershipFlags) => {
      const names = parseMembershipAttacks(parseNameList(flags.attack));
      if (!flags.members) {
        throw new AegisInputError('membership inference needs --members: records known to be in the training set');
      }
      if (!flags.nonmembers) {
        throw new AegisInputError(
          'membership inference needs --nonmembers: records from the same distribution that were not in the training set',
        );
      }
      const seed = Number(flags.seed);
      if (!Number.isInteger(seed)) throw new AegisInputError(`--seed takes a whole number, got '${flags.seed}'`);
      const shadows = parsePositiveInt('--shadows', flags.shadows);
      const budget = flags.budget === undefined ? undefined : parsePositiveInt('--budget', flags.budget);
      const workers = flags.workers === undefined ? undefined : parsePositiveInt('--workers', flags.workers);
      const auditCount = parseNonNegativeInt('--audit', flags.audit);
      const limit = flags.limit === undefined ? undefined : parsePositiveInt('--limit', flags.limit);
      const epochs = parsePositiveInt('--shadow-epochs', flags.shadowEpochs);
      const batchSize = parsePositiveInt('--shadow-batch-size', flags.shadowBatchSize);
      const learningRate = parsePositiveNumber('--shadow-learning-rate', flags.shadowLearningRate);
      const arch = flags.shadowArch === undefined ? undefined : parseArchitecture(flags.shadowArch);
      const backend = await initRuntime();
      const model = await loadModel(flags.model, { access: parseAccess(flags.access) });
      try {
        let members = await loadSpec('--members', flags.members, flags.labelColumn);
        let nonMembers = await loadSpec('--nonmembers', flags.nonmembers, flags.labelColumn);
        if (limit) {
          members = slice(members, 0, limit);
          nonMembers = slice(nonMembers, 0, limit);
        }
        const shadowData = flags.shadowData
          ? await loadSpec('--shadow-data', flags.shadowData, flags.labelColumn)
          : undefined;
        const spec: ShadowSpec = {
          arch: arch ?? (model.info.inputShape.length === 3 ? 'cnn' : 'mlp'),
          epochs,
          batchSize,
          learningRate,
        };
        const progress = createProgress(!flags.quiet && Boolean(process.stderr.isTTY));
        const suite = await runMembershipSuite(
          model,
          { members, nonMembers },
          {
            attacks: names,
            seed,
            shadows,
            shadowSpec: spec,
            shadowData,
            liraExtra: flags.liraExtra,
            queryBudget: budget,
            workers,
            auditCount,
            onProgress: (task, done, total) => progress.update(task, done, total),
          },
        ).finally(() => progress.stop());
        const report = buildReport({
          model: model.info,
          dataset: {
            name: `${members.name} (members) + ${nonMembers.name} (non-members)`,
            source: [members.source, nonMembers.source].filter(Boolean).join(', ') || undefined,
            size: size(members) + size(nonMembers),
            shape: [size(members) + size(nonMembers), ...members.shape.slice(1)],
            classNames: members.classNames,
          },
          // Held-out accuracy; the members' (training) accuracy is in report.membership.
          cleanAccuracy: suite.nonMemberAccuracy,
          cleanSize: size(nonMembers),
          seed,
          backend,
          command: `aegis ${process.argv.slice(2).join(' ')}`,
          attacks: suite.results,
        });
        suite.results.forEach((r, i) => {
          Object.assign(report.attacks[i] as object, { exposed: r.exposed });
        });
        Object.assign(report, {
          membership: {
            members: size(members),
            nonMembers: size(nonMembers),
            memberAccuracy: suite.memberAccuracy,
            nonMemberAccuracy: suite.nonMemberAccuracy,
          },
        });
        await emitReport(report, { out: flags.out, json: flags.json });
        if (!flags.json && auditCount > 0) cliOutput().out(formatExposed(suite.results));
      } finally {
        await model.dispose();
      }
    });
}
