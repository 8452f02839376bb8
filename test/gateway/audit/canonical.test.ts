/** The canonical record encoding: one text per value whatever the key order, and the fast path equals the definition. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import {
  auditRecord,
  canonicalJson,
  canonicalJsonReference,
  chainHash,
  GENESIS_HASH,
} from '../../../src/gateway/audit/canonical.js';
import { sampleEntry } from './audit-fixture.js';

const KEYS = ['a', 'b', 'Z', 'é', '𝛆', '10', '2', '__proto__', 'seq', 'x y', ''];
const STRINGS = ['', 'plain', 'ünïcödé ✓', 'quote " and \\ backslash', 'line\nbreak\ttab\u0001', '\ud800 lone', '𝛆'];
const NUMBERS = [0, -0, 1, -17, 0.1, 1.5e-7, 1e21, 123456789.125, Number.NaN, Number.POSITIVE_INFINITY];

/** A random JSON-ish value (with undefined, NaN, Dates, integer-like and __proto__ keys). */
function randomValue(rng: Rng, depth: number): unknown {
  const pick = <T>(list: readonly T[]): T => list[rng.int(list.length)];
  switch (depth > 3 ? rng.int(5) : rng.int(8)) {
    case 0:
      return null;
    case 1:
      return pick(STRINGS);
    case 2:
      return pick(NUMBERS);
    case 3:
      return rng.next() < 0.5;
    case 4:
      return rng.next() < 0.5 ? undefined : new Date(Date.UTC(2026, rng.int(12), 1 + rng.int(28)));
    case 5:
    case 6: {
      const obj: Record<string, unknown> = {};
      const n = rng.int(5);
      for (let i = 0; i < n; i++) {
        Object.defineProperty(obj, pick(KEYS), {
          value: randomValue(rng, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return obj;
    }
    default:
      return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
  }
}

/** The same object with its keys inserted in reverse order, at every depth. */
function reversed(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  if (Array.isArray(value)) return value.map(reversed);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).reverse()) {
    Object.defineProperty(out, key, {
      value: reversed((value as Record<string, unknown>)[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

test('the fast encoder writes exactly the reference text, independent of key order', () => {
  const rng = new Rng(7);
  let withIntegerKeys = 0;
  for (let i = 0; i < 2000; i++) {
    const value = randomValue(rng, 0);
    const text = canonicalJsonReference(value);
    assert.equal(canonicalJson(value), text);
    assert.equal(canonicalJson(reversed(value)), text);
    if (/"(?:2|10)":/.test(text)) withIntegerKeys++;
    // Valid JSON with the same meaning as JSON.stringify's (which only differs in key order).
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(value) ?? 'null'));
  }
  assert.ok(withIntegerKeys > 50, 'the integer-key slow path was exercised');
});

test('keys are sorted at every depth; odd values are written as JSON does', () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [3, { y: 1, x: 2 }], c: null } }),
    '{"a":{"c":null,"d":[3,{"x":2,"y":1}]},"b":1}',
  );
  assert.equal(canonicalJson({ '10': 1, '2': 2, b: 3 }), '{"10":1,"2":2,"b":3}');
  assert.equal(canonicalJson({ n: Number.NaN, u: undefined, l: [undefined, -0] }), '{"l":[null,0],"n":null}');
  assert.equal(canonicalJson(JSON.parse('{"__proto__": 1}')), '{"__proto__":1}');
  assert.equal(canonicalJson('\ud800'), '"\\ud800"');
  assert.throws(() => canonicalJson({ big: 1n }), TypeError);
});

test('a record carries its seq; the hash covers prev_hash then the record', () => {
  const record = auditRecord(3, sampleEntry(3));
  assert.equal(JSON.parse(record).seq, 3);
  assert.ok(record.startsWith('{"decisions":[{"outcome":"denied","stage":"auth"}],"inputDigest":'));
  assert.notEqual(auditRecord(4, sampleEntry(3)), record);
  assert.equal(chainHash(GENESIS_HASH, record), chainHash(GENESIS_HASH.slice(0, 32), GENESIS_HASH.slice(32) + record));
  assert.notEqual(chainHash(GENESIS_HASH, record), chainHash('1'.repeat(64), record));
  assert.match(chainHash(GENESIS_HASH, record), /^[0-9a-f]{64}$/);
});

test("auditRecord's field-by-field encoder writes exactly the generic canonical text, odd entries included", () => {
  const rng = new Rng(11);
  const field = () => randomValue(rng, 1);
  for (let i = 0; i < 1500; i++) {
    const base = sampleEntry(i) as unknown as Record<string, unknown>;
    const entry: Record<string, unknown> = { ...base };
    // Each field sometimes replaced by an arbitrary value (strings, NaN, Dates, nested objects, undefined…).
    for (const key of Object.keys(base)) if (rng.next() < 0.15) entry[key] = field();
    if (rng.next() < 0.2) {
      entry.decisions = [
        { stage: 'auth', outcome: 'allowed', detail: undefined },
        { stage: 'limits', outcome: 'x', extra: 1 },
        { outcome: 'q"uote', stage: 'model', detail: 'line\nbreak' },
        field(),
      ];
    }
    if (rng.next() < 0.05) entry.extraField = field();
    if (rng.next() < 0.05) entry.seq = 999;
    if (rng.next() < 0.05) entry.outputSummary = { toJSON: () => undefined };
    const seq = 1 + rng.int(1e6);
    assert.equal(
      auditRecord(seq, entry as never),
      canonicalJsonReference({ ...entry, seq }),
      JSON.stringify(entry, (_k, v) => (v === undefined ? '(undefined)' : v)),
    );
  }
});
