/**
 * Where the CLI prints. Defaults to the process's streams; tests redirect it to capture
 * what a command says without touching process.stdout (which the test runner uses).
 */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

const processOutput: CliOutput = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

let current: CliOutput = processOutput;

export function cliOutput(): CliOutput {
  return current;
}

/** Redirects CLI output; returns a function that restores the previous one. */
export function redirectCliOutput(output: CliOutput): () => void {
  const previous = current;
  current = output;
  return () => {
    current = previous;
  };
}

let requestedExitCode = 0;

/**
 * A command that succeeded but has a verdict to signal (e.g. `aegis scan` found a high-severity
 * issue → 1) asks for an exit code here; `main` returns the highest one asked for.
 */
export function requestExitCode(code: number): void {
  requestedExitCode = Math.max(requestedExitCode, code);
}

/** Returns the requested exit code and resets it (one CLI run). */
export function takeRequestedExitCode(): number {
  const code = requestedExitCode;
  requestedExitCode = 0;
  return code;
}
