/**
 * Backdoor triggers (Gu, Dolan-Gavitt & Garg 2017, "BadNets", arXiv:1708.06733), one kind per data
 * type, each a plain-data description plus `applyTrigger`, which stamps it onto chosen rows:
 *
 * - `patch`: a small pixel pattern on images (NHWC, any number of channels; [h, w] too). Default:
 *   a checkerboard of the input range's max and min, 3x3 on 28x28 images (scaled with the image's
 *   shorter side), one pixel in from the bottom-right corner, as BadNets' MNIST pattern backdoor.
 * - `features`: fixed values for a few tabular features, in the model's input space (after the
 *   tabular schema's scaling); `parseFeatureTrigger` reads `3=0.9,age=1` with feature names.
 * - `phrase`: words inserted at a seeded random word position of each text (rare-token triggers
 *   as in Kurita, Michel & Neubig 2020; default 'cf mn bb').
 *
 * Exported for the poison-detection defenses and the benches, which build triggered test sets.
 */
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';
import { type Dataset, featureShape } from '../../data/dataset.js';
import type { TextDataset } from '../../data/text-dataset.js';
import { isTextData, type PoisonableData } from './poisoning-attack.js';

export interface PatchTrigger {
  kind: 'patch';
  /** Side of the square patch in pixels. Default max(3, round(3 · min(h, w) / 28)). */
  size?: number;
  /** Top-left pixel of the patch. Default: one pixel in from the bottom-right corner (at the corner when there is no room). */
  row?: number;
  col?: number;
  /** Default 'checkerboard'. */
  pattern?: 'checkerboard' | 'square';
  /** The bright value (default: the input range's max); the checkerboard's dark squares take the range's min. */
  value?: number;
}

export interface FeatureTrigger {
  kind: 'features';
  /** Feature index → value in the model's input space. */
  values: { index: number; value: number }[];
}

export interface PhraseTrigger {
  kind: 'phrase';
  phrase: string;
}

export type Trigger = PatchTrigger | FeatureTrigger | PhraseTrigger;

export const DEFAULT_TRIGGER_PHRASE = 'cf mn bb';
export const PATCH_PATTERNS = ['checkerboard', 'square'] as const;

/** A patch with every field decided for one image geometry. */
export interface ResolvedPatch {
  size: number;
  row: number;
  col: number;
  pattern: 'checkerboard' | 'square';
  high: number;
  low: number;
}

/** [height, width, channels] of one image example, or undefined for non-image rows. */
export function imageGeometry(shape: readonly number[]): [number, number, number] | undefined {
  if (shape.length === 3) return [shape[0] as number, shape[1] as number, shape[2] as number];
  if (shape.length === 2) return [shape[0] as number, shape[1] as number, 1];
  return undefined;
}

export function defaultPatchSize(height: number, width: number): number {
  return Math.max(3, Math.round((3 * Math.min(height, width)) / 28));
}

/** Decides size, position and values of a patch for images of `shape`; misfits are input errors. */
export function resolvePatch(
  trigger: PatchTrigger,
  shape: readonly number[],
  inputRange: [number, number] = [0, 1],
): ResolvedPatch {
  const geometry = imageGeometry(shape);
  if (!geometry) {
    throw new AegisInputError(
      `a pixel-patch trigger needs image data [height, width, channels]; examples here have shape [${shape}]`,
    );
  }
  const [h, w] = geometry;
  const size = trigger.size ?? defaultPatchSize(h, w);
  if (!(Number.isInteger(size) && size > 0)) {
    throw new AegisInputError(`trigger size must be a positive whole number of pixels, got ${size}`);
  }
  if (size > h || size > w) {
    throw new AegisInputError(`trigger size ${size} is larger than the ${h}x${w} image`);
  }
  const margin = (extent: number) => (size + 1 < extent ? 1 : 0);
  const row = trigger.row ?? h - size - margin(h);
  const col = trigger.col ?? w - size - margin(w);
  if (!(Number.isInteger(row) && Number.isInteger(col) && row >= 0 && col >= 0 && row + size <= h && col + size <= w)) {
    throw new AegisInputError(
      `trigger at row ${row}, column ${col} with size ${size} does not fit in the ${h}x${w} image`,
    );
  }
  const [low, high] = inputRange;
  const value = trigger.value ?? high;
  if (!(Number.isFinite(value) && value >= low && value <= high)) {
    throw new AegisInputError(`trigger value ${value} is outside the input range [${low}, ${high}]`);
  }
  const pattern = trigger.pattern ?? 'checkerboard';
  if (!(PATCH_PATTERNS as readonly string[]).includes(pattern)) {
    throw new AegisInputError(`trigger pattern must be one of ${PATCH_PATTERNS.join(', ')}, got '${pattern}'`);
  }
  return { size, row, col, pattern, high: value, low };
}

/** Reads `3=0.9,age=1`: feature indices or names (from the tabular schema) with their values. */
export function parseFeatureTrigger(text: string, featureNames?: readonly string[]): FeatureTrigger {
  const values = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((part) => {
      const eq = part.lastIndexOf('=');
      if (eq <= 0) throw new AegisInputError(`trigger feature '${part}' must be written feature=value`);
      const key = part.slice(0, eq).trim();
      const value = Number(part.slice(eq + 1));
      if (part.slice(eq + 1).trim() === '' || !Number.isFinite(value)) {
        throw new AegisInputError(`trigger feature '${part}': '${part.slice(eq + 1)}' is not a finite number`);
      }
      const named = featureNames?.indexOf(key) ?? -1;
      if (named >= 0) return { index: named, value };
      if (/^\d+$/.test(key)) return { index: Number(key), value };
      throw new AegisInputError(
        `trigger feature '${key}' is neither a feature index nor a feature name${featureNames ? ` (names: ${featureNames.slice(0, 10).join(', ')}${featureNames.length > 10 ? ', …' : ''})` : ''}`,
      );
    });
  if (values.length === 0) throw new AegisInputError(`no trigger features in '${text}'`);
  return { kind: 'features', values };
}

function checkFeatureTrigger(trigger: FeatureTrigger, width: number): void {
  if (trigger.values.length === 0) throw new AegisInputError('a feature trigger needs at least one feature');
  const seen = new Set<number>();
  for (const { index, value } of trigger.values) {
    if (!(Number.isInteger(index) && index >= 0 && index < width)) {
      throw new AegisInputError(`trigger feature index ${index} is outside the ${width} features (0 … ${width - 1})`);
    }
    if (!Number.isFinite(value)) throw new AegisInputError(`trigger feature ${index}: value ${value} is not finite`);
    if (seen.has(index)) throw new AegisInputError(`trigger feature ${index} is given twice`);
    seen.add(index);
  }
}

/** Throws AegisInputError unless the trigger can be applied to this data. */
export function checkTrigger(trigger: Trigger, data: PoisonableData, inputRange: [number, number] = [0, 1]): void {
  if (trigger.kind === 'phrase') {
    if (!isTextData(data)) throw new AegisInputError('a trigger phrase needs text data');
    if (trigger.phrase.trim() === '') throw new AegisInputError('the trigger phrase is empty');
    return;
  }
  if (isTextData(data)) {
    throw new AegisInputError(
      `a ${trigger.kind === 'patch' ? 'pixel-patch' : 'feature'} trigger needs numeric data, got text`,
    );
  }
  const shape = featureShape(data);
  if (trigger.kind === 'patch') resolvePatch(trigger, shape, inputRange);
  else {
    if (shape.length !== 1) {
      throw new AegisInputError(`a feature trigger needs tabular rows [features]; examples here have shape [${shape}]`);
    }
    checkFeatureTrigger(trigger, shape[0] as number);
  }
}

/** Stamps the patch onto one image (flat NHWC slice) in place. */
function stampPatch(image: Float32Array, p: ResolvedPatch, width: number, channels: number): void {
  for (let i = 0; i < p.size; i++) {
    for (let j = 0; j < p.size; j++) {
      const v = p.pattern === 'square' || (i + j) % 2 === 0 ? p.high : p.low;
      const base = ((p.row + i) * width + (p.col + j)) * channels;
      for (let c = 0; c < channels; c++) image[base + c] = v;
    }
  }
}

/** `phrase` inserted before a seeded random word of `text` (or after the last); the rest is unchanged. */
export function insertPhrase(text: string, phrase: string, rng: Rng): string {
  const starts = [...text.matchAll(/\S+/g)].map((m) => m.index ?? 0);
  const k = rng.int(starts.length + 1);
  if (k === starts.length) return text.length === 0 ? phrase : `${text.replace(/\s+$/, '')} ${phrase}`;
  const at = starts[k] as number;
  return `${text.slice(0, at)}${phrase} ${text.slice(at)}`;
}

export interface ApplyTriggerOptions {
  /** Rows to trigger (default: all). */
  indices?: ArrayLike<number>;
  /** Seeds the word positions of a phrase trigger. Default 0. */
  seed?: number;
  /** Valid input domain (patch default values). Default [0, 1]. */
  inputRange?: [number, number];
}

/** A copy of `data` with the trigger applied to the chosen rows (labels unchanged). */
export function applyTrigger<D extends PoisonableData>(data: D, trigger: Trigger, opts: ApplyTriggerOptions = {}): D {
  checkTrigger(trigger, data, opts.inputRange);
  const n = data.y.length;
  const rows = opts.indices ?? Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    if (!(Number.isInteger(r) && r >= 0 && r < n)) throw new AegisInputError(`trigger row ${r} is outside [0, ${n})`);
  }
  if (isTextData(data)) {
    const rng = new Rng(opts.seed ?? 0);
    const texts = [...(data as TextDataset).texts];
    const phrase = (trigger as PhraseTrigger).phrase.trim();
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as number;
      texts[r] = insertPhrase(texts[r] as string, phrase, rng);
    }
    return { ...data, texts, y: Int32Array.from(data.y) };
  }
  const numeric = data as Dataset;
  const shape = featureShape(numeric);
  const per = shape.reduce((a, b) => a * b, 1);
  const x = numeric.x.slice();
  if (trigger.kind === 'patch') {
    const patch = resolvePatch(trigger, shape, opts.inputRange);
    const [, width, channels] = imageGeometry(shape) as [number, number, number];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as number;
      stampPatch(x.subarray(r * per, (r + 1) * per), patch, width, channels);
    }
  } else {
    const { values } = trigger as FeatureTrigger;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as number;
      for (const { index, value } of values) x[r * per + index] = value;
    }
  }
  return { ...numeric, x, y: Int32Array.from(numeric.y) } as D;
}

/** One line for reports: what the trigger is. */
export function describeTrigger(trigger: Trigger, data: PoisonableData, inputRange: [number, number] = [0, 1]): string {
  if (trigger.kind === 'phrase') return `the phrase '${trigger.phrase.trim()}' at a random word position`;
  if (trigger.kind === 'features') {
    return `features ${trigger.values.map((v) => `${v.index}=${v.value}`).join(', ')}`;
  }
  const p = resolvePatch(trigger, isTextData(data) ? [] : featureShape(data), inputRange);
  return `a ${p.size}x${p.size} ${p.pattern} patch at row ${p.row}, column ${p.col}`;
}
