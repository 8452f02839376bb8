// Madry, Makelov, Schmidt, Tsipras & Vladu 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR — with the inner maximisation restricted to realizable flows (constraints as in ./constrained-evasion.ts).
/**
 * Constrained adversarial training of the NIDS classifier: min_θ E max_{knobs ∈ budget} CE(f_θ(T(x,
 * knobs)), y), where T applies the attacker's transformations (delay, pad, cover) and the inner
 * maximum is the same projected signed-gradient search the evaluation attack runs (from a seeded
 * random start, steps of stepSize in knob-fraction units), materialised to valid flows. Only
 * attack flows are perturbed — normal traffic is not the attacker's to change — and normal flows
 * stay clean. It runs as a TrainingMethod of the project's adversarial-training defenses
 * (src/defenses/training: trainWithMethod on a fresh seeded copy of the classifier's architecture),
 * so the loop, seeding and hooks are those of PGD-AT. Afterwards the classifier's threshold is
 * recalibrated at the detector's operating FPR on a held-out benign split of the training file;
 * the encoder and the novelty detectors (trained on normal traffic) are kept.
 */
import { AegisInputError } from '../../../core/errors.js';
import { Rng } from '../../../core/rng.js';
import { tf } from '../../../core/runtime.js';
import type { Dataset } from '../../../data/dataset.js';
import { cloneNetwork } from '../../../defenses/training/clone-network.js';
import { type TrainingMethod, trainWithMethod } from '../../../defenses/training/training-defense.js';
import { TfjsModel } from '../../../models/tfjs-model.js';
import type { BatchContext } from '../../../models/train.js';
import { trainingSummary } from '../../../models/train.js';
import { classIndex, gatherRows, type NidsDetector, stratifiedSplit } from '../nids-detector.js';
import { type FlowTable, takeRows } from '../read-flows.js';
import { goalLoss, knobBounds, knobSearch, materialise, type SearchSpace, searchSpace } from './constrained-evasion.js';
import { assemble, decodeNumeric, splitEncoded } from './feature-space.js';
import { NSL_KDD_TRANSFORMATIONS, type Transformation } from './transformations.js';

export interface ConstrainedTrainingOptions {
  /** Training budget (standardised units, as the attack's ε). */
  eps: number;
  seed: number;
  /** Inner search steps (default 10) and step size in knob-fraction units (default 0.25). */
  steps?: number;
  stepSize?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  validationFraction?: number;
  transformations?: readonly Transformation[];
  progress?: boolean;
}

/** The perturbBatch hook: attack rows (label ≠ 0) replaced by their constrained adversarial version. */
export function constrainedPerturbation(
  detector: NidsDetector,
  space: SearchSpace,
  o: { eps: number; steps: number; stepSize: number },
) {
  return async (x: tf.Tensor, y: tf.Tensor1D, ctx: BatchContext): Promise<tf.Tensor> => {
    const labels = (await y.data()) as Int32Array;
    const attackRows = Array.from(labels.keys()).filter((i) => labels[i] !== 0);
    if (attackRows.length === 0) return tf.clone(x);
    const n = labels.length;
    const idx = tf.tensor1d(attackRows, 'int32');
    const xa = tf.gather(x, idx) as tf.Tensor2D;
    const [z, oneHot] = splitEncoded(xa, space.e);
    const raw = decodeNumeric(z, space.e);
    const bounds = knobBounds(space, detector, raw, o.eps);
    const rng = new Rng(ctx.seed);
    const start = tf.tensor2d(rng.uniformArray(attackRows.length * space.transformations.length, 0, 1), [
      attackRows.length,
      space.transformations.length,
    ]);
    const loss = goalLoss(detector, 'classifier', (t) => ctx.logits(t));
    // The search descends the attack log-odds of the CURRENT network; training then ascends back.
    const u = await knobSearch({ space, raw, oneHot, bounds, loss, start, steps: o.steps, stepSize: o.stepSize });
    const adv = tf.tidy(() => assemble(materialise(space, raw, u, bounds), oneHot, space.e));
    // Row i of the batch: itself, or its adversarial version (rows n … n + attacks − 1 of the concat).
    const mapping = Int32Array.from({ length: n }, (_, i) => i);
    attackRows.forEach((r, k) => {
      mapping[r] = n + k;
    });
    const out = tf.tidy(() => tf.gather(tf.concat([x, adv]), tf.tensor1d(mapping, 'int32')));
    tf.dispose([idx, xa, z, oneHot, raw, bounds, u, adv]);
    return out;
  };
}

/** Adversarially trains a new classifier for the detector; returns the hardened detector. */
export async function constrainedAdversarialTraining(
  detector: NidsDetector,
  train: FlowTable,
  options: ConstrainedTrainingOptions,
): Promise<{ detector: NidsDetector; seconds: number }> {
  if (!(options.eps > 0))
    throw new AegisInputError(`constrained adversarial training: eps must be > 0, got ${options.eps}`);
  const steps = options.steps ?? 10;
  const stepSize = options.stepSize ?? 0.25;
  const rng = new Rng(options.seed);
  const classNames = detector.classNames;
  const y = classIndex(train, classNames, detector.meta.mode);
  const known = Int32Array.from(y.keys()).filter((i) => (y[i] as number) >= 0);
  const labelled = takeRows(train, known);
  const yKnown = Int32Array.from(known, (i) => y[i] as number);
  const [fitIdx, valIdx] = stratifiedSplit(
    labelled.classes.map((c) => String(c)),
    options.validationFraction ?? 0.2,
    rng.fork(),
  );
  const d = detector.encoder.dimension;
  const x = detector.encoder.encode(labelled).x;
  const data: Dataset = {
    name: `${train.layout.name}-adversarial-training`,
    x: gatherRows(x, d, fitIdx),
    shape: [fitIdx.length, d],
    y: Int32Array.from(fitIdx, (i) => yKnown[i] as number),
    classNames,
  };
  const space = searchSpace(detector, options.transformations ?? NSL_KDD_TRANSFORMATIONS);
  const method: TrainingMethod = {
    name: 'nids-constrained-at',
    title: 'Constrained adversarial training (realizable flows)',
    citation:
      'Madry et al. 2018, "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR; constraints after Apruzzese et al. 2022, ACM DTRAP',
    params: {},
    hooks: (s) => ({ perturbBatch: constrainedPerturbation(detector, space, { eps: s.eps, steps, stepSize }) }),
    describe: () => ({ steps, stepSize, transformations: space.transformations.map((t) => t.name) }),
  };
  const settings = {
    eps: options.eps,
    epochs: options.epochs ?? 20,
    batchSize: options.batchSize ?? 128,
    learningRate: options.learningRate ?? 1e-3,
    range: detector.classifier.info.inputRange,
    params: {},
  };
  const network = await cloneNetwork(detector.classifier.network, { seed: rng.fork(), name: 'nids-mlp-at' });
  try {
    const {
      result,
      options: trainOptions,
      seconds,
    } = await trainWithMethod(method, network, data, settings, {
      seed: rng.fork() & 0x7fffffff,
      progress: options.progress ?? false,
    });
    const classifier = new TfjsModel(network, {
      name: 'nids-mlp-at',
      classNames,
      inputRange: detector.classifier.info.inputRange,
    });
    // Recalibrate the classifier's threshold (and its evidence tail) on held-out benign flows, at the detector's operating point.
    const benign = Array.from(valIdx).filter((i) => yKnown[i] === 0);
    const hardened = detector.withRecalibratedClassifier(classifier, gatherRows(x, d, benign), benign.length, {
      adversarialTraining: {
        ...trainingSummary(result, trainOptions, data),
        ...method.describe(settings),
        method: method.name,
        eps: options.eps,
        seconds,
      },
    });
    return { detector: hardened, seconds };
  } catch (error) {
    network.dispose();
    throw error;
  } finally {
    space.dispose();
  }
}
