// Feature collision: Shafahi, Huang, Najibi, Suciu, Studer, Dumitras & Goldstein, "Poison Frogs! Targeted Clean-Label Poisoning Attacks on Neural Networks", NeurIPS 2018, arXiv:1804.00792.
/**
 * Clean-label poisoning of a transfer-learned victim. The victim takes a fixed, public feature
 * extractor f (a pretrained network up to its penultimate layer) and trains only a new final layer
 * on its own data. The adversary picks a target test image t (true class ≠ base class) and base
 * images b of the base class, and crafts poisons p that look like b but sit on t in feature space:
 *
 *   p = argmin_x ‖f(x) − f(t)‖² + β‖x − b‖²
 *
 * solved by the paper's forward-backward splitting (Algorithm 1): a gradient step on the feature
 * term, x̂ = x − λ∇‖f(x) − f(t)‖², then the proximal step of the image term,
 * x = (x̂ + λβb) / (1 + λβ), clipped to the input range. β = β0 · (dim f / dim x)² with β0 = 0.25,
 * the paper's scaling (it used 2048 features over 299·299·3 pixels). As in the authors' code and
 * ART, a step that raises the objective is rejected and λ is halved for that poison.
 *
 * The poisons replace their base rows and keep the base label: every label stays correct.
 * Success: the victim fine-tuned on (clean + poisons) classifies the target as the base class.
 * Each target is one trial (one poisoned set, one victim); the attack success rate is the share of
 * targets won. Targets are test images the clean victim classifies correctly.
 * Optional watermarking (the paper's end-to-end setting, opacity 0.3): bases are first blended with
 * the target, b ← (1 − γ)b + γt.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import { type Dataset, featureShape, take } from '../../data/dataset.js';
import type { FeatureExtractor } from './feature-extractor.js';
import { checkClass, countFor, pickRows, rowCount, rowsWhere } from './poison-rows.js';
import { isTextData, type PoisoningAttack, type PoisonTrial } from './poisoning-attack.js';

export const FEATURE_COLLISION_CITATION =
  'Shafahi, Huang, Najibi, Suciu, Studer, Dumitras & Goldstein, "Poison Frogs! Targeted Clean-Label Poisoning Attacks on Neural Networks", NeurIPS 2018, arXiv:1804.00792';

export interface CollisionOptions {
  /** Forward-backward iterations. Default 200. */
  iterations?: number;
  /** Initial step size λ (halved per poison whenever a step raises the objective). Default 0.05. */
  stepSize?: number;
  /** β0 of β = β0 · (dim f / dim x)². Default 0.25 (the paper's). */
  beta0?: number;
  /** Watermark opacity γ in [0, 1): bases blended with the target first. Default 0. */
  opacity?: number;
  /** Valid input domain; poisons are clipped to it. Default [0, 1]. */
  inputRange?: [number, number];
}

export interface FeatureCollisionOptions extends CollisionOptions {
  extractor: FeatureExtractor;
  /** The label the adversary wants the target to get; poisons are (correctly labelled) images of this class. */
  baseClass: number;
  /** Target test images, one trial each. Default 5. */
  targets?: number;
  /** Only targets whose true class is this one (default: any class but the base class). */
  targetTrueClass?: number;
}

export interface CollisionResult {
  /** Row-major poisons [k, ...inputShape]. */
  poisons: Float32Array;
  /** ‖f(p) − f(t)‖ per poison, at the start (watermarked base) and the end. */
  initialDistance: Float32Array;
  finalDistance: Float32Array;
  /** β used. */
  beta: number;
}

function resolve(opts: CollisionOptions): Required<CollisionOptions> {
  const o = {
    iterations: 200,
    stepSize: 0.05,
    beta0: 0.25,
    opacity: 0,
    inputRange: [0, 1] as [number, number],
    ...opts,
  };
  if (!(Number.isInteger(o.iterations) && o.iterations > 0)) {
    throw new AegisInputError(`feature collision: iterations must be a positive whole number, got ${o.iterations}`);
  }
  if (!(o.stepSize > 0 && Number.isFinite(o.stepSize))) {
    throw new AegisInputError(`feature collision: step size must be a positive number, got ${o.stepSize}`);
  }
  if (!(o.beta0 >= 0 && Number.isFinite(o.beta0))) {
    throw new AegisInputError(`feature collision: beta0 must be a number ≥ 0, got ${o.beta0}`);
  }
  if (!(o.opacity >= 0 && o.opacity < 1)) {
    throw new AegisInputError(`feature collision: watermark opacity ${o.opacity} is outside [0, 1)`);
  }
  return o;
}

/**
 * Crafts one poison per base image, all colliding with the same target (batched: the poisons are
 * independent, so one gradient of the summed feature loss gives each its own gradient).
 */
export async function craftCollisions(
  extractor: FeatureExtractor,
  bases: Float32Array,
  target: Float32Array,
  opts: CollisionOptions = {},
): Promise<CollisionResult> {
  const o = resolve(opts);
  const shape = extractor.inputShape;
  const per = shape.reduce((a, b) => a * b, 1);
  if (target.length !== per || bases.length % per !== 0 || bases.length === 0) {
    throw new AegisInputError(
      `feature collision: the target needs ${per} values and the bases a multiple of ${per}, got ${target.length} and ${bases.length}`,
    );
  }
  const k = bases.length / per;
  const beta = o.beta0 * (extractor.dim / per) ** 2;
  const [low, high] = o.inputRange;
  const ones = shape.map(() => 1);
  const t = tf.tensor(target, [1, ...shape], 'float32');
  const ft = extractor.features(t);
  const b = tf.tidy(() => {
    const raw = tf.tensor(bases, [k, ...shape], 'float32');
    return o.opacity > 0 ? tf.add(tf.mul(raw, 1 - o.opacity), tf.mul(t, o.opacity)) : raw;
  });
  const featureLoss = (x: tf.Tensor): tf.Tensor1D =>
    tf.sum(tf.square(tf.sub(extractor.features(x), ft)), 1) as tf.Tensor1D;
  const objective = (x: tf.Tensor): tf.Tensor1D =>
    tf.tidy(() => {
      const image = tf.sum(tf.reshape(tf.square(tf.sub(x, b)), [k, per]), 1);
      return tf.add(featureLoss(x), tf.mul(image, beta)) as tf.Tensor1D;
    });
  const gradient = tf.grad((x: tf.Tensor) => tf.sum(featureLoss(x)));
  const lambda = new Float32Array(k).fill(o.stepSize);
  let x = tf.clone(b);
  let current = objective(x);
  const distances = async (at: tf.Tensor): Promise<Float32Array> => {
    const d = tf.tidy(() => tf.sqrt(featureLoss(at)));
    const values = Float32Array.from(await d.data());
    d.dispose();
    return values;
  };
  const initialDistance = await distances(x);
  try {
    for (let it = 0; it < o.iterations; it++) {
      const step = tf.tensor(lambda, [k, ...ones], 'float32');
      const candidate = tf.tidy(() => {
        const forward = tf.sub(x, tf.mul(step, gradient(x)));
        const lb = tf.mul(step, beta);
        const backward = tf.div(tf.add(forward, tf.mul(lb, b)), tf.add(lb, 1));
        return tf.clipByValue(backward, low, high);
      });
      step.dispose();
      const next = objective(candidate);
      const improved = tf.less(next, current);
      const accepted = (await improved.data()) as Uint8Array;
      const [newX, newObjective] = tf.tidy(() => {
        const mask = tf.reshape(improved, [k, ...ones]);
        return [tf.where(tf.broadcastTo(mask, [k, ...shape]), candidate, x), tf.where(improved, next, current)];
      });
      tf.dispose([x, current, candidate, next, improved]);
      x = newX;
      current = newObjective as tf.Tensor1D;
      let active = false;
      for (let i = 0; i < k; i++) {
        if (!accepted[i]) lambda[i] = (lambda[i] as number) * 0.5;
        if ((lambda[i] as number) > o.stepSize * 1e-9) active = true;
      }
      if (!active) break;
    }
    const finalDistance = await distances(x);
    const poisons = Float32Array.from(await x.data());
    return { poisons, initialDistance, finalDistance, beta };
  } finally {
    tf.dispose([t, ft, b, x, current]);
  }
}

function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] as number;
  return values.length ? s / values.length : 0;
}

/** Mean L2 and L-inf distance between poisons and their original base images. */
function perturbationSizes(poisons: Float32Array, bases: Float32Array, per: number): { l2: number; linf: number } {
  const k = poisons.length / per;
  let l2 = 0;
  let linf = 0;
  for (let i = 0; i < k; i++) {
    let s = 0;
    let m = 0;
    for (let j = i * per; j < (i + 1) * per; j++) {
      const d = (poisons[j] as number) - (bases[j] as number);
      s += d * d;
      m = Math.max(m, Math.abs(d));
    }
    l2 += Math.sqrt(s);
    linf += m;
  }
  return { l2: k ? l2 / k : 0, linf: k ? linf / k : 0 };
}

/** Feature collision for runPoisoning: one trial per target, `fraction` of the training rows as poisons. */
export function featureCollision(opts: FeatureCollisionOptions): PoisoningAttack {
  const { extractor, baseClass } = opts;
  const targets = opts.targets ?? 5;
  const collision = resolve(opts);
  return {
    name: 'feature-collision',
    title: 'Feature collision (Poison Frogs), clean-label poisoning of a fine-tuned final layer',
    citation: FEATURE_COLLISION_CITATION,
    atlas: 'AML.T0020',
    access: 'gradients',
    mitigations: ['AML.M0007', 'AML.M0025', 'AML.M0008'],
    knowledge: (fraction) =>
      `the public feature extractor (white-box) and one target test image; adds ${(100 * fraction).toFixed(1)}% of the training rows as correctly labelled poisons of class ${baseClass}; no access to the fine-tuned model`,
    check(train, test) {
      if (isTextData(train) || isTextData(test))
        throw new AegisInputError('feature collision needs numeric (image) data');
      checkClass(baseClass, train.classNames, 'base (target) class');
      if (opts.targetTrueClass !== undefined) {
        checkClass(opts.targetTrueClass, train.classNames, 'target true class');
        if (opts.targetTrueClass === baseClass) {
          throw new AegisInputError(`the targets' true class ${baseClass} equals the base class: nothing to flip`);
        }
      }
      if (!(Number.isInteger(targets) && targets > 0)) {
        throw new AegisInputError(`feature collision: targets must be a positive whole number, got ${targets}`);
      }
      for (const data of [train, test]) {
        if (featureShape(data).join(',') !== extractor.inputShape.join(',')) {
          throw new AegisInputError(
            `dataset '${data.name}' has examples [${featureShape(data)}] but the feature extractor expects [${extractor.inputShape}]`,
          );
        }
      }
    },
    async craft(trainData, fraction, seed, ctx): Promise<PoisonTrial[]> {
      const train = trainData as Dataset;
      const test = ctx.test as Dataset;
      const rng = new Rng(seed);
      const candidates = rowsWhere(
        test.y,
        (label, i) =>
          label !== baseClass &&
          (opts.targetTrueClass === undefined || label === opts.targetTrueClass) &&
          ctx.baselinePredictions[i] === label,
      );
      if (candidates.length === 0) {
        throw new AegisInputError(
          'feature collision: no test image of the target classes is classified correctly by the clean victim',
        );
      }
      const chosen = pickRows(candidates, Math.min(targets, candidates.length), new Rng(rng.fork()), 'targets');
      const baseRows = rowsWhere(train.y, (label) => label === baseClass);
      const count = countFor(fraction, rowCount(train));
      const per = featureShape(train).reduce((a, b) => a * b, 1);
      const trials: PoisonTrial[] = [];
      for (const targetRow of chosen) {
        const bases = pickRows(
          baseRows,
          count,
          new Rng(rng.fork()),
          `feature collision at poison fraction ${fraction}`,
        );
        const x = train.x.slice();
        const baseX = take(train, bases).x;
        let info: Record<string, number> = { targetRow };
        let poisons: Float32Array = new Float32Array(0);
        if (count > 0) {
          const target = test.x.subarray(targetRow * per, (targetRow + 1) * per);
          const result = await craftCollisions(extractor, baseX, Float32Array.from(target), collision);
          poisons = result.poisons;
          bases.forEach((r, i) => {
            x.set(poisons.subarray(i * per, (i + 1) * per), r * per);
          });
          const size = perturbationSizes(poisons, baseX, per);
          info = {
            targetRow,
            featureDistanceRatio: mean(result.finalDistance) / Math.max(mean(result.initialDistance), 1e-12),
            poisonL2: size.l2,
            poisonLinf: size.linf,
          };
        }
        trials.push({
          data: { ...train, x, y: Int32Array.from(train.y) },
          poisonIndices: bases,
          targetClass: baseClass,
          info,
          async measure({ cleanPredictions }) {
            return { hits: cleanPredictions[targetRow] === baseClass ? 1 : 0, eligible: 1 };
          },
          examples(_test, n) {
            const keep = Math.min(n, bases.length);
            if (keep === 0) return undefined;
            const first = take(train, bases.subarray(0, keep));
            return {
              first,
              second: { ...first, x: poisons.slice(0, keep * per) },
              labels: first.y,
              captions: {
                clean: 'base',
                adversarial: 'poison',
                legend: `Base training images of class ${train.classNames[baseClass] ?? baseClass} and their poisons (label unchanged), crafted to collide in feature space with test image #${targetRow} (${test.classNames[test.y[targetRow] as number] ?? ''}); predictions are the fine-tuned victim's.`,
              },
            };
          },
        });
      }
      return trials;
    },
  };
}
