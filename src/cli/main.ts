/**
 * The `aegis` command. Each subcommand lives in its own file and only parses flags,
 * calls the library and prints; user-fixable errors exit with code 2 and one message.
 */

import { Command, CommanderError } from 'commander';
import { isInputError } from '../core/errors.js';
import { packageVersion } from '../core/version.js';
import { registerAssessCommand } from './assess.js';
import { registerAttackCommand } from './attack.js';
import { registerAuditCommand } from './audit.js';
import { registerDefendCommand } from './defend.js';
import { registerDemoCommand } from './demo.js';
import { cliOutput, takeRequestedExitCode } from './io.js';
import { registerKeygenCommand } from './keygen.js';
import { registerKeysCommand } from './keys.js';
import { registerLineageCommand } from './lineage.js';
import { registerMonitorCommand } from './monitor.js';
import { registerNidsCommand } from './nids.js';
import { registerPhishCommand } from './phish.js';
import { registerPoisonCommand } from './poison.js';
import { registerScanCommand } from './scan.js';
import { registerServeCommand } from './serve.js';
import { registerSignCommand } from './sign.js';
import { registerTrainCommand } from './train.js';
import { registerTriageCommand } from './triage.js';
import { registerUbaCommand } from './uba.js';
import { registerVerifyCommand } from './verify.js';

export const USAGE_EXIT_CODE = 2;

export function buildProgram(): Command {
  const program = new Command('aegis')
    .description('Attack and defend machine-learning models; ML detectors for defenders.')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => cliOutput().out(s), writeErr: (s) => cliOutput().err(s) });
  registerDemoCommand(program);
  registerTrainCommand(program);
  registerAttackCommand(program);
  registerKeygenCommand(program);
  registerSignCommand(program);
  registerVerifyCommand(program);
  registerScanCommand(program);
  registerLineageCommand(program);
  registerPoisonCommand(program);
  registerDefendCommand(program);
  registerAssessCommand(program);
  registerAuditCommand(program);
  registerKeysCommand(program);
  registerServeCommand(program);
  registerMonitorCommand(program);
  registerNidsCommand(program);
  registerPhishCommand(program);
  registerUbaCommand(program);
  registerTriageCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  takeRequestedExitCode();
  try {
    await buildProgram().parseAsync(argv);
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
