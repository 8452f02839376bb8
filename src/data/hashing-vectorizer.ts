/**
 * Feature hashing of text (Weinberger, Dasgupta, Langford, Smola & Attenberg, "Feature Hashing for
 * Large Scale Multitask Learning", ICML 2009), as scikit-learn's HashingVectorizer does it: each
 * n-gram is hashed with MurmurHash3 (x86, 32-bit, seed 0, on its UTF-8 bytes) into one of 2^bits
 * buckets, index = |h| mod 2^bits, and adds sign(h) (+1 when the signed hash is ≥ 0, else −1) so
 * collisions cancel in expectation; the row is then l2-normalised.
 *
 * No vocabulary is fitted, so the same function encodes training data, test data and a live
 * message the same way, and a text attack can edit strings and re-encode them. With the word
 * analyzer (lowercase, tokens of 2+ word characters, uni- and bigrams joined by a space) and no
 * char n-grams, the output equals `HashingVectorizer(n_features=2**bits, ngram_range=(1, 2))`.
 * Optional char n-grams follow sklearn's 'char_wb' analyzer (n-grams inside words padded with a
 * space) and are hashed into the same buckets before normalisation (an in-place FeatureUnion).
 *
 * The output is a dense Dataset ([n, 2^bits] float32), so bits stays small (default 12); large
 * `n · 2^bits` is refused with a message rather than exhausting memory.
 */
import { AegisInputError } from '../core/errors.js';
import type { Dataset } from './dataset.js';
import { type TextDataset, validateTextDataset } from './text-dataset.js';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** MurmurHash3 x86_32 (Austin Appleby) of bytes, as an unsigned 32-bit integer. */
export function murmurhash3Bytes(bytes: Uint8Array, seed = 0): number {
  let h = seed >>> 0;
  const blocks = bytes.length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    let k =
      (bytes[o] as number) |
      ((bytes[o + 1] as number) << 8) |
      ((bytes[o + 2] as number) << 16) |
      ((bytes[o + 3] as number) << 24);
    k = Math.imul(k, C1);
    k = rotl32(k, 15);
    k = Math.imul(k, C2);
    h ^= k;
    h = rotl32(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  let k = 0;
  switch (bytes.length & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: MurmurHash3 folds the tail bytes by falling through
    case 3:
      k ^= (bytes[tail + 2] as number) << 16;
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: as above
    case 2:
      k ^= (bytes[tail + 1] as number) << 8;
    case 1:
      k ^= bytes[tail] as number;
      k = Math.imul(k, C1);
      k = rotl32(k, 15);
      k = Math.imul(k, C2);
      h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const utf8 = new TextEncoder();

/**
 * MurmurHash3 x86_32 of a string's UTF-8 bytes; signed (as sklearn.utils.murmurhash3_32 returns by
 * default) unless `positive`.
 */
export function murmurhash3_32(key: string, seed = 0, positive = false): number {
  const h = murmurhash3Bytes(utf8.encode(key), seed);
  return positive ? h : h | 0;
}

/** Bucket and sign of a signed 32-bit hash, exactly as sklearn's FeatureHasher computes them. */
export function bucketOf(signedHash: number, buckets: number): { index: number; sign: 1 | -1 } {
  // abs(-2^31) overflows int32 in sklearn's Cython; it special-cases it to abs(-2^31) mod n.
  const index = signedHash === -2147483648 ? (2147483647 - (buckets - 1)) % buckets : Math.abs(signedHash) % buckets;
  return { index, sign: signedHash >= 0 ? 1 : -1 };
}

export interface HashingVectorizerOptions {
  /** 2^bits buckets (features). Default 12 (4096). sklearn's default is 20, too large for a dense matrix. */
  bits?: number;
  /** Word n-gram range. Default [1, 2] (unigrams and bigrams). */
  wordNgrams?: [number, number];
  /** char_wb n-gram range, e.g. [3, 5]; default none. */
  charNgrams?: [number, number];
  /** Default true. */
  lowercase?: boolean;
  /** Signed hashing (sklearn alternate_sign). Default true. */
  alternateSign?: boolean;
  /** Default 'l2'. */
  norm?: 'l2' | 'none';
  /** Count each n-gram once per text (sklearn binary=True). Default false. */
  binary?: boolean;
}

export type ResolvedVectorizerOptions = Required<Omit<HashingVectorizerOptions, 'charNgrams'>> &
  Pick<HashingVectorizerOptions, 'charNgrams'>;

/** Dense output above this many bytes is refused (lower `bits` or vectorize in parts). */
export const MAX_DENSE_BYTES = 1 << 30;

function checkRange(range: [number, number], what: string): void {
  const [lo, hi] = range;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi >= lo && hi <= 10)) {
    throw new AegisInputError(`${what} n-gram range [${range}] must be integers with 1 ≤ min ≤ max ≤ 10`);
  }
}

export function resolveVectorizerOptions(opts: HashingVectorizerOptions = {}): ResolvedVectorizerOptions {
  const o: ResolvedVectorizerOptions = {
    bits: 12,
    wordNgrams: [1, 2],
    lowercase: true,
    alternateSign: true,
    norm: 'l2',
    binary: false,
    ...opts,
  };
  if (!(Number.isInteger(o.bits) && o.bits >= 1 && o.bits <= 24)) {
    throw new AegisInputError(`hashing vectorizer: bits must be an integer in [1, 24], got ${o.bits}`);
  }
  checkRange(o.wordNgrams, 'word');
  if (o.charNgrams) checkRange(o.charNgrams, 'char');
  if (o.norm !== 'l2' && o.norm !== 'none') {
    throw new AegisInputError(`hashing vectorizer: norm must be 'l2' or 'none', got '${o.norm}'`);
  }
  return o;
}

/** sklearn's default token_pattern (?u)\b\w\w+\b: maximal runs of 2+ word characters. */
const WORD_RUN = /[\p{L}\p{N}_]+/gu;

export function tokenize(text: string): string[] {
  return (text.match(WORD_RUN) ?? []).filter((t) => [...t].length >= 2);
}

/** Word n-grams in sklearn's order: all n = min first, then n = min + 1, … (tokens joined by a space). */
export function wordNgrams(tokens: readonly string[], [min, max]: [number, number]): string[] {
  const out: string[] = [];
  for (let n = min; n <= max; n++) {
    for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(' '));
  }
  return out;
}

/** sklearn 'char_wb': per whitespace-separated word, n-grams of ' word ' (a short word counts once). */
export function charWbNgrams(text: string, [min, max]: [number, number]): string[] {
  const out: string[] = [];
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    const w = [...` ${word} `];
    for (let n = min; n <= max; n++) {
      let offset = 0;
      out.push(w.slice(offset, offset + n).join(''));
      while (offset + n < w.length) {
        offset++;
        out.push(w.slice(offset, offset + n).join(''));
      }
      if (offset === 0) break;
    }
  }
  return out;
}

/** The n-grams of one text under the options (word n-grams, then char n-grams). */
export function analyze(text: string, opts: HashingVectorizerOptions = {}): string[] {
  const o = resolveVectorizerOptions(opts);
  const doc = o.lowercase ? text.toLowerCase() : text;
  const grams = wordNgrams(tokenize(doc), o.wordNgrams);
  if (o.charNgrams) grams.push(...charWbNgrams(doc, o.charNgrams));
  return grams;
}

/** Hashes one text into `out` (length 2^bits, zeroed by the caller). */
function hashInto(text: string, o: ResolvedVectorizerOptions, out: Float32Array): void {
  const buckets = out.length;
  const grams = analyze(text, o);
  const seen = o.binary ? new Set<string>() : undefined;
  for (const gram of grams) {
    if (seen) {
      if (seen.has(gram)) continue;
      seen.add(gram);
    }
    const { index, sign } = bucketOf(murmurhash3_32(gram), buckets);
    out[index] = (out[index] as number) + (o.alternateSign ? sign : 1);
  }
  if (o.norm === 'l2') {
    let sum = 0;
    for (let j = 0; j < buckets; j++) sum += (out[j] as number) ** 2;
    if (sum > 0) {
      const scale = 1 / Math.sqrt(sum);
      for (let j = 0; j < buckets; j++) out[j] = (out[j] as number) * scale;
    }
  }
}

/** Row-major [texts.length, 2^bits] hashed features. */
export function hashTexts(texts: readonly string[], opts: HashingVectorizerOptions = {}): Float32Array {
  const o = resolveVectorizerOptions(opts);
  const width = 2 ** o.bits;
  const bytes = texts.length * width * 4;
  if (bytes > MAX_DENSE_BYTES) {
    throw new AegisInputError(
      `hashing ${texts.length} texts into 2^${o.bits} buckets needs ${(bytes / 2 ** 20).toFixed(0)} MiB dense; lower bits (e.g. ${Math.max(1, o.bits - Math.ceil(Math.log2(bytes / MAX_DENSE_BYTES)))}) or vectorize in parts`,
    );
  }
  const x = new Float32Array(texts.length * width);
  texts.forEach((text, i) => {
    hashInto(text, o, x.subarray(i * width, (i + 1) * width));
  });
  return x;
}

/** A TextDataset as a numeric Dataset [n, 2^bits] with the same labels and class names. */
export function vectorizeTextDataset(data: TextDataset, opts: HashingVectorizerOptions = {}): Dataset {
  validateTextDataset(data);
  const o = resolveVectorizerOptions(opts);
  return {
    name: data.name,
    x: hashTexts(data.texts, o),
    shape: [data.texts.length, 2 ** o.bits],
    y: Int32Array.from(data.y),
    classNames: [...data.classNames],
    ...(data.source ? { source: data.source } : {}),
  };
}

/** A reusable encoder: `encode(textData)` with fixed options (what a model's preprocessing records). */
export function hashingVectorizer(opts: HashingVectorizerOptions = {}): {
  options: ResolvedVectorizerOptions;
  encode: (data: TextDataset) => Dataset;
} {
  const options = resolveVectorizerOptions(opts);
  return { options, encode: (data) => vectorizeTextDataset(data, options) };
}
