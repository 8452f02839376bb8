/**
 * Feature hashing: MurmurHash3 against published test vectors and sklearn's own values, the bucket
 * and sign convention against sklearn's documented FeatureHasher output, and the word / char_wb
 * analyzers and l2 normalisation of HashingVectorizer.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  analyze,
  bucketOf,
  charWbNgrams,
  hashTexts,
  murmurhash3_32,
  murmurhash3Bytes,
  tokenize,
  vectorizeTextDataset,
  wordNgrams,
} from '../../src/data/hashing-vectorizer.js';
import { rejectsWithInputError } from '../helpers/assertions.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('MurmurHash3 x86_32', () => {
  test('matches sklearn.utils.murmurhash3_32 on strings (signed and positive)', () => {
    assert.equal(murmurhash3_32('foo', 0), -156908512);
    assert.equal(murmurhash3_32('foo', 0, true), 0xf6a5c420);
    assert.equal(murmurhash3_32('foo', 42), -1322301282);
    assert.equal(murmurhash3_32('foo', 42, true), 2972666014);
  });

  test('matches the SMHasher reference vectors, every tail length', () => {
    assert.equal(murmurhash3Bytes(bytes(''), 0), 0);
    assert.equal(murmurhash3Bytes(bytes(''), 1), 0x514e28b7);
    assert.equal(murmurhash3Bytes(bytes(''), 0xffffffff), 0x81f16f39);
    assert.equal(murmurhash3Bytes(new Uint8Array(4), 0), 0x2362f9de);
    assert.equal(murmurhash3Bytes(bytes('abc'), 0), 0xb3dd93fa);
    assert.equal(murmurhash3Bytes(bytes('aaaa'), 0x9747b28c), 0x5a97808a);
    assert.equal(murmurhash3Bytes(bytes('Hello, world!'), 0x9747b28c), 0x24884cba);
    assert.equal(murmurhash3Bytes(bytes('The quick brown fox jumps over the lazy dog'), 0x9747b28c), 0x2fa826cd);
  });

  test('hashes the UTF-8 bytes of non-ASCII text', () => {
    assert.equal(murmurhash3_32('café'), murmurhash3Bytes(bytes('café')) | 0);
    assert.notEqual(murmurhash3_32('café'), murmurhash3_32('cafe'));
  });
});

describe('bucket and sign (sklearn FeatureHasher convention)', () => {
  test("reproduces sklearn's documented FeatureHasher(n_features=10) example", () => {
    // sklearn docs: D = [{'dog': 1, 'cat': 2, 'elephant': 4}, {'dog': 2, 'run': 5}] →
    // [[0, 0, -4, -1, 0, 0, 0, 0, 0, 2], [0, 0, 0, -2, -5, 0, 0, 0, 0, 0]]
    const rows: Record<string, number>[] = [
      { dog: 1, cat: 2, elephant: 4 },
      { dog: 2, run: 5 },
    ];
    const got = rows.map((row) => {
      const out = new Array<number>(10).fill(0);
      for (const [name, value] of Object.entries(row)) {
        const { index, sign } = bucketOf(murmurhash3_32(name), 10);
        out[index] = (out[index] as number) + sign * value;
      }
      return out;
    });
    assert.deepEqual(got, [
      [0, 0, -4, -1, 0, 0, 0, 0, 0, 2],
      [0, 0, 0, -2, -5, 0, 0, 0, 0, 0],
    ]);
  });

  test('a negative hash gives sign -1; -2^31 gets sklearn’s special-cased bucket', () => {
    assert.deepEqual(bucketOf(-156908512, 16), { index: 156908512 % 16, sign: -1 });
    assert.deepEqual(bucketOf(5, 4), { index: 1, sign: 1 });
    assert.deepEqual(bucketOf(-2147483648, 10), { index: (2147483647 - 9) % 10, sign: -1 });
  });
});

describe('analyzers', () => {
  test('word tokens are runs of 2+ word characters, lowercased; bigrams follow the unigrams', () => {
    assert.deepEqual(tokenize('a Free entry! 2 u_2 café'), ['Free', 'entry', 'u_2', 'café']);
    assert.deepEqual(wordNgrams(['a', 'b', 'c'], [1, 2]), ['a', 'b', 'c', 'a b', 'b c']);
    assert.deepEqual(analyze('WIN a Free prize'), ['win', 'free', 'prize', 'win free', 'free prize']);
  });

  test("char_wb pads words with spaces and counts a short word once, as sklearn's char_wb", () => {
    assert.deepEqual(charWbNgrams('ab c', [2, 3]), [' a', 'ab', 'b ', ' ab', 'ab ', ' c', 'c ', ' c ']);
  });
});

describe('hashing vectorizer', () => {
  test('one text: each n-gram adds its sign to its bucket, then the row has unit l2 norm', () => {
    const bits = 4;
    const x = hashTexts(['free prize free'], { bits });
    const expected = new Float64Array(16);
    for (const gram of ['free', 'prize', 'free', 'free prize', 'prize free']) {
      const { index, sign } = bucketOf(murmurhash3_32(gram), 16);
      expected[index] = (expected[index] as number) + sign;
    }
    const norm = Math.sqrt(expected.reduce((a, v) => a + v * v, 0));
    for (let j = 0; j < 16; j++) assert.ok(Math.abs((x[j] as number) - (expected[j] as number) / norm) < 1e-6);
    assert.ok(Math.abs(x.reduce((a, v) => a + v * v, 0) - 1) < 1e-5);
  });

  test('a text with no tokens is a zero row; unsigned hashing gives only non-negative counts', () => {
    const x = hashTexts(['!! ?', 'call now call now'], { bits: 6, alternateSign: false, norm: 'none' });
    assert.ok(x.subarray(0, 64).every((v) => v === 0));
    const row = x.subarray(64);
    assert.ok(row.every((v) => v >= 0));
    assert.equal(
      row.reduce((a, v) => a + v, 0),
      7,
    ); // call, now, call, now + bigrams 'call now', 'now call', 'call now'
  });

  test('vectorizeTextDataset keeps labels and class names; shape is [n, 2^bits]', () => {
    const data = vectorizeTextDataset(
      { name: 't', texts: ['hello there', 'win cash now'], y: Int32Array.from([0, 1]), classNames: ['ham', 'spam'] },
      { bits: 8, charNgrams: [3, 4] },
    );
    assert.deepEqual(data.shape, [2, 256]);
    assert.deepEqual(Array.from(data.y), [0, 1]);
    assert.deepEqual(data.classNames, ['ham', 'spam']);
  });

  test('bad options and oversized dense output are input errors', async () => {
    await rejectsWithInputError(
      Promise.resolve().then(() => hashTexts(['a'], { bits: 0 })),
      /bits must be/,
    );
    await rejectsWithInputError(
      Promise.resolve().then(() => hashTexts(['a'], { wordNgrams: [2, 1] })),
      /n-gram range \[2,1\]/,
    );
    const many = new Array<string>(100).fill('x');
    await rejectsWithInputError(
      Promise.resolve().then(() => hashTexts(many, { bits: 24 })),
      /lower bits/,
    );
  });
});
