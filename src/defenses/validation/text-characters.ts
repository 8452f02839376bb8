/**
 * Which characters a text schema allows: Unicode property classes (letters, digits, emoji …),
 * an allowed-character pattern, or by default anything but control characters. Decisions are
 * made per code point and cached, and a pattern only ever sees one character, so a user's
 * pattern cannot backtrack over a long text.
 */
import type { CharClass, TextInputSchema } from './input-schema.js';

const CLASS_PATTERNS: Record<CharClass, RegExp> = {
  letters: /^\p{L}$/u,
  marks: /^\p{M}$/u,
  digits: /^\p{Nd}$/u,
  numbers: /^\p{N}$/u,
  punctuation: /^\p{P}$/u,
  symbols: /^\p{S}$/u,
  whitespace: /^\p{White_Space}$/u,
  // Emoji sequences are several code points: pictographs, skin-tone modifiers, flag letters,
  // zero-width joiner, variation selector 16, the keycap mark and tag characters.
  emoji:
    /^(?:[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}\u{e0020}-\u{e007f}]|\u200d|\ufe0f|\u20e3)$/u,
  ascii: /^[\x20-\x7e]$/u,
};

/** Control characters other than tab, line feed and carriage return. */
const CONTROL = /^(?![\t\n\r])\p{Cc}$/u;

export type CharacterTest = (char: string) => boolean;

/** A cached per-character test for the schema. */
export function characterTest(schema: TextInputSchema): CharacterTest {
  const classes = (schema.charClasses ?? []).map((c) => CLASS_PATTERNS[c]);
  const pattern = schema.allowedPattern === undefined ? undefined : new RegExp(`^(?:${schema.allowedPattern})$`, 'u');
  const restricted = classes.length > 0 || pattern !== undefined;
  const cache = new Map<string, boolean>();
  return (char) => {
    let ok = cache.get(char);
    if (ok === undefined) {
      ok = restricted ? classes.some((re) => re.test(char)) || (pattern?.test(char) ?? false) : !CONTROL.test(char);
      cache.set(char, ok);
    }
    return ok;
  };
}

/** What the schema allows, in words, for error messages. */
export function describeAllowed(schema: TextInputSchema): string {
  const parts: string[] = [...(schema.charClasses ?? [])];
  if (schema.allowedPattern !== undefined) parts.push(`characters matching /${schema.allowedPattern}/u`);
  return parts.length > 0 ? parts.join(', ') : 'any character except control characters';
}

/** `"é" (U+00E9)`, or just `U+0007` for invisible characters. */
export function describeCharacter(char: string): string {
  const code = `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  return /^[\p{C}\p{Z}]$/u.test(char) ? code : `${JSON.stringify(char)} (${code})`;
}
