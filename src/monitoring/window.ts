/**
 * One window of observed examples: the rows, the scores, and the running predicted-label counts and confidence sum
 * (updated per example, so the prediction tests need no pass over the window).
 */
import { topClass } from './confidence.js';

export class Window {
  readonly rows: Float32Array;
  readonly scores: Float32Array;
  readonly labelCounts: Float64Array;
  confidenceSum = 0;
  filled = 0;
  /** Stream position of the first example. */
  firstExample = 0;

  constructor(
    readonly size: number,
    readonly rowSize: number,
    readonly numClasses: number,
  ) {
    this.rows = new Float32Array(size * rowSize);
    this.scores = new Float32Array(size * numClasses);
    this.labelCounts = new Float64Array(numClasses);
  }

  get full(): boolean {
    return this.filled === this.size;
  }

  /** Appends up to `count` examples starting at example `from` of rows/scores; returns how many fitted. */
  push(rows: Float32Array, scores: Float32Array, from: number, count: number): number {
    const take = Math.min(count, this.size - this.filled);
    const d = this.rowSize;
    const k = this.numClasses;
    this.rows.set(rows.subarray(from * d, (from + take) * d), this.filled * d);
    if (k > 0) {
      this.scores.set(scores.subarray(from * k, (from + take) * k), this.filled * k);
      for (let r = 0; r < take; r++) {
        const top = topClass(scores, (from + r) * k, k);
        this.labelCounts[top.label]++;
        this.confidenceSum += top.confidence;
      }
    }
    this.filled += take;
    return take;
  }

  reset(firstExample: number): void {
    this.filled = 0;
    this.firstExample = firstExample;
    this.labelCounts.fill(0);
    this.confidenceSum = 0;
  }
}
