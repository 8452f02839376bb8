// Projected gradient search (Madry et al. 2018, ICLR) over attacker-controlled quantities, with constraints as separate pieces (TextAttack: Morris et al. 2020, EMNLP demos).
/**
 * Evasion of the NIDS classifier within what an attacker can do to its own traffic. The attack is
 * composed of TextAttack's four pieces:
 *
 * - transformations (./transformations.ts): delay, pad, cover — one integer knob per flow each;
 * - constraints (./constraints.ts): checked on every materialised candidate; violating rows never
 *   count as evasions;
 * - goal: the flow is no longer flagged — by the classifier at its operating threshold
 *   (goal 'classifier'), or by the whole detector, novelty detectors included (goal 'combined',
 *   the adaptive attacker who knows the autoencoder is there);
 * - search: projected signed-gradient descent on the knobs as fractions u ∈ [0, 1]^K of their
 *   per-flow budget on a geometric scale (knob = (1 + bound)^u − 1; from u = 0 and from a seeded
 *   random start), then a grid over the knob box as a gradient-free check (so gradient masking
 *   cannot hide a reachable evasion). Budgets are run in increasing order and each starts from the
 *   best flows of the previous one (a larger budget allows them), so robustness never rises with ε.
 *
 * Budget ε: each knob may move its column (duration, src_bytes, count) by at most ε in the model's
 * standardised units — for log-scaled columns a factor e^{εσ} on (1 + value); ε = Infinity lets
 * every knob go as far as the value ranges allow (KDD's window caps, the training maximum).
 * Every candidate is rounded to a valid flow (integer knobs and counts, two-decimal rates) before
 * it is scored; the reported figures come from the full detector on the materialised flows.
 */
import { AegisInputError } from '../../../core/errors.js';
import { Rng } from '../../../core/rng.js';
import { tf } from '../../../core/runtime.js';
import { combinedEvidence, tailEvidenceSurrogate } from '../combine.js';
import { evidenceInputs, type NidsDetector } from '../nids-detector.js';
import { type FlowTable, takeRows } from '../read-flows.js';
import { type Constraint, checkConstraints, nslKddConstraints, type RawFlows } from './constraints.js';
import {
  assemble,
  decodeNumeric,
  disposeEncoderTensors,
  type EncoderTensors,
  encodeNumeric,
  encoderTensors,
} from './feature-space.js';
import {
  type ColumnIndex,
  column,
  isRateColumn,
  NSL_KDD_TRANSFORMATIONS,
  type Transformation,
} from './transformations.js';

export const CONSTRAINED_EVASION = {
  name: 'nids-constrained-evasion',
  title: 'Constrained evasion of a network intrusion detector (delay, padding, cover connections)',
  citation:
    'Apruzzese et al. 2022, "Modeling Realistic Adversarial Attacks against Network Intrusion Detection Systems", ACM DTRAP; search: Madry et al. 2018, ICLR',
  /** MITRE ATLAS: Craft Adversarial Data, White-Box Optimization (used to Evade AI Model, AML.T0015). */
  atlas: 'AML.T0043.000',
} as const;

export type EvasionGoal = 'classifier' | 'combined';

export interface ConstrainedEvasionOptions {
  /** Budgets in standardised units (run in increasing order); Infinity = only the value ranges bound the knobs. */
  epsilons: number[];
  seed: number;
  goal?: EvasionGoal;
  transformations?: readonly Transformation[];
  /** Default: nslKddConstraints with the transformations' columns as mutable. */
  constraints?: Constraint[];
  /** Gradient steps per start (default 30) and step size as a fraction of the knob range (default 0.1). */
  steps?: number;
  stepSize?: number;
  /** Grid levels per knob beyond 0 (default 4: 0, ¼, ½, ¾, 1 → 125 points for 3 knobs; 0 = no grid). */
  gridLevels?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface EvasionBudgetRow {
  eps: number;
  attacks: number;
  /** Attack flows the classifier flags (P(attack) > its threshold), before and after the attack. */
  classifierRecallClean: number;
  classifierRecall: number;
  /** Attack flows the whole detector flags (classifier or novelty), before and after. */
  combinedRecallClean: number;
  combinedRecall: number;
  /** Of the flows the goal's detector flagged clean, the share that evade. */
  evasionRate: number;
  /** Materialised flows that break a constraint (must be 0: they are never counted as evasions). */
  constraintViolations: number;
  /** Mean increase of each transformation's budget column (duration, src_bytes, count) over evading flows. */
  meanIncrease: Record<string, number>;
  seconds: number;
}

export interface ConstrainedEvasionResult {
  rows: EvasionBudgetRow[];
  goal: EvasionGoal;
  transformations: { name: string; description: string; unit: string }[];
  constraints: { name: string; description: string }[];
  /** Adversarial flows of the last budget (for reports and the constraint tests). */
  adversarial: FlowTable;
  violationsByConstraint: Record<string, number>;
}

/** The numeric columns of the table in the encoder's order, non-finite values filled as the encoder does. */
export function rawMatrix(detector: NidsDetector, table: FlowTable): Float64Array {
  const enc = detector.encoder.numeric;
  const p = table.numericNames.length;
  const idx = enc.map((n) => table.numericNames.indexOf(n.name));
  const out = new Float64Array(table.size * enc.length);
  for (let i = 0; i < table.size; i++) {
    enc.forEach((n, j) => {
      const v = table.numeric[i * p + (idx[j] as number)] as number;
      out[i * enc.length + j] = Number.isNaN(v) ? n.fill : v === Infinity ? n.max : v === -Infinity ? n.min : v;
    });
  }
  return out;
}

/** The table with its numeric columns replaced by raw [n × p] (encoder order). */
export function withRaw(detector: NidsDetector, table: FlowTable, raw: Float64Array): FlowTable {
  const names = detector.encoder.numeric.map((n) => n.name);
  return { ...table, numericNames: names, numeric: raw, source: `${table.source} (adversarial)` };
}

/** Everything the search needs, as tensors; dispose with `dispose`. */
export interface SearchSpace {
  e: EncoderTensors;
  col: ColumnIndex;
  transformations: readonly Transformation[];
  /** 1 for columns rounded to integers, 1 for two-decimal rate columns. */
  integerMask: tf.Tensor2D;
  rateMask: tf.Tensor2D;
  dispose(): void;
}

export function searchSpace(detector: NidsDetector, transformations: readonly Transformation[]): SearchSpace {
  const names = detector.encoder.numeric.map((n) => n.name);
  const e = encoderTensors(detector.encoder);
  const integerMask = tf.tensor2d([detector.encoder.numeric.map((n) => (n.integer ? 1 : 0))]);
  const rateMask = tf.tensor2d([names.map((n) => (isRateColumn(n) ? 1 : 0))]);
  return {
    e,
    col: (name) => names.indexOf(name),
    transformations,
    integerMask,
    rateMask,
    dispose: () => {
      disposeEncoderTensors(e);
      tf.dispose([integerMask, rateMask]);
    },
  };
}

/** Knob bounds [n × K] at budget eps: min(ε-bound on the budget column, range cap), floored to integers. */
export function knobBounds(s: SearchSpace, detector: NidsDetector, raw: tf.Tensor2D, eps: number): tf.Tensor2D {
  const maxima = (name: string) => detector.encoder.numeric[s.col(name)]?.max ?? 0;
  return tf.tidy(() => {
    const z = encodeNumeric(raw, s.e);
    const cols = s.transformations.map((t) => {
      const cap = t.cap(raw, s.col, maxima);
      if (!Number.isFinite(eps)) return tf.floor(cap);
      const j = s.col(t.budgetColumn);
      const shifted = tf.add(z, tf.mul(tf.oneHot(tf.tensor1d([j], 'int32'), s.e.p), eps)) as tf.Tensor2D;
      const reach = tf.sub(column(decodeNumeric(shifted, s.e), j), column(raw, j));
      return tf.floor(tf.minimum(tf.relu(reach), cap));
    });
    return tf.stack(cols, 1) as tf.Tensor2D;
  });
}

/** Applies the knobs [n × K] to raw flows, in the transformations' order (differentiable). */
export function applyKnobs(s: SearchSpace, raw: tf.Tensor2D, knobs: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    let out = raw;
    const k = tf.unstack(knobs, 1) as tf.Tensor1D[];
    s.transformations.forEach((t, i) => {
      out = t.apply(out, k[i] as tf.Tensor1D, s.col);
    });
    return out;
  });
}

/**
 * Knob values from fractions u ∈ [0, 1] of the budget, on a geometric scale: (1 + bound)^u − 1.
 * Budgets span orders of magnitude (0 to 10⁹ bytes), so equal steps in u are equal factors.
 */
export function knobValues(u: tf.Tensor2D, bounds: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.expm1(tf.mul(u, tf.log1p(bounds))) as tf.Tensor2D);
}

/** A valid flow: integer knobs, integer columns rounded, rates to two decimals in [0, 1]. */
export function materialise(s: SearchSpace, raw: tf.Tensor2D, u: tf.Tensor2D, bounds: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const knobs = tf.minimum(tf.round(knobValues(u, bounds)), bounds);
    const moved = applyKnobs(s, raw, knobs as tf.Tensor2D);
    const ints = tf.round(moved);
    const rates = tf.clipByValue(tf.div(tf.round(tf.mul(moved, 100)), 100), 0, 1);
    const plain = tf.sub(1, tf.add(s.integerMask, s.rateMask));
    return tf.add(tf.add(tf.mul(s.integerMask, ints), tf.mul(s.rateMask, rates)), tf.mul(plain, moved)) as tf.Tensor2D;
  });
}

/** Per-flow goal loss to minimise on encoded flows: the attack log-odds (and the autoencoder's and nearest-neighbour ratios). */
export function goalLoss(detector: NidsDetector, goal: EvasionGoal, logits: (x: tf.Tensor2D) => tf.Tensor2D) {
  const t = detector.thresholds;
  const k = detector.classNames.length;
  return (x: tf.Tensor2D): tf.Tensor1D =>
    tf.tidy(() => {
      const logp = tf.logSoftmax(logits(x));
      const attack = tf.logSumExp(tf.slice(logp, [0, 1], [-1, k - 1]), 1);
      // log(P(attack)/t): below 0 means the classifier no longer flags the flow.
      const sup = tf.sub(attack, Math.log(t.supervised));
      const ae = detector.autoencoder && t.autoencoder !== undefined ? detector.autoencoder : undefined;
      const knn = detector.knn && t.knn !== undefined ? detector.knn : undefined;
      if (goal === 'classifier' || (!ae && !knn)) return sup as tf.Tensor1D;
      const logErr = ae
        ? tf.log(tf.maximum(tf.mean(tf.square(tf.sub(ae.apply(x) as tf.Tensor2D, x)), 1), 1e-12))
        : undefined;
      const logDist = knn ? tf.log(tf.maximum(knn.nearestDistance(x), 1e-6)) : undefined;
      const combination = detector.meta.combination;
      if (combination) {
        // log(E/threshold) with the tails' smooth stand-in (the isolation forest has no gradient: left out).
        const logOdds = tf.sub(attack, tf.reshape(tf.slice(logp, [0, 0], [-1, 1]), [-1]));
        let e: tf.Tensor = tf.zerosLike(logOdds);
        for (const [name, s] of [
          ['supervised', logOdds],
          ['autoencoder', logErr],
          ['knn', logDist],
        ] as const) {
          const w = combination.weights[name];
          const tail = combination.tails[name];
          if (w && tail && s) e = tf.add(e, tf.mul(w, tailEvidenceSurrogate(tail, s)));
        }
        return tf.sub(tf.log(tf.maximum(e, 1e-9)), Math.log(Math.max(combination.threshold, 1e-9))) as tf.Tensor1D;
      }
      const parts: tf.Tensor[] = [sup];
      if (logErr) parts.push(tf.sub(logErr, Math.log(t.autoencoder as number)));
      if (logDist) parts.push(tf.sub(logDist, Math.log(t.knn as number)));
      // Smooth maximum: every part must fall below 0.
      return tf.logSumExp(tf.stack(parts, 1), 1) as tf.Tensor1D;
    });
}

/**
 * Signed-gradient descent on u ∈ [0, 1]^K from `start` (consumed); after each step the candidate
 * is materialised and handed to `visit`. Returns nothing: the visitor keeps what it needs.
 */
export async function knobSearch(args: {
  space: SearchSpace;
  raw: tf.Tensor2D;
  oneHot: tf.Tensor2D;
  bounds: tf.Tensor2D;
  loss: (x: tf.Tensor2D) => tf.Tensor1D;
  start: tf.Tensor2D;
  steps: number;
  stepSize: number;
  visit?: (candidate: tf.Tensor2D) => Promise<void>;
}): Promise<tf.Tensor2D> {
  const { space, raw, oneHot, bounds, loss } = args;
  const objective = (u: tf.Tensor2D) =>
    tf.sum(loss(assemble(applyKnobs(space, raw, knobValues(u, bounds)), oneHot, space.e))) as tf.Scalar;
  const gradient = tf.grad(objective as (u: tf.Tensor) => tf.Scalar);
  let u = args.start;
  for (let step = 0; step < args.steps; step++) {
    const next = tf.tidy(
      () => tf.clipByValue(tf.sub(u, tf.mul(tf.sign(gradient(u)), args.stepSize)), 0, 1) as tf.Tensor2D,
    );
    u.dispose();
    u = next;
    if (args.visit) {
      const candidate = materialise(space, raw, u, bounds);
      try {
        await args.visit(candidate);
      } finally {
        candidate.dispose();
      }
    }
  }
  return u;
}

/** The grid {0, 1/L, …, 1}^K as rows [G × K]. */
export function knobGrid(k: number, levels: number): number[][] {
  if (levels <= 0) return [];
  let points: number[][] = [[]];
  for (let i = 0; i < k; i++) {
    const next: number[][] = [];
    for (const p of points) for (let l = 0; l <= levels; l++) next.push([...p, l / levels]);
    points = next;
  }
  return points;
}

/** Runs the attack on the attack flows of `table` at every budget. */
export async function constrainedEvasion(
  detector: NidsDetector,
  table: FlowTable,
  options: ConstrainedEvasionOptions,
): Promise<ConstrainedEvasionResult> {
  const goal = options.goal ?? 'classifier';
  const transformations = options.transformations ?? NSL_KDD_TRANSFORMATIONS;
  const mutable = [...new Set(transformations.flatMap((t) => t.writes))];
  const constraints = options.constraints ?? nslKddConstraints(detector.encoder, mutable);
  const steps = options.steps ?? 30;
  const stepSize = options.stepSize ?? 0.1;
  const gridLevels = options.gridLevels ?? 4;
  if (options.epsilons.length === 0 || options.epsilons.some((e) => !(e >= 0))) {
    throw new AegisInputError(
      `constrained evasion: budgets must be numbers >= 0 (or Infinity), got [${options.epsilons}]`,
    );
  }
  if (goal === 'combined' && !detector.autoencoder && !detector.knn) {
    throw new AegisInputError(
      "constrained evasion: goal 'combined' needs a detector with an autoencoder or k-NN detector",
    );
  }
  const attackRows = table.classes.flatMap((c, i) => (c === table.layout.normalClass ? [] : [i]));
  if (attackRows.length === 0) throw new AegisInputError(`${table.source}: no attack flows to attack`);
  const attacks = takeRows(table, attackRows);
  const n = attacks.size;
  const space = searchSpace(detector, transformations);
  const p = space.e.p;
  const K = transformations.length;
  const rng = new Rng(options.seed);
  const rawValues = rawMatrix(detector, attacks);
  const names = detector.encoder.numeric.map((x) => x.name);
  const before: RawFlows = { values: rawValues, n, names };
  const encodedClean = detector.encoder.encode(attacks).x;
  const d = detector.encoder.dimension;
  const raw = tf.tensor2d(Float32Array.from(rawValues), [n, p]);
  const oneHot = tf.tidy(() => tf.slice(tf.tensor2d(encodedClean, [n, d]), [0, p], [n, d - p]) as tf.Tensor2D);
  const loss = goalLoss(detector, goal, (x) => detector.classifier.logits(x));
  const clean = detector.scoreTable(attacks);
  const cleanRaw = detector.componentScores(encodedClean, n);
  const t = detector.thresholds;
  /** The goal's score/threshold ratio of flow i: ≤ 1 means the goal's detector no longer flags it. */
  const goalValue = (scores: ReturnType<NidsDetector['componentScores']>, i: number): number => {
    let value = (scores.pAttack[i] as number) / t.supervised;
    if (goal === 'combined') {
      if (scores.autoencoder && t.autoencoder)
        value = Math.max(value, (scores.autoencoder[i] as number) / t.autoencoder);
      if (scores.iforest && t.iforest) value = Math.max(value, (scores.iforest[i] as number) / t.iforest);
      if (scores.knn && t.knn) value = Math.max(value, (scores.knn[i] as number) / t.knn);
    }
    return value;
  };
  /** goalValue of every flow; the 'evidence' combination's value is evidence / threshold. */
  const goalValues = (scores: ReturnType<NidsDetector['componentScores']>): Float64Array => {
    const combination = detector.meta.combination;
    if (goal === 'combined' && combination) {
      const { evidence } = combinedEvidence(combination, evidenceInputs(scores), n);
      return evidence.map((e) => e / Math.max(combination.threshold, 1e-9));
    }
    return Float64Array.from({ length: n }, (_, i) => goalValue(scores, i));
  };
  const rows: EvasionBudgetRow[] = [];
  let adversarial = attacks;
  let violationsByConstraint: Record<string, number> = {};
  const grid = knobGrid(K, gridLevels);
  const total = options.epsilons.length * (2 * steps + grid.length);
  let done = 0;
  try {
    // Best candidate per flow so far (the clean flow to start with): its goal value (≤ 1 = evades) and raw values.
    const bestValue = goalValues(cleanRaw);
    const best = Float64Array.from(rawValues);
    for (const eps of [...options.epsilons].sort((a, b) => a - b)) {
      const t0 = performance.now();
      const bounds = knobBounds(space, detector, raw, eps);
      const visit = async (candidate: tf.Tensor2D): Promise<void> => {
        const values = Float64Array.from((await candidate.data()) as Float32Array);
        const encoded = detector.encoder.encode(withRaw(detector, attacks, values)).x;
        const violated = checkConstraints(constraints, {
          before,
          after: { values, n, names },
          encodedAfter: encoded,
          encoder: detector.encoder,
        }).any;
        const goalNow = goalValues(detector.componentScores(encoded, n, goal === 'classifier'));
        for (let i = 0; i < n; i++) {
          if (violated[i]) continue;
          const value = goalNow[i] as number;
          if (value < (bestValue[i] as number)) {
            bestValue[i] = value;
            best.set(values.subarray(i * p, (i + 1) * p), i * p);
          }
        }
        done++;
        options.onProgress?.(done, total);
      };
      const starts = [tf.zeros([n, K]) as tf.Tensor2D, tf.tensor2d(rng.uniformArray(n * K, 0, 1), [n, K])];
      for (const start of starts) {
        const u = await knobSearch({ space, raw, oneHot, bounds, loss, start, steps, stepSize, visit });
        u.dispose();
      }
      for (const point of grid) {
        const u = tf.tidy(() => tf.tile(tf.tensor2d([point]), [n, 1]) as tf.Tensor2D);
        const candidate = materialise(space, raw, u, bounds);
        try {
          await visit(candidate);
        } finally {
          tf.dispose([candidate, u]);
        }
      }
      bounds.dispose();
      adversarial = withRaw(detector, attacks, Float64Array.from(best));
      const adv = detector.scoreTable(adversarial);
      const check = checkConstraints(constraints, {
        before,
        after: { values: best, n, names },
        encodedAfter: adv.encoded.x,
        encoder: detector.encoder,
      });
      violationsByConstraint = check.byConstraint;
      const flaggedBy = (s: typeof adv, i: number) =>
        goal === 'combined' ? s.attack[i] === 1 : (s.pAttack[i] as number) > t.supervised;
      let cleanSup = 0;
      let advSup = 0;
      let cleanAll = 0;
      let advAll = 0;
      let goalClean = 0;
      let evaded = 0;
      const increase = new Float64Array(K);
      for (let i = 0; i < n; i++) {
        const cs = (clean.pAttack[i] as number) > t.supervised;
        const as = (adv.pAttack[i] as number) > t.supervised;
        cleanSup += cs ? 1 : 0;
        advSup += as ? 1 : 0;
        cleanAll += clean.attack[i] as number;
        advAll += adv.attack[i] as number;
        if (flaggedBy(clean, i)) {
          goalClean++;
          if (!flaggedBy(adv, i)) {
            evaded++;
            for (let k = 0; k < K; k++) increase[k] = (increase[k] as number) + budgetIncrease(best, rawValues, i, k);
          }
        }
      }
      const meanIncrease = Object.fromEntries(
        transformations.map((tr, k) => [tr.budgetColumn, evaded ? (increase[k] as number) / evaded : 0]),
      );
      rows.push({
        eps,
        attacks: n,
        classifierRecallClean: cleanSup / n,
        classifierRecall: advSup / n,
        combinedRecallClean: cleanAll / n,
        combinedRecall: advAll / n,
        evasionRate: goalClean ? evaded / goalClean : 0,
        constraintViolations: check.any.reduce((a, b) => a + b, 0),
        meanIncrease,
        seconds: (performance.now() - t0) / 1000,
      });
    }
  } finally {
    tf.dispose([raw, oneHot]);
    space.dispose();
  }
  return {
    rows,
    goal,
    transformations: transformations.map((tr) => ({ name: tr.name, description: tr.description, unit: tr.unit })),
    constraints: constraints.map((c) => ({ name: c.name, description: c.description })),
    adversarial,
    violationsByConstraint,
  };

  /** How much flow i's budget column of transformation k grew. */
  function budgetIncrease(adv: Float64Array, orig: Float64Array, i: number, k: number): number {
    const tr = transformations[k] as Transformation;
    const j = space.col(tr.budgetColumn);
    return Math.max(0, (adv[i * p + j] as number) - (orig[i * p + j] as number));
  }
}
