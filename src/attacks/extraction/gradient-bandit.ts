// Sutton & Barto 2018, "Reinforcement Learning: An Introduction" (2nd ed.), §2.8 Gradient Bandit Algorithms.
/**
 * Gradient bandit: preferences H over actions, policy π = softmax(H); after action a with reward r,
 *   H(a) += α (r − r̄)(1 − π(a)),   H(b) −= α (r − r̄) π(b) for b ≠ a,
 * with r̄ the running mean reward as baseline. KnockoffNets' adaptive strategy (Orekondy et al.
 * 2019, §4.1.2) learns which part of the transfer set to query this way. Exhausted actions
 * can be masked out.
 */
import type { Rng } from '../../core/rng.js';

export class GradientBandit {
  readonly preferences: Float64Array;
  private readonly available: boolean[];
  private baseline = 0;
  private updates = 0;

  constructor(
    readonly actions: number,
    private readonly stepSize: number,
    private readonly rng: Rng,
  ) {
    this.preferences = new Float64Array(actions);
    this.available = new Array(actions).fill(true);
  }

  /** π over available actions (0 for masked ones). */
  policy(): Float64Array {
    let max = Number.NEGATIVE_INFINITY;
    this.preferences.forEach((h, a) => {
      if (this.available[a]) max = Math.max(max, h);
    });
    const p = new Float64Array(this.actions);
    let sum = 0;
    for (let a = 0; a < this.actions; a++) {
      if (!this.available[a]) continue;
      p[a] = Math.exp((this.preferences[a] as number) - max);
      sum += p[a] as number;
    }
    for (let a = 0; a < this.actions; a++) p[a] = (p[a] as number) / sum;
    return p;
  }

  sample(): number {
    const p = this.policy();
    let u = this.rng.next();
    let last = -1;
    for (let a = 0; a < this.actions; a++) {
      if (!((p[a] as number) > 0)) continue;
      last = a;
      u -= p[a] as number;
      if (u < 0) return a;
    }
    return last;
  }

  update(action: number, reward: number): void {
    const p = this.policy();
    const advantage = reward - this.baseline;
    for (let a = 0; a < this.actions; a++) {
      if (!this.available[a]) continue;
      const grad = a === action ? 1 - (p[a] as number) : -(p[a] as number);
      this.preferences[a] = (this.preferences[a] as number) + this.stepSize * advantage * grad;
    }
    this.updates++;
    this.baseline += (reward - this.baseline) / this.updates;
  }

  /** Removes an action from the policy (e.g. its cluster has no unqueried images left). */
  disable(action: number): void {
    this.available[action] = false;
  }

  hasActions(): boolean {
    return this.available.includes(true);
  }
}
