// Greedy word-importance-ranked substitution (TextAttack's GreedyWordSwapWIR; Jin et al. 2020, "Is BERT Really Robust?", AAAI; Gao et al. 2018, DeepWordBug) against a score-returning phishing detector; composition after Morris et al. 2020, TextAttack, EMNLP demos.
/**
 * Evasion of the phishing text model by character and word substitutions within an edit budget,
 * composed of TextAttack's four pieces:
 *
 * - transformations (./transformations.ts): homoglyph, typo, synonym;
 * - constraints (./constraints.ts): edit budget in words or characters, no repeat modification,
 *   stopwords and short words kept, URLs and addresses intact;
 * - goal: the message is no longer flagged — its logit falls to the detector's operating
 *   threshold (chosen on training data) or below;
 * - search: greedy by score with word importance ranking — each modifiable word's importance is
 *   the score drop when it is deleted (one query each); words are then visited in that order and
 *   replaced by the candidate that lowers the score most, if any does, until the goal or the
 *   budget is reached.
 *
 * The attacker queries scores (black-box, score access: MITRE ATLAS AML.T0043.001), never weights.
 * One run at the largest budget gives every smaller word budget too: the greedy order does not
 * depend on the budget, so the run at budget ε is the prefix of edits that fits in ε (Foolbox's
 * "one call, the whole curve"; exact for word budgets, a lower bound on the attacker for
 * character budgets).
 */
import { AegisInputError } from '../../../core/errors.js';
import { type PhishEvent, withText } from '../features.js';
import { logitOf } from '../logistic.js';
import type { PhishingDetector } from '../phishing-detector.js';
import { type BudgetUnit, budgetLimit, editCost, modifiableWords, type WordSpan } from './constraints.js';
import { TRANSFORMATIONS, type TransformationName } from './transformations.js';

export const TEXT_EVASION = {
  name: 'phishing-text-evasion',
  title: 'Phishing text evasion: homoglyph, typo and synonym substitutions within an edit budget',
  citation:
    'Morris et al. 2020, TextAttack (EMNLP demos); Gao et al. 2018, DeepWordBug (IEEE S&P Workshops); Jin et al. 2020, TextFooler (AAAI)',
  /** MITRE ATLAS: Craft Adversarial Data: Black-Box Optimization (to Evade AI Model, AML.T0015). */
  atlas: 'AML.T0043.001',
} as const;

export interface TextAttackOptions {
  /** Edit budgets ε as fractions of the words (or characters) of each message, e.g. [0.01, 0.02, 0.05]. */
  budgets: number[];
  unit?: BudgetUnit;
  transformations?: TransformationName[];
  /** Candidates tried per word and transformation. Default 6. */
  maxCandidates?: number;
  /** Modifiable words ranked by importance (the first ones in the text). Default 400. */
  maxWords?: number;
}

export interface EditStep {
  /** Word index in the modifiable words, original and replacement. */
  word: string;
  replacement: string;
  transformation: TransformationName;
  /** Budget used after this edit (words or characters). */
  cost: number;
  logit: number;
}

export interface EventAttack {
  cleanLogit: number;
  /** Flagged before the attack (only those are attacked). */
  flagged: boolean;
  steps: EditStep[];
  /** Budget limit of the largest ε for this message. */
  limit: number;
  queries: number;
  /** The text after every accepted edit (at the largest budget). */
  adversarialText: string;
  originalText: string;
}

function rebuild(text: string, words: readonly WordSpan[], replaced: ReadonlyMap<number, string>): string {
  if (replaced.size === 0) return text;
  const order = [...replaced.keys()].sort((a, b) => (words[a] as WordSpan).start - (words[b] as WordSpan).start);
  let out = '';
  let at = 0;
  for (const i of order) {
    const w = words[i] as WordSpan;
    out += text.slice(at, w.start) + (replaced.get(i) as string);
    at = w.end;
  }
  return out + text.slice(at);
}

/** Attacks one event at the largest budget, recording each accepted edit. */
export function attackEvent(detector: PhishingDetector, event: PhishEvent, options: TextAttackOptions): EventAttack {
  if (detector.mode === 'url') {
    throw new AegisInputError('the text evasion attack applies to the mail and sms modes, not to URLs');
  }
  const unit = options.unit ?? 'words';
  const names = options.transformations ?? (['homoglyph', 'typo', 'synonym'] as TransformationName[]);
  const maxCandidates = options.maxCandidates ?? 6;
  const model = detector.weights;
  const threshold = detector.threshold;
  const variant = detector.featurizer.textVariants(event);
  const original = detector.featurizer.rawText(event);
  let queries = 0;
  const score = (text: string) => {
    queries++;
    return logitOf(model, variant(text));
  };
  const cleanLogit = score(original);
  const limit = budgetLimit(original, { unit, eps: Math.max(...options.budgets) });
  const result: EventAttack = {
    cleanLogit,
    flagged: cleanLogit > threshold,
    steps: [],
    limit,
    queries: 0,
    adversarialText: original,
    originalText: original,
  };
  if (!result.flagged || limit === 0) {
    result.queries = queries;
    return result;
  }
  const words = modifiableWords(original).slice(0, options.maxWords ?? 400);
  const importance = words.map((_, i) => cleanLogit - score(rebuild(original, words, new Map([[i, '']]))));
  const order = words.map((_, i) => i).filter((i) => (importance[i] as number) > 0);
  order.sort((a, b) => (importance[b] as number) - (importance[a] as number));
  const replaced = new Map<number, string>();
  let current = cleanLogit;
  let used = 0;
  for (const i of order) {
    if (current <= threshold || used >= limit) break;
    const word = (words[i] as WordSpan).word;
    let best: { text: string; logit: number; replacement: string; t: TransformationName; cost: number } | undefined;
    for (const name of names) {
      for (const candidate of TRANSFORMATIONS[name].candidates(word).slice(0, maxCandidates)) {
        const cost = editCost(word, candidate, unit);
        if (used + cost > limit) continue;
        const trial = new Map(replaced).set(i, candidate);
        const text = rebuild(original, words, trial);
        const logit = score(text);
        if (!best || logit < best.logit) best = { text, logit, replacement: candidate, t: name, cost };
      }
    }
    if (best && best.logit < current) {
      replaced.set(i, best.replacement);
      used += best.cost;
      current = best.logit;
      result.adversarialText = best.text;
      result.steps.push({ word, replacement: best.replacement, transformation: best.t, cost: used, logit: current });
    }
  }
  result.queries = queries;
  return result;
}

export interface TextEvasionRow {
  eps: number;
  phishing: number;
  /** Share of phishing flagged before / after the attack at this budget. */
  cleanRecall: number;
  robustRecall: number;
  /** Of the flagged phishing, the share that evade. */
  evasionRate: number;
  /** Mean words (or characters) changed over evading messages. */
  meanEdits: number;
  meanQueries: number;
  [key: string]: number;
}

export interface TextEvasionResult {
  rows: TextEvasionRow[];
  attacks: EventAttack[];
  unit: BudgetUnit;
  transformations: TransformationName[];
  seconds: number;
}

/** Evaded within budget ε: some prefix of the edits that fits ε reaches the threshold. */
export function evadedAt(
  a: EventAttack,
  text: string,
  eps: number,
  unit: BudgetUnit,
  threshold: number,
): EditStep | undefined {
  const limit = budgetLimit(text, { unit, eps });
  return a.steps.find((s) => s.cost <= limit && s.logit <= threshold);
}

/** Attacks every phishing event once and reads off each budget's robust recall. */
export function runTextEvasion(
  detector: PhishingDetector,
  phishing: readonly PhishEvent[],
  options: TextAttackOptions & { onProgress?: (done: number, total: number) => void },
): TextEvasionResult {
  if (options.budgets.length === 0 || options.budgets.some((e) => !(e >= 0 && e <= 1))) {
    throw new AegisInputError(`edit budgets must be fractions in [0, 1], got [${options.budgets}]`);
  }
  if (phishing.length === 0) throw new AegisInputError('text evasion: no phishing messages to attack');
  const started = performance.now();
  const unit = options.unit ?? 'words';
  const attacks: EventAttack[] = [];
  phishing.forEach((e, k) => {
    attacks.push(attackEvent(detector, e, options));
    options.onProgress?.(k + 1, phishing.length);
  });
  const flagged = attacks.filter((a) => a.flagged).length;
  const rows = [...options.budgets]
    .sort((a, b) => a - b)
    .map((eps) => {
      const evading = attacks
        .filter((a) => a.flagged)
        .map((a) => evadedAt(a, a.originalText, eps, unit, detector.threshold))
        .filter((s): s is EditStep => s !== undefined);
      const queries = attacks.reduce((sum, a) => sum + a.queries, 0);
      return {
        eps,
        phishing: phishing.length,
        cleanRecall: flagged / phishing.length,
        robustRecall: (flagged - evading.length) / phishing.length,
        evasionRate: flagged === 0 ? 0 : evading.length / flagged,
        meanEdits: evading.length === 0 ? 0 : evading.reduce((sum, s) => sum + s.cost, 0) / evading.length,
        meanQueries: queries / phishing.length,
      };
    });
  return {
    rows,
    attacks,
    unit,
    transformations: options.transformations ?? ['homoglyph', 'typo', 'synonym'],
    seconds: (performance.now() - started) / 1000,
  };
}

/** The adversarial version of an event (its text replaced), e.g. to add to training data. */
export function adversarialEvent(event: PhishEvent, attack: EventAttack): PhishEvent {
  return withText(event, attack.adversarialText);
}
