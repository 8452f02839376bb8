/** Runs the `aegis` CLI in-process and captures what it prints (no child process: fast). */
import { redirectCliOutput } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[]): Promise<CliRun> {
  const err: string[] = [];
  const out: string[] = [];
  const restore = redirectCliOutput({ out: (t) => void out.push(t), err: (t) => void err.push(t) });
  try {
    const code = await main(['node', 'aegis', ...args]);
    return { code, stderr: err.join(''), stdout: out.join('') };
  } finally {
    restore();
  }
}
