/**
 * `aegis attack poisoning`: poison a training set (label flipping, a BadNets backdoor, feature
 * collision), train the victim on it at each poison fraction with the same recipe as a victim
 * trained on clean data, and report clean accuracy and attack success per fraction.
 * Images, tabular CSV and text (SMS spam or a text file, through the hashing vectorizer) are
 * supported; the data-spec syntax is that of the other attack commands (`bundled:train[0:2000]`).
 */
import type { Command } from 'commander';
import { badNets } from '../attacks/poisoning/badnets.js';
import { featureCollision } from '../attacks/poisoning/feature-collision.js';
import { FeatureExtractor } from '../attacks/poisoning/feature-extractor.js';
import { labelFlip, parseFlipPairs } from '../attacks/poisoning/label-flip.js';
import type { PoisonableData, PoisoningAttack, VictimTrainer } from '../attacks/poisoning/poisoning-attack.js';
import { isTextData } from '../attacks/poisoning/poisoning-attack.js';
import { checkFractions, type PoisoningResult, runPoisoning } from '../attacks/poisoning/run-poisoning.js';
import {
  DEFAULT_TRIGGER_PHRASE,
  PATCH_PATTERNS,
  type PatchTrigger,
  parseFeatureTrigger,
  type Trigger,
} from '../attacks/poisoning/triggers.js';
import { architectureVictim, transferVictim } from '../attacks/poisoning/victims.js';
import { AegisInputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { initRuntime } from '../core/runtime.js';
import { type Dataset, featureShape, split } from '../data/dataset.js';
import { hashingVectorizer } from '../data/hashing-vectorizer.js';
import type { TabularDataset } from '../data/tabular-schema.js';
import { dedupeTexts, looksLikeTextData, splitTexts } from '../data/text-dataset.js';
import { type Architecture, parseArchitecture, trainClassifier } from '../models/train-classifier.js';
import { buildReport, datasetSummary } from '../report/build-report.js';
import { loadDataSpec, loadTextSpec, parseDataSpec } from './data-spec.js';
import { emitReport } from './emit-report.js';
import { parseNonNegativeInt, parseNumberList, parsePositiveInt, parsePositiveNumber } from './parse-options.js';
import {
  addClusteringOptions,
  addLabelKnnOptions,
  type ClusteringFlags,
  type LabelKnnFlags,
  parseClusteringFlags,
  parseLabelKnnFlags,
  parseReclassificationEpochs,
  poisonDefenseHook,
} from './poisoning-defenses.js';
import { createProgress } from './progress.js';

export const POISONING_ATTACKS = ['badnets', 'label-flip', 'feature-collision'] as const;
export type PoisoningAttackName = (typeof POISONING_ATTACKS)[number];

/** Keywords whose test split is the natural test set for their training split. */
const SPLIT_KEYWORDS = ['bundled', 'fashion-mnist', 'fashion-mnist-full'];

interface PoisoningFlags extends ClusteringFlags, LabelKnnFlags {
  labelRepresentation: string;
  attack: string;
  data: string;
  test?: string;
  arch?: string;
  epochs: string;
  batchSize?: string;
  learningRate?: string;
  fractions: string;
  targetClass: string;
  pairs?: string;
  triggerSize?: string;
  triggerPattern?: string;
  triggerValue?: string;
  triggerPhrase?: string;
  triggerFeatures?: string;
  textColumn?: string;
  labelColumn?: string;
  hashBits: string;
  pretrainData?: string;
  pretrainEpochs?: string;
  targets: string;
  iterations: string;
  beta0: string;
  opacity: string;
  defenses?: string;
  seed: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
}

export function parsePoisoningAttack(name: string): PoisoningAttackName {
  const n = name.trim().toLowerCase();
  if (!(POISONING_ATTACKS as readonly string[]).includes(n)) {
    throw new AegisInputError(`unknown poisoning attack '${name}'; choose one of ${POISONING_ATTACKS.join(', ')}`);
  }
  return n as PoisoningAttackName;
}

function parseInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value)) throw new AegisInputError(`${flag} takes a whole number, got '${text}'`);
  return value;
}

function parseFiniteNumber(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new AegisInputError(`${flag} takes a number, got '${text}'`);
  return value;
}

interface LoadedData {
  train: PoisonableData;
  test: PoisonableData;
  text: boolean;
}

/** Training and test data: texts or numeric rows; without --test, the keyword's test split or a seeded 80/20 split. */
async function loadData(flags: PoisoningFlags, seed: number): Promise<LoadedData> {
  const dataSpec = parseDataSpec('--data', flags.data);
  const text = flags.textColumn !== undefined || looksLikeTextData(dataSpec.path);
  if (text) {
    const opts = {
      ...(flags.textColumn ? { textColumn: flags.textColumn } : {}),
      ...(flags.labelColumn ? { labelColumn: flags.labelColumn } : {}),
    };
    // Public corpora repeat messages; de-duplicate so test copies do not sit in the training set.
    const all = dedupeTexts(loadTextSpec('--data', flags.data, opts));
    if (flags.test) {
      const test = loadTextSpec('--test', flags.test, { ...opts, classNames: all.classNames });
      return { train: all, test, text };
    }
    const [train, test] = splitTexts(all, 0.8, new Rng(seed));
    return { train: { ...train, name: `${all.name} (80%)` }, test: { ...test, name: `${all.name} (20%)` }, text };
  }
  const train = await loadDataSpec('--data', flags.data, {
    ...(flags.labelColumn ? { labelColumn: flags.labelColumn } : {}),
    split: dataSpec.split ?? 'train',
  });
  const schema = (train as Partial<TabularDataset>).schema;
  if (flags.test) {
    const test = await loadDataSpec('--test', flags.test, { ...(schema ? { schema } : {}) });
    return { train, test, text };
  }
  if (SPLIT_KEYWORDS.includes(dataSpec.path.toLowerCase())) {
    return { train, test: await loadDataSpec('--test', `${dataSpec.path}:test`), text };
  }
  const [fit, held] = split(train, 0.8, new Rng(seed));
  return { train: { ...fit, name: `${train.name} (80%)` }, test: { ...held, name: `${train.name} (20%)` }, text };
}

function imageTrigger(flags: PoisoningFlags): PatchTrigger {
  const trigger: PatchTrigger = { kind: 'patch' };
  if (flags.triggerSize !== undefined) trigger.size = parsePositiveInt('--trigger-size', flags.triggerSize);
  if (flags.triggerPattern !== undefined) {
    if (!(PATCH_PATTERNS as readonly string[]).includes(flags.triggerPattern)) {
      throw new AegisInputError(
        `--trigger-pattern must be one of ${PATCH_PATTERNS.join(', ')}, got '${flags.triggerPattern}'`,
      );
    }
    trigger.pattern = flags.triggerPattern as PatchTrigger['pattern'];
  }
  if (flags.triggerValue !== undefined) trigger.value = parseFiniteNumber('--trigger-value', flags.triggerValue);
  return trigger;
}

/** The trigger that fits the data: a phrase for text, feature values for tabular rows, a patch for images. */
function triggerFor(flags: PoisoningFlags, train: PoisonableData): Trigger {
  if (isTextData(train)) return { kind: 'phrase', phrase: flags.triggerPhrase ?? DEFAULT_TRIGGER_PHRASE };
  if (featureShape(train).length === 1) {
    if (!flags.triggerFeatures) {
      throw new AegisInputError(
        'BadNets on tabular data needs --trigger-features, e.g. "3=1,age=0" (feature index or name = value after scaling to [0, 1])',
      );
    }
    return parseFeatureTrigger(flags.triggerFeatures, (train as Partial<TabularDataset>).schema?.featureNames);
  }
  return imageTrigger(flags);
}

function defaultArch(data: LoadedData): Architecture {
  if (data.text) return 'logistic';
  return featureShape(data.train as Dataset).length === 3 ? 'cnn' : 'mlp';
}

interface Setup {
  attack: PoisoningAttack;
  trainVictim: VictimTrainer;
  /** The same recipe with another epoch count (exclusionary reclassification's models). */
  withEpochs: (epochs: number) => VictimTrainer;
  /** Set when the victim fine-tunes a pretrained network (feature collision). */
  extractorNote?: string;
  /** Frees what the setup holds (the pretrained network). */
  dispose?: () => void;
}

async function setUp(
  name: PoisoningAttackName,
  flags: PoisoningFlags,
  data: LoadedData,
  seed: number,
  recipe: { epochs: number; batchSize?: number; learningRate?: number; inputRange: [number, number] },
): Promise<Setup> {
  const targetClass = parseNonNegativeInt('--target-class', flags.targetClass);
  const arch = flags.arch === undefined ? defaultArch(data) : parseArchitecture(flags.arch);
  if (name === 'badnets') {
    return {
      attack: badNets({ targetClass, trigger: triggerFor(flags, data.train), inputRange: recipe.inputRange }),
      trainVictim: architectureVictim(arch, recipe),
      withEpochs: (epochs) => architectureVictim(arch, { ...recipe, epochs }),
    };
  }
  if (name === 'label-flip') {
    const attack = flags.pairs
      ? labelFlip({ mode: 'targeted', pairs: parseFlipPairs(flags.pairs) })
      : labelFlip({ mode: 'random' });
    return {
      attack,
      trainVictim: architectureVictim(arch, recipe),
      withEpochs: (epochs) => architectureVictim(arch, { ...recipe, epochs }),
    };
  }
  if (data.text) throw new AegisInputError('feature collision needs image (or numeric) data, not text');
  // The public pretrained network: trained on clean data (--pretrain-data, default the training data).
  const pretrainData = flags.pretrainData
    ? await loadDataSpec('--pretrain-data', flags.pretrainData, { split: 'train' })
    : (data.train as Dataset);
  const pretrainEpochs =
    flags.pretrainEpochs === undefined ? recipe.epochs : parsePositiveInt('--pretrain-epochs', flags.pretrainEpochs);
  if (arch === 'logistic') {
    throw new AegisInputError('feature collision needs a network with a hidden layer: --arch cnn or mlp');
  }
  const { model } = await trainClassifier(arch, pretrainData, {
    epochs: pretrainEpochs,
    seed,
    progress: false,
    name: `pretrained-${arch}`,
  });
  const extractor = new FeatureExtractor(model.network);
  return {
    attack: featureCollision({
      extractor,
      baseClass: targetClass,
      targets: parsePositiveInt('--targets', flags.targets),
      iterations: parsePositiveInt('--iterations', flags.iterations),
      beta0: parseFiniteNumber('--beta0', flags.beta0),
      opacity: parseFiniteNumber('--opacity', flags.opacity),
      inputRange: recipe.inputRange,
    }),
    trainVictim: transferVictim(extractor, recipe),
    withEpochs: (epochs) => transferVictim(extractor, { ...recipe, epochs }),
    dispose: () => model.dispose(),
    extractorNote: `feature extractor: ${arch} pretrained on ${pretrainData.name} (${pretrainEpochs} epochs), layer ${extractor.layerName} (${extractor.dim} features)`,
  };
}

/** The report's dataset: hashed texts are described by their feature shape [n, 2^bits]. */
function reportDataset(train: PoisonableData, hashBits: number) {
  if (!isTextData(train)) return datasetSummary(train);
  const n = train.texts.length;
  return { name: train.name, source: train.source, size: n, shape: [n, 2 ** hashBits], classNames: train.classNames };
}

export function registerPoisoningCommand(attack: Command): void {
  const command = attack
    .command('poisoning')
    .description(
      'data poisoning: label flipping, BadNets backdoors (image patch, tabular values, text phrase), feature collision; trains the victim per poison fraction',
    )
    .option('--attack <name>', `one of ${POISONING_ATTACKS.join(', ')}`, 'badnets')
    .option('--data <spec>', 'training data, e.g. bundled:train[0:2000], data.csv, sms-spam', 'bundled:train')
    .option('--test <spec>', "test data (default: the keyword's test split, else a seeded 20% of --data)")
    .option(
      '--arch <arch>',
      'victim architecture: cnn, mlp or logistic (default: cnn for images, mlp for tabular, logistic for text)',
    )
    .option('--epochs <n>', 'victim training epochs (feature collision: epochs of the new final layer)', '10')
    .option('--batch-size <n>', 'victim training batch size (default 64)')
    .option(
      '--learning-rate <x>',
      'victim Adam step size (default 0.001; 0.05 for text; 0.01 for the fine-tuned final layer)',
    )
    .option('--fractions <list>', 'poison fractions in [0, 1)', '0.01,0.05,0.1')
    .option('--target-class <n>', "the adversary's class (BadNets target; feature collision base class)", '0')
    .option('--pairs <list>', 'label-flip: targeted source:target pairs, e.g. 3:5,7:1 (default: random flips)')
    .option('--trigger-size <n>', 'BadNets image patch side in pixels (default 3 on 28x28, scaled with the image)')
    .option('--trigger-pattern <name>', `BadNets image patch: ${PATCH_PATTERNS.join(' or ')}`)
    .option('--trigger-value <x>', 'BadNets image patch bright value (default: the top of the input range)')
    .option('--trigger-phrase <text>', `BadNets text trigger (default '${DEFAULT_TRIGGER_PHRASE}')`)
    .option('--trigger-features <list>', 'BadNets tabular trigger: feature=value pairs, e.g. "3=1,age=0"')
    .option('--text-column <name>', 'read a CSV --data as text: the column holding the text')
    .option('--label-column <name>', 'CSV: the label column')
    .option('--hash-bits <n>', 'text: hashing vectorizer buckets 2^n', '12')
    .option('--pretrain-data <spec>', 'feature collision: data the feature extractor is pretrained on (default --data)')
    .option('--pretrain-epochs <n>', 'feature collision: extractor pretraining epochs (default --epochs)')
    .option('--targets <n>', 'feature collision: target test images (one victim each)', '5')
    .option('--iterations <n>', 'feature collision: forward-backward iterations', '200')
    .option('--beta0 <x>', 'feature collision: β0 of β = β0·(feature dim / input dim)²', '0.25')
    .option('--opacity <x>', 'feature collision: watermark opacity of the target blended into the bases', '0')
    .option(
      '--defenses <list>',
      'poison detectors to run on each poisoned set, then retrain without what they flag: spectral-signatures, activation-clustering, label-consistency',
    )
    .option('--seed <n>', 'random seed', '0')
    .option('--out <dir>', 'write report.json and report.html here')
    .option('--json', 'print the JSON report to stdout')
    .option('--quiet', 'no progress bars');
  command.option(
    '--label-representation <r>',
    'label consistency k-NN: activations (the victim) or inputs (the rows; finds relabelled backdoor images)',
    'activations',
  );
  addClusteringOptions(addLabelKnnOptions(command)).action(async (flags: PoisoningFlags) => {
    const name = parsePoisoningAttack(flags.attack);
    const seed = parseInteger('--seed', flags.seed);
    const fractions = checkFractions(parseNumberList('--fractions', flags.fractions));
    const epochs = parsePositiveInt('--epochs', flags.epochs);
    const hashBits = parsePositiveInt('--hash-bits', flags.hashBits);
    const backend = await initRuntime();
    const data = await loadData(flags, seed);
    const vectorizer = data.text ? hashingVectorizer({ bits: hashBits }) : undefined;
    const recipe = {
      epochs,
      ...(flags.batchSize !== undefined ? { batchSize: parsePositiveInt('--batch-size', flags.batchSize) } : {}),
      ...(flags.learningRate !== undefined
        ? { learningRate: parsePositiveNumber('--learning-rate', flags.learningRate) }
        : data.text
          ? { learningRate: 0.05 }
          : {}),
      inputRange: (data.text ? [-1, 1] : [0, 1]) as [number, number],
    };
    const activationClustering = parseClusteringFlags(flags);
    if (!['activations', 'inputs'].includes(flags.labelRepresentation)) {
      throw new AegisInputError(
        `--label-representation must be one of activations, inputs, got '${flags.labelRepresentation}'`,
      );
    }
    const labelConsistency = {
      representation: flags.labelRepresentation as 'activations' | 'inputs',
      ...parseLabelKnnFlags(flags),
    };
    const reclassificationEpochs = parseReclassificationEpochs(flags);
    const setup = await setUp(name, flags, data, seed, recipe);
    const afterVictim = flags.defenses
      ? poisonDefenseHook(flags.defenses, {
          detectorOptions: { activationClustering, labelConsistency },
          ...(reclassificationEpochs !== undefined
            ? { reclassificationTrainer: setup.withEpochs(reclassificationEpochs) }
            : {}),
        })
      : undefined;
    const progress = createProgress(!flags.quiet && Boolean(process.stderr.isTTY));
    let result: PoisoningResult;
    try {
      result = await runPoisoning({
        attack: setup.attack,
        train: data.train,
        test: data.test,
        trainVictim: setup.trainVictim,
        fractions,
        seed,
        ...(vectorizer ? { encode: vectorizer.encode } : {}),
        ...(afterVictim ? { afterVictim } : {}),
        onProgress: (done, total) => progress.update('victims', done, total),
      });
    } finally {
      progress.stop();
      setup.dispose?.();
    }
    const featureNames = (data.train as Partial<TabularDataset>).schema?.featureNames;
    if (result.examples && featureNames) result.examples.featureNames = featureNames;
    const report = buildReport({
      model: result.victim,
      dataset: reportDataset(data.train, hashBits),
      cleanAccuracy: result.baselineAccuracy,
      cleanSize: data.test.y.length,
      seed,
      backend,
      command: `aegis ${process.argv.slice(2).join(' ')}`,
      attacks: [result],
    });
    Object.assign(report, {
      poisoning: {
        test: { name: data.test.name, size: data.test.y.length },
        victim: `${result.victim.name}, ${epochs} epochs, same seed for every victim`,
        ...(vectorizer ? { vectorizer: { kind: 'hashing', ...vectorizer.options } } : {}),
        ...(setup.extractorNote ? { extractor: setup.extractorNote } : {}),
      },
    });
    await emitReport(report, { out: flags.out, json: flags.json });
  });
}
