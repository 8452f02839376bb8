/**
 * `aegis serve …` as users run it: a child process, resolved once it prints its listening line
 * on stdout (the URL of the gateway). Tests then talk HTTP to it, signal it, or kill -9 it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface ServedChild {
  child: ChildProcess;
  /** http://127.0.0.1:<port> */
  url: string;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `aegis serve <args>`; rejects if it exits first or prints no URL within `timeoutMs`. */
export function serveChild(args: readonly string[], timeoutMs = 120_000): Promise<ServedChild> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'serve', ...args],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal })),
  );
  return new Promise((resolveServed, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no listening line within ${timeoutMs / 1000} s; stderr:\n${err}`));
    }, timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^aegis gateway listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolveServed({ child, url: match[1] as string, stdout: () => out, stderr: () => err, exit });
      }
    });
    void exit.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`aegis serve exited (${code ?? signal}) before listening; stderr:\n${err}`));
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves when it is gone. */
export async function stopChild(served: ServedChild | undefined, graceMs = 15_000): Promise<void> {
  if (!served || served.child.exitCode !== null || served.child.signalCode !== null) return;
  served.child.kill('SIGTERM');
  const timer = setTimeout(() => served.child.kill('SIGKILL'), graceMs);
  await served.exit;
  clearTimeout(timer);
}
