/**
 * Flow records → model features, fitted once on training data and saved as JSON beside the model,
 * so training, evaluation, detection and the evasion attack encode flows identically.
 *
 * - Categorical columns (protocol, service, flag …) are one-hot encoded over the values seen in
 *   training (the most frequent `maxCategories`) plus an '<unseen>' slot: a value never seen in
 *   training encodes there and is counted, instead of failing or vanishing.
 * - Heavy-tailed counters (bytes, durations, connection counts: any column whose training values
 *   reach |x| > LOG_THRESHOLD) go through a signed log1p, sign(x)·log(1 + |x|), so that 0, 10 and
 *   10⁶ bytes end up a few units apart instead of six orders of magnitude.
 * - Every numeric column is then standardised with the training mean and standard deviation.
 * - Missing or NaN cells become the training median; +Infinity (CIC's bytes/s at zero duration)
 *   the training maximum, −Infinity the minimum — all counted.
 * - Encoded values are kept within ±ENCODED_LIMIT standard units: a finite value far outside the
 *   float32 range (1e308 in a rate column) stays the most extreme value the models see instead of
 *   overflowing to Infinity and turning every score of its flow into NaN.
 * This encoding (not tabular-schema's min-max box) is what the NIDS models take; src/data's
 * tabular schema clips to the training range, which would hide the out-of-range values a novelty
 * detector is there to notice.
 */
import { z } from 'zod';
import { AegisInputError } from '../../core/errors.js';
import type { FlowTable } from './read-flows.js';

export const FLOW_ENCODER_FORMAT = 'aegis-flow-encoder';
/** Columns whose training values exceed this magnitude are log-scaled. */
export const LOG_THRESHOLD = 100;
/** Default cap on one-hot slots per categorical column (rarer values go to the unseen slot). */
export const MAX_CATEGORIES = 100;
/** The slot of values unseen in training (not 'other', which is a real NSL-KDD service). */
export const OTHER = '<unseen>';
/** Bound on an encoded numeric value, in standard units (squares and sums stay finite in float32). */
export const ENCODED_LIMIT = 1e6;

const numericShape = z.object({
  name: z.string(),
  log: z.boolean(),
  mean: z.number(),
  std: z.number().positive(),
  /** Finite training range of the raw values. */
  min: z.number(),
  max: z.number(),
  /** Raw value used for missing/NaN cells (training median). */
  fill: z.number(),
  /** All training values are integers (counts, bytes): the evasion constraints keep them so. */
  integer: z.boolean(),
});

const encoderShape = z.object({
  format: z.literal(FLOW_ENCODER_FORMAT),
  version: z.literal(1),
  layout: z.string(),
  numeric: z.array(numericShape),
  categorical: z.array(z.object({ name: z.string(), categories: z.array(z.string()) })),
  featureNames: z.array(z.string()),
  fittedOn: z.object({ rows: z.number().int().nonnegative(), source: z.string().optional() }),
});

export type FlowEncoderJson = z.infer<typeof encoderShape>;
export type NumericEncoding = z.infer<typeof numericShape>;

export interface EncodeResult {
  /** size × dimension, row-major. */
  x: Float32Array;
  /** Categorical values never seen in training, per column (encoded in the unseen slot). */
  unknownCategories: Record<string, number>;
  /** Missing/NaN/Infinity cells replaced, per column. */
  filled: Record<string, number>;
}

export interface FitEncoderOptions {
  maxCategories?: number;
  logThreshold?: number;
  /** Columns left out of the features (e.g. testbed artefacts such as UNSW-NB15's TTLs). */
  exclude?: readonly string[];
}

function signedLog1p(v: number): number {
  return v < 0 ? -Math.log1p(-v) : Math.log1p(v);
}

function signedExpm1(t: number): number {
  return t < 0 ? -Math.expm1(-t) : Math.expm1(t);
}

function median(values: Float64Array): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  const m = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[m] as number) : ((sorted[m - 1] as number) + (sorted[m] as number)) / 2;
}

export class FlowEncoder {
  private readonly catIndex: Map<string, number>[];
  /** Start of each categorical column's one-hot block. */
  private readonly catOffsets: number[];

  private constructor(readonly spec: FlowEncoderJson) {
    this.catIndex = spec.categorical.map((c) => new Map(c.categories.map((v, k) => [v, k])));
    let offset = spec.numeric.length;
    this.catOffsets = spec.categorical.map((c) => {
      const o = offset;
      offset += c.categories.length + 1;
      return o;
    });
  }

  /** Fits on a training table. */
  static fit(table: FlowTable, options: FitEncoderOptions = {}): FlowEncoder {
    const maxCategories = options.maxCategories ?? MAX_CATEGORIES;
    const logThreshold = options.logThreshold ?? LOG_THRESHOLD;
    const p = table.numericNames.length;
    const excluded = new Set(options.exclude ?? []);
    const unknown = [...excluded].filter((c) => !table.numericNames.includes(c) && !table.categoricalNames.includes(c));
    if (unknown.length > 0) throw new AegisInputError(`cannot exclude unknown columns: ${unknown.join(', ')}`);
    const numericColumns = table.numericNames.flatMap((name, j) => (excluded.has(name) ? [] : [[name, j] as const]));
    const numeric: NumericEncoding[] = numericColumns.map(([name, j]) => {
      const finite: number[] = [];
      for (let i = 0; i < table.size; i++) {
        const v = table.numeric[i * p + j] as number;
        if (Number.isFinite(v)) finite.push(v);
      }
      const values = Float64Array.from(finite);
      let min = Number.POSITIVE_INFINITY;
      let max = Number.NEGATIVE_INFINITY;
      let integer = true;
      for (const v of values) {
        if (v < min) min = v;
        if (v > max) max = v;
        if (integer && !Number.isInteger(v)) integer = false;
      }
      if (values.length === 0) {
        min = 0;
        max = 0;
      }
      const log = Math.max(Math.abs(min), Math.abs(max)) > logThreshold;
      const fill = median(values);
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < table.size; i++) {
        const t = transform(table.numeric[i * p + j] as number, log, fill, min, max);
        sum += t;
        sq += t * t;
      }
      const mean = sum / table.size;
      const variance = Math.max(0, sq / table.size - mean * mean);
      const std = Math.sqrt(variance) > 1e-9 ? Math.sqrt(variance) : 1;
      return { name, log, mean, std, min, max, fill, integer };
    });
    const categoricalColumns = table.categoricalNames.flatMap((name, c) =>
      excluded.has(name) ? [] : [[name, c] as const],
    );
    const categorical = categoricalColumns.map(([name, c]) => {
      const counts = new Map<string, number>();
      for (const v of table.categorical[c] as string[]) counts.set(v, (counts.get(v) ?? 0) + 1);
      const categories = [...counts.entries()]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, maxCategories)
        .map(([v]) => v)
        .sort();
      return { name, categories };
    });
    const featureNames = [
      ...numeric.map((n) => n.name),
      ...categorical.flatMap((c) => [...c.categories, OTHER].map((v) => `${c.name}=${v}`)),
    ];
    return new FlowEncoder({
      format: FLOW_ENCODER_FORMAT,
      version: 1,
      layout: table.layout.name,
      numeric,
      categorical,
      featureNames,
      fittedOn: { rows: table.size, source: table.source },
    });
  }

  static fromJson(json: unknown, where = 'flow encoder'): FlowEncoder {
    const parsed = encoderShape.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AegisInputError(`${where}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
    }
    const enc = new FlowEncoder(parsed.data);
    if (enc.dimension !== parsed.data.featureNames.length) {
      throw new AegisInputError(`${where}: featureNames do not match the columns`);
    }
    return enc;
  }

  toJson(): FlowEncoderJson {
    return this.spec;
  }

  get dimension(): number {
    return this.spec.numeric.length + this.spec.categorical.reduce((a, c) => a + c.categories.length + 1, 0);
  }

  get featureNames(): string[] {
    return this.spec.featureNames;
  }

  get layout(): string {
    return this.spec.layout;
  }

  get numeric(): readonly NumericEncoding[] {
    return this.spec.numeric;
  }

  /** Encoded column of a numeric feature, or -1. */
  numericIndex(name: string): number {
    return this.spec.numeric.findIndex((n) => n.name === name);
  }

  /** [start, end) of a categorical column's one-hot block (the unseen slot is end − 1). */
  oneHotRange(name: string): [number, number] {
    const c = this.spec.categorical.findIndex((x) => x.name === name);
    if (c < 0) throw new AegisInputError(`flow encoder: no categorical column '${name}'`);
    const start = this.catOffsets[c] as number;
    return [start, start + (this.spec.categorical[c]?.categories.length ?? 0) + 1];
  }

  /** Name of the raw column behind encoded feature k ('service' for 'service=http'). */
  columnOf(k: number): string {
    const name = this.spec.featureNames[k] ?? '';
    return k < this.spec.numeric.length ? name : name.slice(0, name.indexOf('='));
  }

  /** Raw value → encoded (standardised, log-scaled if the column is). */
  encodeValue(j: number, v: number): number {
    const n = this.spec.numeric[j] as NumericEncoding;
    return standardise(transform(v, n.log, n.fill, n.min, n.max), n);
  }

  /** Encoded → raw value (the inverse of encodeValue for finite values). */
  decodeValue(j: number, z: number): number {
    const n = this.spec.numeric[j] as NumericEncoding;
    const t = z * n.std + n.mean;
    return n.log ? signedExpm1(t) : t;
  }

  /** Encodes a table whose columns match the training table's. */
  encode(table: FlowTable): EncodeResult {
    this.checkColumns(table);
    const d = this.dimension;
    const x = new Float32Array(table.size * d);
    const filled: Record<string, number> = {};
    const unknownCategories: Record<string, number> = {};
    const tp = table.numericNames.length;
    const srcIndex = this.spec.numeric.map((n) => table.numericNames.indexOf(n.name));
    this.spec.numeric.forEach((n, j) => {
      const src = srcIndex[j] as number;
      let count = 0;
      for (let i = 0; i < table.size; i++) {
        const v = table.numeric[i * tp + src] as number;
        if (!Number.isFinite(v)) count++;
        x[i * d + j] = standardise(transform(v, n.log, n.fill, n.min, n.max), n);
      }
      if (count > 0) filled[n.name] = count;
    });
    this.spec.categorical.forEach((c, k) => {
      const values = table.categorical[table.categoricalNames.indexOf(c.name)] as string[];
      const index = this.catIndex[k] as Map<string, number>;
      const offset = this.catOffsets[k] as number;
      const other = c.categories.length;
      let unknown = 0;
      for (let i = 0; i < table.size; i++) {
        let slot = index.get(values[i] as string);
        if (slot === undefined) {
          slot = other;
          unknown++;
        }
        x[i * d + offset + slot] = 1;
      }
      if (unknown > 0) unknownCategories[c.name] = unknown;
    });
    return { x, unknownCategories, filled };
  }

  private checkColumns(table: FlowTable): void {
    if (table.layout.name !== this.spec.layout) {
      throw new AegisInputError(
        `${table.source}: ${table.layout.title} flows, but the model was trained on the ${this.spec.layout} layout`,
      );
    }
    const missing = [
      ...this.spec.numeric.map((n) => n.name).filter((n) => !table.numericNames.includes(n)),
      ...this.spec.categorical.map((c) => c.name).filter((n) => !table.categoricalNames.includes(n)),
    ];
    if (missing.length > 0) {
      throw new AegisInputError(`${table.source}: columns the model needs are missing: ${missing.join(', ')}`);
    }
  }
}

/** Non-finite → fill/max/min, then the optional signed log. */
function transform(v: number, log: boolean, fill: number, min: number, max: number): number {
  const finite = Number.isNaN(v)
    ? fill
    : v === Number.POSITIVE_INFINITY
      ? max
      : v === Number.NEGATIVE_INFINITY
        ? min
        : v;
  return log ? signedLog1p(finite) : finite;
}

/** (t − mean) / std, clamped to ±ENCODED_LIMIT. */
function standardise(t: number, n: NumericEncoding): number {
  const z = (t - n.mean) / n.std;
  return Math.min(ENCODED_LIMIT, Math.max(-ENCODED_LIMIT, z));
}

/** Counts as one sentence ('service 12, flag 3'), or '' when there are none. */
export function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}
