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
