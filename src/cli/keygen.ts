/** `aegis keygen`: create an Ed25519 key pair for `aegis sign` / `aegis verify`. */
import type { Command } from 'commander';
import { generateSigningKeyPair, writeKeyPair } from '../defenses/lineage/signing-keys.js';
import { cliOutput } from './io.js';

interface KeygenFlags {
  out: string;
  name: string;
  force?: boolean;
}

export function registerKeygenCommand(program: Command): void {
  program
    .command('keygen')
    .description('create an Ed25519 key pair: <name>.key (private, mode 0600) and <name>.pub')
    .requiredOption('--out <dir>', 'folder to write the key pair into (created if missing)')
    .option('--name <name>', 'file name of the pair, without extension', 'aegis')
    .option('--force', 'replace an existing key pair of that name')
    .action((flags: KeygenFlags) => {
      const written = writeKeyPair(generateSigningKeyPair(), flags.out, { name: flags.name, force: flags.force });
      cliOutput().out(
        `wrote ${written.privatePath} (private key, keep it secret) and ${written.publicPath} (public key)\n` +
          `key id ${written.keyId}\n`,
      );
    });
}
