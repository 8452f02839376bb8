/** `aegis attack <family>`: one subcommand per attack family. */
import type { Command } from 'commander';
import { registerEvasionCommand } from './attack-evasion.js';
import { registerExtractionCommand } from './attack-extraction.js';
import { registerInversionCommand } from './attack-inversion.js';
import { registerMembershipCommand } from './attack-membership.js';
import { registerPoisoningCommand } from './attack-poisoning.js';

export function registerAttackCommand(program: Command): void {
  const attack = program.command('attack').description('run attacks against a model and write a report');
  registerEvasionCommand(attack);
  registerExtractionCommand(attack);
  registerInversionCommand(attack);
  registerMembershipCommand(attack);
  registerPoisoningCommand(attack);
}
