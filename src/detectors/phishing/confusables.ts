// Unicode Technical Standard #39, "Unicode Security Mechanisms", §4 confusable detection (skeleton), with a subset of its confusables.txt.
/**
 * Homoglyphs: characters that look like Latin letters but are not (Cyrillic 'а', Greek 'ο', fullwidth
 * 'ａ'). Phishers use them in domains (pаypal.com) and in text, to dodge keyword and n-gram filters
 * ("vеrify your accоunt" hashes to other features than "verify your account").
 *
 * - `foldHomoglyphs(text)`: NFKC (folds fullwidth and compatibility forms), removes invisible
 *   characters (zero-width space/joiners, soft hyphen, BOM), and maps the non-ASCII confusables
 *   below to their Latin prototype. ASCII is never changed, so digits and words stay as written.
 *   This is the defensive preprocessor measured in docs/phishing-detection.md.
 * - `skeleton(s)`: for comparing domain labels — the fold, lowercase, then the ASCII confusables
 *   (0→o, 1→l, rn→m, vv→w) as UTS #39's skeleton does.
 *
 * The table is the subset of confusables.txt whose prototype is a Latin letter, for the Cyrillic,
 * Greek, Armenian and Latin-extended look-alikes seen in phishing; not the full 6,000+ entries.
 */

/** Latin prototype → look-alike characters (lowercase and uppercase). */
export const HOMOGLYPHS: Readonly<Record<string, string>> = {
  a: 'аɑα',
  b: 'ЬƅᏏ',
  c: 'сϲᴄ',
  d: 'ԁɗ',
  e: 'еҽ℮',
  g: 'ɡց',
  h: 'һհ',
  i: 'іɩιӏ',
  j: 'јϳ',
  k: 'κᴋ',
  l: 'ӏⅼ',
  m: 'ⅿ',
  n: 'ո',
  o: 'оοօ',
  p: 'рρ',
  q: 'ԛ',
  r: 'г',
  s: 'ѕ',
  u: 'υս',
  v: 'νѵ',
  w: 'ԝѡ',
  x: 'хχ',
  y: 'уү',
  z: 'ᴢ',
  A: 'АΑ',
  B: 'ВΒ',
  C: 'СϹ',
  E: 'ЕΕ',
  H: 'НΗ',
  I: 'ІΙ',
  J: 'Ј',
  K: 'КΚ',
  M: 'МΜ',
  N: 'Ν',
  O: 'ОΟ',
  P: 'РΡ',
  S: 'Ѕ',
  T: 'ТΤ',
  X: 'ХΧ',
  Y: 'ҮΥ',
  Z: 'Ζ',
};

const TO_LATIN: ReadonlyMap<string, string> = new Map(
  Object.entries(HOMOGLYPHS).flatMap(([latin, glyphs]) => [...glyphs].map((g) => [g, latin] as [string, string])),
);

/** Zero-width space/non-joiner/joiner, word joiner, soft hyphen, BOM, invisible separators. */
const INVISIBLE = /[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]/g;

/** True when the text holds a character the fold would change. */
export function hasHomoglyphs(text: string): boolean {
  for (const ch of text) if (TO_LATIN.has(ch)) return true;
  INVISIBLE.lastIndex = 0;
  return INVISIBLE.test(text);
}

/** NFKC, invisible characters removed, non-ASCII confusables mapped to Latin. ASCII is unchanged. */
export function foldHomoglyphs(text: string): string {
  const nfkc = text.normalize('NFKC').replace(INVISIBLE, '');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the fast path
  if (/^[\u0000-\u007f]*$/.test(nfkc)) return nfkc;
  let out = '';
  for (const ch of nfkc) out += TO_LATIN.get(ch) ?? ch;
  return out;
}

/** The UTS #39-style skeleton of a domain label or word: fold, lowercase, ASCII look-alikes. */
export function skeleton(text: string): string {
  return foldHomoglyphs(text)
    .toLowerCase()
    .replace(/rn/g, 'm')
    .replace(/vv/g, 'w')
    .replace(/0/g, 'o')
    .replace(/[1|]/g, 'l');
}
