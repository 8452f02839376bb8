/**
 * Checks an array of records against a tabular schema: every feature present (unless optional),
 * numbers finite and in bounds, categories from the known list, no unknown fields. Numbers may
 * come as JSON numbers or decimal strings (CSV cells); the validated records hold numbers and
 * trimmed category strings, ready for encodeTabularFeatures (src/data/tabular-schema.ts).
 */

import { boundsText, describeValue, fieldStep, type IssueList } from './input-issues.js';
import type { TabularFeature, TabularInputSchema } from './input-schema.js';

export type TabularValue = number | string | null;

export interface ValidTabularInput {
  ok: true;
  kind: 'tabular';
  /** One record per input, features only (ignored and unknown fields dropped); missing optional values are null. */
  records: Record<string, TabularValue>[];
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** `"a", "b", "c", … (12 more)` */
function listValues(values: readonly string[], max = 8): string {
  const shown = values
    .slice(0, max)
    .map((v) => JSON.stringify(v))
    .join(', ');
  return values.length > max ? `${shown}, ... (${values.length - max} more)` : shown;
}

function isMissing(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The feature's value, or undefined after adding an issue. */
function checkFeature(
  feature: TabularFeature,
  v: unknown,
  path: () => string,
  issues: IssueList,
): TabularValue | undefined {
  if (isMissing(v)) {
    if (feature.optional) return null;
    const expected = feature.type === 'number' ? 'a number' : `one of ${listValues(feature.values)}`;
    issues.add(path, `expected ${expected}, got ${describeValue(v)}`);
    return undefined;
  }
  if (feature.type === 'category') {
    const text = typeof v === 'string' ? v.trim() : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
    if (text !== undefined && feature.values.includes(text)) return text;
    issues.add(path, () => `expected one of ${listValues(feature.values)}, got ${describeValue(v)}`);
    return undefined;
  }
  const n = typeof v === 'number' ? v : typeof v === 'string' && DECIMAL.test(v.trim()) ? Number(v.trim()) : Number.NaN;
  const { min, max, integer } = feature;
  const ok =
    Number.isFinite(n) &&
    (!integer || Number.isInteger(n)) &&
    (min === undefined || n >= min) &&
    (max === undefined || n <= max);
  if (ok) return n;
  issues.add(
    path,
    () => `expected ${integer ? 'an integer' : 'a finite number'}${boundsText(min, max)}, got ${describeValue(v)}`,
  );
  return undefined;
}

export function validateTabularJson(
  schema: TabularInputSchema,
  value: unknown,
  root: string,
  issues: IssueList,
): ValidTabularInput | undefined {
  if (!Array.isArray(value)) {
    issues.add(root, `expected an array of records, got ${describeValue(value)}`);
    return undefined;
  }
  if (value.length === 0) {
    issues.add(root, 'expected at least 1 record, got 0');
    return undefined;
  }
  const known = new Set([...schema.features.map((f) => f.name), ...(schema.ignore ?? [])]);
  const names = schema.features.map((f) => f.name);
  const records: Record<string, TabularValue>[] = [];
  value.forEach((record: unknown, i) => {
    const at = `${root}[${i}]`;
    if (!isRecord(record)) {
      issues.add(at, `expected a record (an object of fields), got ${describeValue(record)}`);
      return;
    }
    const out: Record<string, TabularValue> = {};
    for (const feature of schema.features) {
      const v = Object.hasOwn(record, feature.name) ? record[feature.name] : undefined;
      const checked = checkFeature(feature, v, () => `${at}${fieldStep(feature.name)}`, issues);
      if (checked !== undefined) out[feature.name] = checked;
    }
    if (!schema.allowUnknownFields) {
      for (const key of Object.keys(record)) {
        if (!known.has(key)) {
          issues.add(`${at}${fieldStep(key)}`, () => `unknown field (the schema has: ${listValues(names)})`);
        }
      }
    }
    records.push(out);
  });
  return issues.ok ? { ok: true, kind: 'tabular', records } : undefined;
}
