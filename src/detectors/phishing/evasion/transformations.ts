/**
 * Transformations of one word, TextAttack's first piece (Morris et al. 2020): each proposes the
 * replacement words an attacker could write instead. The search (./text-attack.ts) picks among
 * them; constraints (./constraints.ts) decide which edits are allowed at all.
 *
 * - homoglyph (Gao et al. 2018, DeepWordBug's substitutions; Unicode look-alikes): one Latin
 *   letter replaced by a Cyrillic/Greek character that renders the same ("vеrify");
 * - typo (DeepWordBug): swap two adjacent letters, drop a letter, double a letter, or hit a
 *   neighbouring key — one or two characters changed, the word still reads;
 * - synonym (TextFooler's word swap, Jin et al. 2020, with a bundled list): the word replaced by
 *   a synonym, capitalisation kept.
 */
import { HOMOGLYPHS } from '../confusables.js';
import { synonymsOf } from './synonyms.js';

export interface Transformation {
  name: TransformationName;
  /** Replacement words for `word` (never `word` itself), most natural first. */
  candidates(word: string): string[];
}

export const TRANSFORMATION_NAMES = ['homoglyph', 'typo', 'synonym'] as const;
export type TransformationName = (typeof TRANSFORMATION_NAMES)[number];

/** Letters on either side on a QWERTY keyboard. */
const NEIGHBOURS: Readonly<Record<string, string>> = {
  a: 'sq',
  b: 'vn',
  c: 'xv',
  d: 'sf',
  e: 'wr',
  f: 'dg',
  g: 'fh',
  h: 'gj',
  i: 'uo',
  j: 'hk',
  k: 'jl',
  l: 'k',
  m: 'n',
  n: 'bm',
  o: 'ip',
  p: 'o',
  q: 'w',
  r: 'et',
  s: 'ad',
  t: 'ry',
  u: 'yi',
  v: 'cb',
  w: 'qe',
  x: 'zc',
  y: 'tu',
  z: 'x',
};

export const homoglyph: Transformation = {
  name: 'homoglyph',
  candidates(word) {
    const out: string[] = [];
    const chars = [...word];
    chars.forEach((ch, i) => {
      const glyph = HOMOGLYPHS[ch]?.[0];
      if (glyph) out.push([...chars.slice(0, i), glyph, ...chars.slice(i + 1)].join(''));
    });
    return out;
  },
};

export const typo: Transformation = {
  name: 'typo',
  candidates(word) {
    const chars = [...word];
    const out = new Set<string>();
    const at = (i: number, repl: string[]) => [...chars.slice(0, i), ...repl, ...chars.slice(i + 1)].join('');
    // Inner positions only: first and last letters keep the word readable.
    for (let i = 1; i < chars.length - 1; i++) {
      const c = chars[i] as string;
      const next = chars[i + 1] as string;
      if (c !== next && i + 2 < chars.length) out.add([...chars.slice(0, i), next, c, ...chars.slice(i + 2)].join(''));
      out.add(at(i, []));
      out.add(at(i, [c, c]));
      const key = NEIGHBOURS[c.toLowerCase()]?.[0];
      if (key) out.add(at(i, [c === c.toUpperCase() ? key.toUpperCase() : key]));
    }
    out.delete(word);
    return [...out];
  },
};

function matchCase(like: string, word: string): string {
  if (like === like.toUpperCase() && like.length > 1) return word.toUpperCase();
  if (like[0] === like[0]?.toUpperCase()) return word.charAt(0).toUpperCase() + word.slice(1);
  return word;
}

export const synonym: Transformation = {
  name: 'synonym',
  candidates(word) {
    return synonymsOf(word).map((s) => matchCase(word, s));
  },
};

export const TRANSFORMATIONS: Readonly<Record<TransformationName, Transformation>> = { homoglyph, typo, synonym };
