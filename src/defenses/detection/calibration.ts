/**
 * Detector thresholds set at a chosen false-positive rate on clean data (Xu, Evans & Qi 2018,
 * §IV-C: "the threshold is selected so that the false positive rate on legitimate examples is
 * at most 5%"). The threshold is the empirical (1 − fpr) quantile of the clean scores, chosen so
 * that at most ⌊fpr·n⌋ of the n clean calibration scores lie strictly above it: the calibration
 * FPR never exceeds the target, and on fresh clean data it is fpr up to sampling error.
 */
import { AegisInputError } from '../../core/errors.js';
import { type Dataset, featureShape, validateDataset } from '../../data/dataset.js';
import type { ModelInfo } from '../../models/model.js';

/** The default target false-positive rate (the figure the literature reports at). */
export const DEFAULT_FPR = 0.05;

/** fpr must be in (0, 0.5]: a detector that flags more than half of clean inputs is not a detector. */
export function checkFpr(fpr: number, who: string): number {
  if (!(Number.isFinite(fpr) && fpr > 0 && fpr <= 0.5)) {
    throw new AegisInputError(`${who}: false-positive rate 'fpr' must be in (0, 0.5], got ${fpr}`);
  }
  return fpr;
}

/** Throws AegisInputError when a score is NaN (a broken model or input, never a verdict). */
export function checkScores(scores: ArrayLike<number>, who: string): void {
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i])) throw new AegisInputError(`${who}: score of example ${i} is NaN`);
  }
}

/**
 * The threshold at which at most ⌊fpr·n⌋ clean scores are flagged (flagged = score > threshold):
 * the (⌊fpr·n⌋ + 1)-th largest clean score.
 */
export function thresholdAtFpr(cleanScores: ArrayLike<number>, fpr: number, who = 'detector calibration'): number {
  checkFpr(fpr, who);
  const n = cleanScores.length;
  if (n === 0) throw new AegisInputError(`${who}: no clean scores to calibrate the threshold on`);
  checkScores(cleanScores, who);
  const sorted = Float64Array.from(cleanScores).sort();
  const allowed = Math.floor(fpr * n);
  return sorted[n - 1 - allowed] as number;
}

/** Share of `scores` strictly above `threshold` (the flag rule of every detector here). */
export function flaggedRate(scores: ArrayLike<number>, threshold: number): number {
  if (scores.length === 0) return 0;
  let above = 0;
  for (let i = 0; i < scores.length; i++) if ((scores[i] as number) > threshold) above++;
  return above / scores.length;
}

/** 1 where score > threshold. */
export function flagScores(scores: Float32Array, threshold: number): Uint8Array {
  const out = new Uint8Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = (scores[i] as number) > threshold ? 1 : 0;
  return out;
}

/** Checks a clean dataset given to a detector: present, non-empty, valid, of the model's input shape. */
export function checkCleanData(
  data: Dataset | undefined,
  info: ModelInfo,
  who: string,
  role: 'calibration' | 'train',
  purpose: string,
): Dataset {
  if (!data) throw new AegisInputError(`${who} needs clean ${role} data (context.${role}) ${purpose}`);
  validateDataset(data);
  const got = featureShape(data);
  const want = info.inputShape;
  if (got.join(',') !== want.join(',')) {
    throw new AegisInputError(
      `${who}: ${role} data '${data.name}' has examples of shape [${got}] but model '${info.name}' expects [${want}]`,
    );
  }
  if (data.y.length < 2) throw new AegisInputError(`${who}: ${role} data '${data.name}' needs at least 2 examples`);
  return data;
}
