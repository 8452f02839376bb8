// Tramèr, Zhang, Juels, Reiter & Ristenpart 2016, "Stealing Machine Learning Models via Prediction APIs", USENIX Security.
/**
 * Equation-solving extraction of logistic (k = 2, sigmoid) and softmax (multinomial) regression
 * from an API that returns confidences. For logits z = x·W + b, softmax gives
 *   log(p_i / p_0) = (w_i − w_0)·x + (b_i − b_0),   i = 1 … k−1,
 * so each query is k−1 linear equations in the (d+1)(k−1) unknown class-0-relative parameters,
 * and all classes share one design matrix [x, 1]. d+1 random queries determine the parameters;
 * more are solved by least squares (Householder QR in float64), which averages out the float32
 * rounding of the victim's probabilities. Fewer than d+1 give the minimum-norm solution,
 * reported as not determined. Recovered parameters are normalised so class 0's are zero.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { tf } from '../../core/runtime.js';
import { makeThreatModel } from '../../core/threat-model.js';
import { type Model, requireAccess } from '../../models/model.js';
import { QueryCountingModel } from '../../models/query-counter.js';
import {
  checkBudgets,
  EXTRACTION_ATLAS,
  type ExtractionOutcome,
  type ExtractionRow,
  fidelityChart,
  secondsSince,
} from './extraction-attack.js';
import type { FidelityEvaluator } from './fidelity.js';
import { leastSquares } from './least-squares.js';
import { type LinearParameters, linearModel, maxParameterError } from './linear-parameters.js';

export const EQUATION_SOLVING = {
  name: 'equation-solving',
  title: 'Equation-solving extraction (logistic / softmax regression)',
  citation:
    'Tramèr, Zhang, Juels, Reiter & Ristenpart 2016, "Stealing Machine Learning Models via Prediction APIs", USENIX Security',
} as const;

export interface EquationSolvingOptions {
  /** Query-budget checkpoints (one row each); default [d+1]. */
  budgets?: number[];
  seed: number;
  /** The victim's true parameters, to report maxParamError (found automatically for tfjs logistic models). */
  reference?: LinearParameters;
  /** Examples per victim request. Default 256. */
  batchSize?: number;
}

/** Random queries, uniform in the input domain (seeded), [n, ...inputShape]. */
function randomQueries(n: number, inputShape: number[], range: [number, number], rng: Rng): Float32Array {
  const d = inputShape.reduce((a, b) => a * b, 1);
  return rng.uniformArray(n * d, range[0], range[1]);
}

/**
 * Solves for the class-0-relative parameters from queries x (n×d, row-major) and the victim's
 * probabilities p (n×k). Equations whose probabilities underflowed to 0 are dropped for that class.
 */
export function solveLogOdds(x: Float32Array, p: Float32Array, n: number, d: number, k: number): LinearParameters {
  const cols = d + 1;
  const design = new Float64Array(n * cols);
  for (let q = 0; q < n; q++) {
    for (let f = 0; f < d; f++) design[q * cols + f] = x[q * d + f] as number;
    design[q * cols + d] = 1;
  }
  const logOdds = new Float64Array(n * (k - 1));
  const valid: boolean[] = [];
  for (let q = 0; q < n; q++) {
    const p0 = p[q * k] as number;
    let ok = p0 > 0;
    for (let i = 1; i < k; i++) {
      const pi = p[q * k + i] as number;
      if (!(pi > 0)) ok = false;
      logOdds[q * (k - 1) + i - 1] = Math.log(pi) - Math.log(p0);
    }
    valid.push(ok && Number.isFinite(p0));
  }
  let rows = n;
  let a = design;
  let b = logOdds;
  if (valid.includes(false)) {
    // Rare (probabilities below float32's range): keep only queries with every probability > 0.
    const keep = valid.flatMap((v, q) => (v ? [q] : []));
    rows = keep.length;
    a = new Float64Array(rows * cols);
    b = new Float64Array(rows * (k - 1));
    keep.forEach((q, r) => {
      a.set(design.subarray(q * cols, (q + 1) * cols), r * cols);
      b.set(logOdds.subarray(q * (k - 1), (q + 1) * (k - 1)), r * (k - 1));
    });
    if (rows === 0) throw new AegisInputError('equation-solving: every query returned a zero probability');
  }
  const solution = leastSquares(a, rows, cols, b, k - 1); // (d+1)×(k−1)
  const weights = new Float64Array(d * k);
  const bias = new Float64Array(k);
  for (let i = 1; i < k; i++) {
    for (let f = 0; f < d; f++) weights[f * k + i] = solution[f * (k - 1) + i - 1] as number;
    bias[i] = solution[d * (k - 1) + i - 1] as number;
  }
  return { weights, bias };
}

/**
 * Runs the attack against a victim that returns scores. Rows: one per budget checkpoint;
 * the surrogate is the model recovered at the largest budget.
 */
export async function equationSolving(
  victim: Model,
  evaluator: FidelityEvaluator,
  options: EquationSolvingOptions,
): Promise<ExtractionOutcome> {
  requireAccess(victim, 'scores', 'equation-solving (it solves for parameters from the returned confidences)');
  const { inputShape, numClasses: k, inputRange } = victim.info;
  const d = inputShape.reduce((a, b) => a * b, 1);
  const budgets = checkBudgets(options.budgets ?? [d + 1], 'equation-solving');
  const batchSize = options.batchSize ?? 256;
  const counted = new QueryCountingModel(victim, 'scores');
  const rng = new Rng(options.seed);
  const total = budgets[budgets.length - 1] as number;
  const x = randomQueries(total, inputShape, inputRange, rng);
  const p = new Float32Array(total * k);
  const t0 = performance.now();
  const rows: ExtractionRow[] = [];
  let asked = 0;
  let recovered: LinearParameters | undefined;
  for (const budget of budgets) {
    while (asked < budget) {
      const count = Math.min(batchSize, budget - asked);
      const batch = tf.tensor(x.subarray(asked * d, (asked + count) * d), [count, ...inputShape], 'float32');
      try {
        const scores = await counted.predictScores(batch);
        p.set(await scores.data(), asked * k);
        scores.dispose();
      } finally {
        batch.dispose();
      }
      asked += count;
    }
    recovered = solveLogOdds(x.subarray(0, budget * d), p.subarray(0, budget * k), budget, d, k);
    const model = linearModel(recovered, inputShape, { name: 'equation-solving-surrogate', inputRange });
    try {
      const row: ExtractionRow = { queries: counted.queries, ...(await evaluator.evaluate(model)), seconds: 0 };
      if (options.reference) row.maxParamError = maxParameterError(recovered, options.reference);
      row.determined = budget >= d + 1 ? 1 : 0;
      row.seconds = secondsSince(t0);
      rows.push(row);
    } finally {
      model.dispose();
    }
  }
  const surrogate = linearModel(recovered as LinearParameters, inputShape, {
    name: 'equation-solving-surrogate',
    classNames: victim.info.classNames,
    inputRange,
  });
  const threatModel = makeThreatModel({
    access: 'scores',
    epsilons: [],
    inputRange,
    knowledge: `that the victim is a linear softmax (logistic) regression on ${d} features; no data (queries are uniform random inputs); at most ${total} queries`,
  });
  return {
    result: {
      attack: EQUATION_SOLVING.name,
      title: EQUATION_SOLVING.title,
      citation: EQUATION_SOLVING.citation,
      atlas: EXTRACTION_ATLAS,
      threatModel,
      rows,
      charts: [fidelityChart(EQUATION_SOLVING.title, rows)],
    },
    surrogate,
  };
}
