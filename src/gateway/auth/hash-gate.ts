/**
 * Caps the scrypt work that unverified credentials can cause: at most `concurrency` hashes run
 * at once (on libuv's thread pool, off the event loop) and at most `maxQueued` wait; a request
 * beyond that is refused at once instead of queueing without bound. A flood of distinct forged
 * keys therefore costs at most `concurrency` cores, while keys already verified (cached) are
 * served without touching the gate.
 */
export class HashGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxQueued: number,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`concurrency ${concurrency} is not ≥ 1`);
    if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new RangeError(`maxQueued ${maxQueued} is not ≥ 0`);
  }

  /** Runs `task` when a slot is free; `{ran: false}` without running it when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    if (this.active < this.concurrency) {
      this.active++;
    } else {
      if (this.waiting.length >= this.maxQueued) return { ran: false };
      // The releasing task hands its slot over directly, so `active` stays counted.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    try {
      return { ran: true, value: await task() };
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Hashes running and waiting (for tests and metrics). */
  load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }
}
