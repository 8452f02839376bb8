/**
 * Model defenses by CLI name (`aegis defend <name>`, `aegis assess --defenses a,b`), and the
 * `name` / `k=v,k=v` parsers the CLI uses. Each defense reads and checks its own parameters
 * (unknown names and bad values are AegisInputErrors raised by the defense itself).
 */
import { AegisInputError } from '../core/errors.js';
import type { Defense, DefenseContext } from './defense.js';
import { featureSqueezingDefense } from './detection/feature-squeezing.js';
import { mahalanobisDefense } from './detection/mahalanobis.js';
import { labelOnlyDefense } from './output/label-only.js';
import { reverseSigmoidDefense } from './output/reverse-sigmoid.js';
import { roundingDefense } from './output/rounding.js';
import { topKDefense } from './output/top-k.js';
import { fbfDefense, fgsmRsDefense } from './training/fbf.js';
import { pgdAtDefense } from './training/pgd-at.js';
import { tradesDefense } from './training/trades.js';
import { bitDepthDefense } from './validation/bit-depth.js';
import { jpegDefense } from './validation/jpeg-quantization.js';
import { medianSmoothingDefense } from './validation/median-smoothing.js';
import { inputValidationDefense } from './validation/validating-model.js';

export type DefenseParams = NonNullable<DefenseContext['params']>;

const ALL: readonly Defense[] = [
  // Adversarial-input detectors.
  featureSqueezingDefense,
  mahalanobisDefense,
  // Adversarial training.
  pgdAtDefense,
  fbfDefense,
  fgsmRsDefense,
  tradesDefense,
  // Output hardening.
  topKDefense,
  roundingDefense,
  labelOnlyDefense,
  reverseSigmoidDefense,
  // Input validation and sanitisers.
  bitDepthDefense,
  medianSmoothingDefense,
  jpegDefense,
  inputValidationDefense,
];

export const DEFENSES: Readonly<Record<string, Defense>> = Object.fromEntries(ALL.map((d) => [d.name, d]));

/** Registered defense names, in registration order. */
export function defenseNames(): string[] {
  return Object.keys(DEFENSES);
}

/** The defense called `name`; unknown names raise AegisInputError listing the valid ones. */
export function getDefense(name: string): Defense {
  const defense = Object.hasOwn(DEFENSES, name) ? DEFENSES[name] : undefined;
  if (!defense) throw new AegisInputError(`unknown defense '${name}'; valid names: ${defenseNames().join(', ')}`);
  return defense;
}

/** 'top-k,label-only' → the defenses, in order; empty items, duplicates and unknown names are input errors. */
export function parseDefenseList(text: string): Defense[] {
  const names = text.split(',').map((s) => s.trim());
  if (names.length === 0 || names.some((n) => n === '')) {
    throw new AegisInputError(`--defenses: '${text}' has an empty name; valid names: ${defenseNames().join(', ')}`);
  }
  const seen = new Set<string>();
  return names.map((name) => {
    if (seen.has(name)) throw new AegisInputError(`--defenses: '${name}' is listed twice`);
    seen.add(name);
    return getDefense(name);
  });
}

/**
 * 'k=3,decimals=2' → {k: '3', decimals: '2'} (values stay strings; each defense converts and checks
 * its own). `true`/`false` stay strings too — the defenses' readers accept them.
 */
export function parseDefenseParams(text: string, flag = '--params'): DefenseParams {
  const out: DefenseParams = {};
  if (text.trim() === '') return out;
  for (const item of text.split(',')) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    if (eq < 0 || key === '' || value === '') {
      throw new AegisInputError(`${flag}: '${item.trim()}' is not name=value (e.g. k=3,decimals=2)`);
    }
    if (Object.hasOwn(out, key)) throw new AegisInputError(`${flag}: parameter '${key}' is given twice`);
    out[key] = value;
  }
  return out;
}

/** Adversarial training for CLI use: a few epochs unless the user asks for more (the library default is 10). */
export const CLI_TRAINING_EPOCHS = 3;

/** The params a defense gets from the CLI: training defenses default to CLI_TRAINING_EPOCHS epochs. */
export function cliDefenseParams(defense: Defense, params: DefenseParams): DefenseParams {
  if (defense.kind === 'training' && params.epochs === undefined) return { epochs: CLI_TRAINING_EPOCHS, ...params };
  return params;
}
