/**
 * Constraints on a text attack, TextAttack's second piece: which words may change, and how much
 * of the message may change in all. Each is a separate, reusable check.
 *
 * - edit budget ε (words): at most max(1, ⌊ε · words⌋) words modified; each transformation of a
 *   word counts one (the figure a reader notices);
 * - edit budget ε (characters): the summed Levenshtein distance of the modified words stays within
 *   max(1, ⌊ε · characters⌋) — a synonym swap costs its length difference and changed letters;
 * - no repeat modification: a word is modified at most once (TextAttack's RepeatModification);
 * - stopwords are not modified (StopwordModification), nor words under 3 letters;
 * - protected spans: URLs and e-mail addresses stay intact — the lure must still work.
 */
export interface WordSpan {
  start: number;
  end: number;
  word: string;
}

export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    'a an the and or but if of at by for with about against between into through during before after above below ' +
    'to from up down in out on off over under again further then once here there when where why how all any both ' +
    'each few more most other some such no nor not only own same so than too very can will just don should now is ' +
    'am are was were be been being have has had having do does did doing i me my we our you your he him his she ' +
    'her it its they them their what which who whom this that these those'
  ).split(' '),
);

const WORD = /[\p{L}\p{N}_'’-]+/gu;
const PROTECTED = /\b(?:https?:\/\/|www\.)[^\s<>"']+|[\w.+'-]+@[\w-]+(?:\.[\w-]+)*/gi;

/** Words of the text an attack may modify (outside URLs/addresses, not stopwords, 3+ letters). */
export function modifiableWords(text: string): WordSpan[] {
  const protectedRanges: [number, number][] = [...text.matchAll(PROTECTED)].map((m) => [
    m.index as number,
    (m.index as number) + m[0].length,
  ]);
  const inside = (start: number, end: number) => protectedRanges.some(([a, b]) => start < b && end > a);
  const out: WordSpan[] = [];
  for (const m of text.matchAll(WORD)) {
    const start = m.index as number;
    const word = m[0];
    const end = start + word.length;
    if ([...word].length < 3 || STOPWORDS.has(word.toLowerCase()) || /^\d+$/.test(word) || inside(start, end)) continue;
    out.push({ start, end, word });
  }
  return out;
}

/** Number of words in the text (the base of the word budget). */
export function wordCount(text: string): number {
  return (text.match(WORD) ?? []).length;
}

export type BudgetUnit = 'words' | 'chars';

export interface EditBudget {
  unit: BudgetUnit;
  /** Fraction of the text's words (or characters) that may change. */
  eps: number;
}

/** The most edits (words, or character edits) the budget allows for a text. */
export function budgetLimit(text: string, budget: EditBudget): number {
  const base = budget.unit === 'words' ? wordCount(text) : [...text].length;
  return budget.eps <= 0 ? 0 : Math.max(1, Math.floor(budget.eps * base));
}

/** Cost of one word replacement in the budget's unit. */
export function editCost(before: string, after: string, unit: BudgetUnit): number {
  return unit === 'words' ? 1 : charEdits(before, after);
}

/** Levenshtein distance over code points. */
export function charEdits(a: string, b: string): number {
  // Levenshtein over code points (a homoglyph is one edit even when it is two UTF-16 units).
  const ca = [...a];
  const cb = [...b];
  const prev = Array.from({ length: cb.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ca.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= cb.length; j++) {
      const up = prev[j] as number;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + (ca[i - 1] === cb[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[cb.length] as number;
}
