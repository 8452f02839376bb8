/**
 * Evasion attacks by CLI name. White-box: fgsm, pgd, cw, deepfool. Black-box: square
 * (scores), hsj (labels).
 */
import { AegisInputError } from '../../core/errors.js';
import { carliniWagner } from './carlini-wagner.js';
import { deepFool } from './deepfool.js';
import type { EvasionAttack } from './evasion-attack.js';
import { fgsm } from './fgsm.js';
import { hopSkipJumpAttack } from './hop-skip-jump.js';
import { pgd } from './pgd.js';
import { squareAttack } from './square-attack.js';

export const EVASION_ATTACKS: Readonly<Record<string, EvasionAttack>> = {
  // White-box (gradients).
  fgsm,
  pgd,
  cw: carliniWagner,
  deepfool: deepFool,
  // Black-box (scores / labels).
  square: squareAttack,
  hsj: hopSkipJumpAttack,
};

/** Registered attack names, in registration order. */
export function evasionAttackNames(): string[] {
  return Object.keys(EVASION_ATTACKS);
}

/** The attack called `name`; unknown names raise AegisInputError listing the valid ones. */
export function getEvasionAttack(name: string): EvasionAttack {
  const attack = Object.hasOwn(EVASION_ATTACKS, name) ? EVASION_ATTACKS[name] : undefined;
  if (!attack) {
    throw new AegisInputError(`unknown evasion attack '${name}'; valid names: ${evasionAttackNames().join(', ')}`);
  }
  return attack;
}
