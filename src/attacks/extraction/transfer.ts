// Papernot, McDaniel & Goodfellow 2016, "Transferability in Machine Learning: from Phenomena to Black-Box Attacks using Adversarial Samples", arXiv:1605.07277.
/**
 * Why extraction matters: adversarial examples crafted white-box on the stolen surrogate with
 * an existing evasion attack (PGD by default) are sent to the victim, which only answers
 * queries. Success rate = of the examples the victim classifies correctly, the fraction it
 * misclassifies after the attack (one victim query per adversarial example).
 */
import { AegisInputError } from '../../core/errors.js';
import { makeThreatModel } from '../../core/threat-model.js';
import { type Dataset, size, slice, toTensor } from '../../data/dataset.js';
import { predictDataset } from '../../models/evaluate.js';
import type { DifferentiableModel, Model } from '../../models/model.js';
import { QueryCountingModel } from '../../models/query-counter.js';
import { getEvasionAttack } from '../evasion/registry.js';

/** MITRE ATLAS: Craft Adversarial Data — Black-Box Transfer. */
export const TRANSFER_ATLAS = 'AML.T0043.002';

export interface TransferRow {
  eps: number;
  /** Of the examples the victim got right, the fraction it gets wrong on the transferred examples. */
  successRate: number;
  /** Victim accuracy on the transferred examples. */
  accuracy: number;
  /** The same attack's success against the surrogate itself (white-box). */
  surrogateSuccessRate: number;
  /** Victim queries: one per adversarial example. */
  queries: number;
  seconds: number;
}

export interface TransferOptions {
  /** Evasion attack run on the surrogate (white-box). Default 'pgd'. */
  attack?: string;
  epsilons?: number[];
  seed: number;
  steps?: number;
  /** Attack at most this many held-out examples. Default 500. */
  limit?: number;
  /** Name of the extraction attack that produced the surrogate (for the result name). */
  source: string;
}

export interface TransferResult {
  attack: string;
  title: string;
  citation: string;
  atlas: string;
  threatModel: ReturnType<typeof makeThreatModel>;
  rows: TransferRow[];
}

export async function transferAttack(
  surrogate: DifferentiableModel,
  victim: Model,
  heldOut: Dataset,
  options: TransferOptions,
): Promise<TransferResult> {
  const evasion = getEvasionAttack(options.attack ?? 'pgd');
  if (evasion.access !== 'gradients') {
    throw new AegisInputError(
      `transfer attacks craft white-box on the surrogate; '${evasion.name}' is not a white-box attack`,
    );
  }
  const epsilons = options.epsilons ?? [0.1];
  const data = slice(heldOut, 0, Math.min(size(heldOut), options.limit ?? 500));
  const n = size(data);
  const range = victim.info.inputRange;
  const threat = makeThreatModel({
    access: 'gradients',
    epsilons,
    inputRange: range,
    knowledge: `a surrogate stolen by ${options.source}; the victim answers labels only`,
  });
  const counted = new QueryCountingModel(victim, 'labels');
  const x = toTensor(data);
  const rows: TransferRow[] = [];
  try {
    for (const eps of epsilons) {
      const t0 = performance.now();
      // One budget per run with every pair kept: the pairs are all n examples (reordered, fooled first).
      const crafted = await evasion.run(
        surrogate,
        { x, y: data.y },
        { ...threat, epsilons: [eps] },
        { seed: options.seed, steps: options.steps, keepExamples: n },
      );
      const ex = crafted.examples;
      const own = crafted.rows[0];
      if (!ex || !own) throw new Error(`evasion attack '${evasion.name}' returned no examples`);
      const stack = (arrays: ArrayLike<number>[]) => {
        const per = ex.shape.reduce((a, b) => a * b, 1);
        const flat = new Float32Array(arrays.length * per);
        arrays.forEach((a, j) => {
          flat.set(a, j * per);
        });
        return {
          name: 'pairs',
          x: flat,
          shape: [arrays.length, ...ex.shape],
          y: Int32Array.from(ex.labels),
          classNames: data.classNames,
        };
      };
      const cleanSet = stack(ex.clean);
      const advSet = stack(ex.adversarial);
      const victimClean = await predictDataset(victim, cleanSet); // the auditor's reference, not an attack query
      const victimAdv = await predictDataset(counted, advSet);
      let wasCorrect = 0;
      let fooled = 0;
      let correct = 0;
      for (let i = 0; i < victimAdv.length; i++) {
        const y = ex.labels[i];
        if (victimAdv[i] === y) correct++;
        if (victimClean[i] === y) {
          wasCorrect++;
          if (victimAdv[i] !== y) fooled++;
        }
      }
      rows.push({
        eps,
        successRate: wasCorrect ? fooled / wasCorrect : 0,
        accuracy: victimAdv.length ? correct / victimAdv.length : 0,
        surrogateSuccessRate: own.successRate,
        queries: counted.queries,
        seconds: (performance.now() - t0) / 1000,
      });
    }
  } finally {
    x.dispose();
  }
  return {
    attack: `transfer-${options.source}`,
    title: `Transfer attack: ${evasion.title} on the ${options.source} surrogate, success measured on the victim`,
    citation: evasion.citation,
    atlas: TRANSFER_ATLAS,
    threatModel: threat,
    rows,
  };
}
