/**
 * Sparse rows of the project's hashing vectoriser (../../data/hashing-vectorizer.ts: the same
 * analyzer, MurmurHash3 buckets and signs as scikit-learn's HashingVectorizer, l2-normalised).
 * The dense form needs 2^bits floats per text; a mail model wants 2^18 buckets, so rows are kept
 * as sorted (index, value) pairs instead. Bucket look-ups are cached: a text attack re-hashes the
 * same n-grams thousands of times.
 */
import {
  bucketOf,
  type HashingVectorizerOptions,
  murmurhash3_32,
  type ResolvedVectorizerOptions,
  resolveVectorizerOptions,
  tokenize,
} from '../../data/hashing-vectorizer.js';

export interface SparseVector {
  /** Ascending, distinct bucket indices. */
  index: Int32Array;
  value: Float32Array;
}

export interface GramCount {
  gram: string;
  index: number;
  sign: 1 | -1;
  count: number;
}

const CACHE_LIMIT = 1 << 20;
const ASTRAL = /[\ud800-\udfff]/;

/**
 * The analyzer of ../../data/hashing-vectorizer.ts (same n-grams in the same order), written with
 * string slices instead of arrays of code points: 5–10× faster on mail-sized texts. Words with
 * characters outside the BMP take the code-point path so n-grams never split a surrogate pair.
 */
export function fastAnalyze(text: string, o: ResolvedVectorizerOptions): string[] {
  const doc = o.lowercase ? text.toLowerCase() : text;
  const tokens = tokenize(doc);
  const out: string[] = [];
  const [wmin, wmax] = o.wordNgrams;
  for (let n = wmin; n <= wmax; n++) {
    if (n === 1) {
      for (const t of tokens) out.push(t);
      continue;
    }
    for (let i = 0; i + n <= tokens.length; i++) out.push(tokens.slice(i, i + n).join(' '));
  }
  if (!o.charNgrams) return out;
  const [cmin, cmax] = o.charNgrams;
  for (const word of doc.split(/\s+/)) {
    if (word.length === 0) continue;
    const w = ASTRAL.test(word) ? [...` ${word} `] : ` ${word} `;
    const len = w.length;
    const gram =
      typeof w === 'string'
        ? (a: number, b: number) => w.slice(a, b)
        : (a: number, b: number) => w.slice(a, b).join('');
    for (let n = cmin; n <= cmax; n++) {
      // sklearn's char_wb: all windows of n inside ' word ', or the whole padded word once when shorter.
      out.push(gram(0, n));
      let offset = 0;
      while (offset + n < len) {
        offset++;
        out.push(gram(offset, offset + n));
      }
      if (offset === 0) break;
    }
  }
  return out;
}

export class SparseHasher {
  readonly options: ResolvedVectorizerOptions;
  readonly buckets: number;
  private readonly cache = new Map<string, number>();

  constructor(options: HashingVectorizerOptions = {}) {
    this.options = resolveVectorizerOptions(options);
    this.buckets = 2 ** this.options.bits;
  }

  /** Signed bucket code: sign · (index + 1). */
  private code(gram: string): number {
    let c = this.cache.get(gram);
    if (c === undefined) {
      const { index, sign } = bucketOf(murmurhash3_32(gram), this.buckets);
      c = sign * (index + 1);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(gram, c);
    }
    return c;
  }

  /** Each distinct n-gram of the text with its bucket, sign and count (for explanations). */
  grams(text: string): GramCount[] {
    const counts = new Map<string, number>();
    for (const g of fastAnalyze(text, this.options)) counts.set(g, (counts.get(g) ?? 0) + 1);
    return [...counts].map(([gram, count]) => {
      const c = this.code(gram);
      return { gram, index: Math.abs(c) - 1, sign: c > 0 ? 1 : -1, count: this.options.binary ? 1 : count };
    });
  }

  /** The text's row: equal to the dense vectoriser's row at the non-zero buckets. */
  vectorize(text: string): SparseVector {
    const o = this.options;
    const acc = new Map<number, number>();
    const seen = o.binary ? new Set<string>() : undefined;
    for (const gram of fastAnalyze(text, o)) {
      if (seen) {
        if (seen.has(gram)) continue;
        seen.add(gram);
      }
      const c = this.code(gram);
      const index = Math.abs(c) - 1;
      acc.set(index, (acc.get(index) ?? 0) + (o.alternateSign ? Math.sign(c) : 1));
    }
    const index = Int32Array.from([...acc.keys()].filter((k) => acc.get(k) !== 0)).sort();
    const value = new Float32Array(index.length);
    let sum = 0;
    for (let i = 0; i < index.length; i++) {
      const v = acc.get(index[i] as number) as number;
      value[i] = v;
      sum += v * v;
    }
    if (o.norm === 'l2' && sum > 0) {
      const scale = 1 / Math.sqrt(sum);
      for (let i = 0; i < value.length; i++) value[i] = (value[i] as number) * scale;
    }
    return { index, value };
  }
}
