/** `aegis sign`: sign a model file or folder (DSSE envelope of an in-toto statement, Ed25519). */
import type { Command } from 'commander';
import { signArtifact } from '../defenses/lineage/sign-artifact.js';
import { readPrivateKey } from '../defenses/lineage/signing-keys.js';
import { cliOutput } from './io.js';

interface SignFlags {
  key: string;
  signature?: string;
  ignore?: string[];
  ignoreGit: boolean;
  allowSymlinks?: boolean;
  json?: boolean;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export function registerSignCommand(program: Command): void {
  program
    .command('sign')
    .description('sign a model file or folder with an Ed25519 private key (OpenSSF model signing style)')
    .argument('<path>', 'model file or folder')
    .requiredOption('--key <private.pem>', "private key from 'aegis keygen' (the .key file)")
    .option('--signature <path>', 'where to write the signature (default: <folder>/model.sig or <file>.sig)')
    .option('--ignore <paths...>', 'paths inside the folder to leave unsigned (recorded in the signature)')
    .option('--no-ignore-git', 'also sign .git, .gitattributes, .github and .gitignore')
    .option('--allow-symlinks', 'follow symbolic links to files inside the folder instead of refusing them')
    .option('--json', 'print the result as JSON')
    .action(async (path: string, flags: SignFlags) => {
      const privateKey = readPrivateKey(flags.key);
      const result = await signArtifact(path, {
        privateKey,
        signaturePath: flags.signature,
        ignorePaths: flags.ignore,
        ignoreGitPaths: flags.ignoreGit,
        allowSymlinks: flags.allowSymlinks,
      });
      if (flags.json) {
        const { signaturePath, keyId, files, bytes, statement } = result;
        cliOutput().out(`${JSON.stringify({ signaturePath, keyId, files, bytes, statement }, null, 2)}\n`);
        return;
      }
      cliOutput().out(
        `signed ${result.files} file${result.files === 1 ? '' : 's'} (${formatBytes(result.bytes)}) of ${path}\n` +
          `signature ${result.signaturePath}\nkey id ${result.keyId}\n`,
      );
    });
}
