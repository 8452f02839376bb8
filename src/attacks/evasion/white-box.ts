/**
 * Scaffolding shared by the white-box evasion attacks (FGSM, PGD, C&W, DeepFool): input
 * checks, batching, and turning adversarial inputs into one row per budget. Minimum-norm
 * attacks are run once and their result is clipped to each budget (Foolbox 3 semantics).
 */
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import type { ThreatModel } from '../../core/threat-model.js';
import type { Model } from '../../models/model.js';
import { keepExamplesOption } from './budget-rows.js';
import type { AttackOptions, EvasionAttack, LabeledBatch } from './evasion-attack.js';

type AttackInfo = Pick<EvasionAttack, 'name' | 'title' | 'citation' | 'norms'>;

/** Checks data, labels and threat model against the attack; throws AegisInputError naming the problem. */
export function checkEvasionInputs(attack: AttackInfo, model: Model, data: LabeledBatch, threat: ThreatModel): void {
  const n = data.x.shape[0] ?? 0;
  const who = `attack '${attack.name}'`;
  if (n === 0) throw new AegisInputError(`${who}: no examples to attack`);
  if (data.y.length !== n) throw new AegisInputError(`${who}: ${n} examples but ${data.y.length} labels`);
  const expected = model.info.inputShape;
  const got = data.x.shape.slice(1);
  if (expected.length !== got.length || expected.some((d, i) => d > 0 && d !== got[i])) {
    throw new AegisInputError(
      `${who}: examples have shape [${got}] but model '${model.info.name}' expects [${expected}]`,
    );
  }
  const k = model.info.numClasses;
  for (let i = 0; i < n; i++) {
    const label = data.y[i] ?? -1;
    if (!(label >= 0 && label < k)) {
      throw new AegisInputError(`${who}: label ${label} of example ${i} is outside [0, ${k - 1}]`);
    }
  }
  if (!attack.norms.includes(threat.norm)) {
    throw new AegisInputError(`${who} supports ${attack.norms.join(', ')} only, not ${threat.norm}`);
  }
  if (threat.epsilons.length === 0) throw new AegisInputError(`${who}: give at least one budget (eps)`);
  if (threat.targeted) throw new AegisInputError(`${who}: targeted attacks are not supported (untargeted only)`);
}

/** A positive integer option, or its default; throws AegisInputError naming the option otherwise. */
export function positiveInt(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v <= 0) throw new AegisInputError(`option ${name} must be a positive integer, got ${v}`);
  return v;
}

/** [start, size] of each batch. */
export function batchRanges(n: number, batchSize: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let start = 0; start < n; start += batchSize) out.push([start, Math.min(batchSize, n - start)]);
  return out;
}

/** Seconds since `t0` (a performance.now() value). */
export function secondsSince(t0: number): number {
  return (performance.now() - t0) / 1000;
}

/** Concatenates batch results along the batch axis and disposes the parts. */
export function concatBatches(parts: tf.Tensor[]): tf.Tensor {
  const all = tf.concat(parts, 0);
  for (const p of parts) p.dispose();
  return all;
}

/** Options every white-box attack reads. */
export function commonOptions(options: AttackOptions): { batchSize: number; keepExamples: number } {
  return { batchSize: positiveInt(options.batchSize, 100, 'batchSize'), keepExamples: keepExamplesOption(options) };
}

/**
 * Runs a per-batch minimum-norm attack over all examples (yielding to the event loop between
 * batches so progress bars redraw) and returns the concatenated adversarials, the total
 * number of input gradients and the seconds it took.
 */
export async function attackInBatches(
  data: LabeledBatch,
  batchSize: number,
  onProgress: AttackOptions['onProgress'],
  attackBatch: (xb: tf.Tensor, labels: Int32Array) => { xAdv: tf.Tensor; gradients: number },
): Promise<{ xAdv: tf.Tensor; gradients: number; seconds: number }> {
  const t0 = performance.now();
  const n = data.y.length;
  let gradients = 0;
  const parts: tf.Tensor[] = [];
  try {
    for (const [start, size] of batchRanges(n, batchSize)) {
      const xb = tf.slice(data.x, start, size);
      try {
        const out = attackBatch(xb, data.y.subarray(start, start + size));
        parts.push(out.xAdv);
        gradients += out.gradients;
      } finally {
        xb.dispose();
      }
      onProgress?.(start + size, n);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } catch (error) {
    for (const p of parts) p.dispose();
    throw error;
  }
  return { xAdv: concatBatches(parts), gradients, seconds: secondsSince(t0) };
}
