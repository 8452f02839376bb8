/**
 * JSON from model files, read defensively: the nesting depth is measured on the raw text before
 * parsing (so a hostile '[[[[…' is refused without recursion), and the non-standard NaN /
 * Infinity tokens that Python's json module writes are accepted as null.
 */

export type GuardedJson =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'too-deep'; depth: number; message: string }
  | { ok: false; reason: 'malformed'; message: string };

/** Deepest nesting of `[` and `{` outside strings; stops scanning once it exceeds `limit`. */
export function jsonNestingDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** Replaces Python's bare NaN, Infinity and -Infinity tokens (outside strings) by null. */
export function replacePythonNonFinite(text: string): string {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    for (const token of ['-Infinity', 'Infinity', 'NaN']) {
      if (text.startsWith(token, i)) {
        out += `${text.slice(last, i)}null`;
        i += token.length - 1;
        last = i + 1;
        break;
      }
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

/** Parses JSON text whose nesting is at most `maxDepth`; never throws. */
export function parseGuardedJson(text: string, maxDepth: number): GuardedJson {
  const depth = jsonNestingDepth(text, maxDepth);
  if (depth > maxDepth) {
    return {
      ok: false,
      reason: 'too-deep',
      depth,
      message: `JSON nests deeper than the limit of ${maxDepth} levels; refused without parsing`,
    };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (first) {
    try {
      return { ok: true, value: JSON.parse(replacePythonNonFinite(text)) };
    } catch {
      return { ok: false, reason: 'malformed', message: `invalid JSON (${(first as Error).message})` };
    }
  }
}

/** Decodes UTF-8 leniently (invalid bytes become U+FFFD) and drops a leading byte-order mark. */
export function decodeUtf8(bytes: Uint8Array): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
