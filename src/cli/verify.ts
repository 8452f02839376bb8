/**
 * `aegis verify`: check a model file or folder against its signature and a trusted public key.
 * Exit 0 when valid, 1 when any check fails (reasons printed), 2 when the signature or key cannot
 * be read.
 */
import type { Command } from 'commander';
import { readPublicKey } from '../defenses/lineage/signing-keys.js';
import { type VerifyReport, verifyArtifact } from '../defenses/lineage/verify-artifact.js';
import { cliOutput, requestExitCode } from './io.js';

interface VerifyFlags {
  key: string;
  signature?: string;
  json?: boolean;
}

function describeReport(report: VerifyReport): string {
  if (report.valid) {
    const files = `${report.signedFiles} file${report.signedFiles === 1 ? '' : 's'}`;
    return `verified: ${report.target} matches ${report.signaturePath} (${files}, key id ${report.keyId})\n`;
  }
  const lines = report.reasons.map((reason) => `  ${reason}\n`).join('');
  return `verification FAILED: ${report.target} against ${report.signaturePath}\n${lines}`;
}

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description('verify a signed model file or folder: signature, statement, and every file')
    .argument('<path>', 'model file or folder')
    .requiredOption('--key <public.pem>', 'trusted public key (the .pub file)')
    .option('--signature <path>', 'signature to check (default: <folder>/model.sig or <file>.sig)')
    .option('--json', 'print the verification report as JSON')
    .action(async (path: string, flags: VerifyFlags) => {
      const publicKey = readPublicKey(flags.key);
      const report = await verifyArtifact(path, { publicKey, signaturePath: flags.signature });
      cliOutput().out(flags.json ? `${JSON.stringify(report, null, 2)}\n` : describeReport(report));
      if (!report.valid) requestExitCode(1);
    });
}
