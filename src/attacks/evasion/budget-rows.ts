/**
 * Shared arithmetic of evasion attacks: perturbation norms, projection onto a budget
 * ball, clipping to the input domain, and turning adversarial inputs into a result row.
 */
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import type { Norm, ThreatModel } from '../../core/threat-model.js';
import type { Model } from '../../models/model.js';
import {
  type AttackOptions,
  atlasTechnique,
  type EvasionAttack,
  type EvasionResult,
  type EvasionRow,
  type ExamplePairs,
  type LabeledBatch,
} from './evasion-attack.js';

/** Per-example norm of (xAdv - x), flattened over the feature dimensions. */
export function perturbationNorms(x: tf.Tensor, xAdv: tf.Tensor, norm: Norm): Float32Array {
  return tf.tidy(() => {
    const d = tf.reshape(tf.sub(xAdv, x), [x.shape[0] ?? 0, -1]);
    const n = norm === 'linf' ? tf.max(tf.abs(d), 1) : tf.sqrt(tf.sum(tf.square(d), 1));
    return n.dataSync() as Float32Array;
  });
}

/** Clips to the valid input domain. */
export function clipToDomain(x: tf.Tensor, range: [number, number]): tf.Tensor {
  return tf.clipByValue(x, range[0], range[1]);
}

/**
 * Projects xAdv onto the eps-ball around x in the given norm (L-inf: clip each value;
 * L2: rescale perturbations longer than eps), then clips to the domain.
 */
export function projectToBudget(
  x: tf.Tensor,
  xAdv: tf.Tensor,
  eps: number,
  norm: Norm,
  range: [number, number],
): tf.Tensor {
  return tf.tidy(() => {
    const d = tf.sub(xAdv, x);
    let projected: tf.Tensor;
    if (norm === 'linf') {
      projected = tf.clipByValue(d, -eps, eps);
    } else {
      const n = x.shape[0] ?? 0;
      const flat = tf.reshape(d, [n, -1]);
      const lengths = tf.sqrt(tf.sum(tf.square(flat), 1, true));
      const factor = tf.minimum(1, tf.div(eps, tf.maximum(lengths, 1e-12)));
      projected = tf.reshape(tf.mul(flat, factor), d.shape);
    }
    return clipToDomain(tf.add(x, projected), range);
  });
}

/** Labels for a large tensor, sent in batches. */
export async function predictLabelsBatched(model: Model, x: tf.Tensor, batchSize = 256): Promise<Int32Array> {
  const n = x.shape[0] ?? 0;
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const batch = tf.slice(x, start, size);
    try {
      out.set(await model.predictLabels(batch), start);
    } finally {
      batch.dispose();
    }
  }
  return out;
}

export interface BudgetOutcome {
  row: EvasionRow;
  adversarialPredictions: Int32Array;
}

/**
 * Scores adversarial inputs for one budget. `cleanPredictions` are the model's labels on
 * the clean inputs; success means a correctly classified example is now misclassified.
 */
export async function scoreBudget(args: {
  model: Model;
  x: tf.Tensor;
  xAdv: tf.Tensor;
  y: Int32Array;
  cleanPredictions: Int32Array;
  eps: number;
  norm: Norm;
  queries: number;
  gradients?: number;
  seconds: number;
}): Promise<BudgetOutcome> {
  const { model, x, xAdv, y, cleanPredictions, eps, norm } = args;
  const adv = await predictLabelsBatched(model, xAdv);
  const norms = perturbationNorms(x, xAdv, norm);
  let correct = 0;
  let wasCorrect = 0;
  let flipped = 0;
  let normSum = 0;
  for (let i = 0; i < y.length; i++) {
    if (adv[i] === y[i]) correct++;
    if (cleanPredictions[i] === y[i]) {
      wasCorrect++;
      if (adv[i] !== y[i]) {
        flipped++;
        normSum += norms[i] ?? 0;
      }
    }
  }
  const row: EvasionRow = {
    eps,
    accuracy: y.length ? correct / y.length : 0,
    successRate: wasCorrect ? flipped / wasCorrect : 0,
    meanPerturbation: flipped ? normSum / flipped : 0,
    queries: args.queries,
    seconds: args.seconds,
  };
  if (args.gradients !== undefined) row.gradients = args.gradients;
  return { row, adversarialPredictions: adv };
}

/**
 * Keeps the first `count` pairs for the report grid, preferring examples the attack
 * flipped so the grid shows what succeeded.
 */
export function pickExamplePairs(args: {
  x: tf.Tensor;
  xAdv: tf.Tensor;
  y: Int32Array;
  cleanPredictions: Int32Array;
  adversarialPredictions: Int32Array;
  eps: number;
  count: number;
}): ExamplePairs {
  const { x, xAdv, y, cleanPredictions, adversarialPredictions, count } = args;
  const n = y.length;
  const flipped: number[] = [];
  const rest: number[] = [];
  for (let i = 0; i < n; i++) {
    (cleanPredictions[i] === y[i] && adversarialPredictions[i] !== y[i] ? flipped : rest).push(i);
  }
  const chosen = [...flipped, ...rest].slice(0, count);
  const shape = x.shape.slice(1);
  const per = shape.reduce((a, b) => a * b, 1);
  const cleanAll = x.dataSync() as Float32Array;
  const advAll = xAdv.dataSync() as Float32Array;
  return {
    shape,
    eps: args.eps,
    clean: chosen.map((i) => cleanAll.slice(i * per, (i + 1) * per)),
    adversarial: chosen.map((i) => advAll.slice(i * per, (i + 1) * per)),
    labels: chosen.map((i) => y[i] as number),
    cleanPredictions: chosen.map((i) => cleanPredictions[i] as number),
    adversarialPredictions: chosen.map((i) => adversarialPredictions[i] as number),
  };
}

/** What one budget's attack cost: model queries (black-box), input gradients (white-box), time. */
export interface BudgetCost {
  queries: number;
  gradients?: number;
  seconds: number;
}

/**
 * Collects one row per budget, in the order budgets are added, scoring adversarial inputs
 * with the clean model (never counted as attack queries), and keeps clean/adversarial
 * pairs for the largest budget.
 */
export class BudgetRows {
  readonly rows: EvasionRow[] = [];
  private examples: ExamplePairs | undefined;
  private readonly exampleEps: number;

  constructor(
    private readonly model: Model,
    private readonly data: LabeledBatch,
    private readonly threat: ThreatModel,
    private readonly cleanPredictions: Int32Array,
    private readonly keepExamples: number,
  ) {
    this.exampleEps = Math.max(...threat.epsilons);
  }

  /** Scores `xAdv` (not disposed) for budget `eps`. */
  async add(eps: number, xAdv: tf.Tensor, cost: BudgetCost): Promise<void> {
    const { model, data, threat, cleanPredictions } = this;
    const { row, adversarialPredictions } = await scoreBudget({
      model,
      x: data.x,
      xAdv,
      y: data.y,
      cleanPredictions,
      eps,
      norm: threat.norm,
      ...cost,
    });
    this.rows.push(row);
    if (this.examples === undefined && eps === this.exampleEps && this.keepExamples > 0) {
      this.examples = pickExamplePairs({
        x: data.x,
        xAdv,
        y: data.y,
        cleanPredictions,
        adversarialPredictions,
        eps,
        count: this.keepExamples,
      });
    }
  }

  /**
   * Rows of a minimum-norm attack: its one adversarial per example is projected onto each
   * budget ball (and the domain) and scored there. Every row reports the whole run's cost,
   * since one run serves all budgets (Foolbox semantics).
   */
  async addMinimumNorm(xAdv: tf.Tensor, norm: Norm, cost: BudgetCost): Promise<void> {
    for (const eps of this.threat.epsilons) {
      const clipped = projectToBudget(this.data.x, xAdv, eps, norm, this.threat.inputRange);
      try {
        await this.add(eps, clipped, cost);
      } finally {
        clipped.dispose();
      }
    }
  }

  result(attack: Pick<EvasionAttack, 'name' | 'title' | 'citation' | 'access'>): EvasionResult {
    const out: EvasionResult = {
      attack: attack.name,
      title: attack.title,
      citation: attack.citation,
      atlas: atlasTechnique(attack.access),
      threatModel: this.threat,
      rows: this.rows,
    };
    if (this.examples) out.examples = this.examples;
    return out;
  }
}

/** The keepExamples option (default 8). */
export function keepExamplesOption(options: Pick<AttackOptions, 'keepExamples'>): number {
  const keep = options.keepExamples ?? 8;
  if (!Number.isInteger(keep) || keep < 0) {
    throw new AegisInputError(`option keepExamples must be a non-negative integer, got ${keep}`);
  }
  return keep;
}
