/**
 * What model-extraction attacks share: the result row (one per query-budget checkpoint), the
 * result (report-ready, plus the stolen surrogate), and option checks. Fidelity is agreement
 * with the victim's labels on held-out data; accuracy is the surrogate's on the true labels.
 */
import { AegisInputError } from '../../core/errors.js';
import type { ThreatModel } from '../../core/threat-model.js';
import type { DifferentiableModel } from '../../models/model.js';
import type { ReportChart } from '../../report/schema.js';

/** MITRE ATLAS: Exfiltration via AI Inference API — Extract AI Model. */
export const EXTRACTION_ATLAS = 'AML.T0024.002';

/** One query-budget checkpoint. */
export interface ExtractionRow {
  /** Victim queries spent so far. */
  queries: number;
  /** Fraction of held-out examples where surrogate and victim predict the same label. */
  fidelity: number;
  /** Surrogate accuracy on the held-out true labels. */
  accuracy: number;
  /** Equation-solving: largest absolute error of the recovered (class-0-normalised) parameters. */
  maxParamError?: number;
  /** Equation-solving: 1 when the queries determine the parameters (≥ d+1), else 0. */
  determined?: number;
  /** JBDA: substitute training round (0 = seed set only). */
  round?: number;
  /** Set on the last row: victim success rate of adversarial examples crafted on the surrogate. */
  transferSuccessRate?: number;
  /** Wall time since the attack started. */
  seconds: number;
}

export interface ExtractionResult {
  attack: string;
  title: string;
  citation: string;
  atlas: string;
  threatModel: ThreatModel;
  rows: ExtractionRow[];
  charts?: ReportChart[];
}

/** An attack's result and the surrogate it stole (white-box: the caller disposes it). */
export interface ExtractionOutcome {
  result: ExtractionResult;
  surrogate: DifferentiableModel;
}

/** Sorted, de-duplicated query budgets; each must be a positive integer. */
export function checkBudgets(budgets: readonly number[], who: string): number[] {
  if (budgets.length === 0) throw new AegisInputError(`${who}: give at least one query budget`);
  for (const b of budgets) {
    if (!Number.isInteger(b) || b <= 0) {
      throw new AegisInputError(`${who}: query budget ${b} must be a positive whole number of queries`);
    }
  }
  return [...new Set(budgets)].sort((a, b) => a - b);
}

/** The fidelity-vs-queries chart of one attack's rows. */
export function fidelityChart(title: string, rows: readonly ExtractionRow[]): ReportChart {
  const series = (name: string, key: 'fidelity' | 'accuracy') => ({
    name,
    points: rows.map((r) => ({ x: r.queries, y: r[key] })),
  });
  return {
    title: `${title}: fidelity vs queries`,
    xTitle: 'victim queries',
    yTitle: 'agreement / accuracy on held-out data',
    series: [series('fidelity (agreement with victim)', 'fidelity'), series('surrogate accuracy', 'accuracy')],
    logX: true,
  };
}

export function secondsSince(t0: number): number {
  return (performance.now() - t0) / 1000;
}
