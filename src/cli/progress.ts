/**
 * Progress bars on stderr for long work (attacks, training). Silent when stderr is not
 * a terminal or --quiet is given, so piped output (e.g. --json) stays clean.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(task: string, done: number, total: number): void;
  stop(): void;
}

export function createProgress(enabled = Boolean(process.stderr.isTTY)): Progress {
  if (!enabled) return { update() {}, stop() {} };
  const multi = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      format: ' {task} |{bar}| {percentage}% {value}/{total} eta {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    update(task, done, total) {
      let bar = bars.get(task);
      if (!bar) {
        bar = multi.create(total, 0, { task: task.padEnd(10) });
        bars.set(task, bar);
      }
      bar.setTotal(total);
      bar.update(done, { task: task.padEnd(10) });
    },
    stop() {
      multi.stop();
    },
  };
}
