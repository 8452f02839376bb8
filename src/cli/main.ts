/**
 * The `aegis` command. Each subcommand lives in its own file and only parses flags,
 * calls the library and prints; user-fixable errors exit with code 2 and one message.
 */

import { Command, CommanderError } from 'commander';
import { isInputError } from '../core/errors.js';
import { packageVersion } from '../core/version.js';
import { cliOutput, takeRequestedExitCode } from './io.js';

export const USAGE_EXIT_CODE = 2;

type RegisterCommand = (program: Command) => void;

/**
 * Every subcommand and the module that defines it, in help order. A module is imported only when
 * its command runs (or when all are needed, for help): starting `aegis serve` should not load
 * the attacks, the phishing parser and the chart renderer.
 */
const COMMANDS: readonly [name: string, load: () => Promise<RegisterCommand>][] = [
  ['demo', async () => (await import('./demo.js')).registerDemoCommand],
  ['train', async () => (await import('./train.js')).registerTrainCommand],
  ['attack', async () => (await import('./attack.js')).registerAttackCommand],
  ['keygen', async () => (await import('./keygen.js')).registerKeygenCommand],
  ['sign', async () => (await import('./sign.js')).registerSignCommand],
  ['verify', async () => (await import('./verify.js')).registerVerifyCommand],
  ['scan', async () => (await import('./scan.js')).registerScanCommand],
  ['lineage', async () => (await import('./lineage.js')).registerLineageCommand],
  ['poison', async () => (await import('./poison.js')).registerPoisonCommand],
  ['defend', async () => (await import('./defend.js')).registerDefendCommand],
  ['assess', async () => (await import('./assess.js')).registerAssessCommand],
  ['audit', async () => (await import('./audit.js')).registerAuditCommand],
  ['keys', async () => (await import('./keys.js')).registerKeysCommand],
  ['serve', async () => (await import('./serve.js')).registerServeCommand],
  ['monitor', async () => (await import('./monitor.js')).registerMonitorCommand],
  ['nids', async () => (await import('./nids.js')).registerNidsCommand],
  ['phish', async () => (await import('./phish.js')).registerPhishCommand],
  ['uba', async () => (await import('./uba.js')).registerUbaCommand],
  ['triage', async () => (await import('./triage.js')).registerTriageCommand],
];

/** The program with the command `argv` names (all commands when it names none, e.g. for --help; none for --version). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('aegis')
    .description('Attack and defend machine-learning models; ML detectors for defenders.')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => cliOutput().out(s), writeErr: (s) => cliOutput().err(s) });
  const requested = COMMANDS.filter(([name]) => name === argv[2]);
  const versionOnly = argv[2] === '--version' || argv[2] === '-V';
  for (const [, load] of requested.length > 0 || versionOnly ? requested : COMMANDS) (await load())(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  takeRequestedExitCode();
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    return takeRequestedExitCode();
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed.
      return error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
    }
    if (isInputError(error)) {
      cliOutput().err(`aegis: ${error.message}\n`);
      return USAGE_EXIT_CODE;
    }
    throw error;
  }
}

const isEntryPoint = process.argv[1] && /(?:main\.ts|aegis(?:\.js)?)$/.test(process.argv[1]);
if (isEntryPoint) {
  process.exitCode = await main(process.argv);
}
