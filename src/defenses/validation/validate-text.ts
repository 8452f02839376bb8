/**
 * Checks text inputs against a text schema: a string or an array of strings, each well-formed
 * UTF-16, normalised (NFC/NFKC) when the schema says so, within the length limits (counted in
 * code points after normalisation) and made of allowed characters only.
 */

import { describeValue, type IssueList } from './input-issues.js';
import type { TextInputSchema } from './input-schema.js';
import { type CharacterTest, characterTest, describeAllowed, describeCharacter } from './text-characters.js';

export interface ValidTextInput {
  ok: true;
  kind: 'text';
  /** The texts, normalised; one element when a single string was given. */
  texts: string[];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function checkText(
  schema: TextInputSchema,
  allowed: CharacterTest,
  text: string,
  path: string,
  issues: IssueList,
): string | undefined {
  const surrogate = /\p{Cs}/u.exec(text);
  if (surrogate) {
    const at = [...text.slice(0, surrogate.index)].length;
    issues.add(path, `expected well-formed Unicode, got an unpaired surrogate at position ${at}`);
    return undefined;
  }
  const normalized = schema.normalization ? text.normalize(schema.normalization) : text;
  const rejected = new Map<string, { first: number; count: number }>();
  let length = 0;
  for (const char of normalized) {
    if (!allowed(char)) {
      const seen = rejected.get(char);
      if (seen) seen.count++;
      else rejected.set(char, { first: length, count: 1 });
    }
    length++;
  }
  const before = issues.count;
  if (length > schema.maxLength) {
    issues.add(path, `expected at most ${plural(schema.maxLength, 'character')}, got ${length}`);
  }
  if (schema.minLength !== undefined && length < schema.minLength) {
    issues.add(path, `expected at least ${plural(schema.minLength, 'character')}, got ${length}`);
  }
  for (const [char, { first, count }] of rejected) {
    const times = count > 1 ? ` (${count} times)` : '';
    issues.add(
      path,
      () =>
        `character ${describeCharacter(char)} at position ${first}${times} is not allowed (allowed: ${describeAllowed(schema)})`,
    );
  }
  return issues.count === before ? normalized : undefined;
}

export function validateTextJson(
  schema: TextInputSchema,
  value: unknown,
  root: string,
  issues: IssueList,
): ValidTextInput | undefined {
  const allowed = characterTest(schema);
  if (typeof value === 'string') {
    const text = checkText(schema, allowed, value, root, issues);
    return text === undefined ? undefined : { ok: true, kind: 'text', texts: [text] };
  }
  if (!Array.isArray(value)) {
    issues.add(root, `expected a string or an array of strings, got ${describeValue(value)}`);
    return undefined;
  }
  if (value.length === 0) {
    issues.add(root, 'expected at least 1 text, got 0');
    return undefined;
  }
  const texts: string[] = [];
  value.forEach((item: unknown, i) => {
    const path = `${root}[${i}]`;
    if (typeof item !== 'string') {
      issues.add(path, `expected a string, got ${describeValue(item)}`);
      return;
    }
    const text = checkText(schema, allowed, item, path, issues);
    if (text !== undefined) texts.push(text);
  });
  return issues.ok ? { ok: true, kind: 'text', texts } : undefined;
}
