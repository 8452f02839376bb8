// Language guess by counting each language's most common short words (Grefenstette 1995, "Comparing two language identification schemes").
/**
 * Why the phishing detector wants it: language is a collection artefact. The public phishing
 * corpora hold much German, Portuguese, Dutch and French mail; the public legitimate corpora are
 * nearly all English. A text model trained on them can learn "not English → phishing", and the
 * test split cannot show it, because it has no legitimate mail in those languages either. The
 * training summary counts both classes per language and warns where one side is missing
 * (languageWarnings), so the user knows which mail the figures do not cover.
 *
 * The word lists avoid words shared with another listed language or with English ("die", "van",
 * "com", "para", "una"). A text is assigned the language with the most hits among its first
 * `maxWords` words, if that is at least MIN_HITS and no other language ties it; else 'unknown'.
 */

import { AegisInputError } from '../../core/errors.js';

export const COMMON_WORDS: Readonly<Record<string, readonly string[]>> = {
  en: ['the', 'and', 'you', 'your', 'of', 'is', 'for', 'this', 'with', 'that', 'are', 'have'],
  de: ['und', 'der', 'das', 'ist', 'nicht', 'mit', 'für', 'sie', 'ihre', 'eine', 'auf', 'wir'],
  nl: ['een', 'het', 'voor', 'uw', 'niet', 'ons', 'zijn', 'wij', 'naar', 'worden', 'deze', 'ook'],
  pt: ['não', 'você', 'seu', 'sua', 'dos', 'pela', 'mais', 'são', 'pelo', 'muito', 'até', 'isso'],
  es: ['los', 'las', 'por', 'del', 'usted', 'más', 'pero', 'muy', 'sus', 'este', 'esta', 'puede'],
  fr: ['les', 'des', 'vous', 'votre', 'pour', 'avec', 'est', 'pas', 'une', 'sur', 'nous', 'dans'],
  it: ['il', 'della', 'che', 'sono', 'gli', 'questo', 'anche', 'alla', 'nella', 'perché', 'essere', 'suo'],
};

export const LANGUAGE_NAMES: Readonly<Record<string, string>> = {
  en: 'English',
  de: 'German',
  nl: 'Dutch',
  pt: 'Portuguese',
  es: 'Spanish',
  fr: 'French',
  it: 'Italian',
  unknown: 'unknown language',
};

const MIN_HITS = 3;

const WORD_LANGUAGE: ReadonlyMap<string, string> = new Map(
  Object.entries(COMMON_WORDS).flatMap(([language, words]) => words.map((w) => [w, language] as const)),
);

/** ISO 639-1 code of the text's language among LANGUAGE_NAMES, or 'unknown'. */
export function guessLanguage(text: string, maxWords = 2000): string {
  const hits = new Map<string, number>();
  const words = text.toLowerCase().split(/[^\p{L}]+/u, maxWords + 1);
  for (const word of words) {
    const language = WORD_LANGUAGE.get(word);
    if (language) hits.set(language, (hits.get(language) ?? 0) + 1);
  }
  const ranked = [...hits].sort((a, b) => b[1] - a[1]);
  const [first, second] = ranked;
  if (!first || first[1] < MIN_HITS || (second && second[1] === first[1])) return 'unknown';
  return first[0];
}

export interface LanguageCount {
  legitimate: number;
  phishing: number;
}

export interface LanguageTally {
  /** The guessed language of each text, in order. */
  languages: string[];
  /** Legitimate and phishing examples per language. */
  counts: Record<string, LanguageCount>;
}

/** Each text's language, and the examples of each class per language (labels: 1 phishing, 0 legitimate). */
export function tallyLanguages(texts: readonly string[], labels: ArrayLike<number>): LanguageTally {
  const languages = texts.map((t) => guessLanguage(t));
  const counts: Record<string, LanguageCount> = {};
  languages.forEach((language, i) => {
    counts[language] ??= { legitimate: 0, phishing: 0 };
    const c = counts[language] as LanguageCount;
    if (labels[i] === 1) c.phishing++;
    else c.legitimate++;
  });
  return { languages, counts };
}

/** Legitimate and phishing examples per guessed language. */
export function languageCounts(texts: readonly string[], labels: ArrayLike<number>): Record<string, LanguageCount> {
  return tallyLanguages(texts, labels).counts;
}

/** Where one class is (nearly) missing: at least this many examples of one class… */
const LOPSIDED_MIN_EXAMPLES = 20;
/** …and fewer than this share as many of the other. */
const LOPSIDED_RATIO = 0.1;

/** Known languages with ≥ 20 examples of one class and fewer than a tenth as many of the other. */
export function lopsidedLanguages(counts: Readonly<Record<string, LanguageCount>>): string[] {
  return Object.entries(counts).flatMap(([code, { legitimate, phishing }]) => {
    const most = Math.max(legitimate, phishing);
    if (code === 'unknown' || most < LOPSIDED_MIN_EXAMPLES) return [];
    return Math.min(legitimate, phishing) < LOPSIDED_RATIO * most ? [code] : [];
  });
}

/**
 * Sample weights that take the language out of the label, in part: in each lopsided language the
 * examples of its abundant class weigh `weight` (others 1). With weight 1 the model is free to
 * learn "German → phishing" from 155 German phishing and 2 German legitimate messages; with a
 * small weight those phishing messages must be caught by what else they say. undefined when no
 * language is lopsided or weight is 1.
 */
export function languageSampleWeights(
  tally: LanguageTally,
  labels: ArrayLike<number>,
  weight: number,
): { weights: Float64Array; languages: string[] } | undefined {
  if (!(weight >= 0 && weight <= 1)) throw new AegisInputError(`language weight must be in [0, 1], got ${weight}`);
  if (weight === 1) return undefined;
  const lopsided = lopsidedLanguages(tally.counts);
  if (lopsided.length === 0) return undefined;
  const abundant = new Map(
    lopsided.map((code) => {
      const c = tally.counts[code] as LanguageCount;
      return [code, c.phishing > c.legitimate ? 1 : 0] as const;
    }),
  );
  const weights = Float64Array.from(tally.languages, (code, i) => (abundant.get(code) === labels[i] ? weight : 1));
  return { weights, languages: lopsided };
}

/**
 * A warning for each lopsided language (lopsidedLanguages): there the model can learn the
 * language for the class. `weight`: what training weighed that class's examples (said when < 1).
 */
export function languageWarnings(counts: Readonly<Record<string, LanguageCount>>, weight = 1): string[] {
  const warnings: string[] = [];
  for (const code of lopsidedLanguages(counts)) {
    const { legitimate, phishing } = counts[code] as LanguageCount;
    const name = LANGUAGE_NAMES[code] ?? code;
    const consequence =
      legitimate < phishing
        ? `legitimate ${name} messages are likely to be flagged, and their false-positive rate is not measured by this data`
        : `${name} phishing is likely to be missed, and its recall is not measured by this data`;
    warnings.push(
      `${name}: ${phishing} phishing but ${legitimate} legitimate training ${legitimate === 1 ? 'example' : 'examples'}; the model can learn the ` +
        `language instead of phishing: ${consequence}. Add ${legitimate < phishing ? `legitimate ${name}` : `${name} phishing`} examples.` +
        (weight < 1
          ? ` (Training weighed the ${legitimate < phishing ? 'phishing' : 'legitimate'} ones ×${weight} so that the language counts for less.)`
          : ''),
    );
  }
  return warnings;
}

export interface LanguageFigures {
  phishing: number;
  missed: number;
  legitimate: number;
  falsePositives: number;
}

/**
 * Test figures per guessed language (labels: 1 phishing; flagged: 1 where the detector said
 * phishing). A language with no legitimate examples has an unmeasured false-positive rate.
 */
export function figuresByLanguage(
  texts: readonly string[],
  truth: ArrayLike<number>,
  flagged: ArrayLike<number>,
): Record<string, LanguageFigures> {
  const out: Record<string, LanguageFigures> = {};
  texts.forEach((text, i) => {
    const language = guessLanguage(text);
    out[language] ??= { phishing: 0, missed: 0, legitimate: 0, falsePositives: 0 };
    const c = out[language] as LanguageFigures;
    if (truth[i] === 1) {
      c.phishing++;
      if (flagged[i] !== 1) c.missed++;
    } else {
      c.legitimate++;
      if (flagged[i] === 1) c.falsePositives++;
    }
  });
  return out;
}
