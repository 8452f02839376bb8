/**
 * Inputs of `aegis defend` and `aegis assess`: the model, the data split (seeded) into a
 * calibration part for detector thresholds and a disjoint part to attack/measure on, and the
 * optional training data for training defenses. Data specs as elsewhere (`bundled:test[0:500]`).
 */
import { AegisInputError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { type Dataset, size, split } from '../data/dataset.js';
import { loadModel, tabularSchemaOf } from '../models/load-model.js';
import type { Model } from '../models/model.js';
import { loadDataSpec } from './data-spec.js';
import { parseAccess } from './parse-options.js';

export interface DefenseDataFlags {
  model: string;
  data: string;
  train?: string;
  calibrationFraction: string;
  access?: string;
  labelColumn?: string;
  seed: string;
}

export interface DefenseInputs {
  model: Model;
  /** The part of --data the attacks (or the utility check) run on. */
  test: Dataset;
  /** The seeded part of --data detectors calibrate on (never attacked). */
  calibration: Dataset;
  train?: Dataset;
  seed: number;
}

export function parseSeed(text: string): number {
  const seed = Number(text);
  if (!Number.isInteger(seed)) throw new AegisInputError(`--seed takes a whole number, got '${text}'`);
  return seed;
}

function parseFraction(text: string): number {
  const value = Number(text);
  if (!(Number.isFinite(value) && value > 0 && value < 1)) {
    throw new AegisInputError(`--calibration-fraction takes a number in (0, 1), got '${text}'`);
  }
  return value;
}

/** Loads everything before any defense runs; the caller disposes the model. */
export async function loadDefenseInputs(flags: DefenseDataFlags): Promise<DefenseInputs> {
  const seed = parseSeed(flags.seed);
  const fraction = parseFraction(flags.calibrationFraction);
  const schema = tabularSchemaOf(flags.model);
  const opts = { labelColumn: flags.labelColumn, schema };
  const data = await loadDataSpec('--data', flags.data, opts);
  const train = flags.train ? await loadDataSpec('--train', flags.train, opts) : undefined;
  const [calibration, test] = split(data, fraction, new Rng(seed));
  if (size(calibration) < 2 || size(test) < 1) {
    throw new AegisInputError(
      `--data: ${size(data)} examples are too few to split into calibration and test parts (fraction ${fraction})`,
    );
  }
  const model = await loadModel(flags.model, { access: parseAccess(flags.access) });
  return { model, test, calibration, train, seed };
}
