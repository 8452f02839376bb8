/**
 * MI-Face (Fredrikson, Jha & Ristenpart, CCS 2015, "Model Inversion Attacks that Exploit
 * Confidence Information and Basic Countermeasures", Algorithm 1): gradient descent on
 * c(x) = 1 − f̃_label(x) (no auxiliary term, as the paper uses for faces) from x₀ = 0 with step λ,
 * at most α iterations, each followed by PROCESS (here optional denoise + sharpen, see
 * process.ts) and clipping to the input range; it stops early when the cost has not improved
 * for β iterations or the confidence reaches γ, and returns the iterate with the lowest cost.
 *
 * Differences from the paper, stated: γ is read as a confidence threshold (stop when
 * f̃_label(x) ≥ γ, i.e. c(x) ≤ 1 − γ; the paper's γ = 0.99 compares against the cost); the
 * patience rule is "no new best cost for β iterations"; α defaults to 1000 (paper: 5000).
 */
import { AegisInputError } from '../../core/errors.js';
import type { CostOracle } from './gradient-source.js';
import { denoiseSharpen } from './process.js';

export interface MiFaceOptions {
  /** α: maximum iterations. Default 1000 (the paper: 5000). */
  steps?: number;
  /** λ: gradient step. Default 0.1 (the paper's). */
  stepSize?: number;
  /** β: stop when the best cost has not improved for this many iterations. Default 100. */
  patience?: number;
  /** γ: stop once the target confidence reaches this. Default 0.99. */
  confidence?: number;
  /** PROCESS after each step: 'none' (default) or 'denoise-sharpen'. */
  process?: 'none' | 'denoise-sharpen';
  /** Image geometry [h, w, c] for PROCESS; required when process is not 'none'. */
  imageShape?: number[];
  /** Valid input domain; every iterate is clipped to it. Default [0, 1]. */
  inputRange?: [number, number];
}

export interface MiFaceResult {
  /** argmin over iterates of c(x). */
  x: Float32Array;
  /** c at that iterate (1 − confidence). */
  cost: number;
  /** Iterations run (gradient evaluations). */
  iterations: number;
  stoppedBy: 'confidence' | 'patience' | 'steps' | 'budget';
}

export const MI_FACE_CITATION =
  'Fredrikson, Jha & Ristenpart, "Model Inversion Attacks that Exploit Confidence Information and Basic Countermeasures", CCS 2015';

export function checkMiFaceOptions(
  o: MiFaceOptions,
): Required<Omit<MiFaceOptions, 'imageShape'>> & Pick<MiFaceOptions, 'imageShape'> {
  const r = {
    steps: o.steps ?? 1000,
    stepSize: o.stepSize ?? 0.1,
    patience: o.patience ?? 100,
    confidence: o.confidence ?? 0.99,
    process: o.process ?? 'none',
    inputRange: o.inputRange ?? ([0, 1] as [number, number]),
    imageShape: o.imageShape,
  };
  if (!Number.isInteger(r.steps) || r.steps < 1) throw new AegisInputError(`MI-Face steps must be ≥ 1, got ${r.steps}`);
  if (!(r.stepSize > 0 && Number.isFinite(r.stepSize))) {
    throw new AegisInputError(`MI-Face step size must be a positive number, got ${r.stepSize}`);
  }
  if (!Number.isInteger(r.patience) || r.patience < 1) {
    throw new AegisInputError(`MI-Face patience must be ≥ 1, got ${r.patience}`);
  }
  if (!(r.confidence > 0 && r.confidence <= 1)) {
    throw new AegisInputError(`MI-Face confidence threshold must be in (0, 1], got ${r.confidence}`);
  }
  if (r.process !== 'none' && r.process !== 'denoise-sharpen') {
    throw new AegisInputError(`MI-Face process must be 'none' or 'denoise-sharpen', got '${r.process}'`);
  }
  if (r.process !== 'none' && (r.imageShape === undefined || r.imageShape.length !== 3)) {
    throw new AegisInputError(`MI-Face process '${r.process}' needs image inputs [h, w, c]`);
  }
  return r;
}

function clipInPlace(x: Float32Array, [low, high]: [number, number]): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = Math.min(high, Math.max(low, x[i] as number));
  return x;
}

/** Reconstructs one class from `oracle` (which fixes the model, the label and the gradient source). */
export async function miFace(
  oracle: CostOracle,
  inputSize: number,
  options: MiFaceOptions = {},
): Promise<MiFaceResult> {
  const o = checkMiFaceOptions(options);
  let x: Float32Array = clipInPlace(new Float32Array(inputSize), o.inputRange); // x₀ = 0 (clipped, should 0 be outside the range)
  let best = { x, cost: Number.POSITIVE_INFINITY, iteration: 0 };
  let stoppedBy: MiFaceResult['stoppedBy'] = 'steps';
  let iterations = 0;
  for (let i = 0; i < o.steps; i++) {
    const step = await oracle.evaluate(x);
    if (step === undefined) {
      stoppedBy = 'budget';
      break;
    }
    iterations++;
    if (step.cost < best.cost) best = { x, cost: step.cost, iteration: i };
    if (step.cost <= 1 - o.confidence) {
      stoppedBy = 'confidence';
      break;
    }
    if (i - best.iteration >= o.patience) {
      stoppedBy = 'patience';
      break;
    }
    let next: Float32Array = new Float32Array(inputSize);
    for (let j = 0; j < inputSize; j++) next[j] = (x[j] as number) - o.stepSize * (step.grad[j] as number);
    if (o.process === 'denoise-sharpen') {
      const [h, w, c] = o.imageShape as [number, number, number];
      next = denoiseSharpen(next, h, w, c);
    }
    x = clipInPlace(next, o.inputRange);
  }
  return { x: best.x, cost: best.cost, iterations, stoppedBy };
}
