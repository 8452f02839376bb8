/** The 'memory' limits store: every counter in this process, lost on restart (tests, a single throwaway gateway). */
import { type LimitCounters, type LimitWindows, memoryCounter } from './counters.js';

export function createMemoryCounters(windows: LimitWindows): LimitCounters {
  const { rate, throttle, budget } = windows;
  const counters = {
    rate: memoryCounter({ points: rate.requests, duration: rate.perSeconds, keyPrefix: 'rate' }),
    throttle: memoryCounter({ points: throttle.requests, duration: throttle.perSeconds, keyPrefix: 'throttle' }),
    budget: memoryCounter({ points: budget.queries, duration: budget.perSeconds, keyPrefix: 'budget' }),
    budgetAlert: memoryCounter({ points: 1, duration: budget.perSeconds, keyPrefix: 'budget-alert' }),
  };
  return {
    ...counters,
    async close() {
      for (const c of Object.values(counters)) c.close();
    },
  };
}
