/**
 * The defense matrix: every chosen defense (plus 'none', the undefended model) against every
 * chosen evasion attack at every budget, with the clean-accuracy cost beside each defense.
 *
 * - Wrappers (preprocessor, output) and training defenses: the attacks run against the defended
 *   Model unchanged, through the evasion suite; an attack needing more access than the defended
 *   model grants (e.g. FGSM against label-only) is reported 'refused' with the reason — that is
 *   what the defense buys, not an error.
 * - Detectors: detection is measured with the detection evaluation (evaluate-detection.ts) for the
 *   attacks it crafts (fgsm, pgd, cw, and 'adaptive', which includes the detector in its loss);
 *   each cell carries detectionRate, falsePositiveRate (clean test inputs flagged at the threshold
 *   calibrated on the separate calibration data) and undetectedSuccessRate (fool the model and evade
 *   the detector). Other attacks (square, deepfool, hsj) get robust accuracy only, with a reason.
 */
import { predictLabelsBatched } from '../attacks/evasion/budget-rows.js';
import { getEvasionAttack } from '../attacks/evasion/registry.js';
import { runEvasionSuite } from '../attacks/evasion/run-evasion.js';
import { AegisInputError } from '../core/errors.js';
import { tf } from '../core/runtime.js';
import { accessCovers, type Norm } from '../core/threat-model.js';
import { type Dataset, size, slice, toTensor } from '../data/dataset.js';
import { isDifferentiable, type Model } from '../models/model.js';
import { type Defense, type DefenseKind, isDetectingModel } from './defense.js';
import { DETECTION_ATTACKS } from './detection/adversarial-examples.js';
import { type DetectionRun, evaluateDetection } from './detection/evaluate-detection.js';
import { type DefenseParams, getDefense } from './registry.js';

/** The attack that knows the detector (detector rows only). */
export const ADAPTIVE_ATTACK = 'adaptive';

export interface DefenseChoice {
  name: string;
  params?: DefenseParams;
}

export interface AssessOptions {
  model: Model;
  /** Training data (training defenses; Mahalanobis fits class statistics on it when given). */
  train?: Dataset;
  /** Clean data for detector thresholds, disjoint from `test`. */
  calibration?: Dataset;
  /** Data the attacks run on. */
  test: Dataset;
  defenses: DefenseChoice[];
  /** Evasion registry names, and 'adaptive' for detectors. */
  attacks: string[];
  epsilons: number[];
  norm: Norm;
  seed: number;
  /** Attack only the first N test examples. */
  limit?: number;
  steps?: number;
  queryBudget?: number;
  batchSize?: number;
  /** Progress bars from long defenses (adversarial training). */
  progress?: boolean;
  /** Called as attacks progress: defense, attack, done, total. */
  onProgress?: (defense: string, attack: string, done: number, total: number) => void;
}

export type CellStatus = 'ok' | 'refused' | 'not-applicable';

export interface MatrixCell {
  attack: string;
  eps: number;
  status: CellStatus;
  /** Why the cell is refused / not applicable, or what it does not measure. */
  reason?: string;
  /** Accuracy on the adversarial inputs. */
  accuracy?: number;
  /** Of the correctly classified inputs, the share the attack flipped. */
  successRate?: number;
  meanPerturbation?: number;
  queries?: number;
  /** Detectors: flagged share of the successful adversarial examples (null: none succeeded). */
  detectionRate?: number | null;
  /** Detectors: flagged share of the clean test inputs. */
  falsePositiveRate?: number;
  /** Detectors: of the correctly classified inputs, the share turned into undetected misclassifications. */
  undetectedSuccessRate?: number;
  seconds?: number;
}

export interface MatrixRow {
  defense: string;
  title: string;
  citation: string;
  kind: DefenseKind | 'none';
  mitigations: string[];
  params: DefenseParams;
  /** Access the defended model grants. */
  access: string;
  cleanAccuracy: number;
  /** Undefended clean accuracy minus this row's (positive = the defense costs accuracy). */
  cleanAccuracyCost: number;
  /** Detectors: the calibrated threshold and its target false-positive rate. */
  threshold?: number;
  targetFalsePositiveRate?: number;
  /** Seconds to apply the defense (training time for training defenses). */
  applySeconds: number;
  cells: MatrixCell[];
}

export interface DefenseMatrix {
  attacks: string[];
  epsilons: number[];
  norm: Norm;
  examples: number;
  rows: MatrixRow[];
}

/** Unknown names, missing data and empty lists fail before any defense or attack runs. */
function checkOptions(o: AssessOptions): Defense[] {
  if (o.attacks.length === 0) throw new AegisInputError('give at least one attack');
  if (o.epsilons.length === 0) throw new AegisInputError('give at least one budget (eps)');
  for (const name of o.attacks) if (name !== ADAPTIVE_ATTACK) getEvasionAttack(name);
  const defenses = o.defenses.map((d) => getDefense(d.name));
  for (const d of defenses) {
    if (d.kind === 'training' && !o.train) {
      throw new AegisInputError(`defense '${d.name}' trains a new model and needs training data (--train)`);
    }
    if (d.kind === 'detector' && !o.calibration) {
      throw new AegisInputError(`defense '${d.name}' calibrates a threshold and needs calibration data`);
    }
  }
  if (o.attacks.includes(ADAPTIVE_ATTACK) && !defenses.some((d) => d.kind === 'detector')) {
    throw new AegisInputError(`attack '${ADAPTIVE_ATTACK}' targets a detector; add feature-squeezing or mahalanobis`);
  }
  return defenses;
}

async function accuracyOf(model: Model, x: tf.Tensor, y: Int32Array): Promise<number> {
  const predictions = await predictLabelsBatched(model, x);
  let correct = 0;
  for (let i = 0; i < y.length; i++) if (predictions[i] === y[i]) correct++;
  return y.length ? correct / y.length : 0;
}

function cellsFor(attack: string, epsilons: number[], status: CellStatus, reason: string): MatrixCell[] {
  return epsilons.map((eps) => ({ attack, eps, status, reason }));
}

/** Why `attack` cannot run against `model`, or undefined when it can. */
function refusal(attack: string, model: Model, norm: Norm, detector: boolean): [CellStatus, string] | undefined {
  if (attack === ADAPTIVE_ATTACK) {
    if (!detector) return ['not-applicable', 'the adaptive attack targets a detector; this row has none'];
    if (!isDifferentiable(model))
      return ['refused', `the adaptive attack needs gradients; model grants '${model.info.access}'`];
    return undefined;
  }
  const a = getEvasionAttack(attack);
  if (!a.norms.includes(norm)) return ['not-applicable', `${attack} supports ${a.norms.join(', ')} only, not ${norm}`];
  if (!accessCovers(model.info.access, a.access)) {
    return ['refused', `${attack} needs '${a.access}' access; the defended model grants only '${model.info.access}'`];
  }
  if (a.access === 'gradients' && !isDifferentiable(model)) {
    return ['refused', `${attack} needs gradients; the defended model has no differentiable graph`];
  }
  return undefined;
}

/** Evasion-suite cells (robust accuracy and success rate) for the attacks that may run. */
async function evasionCells(
  model: Model,
  test: Dataset,
  attacks: string[],
  o: AssessOptions,
  defense: string,
): Promise<Map<string, MatrixCell[]>> {
  const out = new Map<string, MatrixCell[]>();
  if (attacks.length === 0) return out;
  const suite = await runEvasionSuite(model, test, {
    attacks,
    epsilons: o.epsilons,
    norm: o.norm,
    seed: o.seed,
    steps: o.steps,
    queryBudget: o.queryBudget,
    batchSize: o.batchSize,
    keepExamples: 0,
    onProgress: (attack, done, total) => o.onProgress?.(defense, attack, done, total),
  });
  for (const result of suite.results) {
    out.set(
      result.attack,
      result.rows.map((r) => ({
        attack: result.attack,
        eps: r.eps,
        status: 'ok',
        accuracy: r.accuracy,
        successRate: r.successRate,
        meanPerturbation: r.meanPerturbation,
        queries: r.queries,
        seconds: r.seconds,
      })),
    );
  }
  return out;
}

/** Detection cells for fgsm/pgd/cw/adaptive against a detecting model. */
async function detectionCells(
  model: Model,
  test: Dataset,
  attacks: string[],
  o: AssessOptions,
): Promise<{ cells: Map<string, MatrixCell[]>; falsePositiveRate?: number }> {
  const cells = new Map<string, MatrixCell[]>();
  if (attacks.length === 0) return { cells };
  const runs: DetectionRun[] = attacks.flatMap((attack) =>
    o.epsilons.map((eps) => ({
      attack: attack as DetectionRun['attack'],
      eps,
      norm: o.norm,
      steps: o.steps,
    })),
  );
  const x = toTensor(test);
  try {
    const evaluation = await evaluateDetection(model, { x, y: test.y }, runs, {
      seed: o.seed,
      batchSize: o.batchSize,
    });
    for (const row of evaluation.rows) {
      const list = cells.get(row.attack) ?? [];
      list.push({
        attack: row.attack,
        eps: row.eps,
        status: 'ok',
        // Inputs that stay correct: the clean-correct ones the attack did not flip.
        accuracy: row.examples ? (row.cleanCorrect - row.successful) / row.examples : 0,
        successRate: row.attackSuccessRate,
        detectionRate: row.detectionRate,
        falsePositiveRate: row.falsePositiveRate,
        undetectedSuccessRate: row.undetectedSuccessRate,
        seconds: row.seconds,
      });
      cells.set(row.attack, list);
    }
    return { cells, falsePositiveRate: evaluation.falsePositiveRate };
  } finally {
    tf.dispose(x);
  }
}

async function assessRow(
  defended: Model,
  info: Omit<MatrixRow, 'access' | 'cleanAccuracy' | 'cleanAccuracyCost' | 'cells'>,
  baseline: number | undefined,
  test: Dataset,
  o: AssessOptions,
): Promise<MatrixRow> {
  const x = toTensor(test);
  const cleanAccuracy = await accuracyOf(defended, x, test.y).finally(() => tf.dispose(x));
  const detector = isDetectingModel(defended);
  const skipped = new Map<string, MatrixCell[]>();
  const runnable: string[] = [];
  for (const attack of o.attacks) {
    const why = refusal(attack, defended, o.norm, detector);
    if (why) skipped.set(attack, cellsFor(attack, o.epsilons, why[0], why[1]));
    else runnable.push(attack);
  }
  const detectable = detector
    ? runnable.filter((a) => a === ADAPTIVE_ATTACK || (DETECTION_ATTACKS as readonly string[]).includes(a))
    : [];
  const evasion = runnable.filter((a) => !detectable.includes(a));
  const fromEvasion = await evasionCells(defended, test, evasion, o, info.defense);
  const fromDetection = await detectionCells(defended, test, detectable, o);
  const cells = o.attacks.flatMap((attack) => {
    const list = skipped.get(attack) ?? fromDetection.cells.get(attack) ?? fromEvasion.get(attack) ?? [];
    if (detector && fromEvasion.has(attack)) {
      const reason = `detection is measured for ${DETECTION_ATTACKS.join(', ')} and adaptive; robust accuracy only`;
      return list.map((c) => ({ ...c, reason }));
    }
    return list;
  });
  const row: MatrixRow = {
    ...info,
    access: defended.info.access,
    cleanAccuracy,
    cleanAccuracyCost: baseline === undefined ? 0 : baseline - cleanAccuracy,
    cells,
  };
  if (detector) {
    row.threshold = defended.detector.threshold;
    row.targetFalsePositiveRate = defended.detector.targetFalsePositiveRate;
  }
  return row;
}

/** The matrix: 'none' first, then each defense in the order given. */
export async function assessDefenses(o: AssessOptions): Promise<DefenseMatrix> {
  const defenses = checkOptions(o);
  const test = o.limit !== undefined && o.limit < size(o.test) ? slice(o.test, 0, o.limit) : o.test;
  const rows: MatrixRow[] = [];
  const none = await assessRow(
    o.model,
    { defense: 'none', title: 'No defense', citation: '', kind: 'none', mitigations: [], params: {}, applySeconds: 0 },
    undefined,
    test,
    o,
  );
  rows.push(none);
  for (const [i, defense] of defenses.entries()) {
    const params = o.defenses[i]?.params ?? {};
    const t0 = performance.now();
    const defended = await defense.apply(o.model, {
      train: o.train,
      calibration: o.calibration,
      seed: o.seed,
      progress: o.progress ?? false,
      params,
    });
    const applySeconds = (performance.now() - t0) / 1000;
    try {
      const info = {
        defense: defense.name,
        title: defense.title,
        citation: defense.citation,
        kind: defense.kind,
        mitigations: [...defense.mitigations],
        params,
        applySeconds,
      };
      rows.push(await assessRow(defended, info, none.cleanAccuracy, test, o));
    } finally {
      // Wrappers free only what they hold (detector statistics), never the caller's model.
      if (defended !== o.model) await defended.dispose();
    }
  }
  return { attacks: [...o.attacks], epsilons: [...o.epsilons], norm: o.norm, examples: size(test), rows };
}
