/**
 * Runs MI-Face (Fredrikson et al., CCS 2015) for a list of classes with one gradient source,
 * scores the reconstructions (./evaluate.ts) and shapes the outcome as a report attack:
 * one row {identificationAccuracy, ssim, queries, seconds, …}, ATLAS AML.T0024.001, and the
 * reconstructions beside the class-mean training images as report examples.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { makeThreatModel, type ThreatModel } from '../../core/threat-model.js';
import type { Dataset } from '../../data/dataset.js';
import type { Model } from '../../models/model.js';
import type { ExampleCaptions } from '../../report/schema.js';
import { classMeans, evaluateReconstructions, type InversionEvaluation, imageShapeOf } from './evaluate.js';
import { type CostOracle, type GradientSource, whiteBoxOracle, zerothOrderOracle } from './gradient-source.js';
import { checkMiFaceOptions, MI_FACE_CITATION, type MiFaceOptions, type MiFaceResult, miFace } from './mi-face.js';

export const INVERSION_ATLAS = 'AML.T0024.001';

export interface InvertOptions extends MiFaceOptions {
  /** Classes to reconstruct (indices). Default: all. */
  classes?: number[];
  gradient: GradientSource;
  /** Zeroth-order: queries allowed per class (required there). */
  budget?: number;
  /** Zeroth-order: directions per step (default 50) and finite-difference σ (default 0.01). */
  directions?: number;
  sigma?: number;
  seed: number;
  /** Called after each class: done and total. */
  onProgress?: (done: number, total: number) => void;
}

export interface InversionRun {
  classes: number[];
  results: MiFaceResult[];
  /** Model queries, all classes together (0 for white-box). */
  queries: number;
  gradients: number;
  seconds: number;
}

/** Checks the class list against the model (unknown or repeated classes are input errors). */
export function checkClasses(classes: number[], numClasses: number, names?: string[]): number[] {
  if (classes.length === 0) throw new AegisInputError('no classes to reconstruct');
  const seen = new Set<number>();
  for (const k of classes) {
    if (!Number.isInteger(k) || k < 0 || k >= numClasses) {
      throw new AegisInputError(`class ${k} is not one of the model's ${numClasses} classes (0 … ${numClasses - 1})`);
    }
    if (seen.has(k)) throw new AegisInputError(`class ${names?.[k] ?? k} is listed twice`);
    seen.add(k);
  }
  return classes;
}

/** MI-Face for each class in turn; the zeroth-order oracle of each class gets its own seed and budget. */
export async function invertClasses(model: Model, opts: InvertOptions): Promise<InversionRun> {
  const { numClasses, inputShape, inputRange } = model.info;
  const classes = checkClasses(opts.classes ?? Array.from({ length: numClasses }, (_, k) => k), numClasses);
  const miOptions: MiFaceOptions = {
    ...opts,
    inputRange,
    imageShape: inputShape.length === 3 ? inputShape : undefined,
  };
  checkMiFaceOptions(miOptions);
  const makeOracle = (label: number, seed: number): CostOracle => {
    if (opts.gradient === 'white-box') return whiteBoxOracle(model, label);
    if (opts.budget === undefined || !(opts.budget > 0)) {
      throw new AegisInputError(
        `zeroth-order MI-Face needs a query budget > 0 per class, got ${opts.budget ?? 'none'}`,
      );
    }
    return zerothOrderOracle(model, label, {
      budget: opts.budget,
      directions: opts.directions,
      sigma: opts.sigma,
      seed,
    });
  };
  const rng = new Rng(opts.seed);
  const seeds = classes.map(() => rng.fork());
  const d = inputShape.reduce((a, b) => a * b, 1);
  const started = performance.now();
  const results: MiFaceResult[] = [];
  let queries = 0;
  let gradients = 0;
  for (let i = 0; i < classes.length; i++) {
    const oracle = makeOracle(classes[i] as number, seeds[i] as number);
    results.push(await miFace(oracle, d, miOptions));
    queries += oracle.queries;
    gradients += oracle.gradients;
    opts.onProgress?.(i + 1, classes.length);
  }
  return { classes, results, queries, gradients, seconds: (performance.now() - started) / 1000 };
}

export interface InversionRow {
  identificationAccuracy: number;
  ssim: number;
  queries: number;
  /** Mean victim confidence in the target class at the reconstructions. */
  meanConfidence: number;
  /** Gradient evaluations (exact or estimated). */
  gradients: number;
  classes: number;
  seconds: number;
}

export interface InversionAttackResult {
  attack: string;
  title: string;
  citation: string;
  atlas: string;
  threatModel: ThreatModel;
  rows: InversionRow[];
  examples: {
    shape: number[];
    eps: number;
    clean: Float32Array[];
    adversarial: Float32Array[];
    labels: number[];
    cleanPredictions: number[];
    adversarialPredictions: number[];
    captions: ExampleCaptions;
  };
  run: InversionRun;
  evaluation: InversionEvaluation;
}

export interface RunInversionOptions extends InvertOptions {
  /** Classifies reconstructions (a different model from the victim). */
  evaluator: Model;
  /** Reconstructions shown in the report (default: all). */
  keepExamples?: number;
}

/**
 * Reconstructs classes of `model`, scores them against the class means of `data` (training-like
 * images of the same classes) and returns a report attack.
 */
export async function runInversion(
  model: Model,
  data: Dataset,
  opts: RunInversionOptions,
): Promise<InversionAttackResult> {
  const shape = data.shape.slice(1);
  imageShapeOf(shape, `dataset '${data.name}'`);
  if (shape.join(',') !== model.info.inputShape.join(',')) {
    throw new AegisInputError(
      `dataset '${data.name}' has examples [${shape}] but model '${model.info.name}' expects [${model.info.inputShape}]`,
    );
  }
  if (data.classNames.length !== model.info.numClasses) {
    throw new AegisInputError(
      `dataset '${data.name}' has ${data.classNames.length} classes but model '${model.info.name}' has ${model.info.numClasses}`,
    );
  }
  const means = classMeans(data);
  const run = await invertClasses(model, opts);
  const reconstructions = run.results.map((r) => r.x);
  const evaluation = await evaluateReconstructions(reconstructions, run.classes, means, opts.evaluator, shape);
  const whiteBox = opts.gradient === 'white-box';
  const threatModel = makeThreatModel({
    access: whiteBox ? 'gradients' : 'scores',
    epsilons: [],
    ...(whiteBox ? {} : { queryBudget: opts.budget }),
    knowledge: 'the class labels to invert; nothing of the training data (class-mean images only score the result)',
  });
  const keep = Math.min(opts.keepExamples ?? run.classes.length, run.classes.length);
  const meanConfidence = run.results.reduce((a, r) => a + (1 - r.cost), 0) / run.results.length;
  return {
    attack: 'mi-face',
    title: `MI-Face model inversion (${whiteBox ? 'white-box gradients' : 'zeroth-order gradient estimates'})`,
    citation: MI_FACE_CITATION,
    atlas: INVERSION_ATLAS,
    threatModel,
    rows: [
      {
        identificationAccuracy: evaluation.identificationAccuracy,
        ssim: evaluation.ssim,
        queries: run.queries,
        meanConfidence,
        gradients: run.gradients,
        classes: run.classes.length,
        seconds: run.seconds,
      },
    ],
    examples: {
      shape,
      eps: 0,
      clean: run.classes.slice(0, keep).map((k) => means[k] as Float32Array),
      adversarial: reconstructions.slice(0, keep),
      labels: run.classes.slice(0, keep),
      cleanPredictions: Array.from(evaluation.meanPredictions.subarray(0, keep)),
      adversarialPredictions: Array.from(evaluation.predictions.subarray(0, keep)),
      captions: {
        clean: 'class mean',
        adversarial: 'reconstruction',
        legend:
          "Each class: its mean training image (left) and the MI-Face reconstruction from the model (right); the predictions are the evaluation classifier's.",
        showDifference: false,
      },
    },
    run,
    evaluation,
  };
}
