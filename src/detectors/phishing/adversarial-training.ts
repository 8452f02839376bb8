// Adversarial training by data augmentation with attacked examples (Goodfellow et al. 2015, ICLR; for text, Jin et al. 2020, TextFooler §5 and Morris et al. 2020, TextAttack's augmentation recipes).
/**
 * Hardening the phishing text model: attack the TRAINING phishing with the text evasion attack at
 * budget ε, add the rewordings that evade (label phishing; `add: 'all'` adds every changed
 * message) to the training set, retrain (threshold
 * re-chosen out-of-fold on the same legitimate training mail), and repeat for `rounds`. The test
 * set is never attacked during training.
 *
 * Each training message is attacked out-of-fold — against a model trained on the other folds,
 * which has not seen it — as a phisher attacks a deployed model with a new message. Attacking a
 * model on its own training messages finds almost nothing (they sit far past the threshold), so
 * the added examples would not be adversarial.
 *
 * The project's adversarial trainer (src/defenses/training: PGD-AT, TRADES, FBF) perturbs
 * continuous inputs along gradients; word and character substitutions are discrete, so the
 * inner maximisation here is the greedy search itself — the same min-max, with the attack that
 * is later evaluated.
 */
import { AegisInputError } from '../../core/errors.js';
import { type PhishTrainOptions, stratifiedFolds, type TrainingSummary } from './calibrated-training.js';
import { adversarialEvent, attackEvent, type TextAttackOptions } from './evasion/text-attack.js';
import type { FeatureRow, PhishEvent } from './features.js';
import { PhishingDetector } from './phishing-detector.js';

export interface AdversarialTrainingOptions extends PhishTrainOptions {
  /** Edit budget of the training attack. */
  eps: number;
  unit?: TextAttackOptions['unit'];
  transformations?: TextAttackOptions['transformations'];
  /** Attack-and-retrain rounds. Default 1. */
  rounds?: number;
  /**
   * 'evading' (default): add only rewordings that reached the goal (fooled the out-of-fold model);
   * 'all': add every message the attack changed, evading or not.
   */
  add?: 'evading' | 'all';
}

export interface AdversarialTrainingRound {
  round: number;
  attacked: number;
  /** Reworded messages added this round. */
  added: number;
  /** Of the attacked training phishing, the share that evaded the out-of-fold model. */
  evasionRate: number;
  summary: TrainingSummary;
}

/** Trains `detector` on clean rows, then hardens it; returns per-round figures. */
export function adversariallyTrain(
  detector: PhishingDetector,
  events: readonly PhishEvent[],
  labels: ArrayLike<number>,
  options: AdversarialTrainingOptions,
  cleanRows?: readonly FeatureRow[],
): AdversarialTrainingRound[] {
  if (!(options.eps > 0 && options.eps <= 1)) {
    throw new AegisInputError(`adversarial training: the edit budget must be in (0, 1], got ${options.eps}`);
  }
  const rows: FeatureRow[] = cleanRows ? [...cleanRows] : events.map((e) => detector.featurize(e));
  const y: number[] = Array.from(labels as ArrayLike<number>);
  const rounds = options.rounds ?? 1;
  const out: AdversarialTrainingRound[] = [];
  let summary = detector.fitRows(rows, y, options);
  const k = options.folds ?? 5;
  for (let round = 1; round <= rounds; round++) {
    let attacked = 0;
    let evaded = 0;
    const added: FeatureRow[] = [];
    const fold = stratifiedFolds(y, k, (options.seed ?? 0) + 7919 * round);
    const foldModel = new PhishingDetector(detector.featurizer.config);
    for (let f = 0; f < k; f++) {
      const inFold = (i: number) => fold[i] === f;
      foldModel.fitRows(
        rows.filter((_, i) => !inFold(i)),
        y.filter((_, i) => !inFold(i)),
        { ...options, folds: 2, seed: (options.seed ?? 0) + 31 * round + f },
      );
      events.forEach((event, i) => {
        if ((labels[i] as number) !== 1 || !inFold(i)) return;
        const a = attackEvent(foldModel, event, {
          budgets: [options.eps],
          ...(options.unit ? { unit: options.unit } : {}),
          ...(options.transformations ? { transformations: options.transformations } : {}),
        });
        if (!a.flagged) return;
        attacked++;
        const evading = (a.steps.at(-1)?.logit ?? Number.POSITIVE_INFINITY) <= foldModel.threshold;
        if (evading) evaded++;
        if (a.steps.length > 0 && (evading || options.add === 'all')) {
          added.push(detector.featurize(adversarialEvent(event, a)));
        }
      });
      options.onProgress?.('adversarial', f + 1, k);
    }
    rows.push(...added);
    for (let k = 0; k < added.length; k++) y.push(1);
    summary = detector.fitRows(rows, y, { ...options, seed: (options.seed ?? 0) + round });
    out.push({ round, attacked, added: added.length, evasionRate: attacked ? evaded / attacked : 0, summary });
  }
  if (rounds === 0) out.push({ round: 0, attacked: 0, added: 0, evasionRate: 0, summary });
  return out;
}
