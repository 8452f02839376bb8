/**
 * Data specs on the command line: a path or keyword with an optional split and row range,
 * `path[:train|:test][[start:end]]`. `bundled:train[0:1000]` is the first 1000 bundled Fashion-MNIST
 * training images, `data.npz[100:]` all but the first 100 records, `sms-spam[0:2000]` the first
 * 2000 SMS messages. Shared by the attack subcommands.
 */
import { AegisInputError } from '../core/errors.js';
import { type Dataset, size, slice } from '../data/dataset.js';
import { type LoadDatasetOptions, loadDataset } from '../data/load-dataset.js';
import { type LoadTextOptions, loadTextDataset, sliceTexts, type TextDataset } from '../data/text-dataset.js';

export interface DataSpec {
  path: string;
  split?: 'train' | 'test';
  start?: number;
  end?: number;
}

/** `path[:train|:test][[start:end]]` → its parts; bad ranges are input errors naming the flag. */
export function parseDataSpec(flag: string, text: string): DataSpec {
  const match = /^(.*?)(?::(train|test))?(?:\[(\d*):(\d*)\])?$/.exec(text.trim());
  const path = match?.[1] ?? '';
  if (!match || path.length === 0) throw new AegisInputError(`${flag}: '${text}' names no data`);
  const spec: DataSpec = { path };
  if (match[2]) spec.split = match[2] as 'train' | 'test';
  if (match[3]) spec.start = Number(match[3]);
  if (match[4]) spec.end = Number(match[4]);
  if (spec.start !== undefined && spec.end !== undefined && spec.end <= spec.start) {
    throw new AegisInputError(`${flag}: range [${spec.start}:${spec.end}] in '${text}' is empty`);
  }
  return spec;
}

/** [start, end) of a spec within `total` records; out-of-range is an input error naming the flag. */
function rangeOf(flag: string, spec: DataSpec, total: number, name: string): [number, number] {
  const start = spec.start ?? 0;
  const end = spec.end ?? total;
  if (end > total || start >= total) {
    throw new AegisInputError(`${flag}: range [${start}:${end}] is outside '${name}' (${total} records)`);
  }
  return [start, end];
}

function ranged(spec: DataSpec, name: string, start: number, end: number): string {
  return spec.start !== undefined || spec.end !== undefined ? `${name}[${start}:${end}]` : name;
}

/** Loads the numeric dataset a spec names (options such as labelColumn or a tabular schema pass through). */
export async function loadDataSpec(flag: string, text: string, opts: LoadDatasetOptions = {}): Promise<Dataset> {
  const spec = parseDataSpec(flag, text);
  const data = await loadDataset(spec.path, { ...opts, ...(spec.split ? { split: spec.split } : {}) });
  const [start, end] = rangeOf(flag, spec, size(data), data.name);
  const part = start === 0 && end === size(data) ? data : slice(data, start, end);
  return { ...part, name: ranged(spec, data.name, start, end) };
}

/** Loads the labelled texts a spec names (a split suffix is meaningless for text and refused). */
export function loadTextSpec(flag: string, text: string, opts: LoadTextOptions = {}): TextDataset {
  const spec = parseDataSpec(flag, text);
  if (spec.split) throw new AegisInputError(`${flag}: text data has no '${spec.split}' split; use a range [start:end]`);
  const data = loadTextDataset(spec.path, opts);
  const [start, end] = rangeOf(flag, spec, data.texts.length, data.name);
  const part = start === 0 && end === data.texts.length ? data : sliceTexts(data, start, end);
  return { ...part, name: ranged(spec, data.name, start, end) };
}
