/**
 * Inputs for `aegis monitor`: any data spec the other commands take (CSV, NPZ, IDX, bundled…, with [start:end]),
 * plus what drift checks often get and datasets are not — unlabelled arrays: a .npy file, or an .npz holding only
 * inputs (`x`, or its single array). Images come out NHWC in [0, 1] as elsewhere.
 */
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { AegisInputError } from '../core/errors.js';
import { csvRecords, readCsv } from '../data/csv.js';
import { type NdArray, readNpyFile, toFloat32 } from '../data/npy.js';
import { readNpzFile } from '../data/npz.js';
import { looksNchw, nchwToNhwc } from '../data/npz-dataset.js';
import { encodeTabularFeatures, type TabularDataset, type TabularSchema } from '../data/tabular-schema.js';
import { loadDataSpec, parseDataSpec } from './data-spec.js';

export interface MonitorInputs {
  name: string;
  /** n × product(featureShape), row-major. */
  x: Float32Array;
  n: number;
  featureShape: number[];
  /** CSV: the schema the features were encoded with (the current file must use the reference's). */
  schema?: TabularSchema;
}

function fromArray(arr: NdArray, where: string): { x: Float32Array; shape: number[] } {
  if (arr.dtype === 'bool' || arr.shape.length < 2) {
    throw new AegisInputError(
      `${where}: inputs must be a numeric array [n, ...features], got ${arr.dtype} [${arr.shape}]`,
    );
  }
  let x = toFloat32(arr);
  if (arr.dtype === 'uint8') x = x.map((v) => v / 255);
  let shape = [...arr.shape];
  if (shape.length === 3) shape = [...shape, 1];
  else if (looksNchw(shape)) {
    x = nchwToNhwc(x, shape);
    shape = [shape[0] as number, shape[2] as number, shape[3] as number, shape[1] as number];
  }
  return { x, shape };
}

/** The input array of an unlabelled .npz: `x`, else its only array. */
function npzInputs(path: string): NdArray {
  const arrays = readNpzFile(path);
  const names = Object.keys(arrays);
  const name = 'x' in arrays ? 'x' : names.length === 1 ? names[0] : undefined;
  if (name === undefined) {
    throw new AegisInputError(`${path}: no input/label pair and no array named 'x' (arrays: ${names.join(', ')})`);
  }
  return arrays[name] as NdArray;
}

function rawArray(flag: string, text: string): MonitorInputs {
  const spec = parseDataSpec(flag, text);
  const path = spec.path;
  const arr = path.toLowerCase().endsWith('.npy') ? readNpyFile(path) : npzInputs(path);
  const { x, shape } = fromArray(arr, `${flag} ${path}`);
  const total = shape[0] as number;
  const start = spec.start ?? 0;
  const end = spec.end ?? total;
  if (start >= total || end > total) {
    throw new AegisInputError(`${flag}: range [${start}:${end}] is outside '${basename(path)}' (${total} records)`);
  }
  const per = x.length / total;
  const part = x.subarray(start * per, end * per);
  for (let i = 0; i < part.length; i++) {
    if (!Number.isFinite(part[i])) {
      throw new AegisInputError(
        `${flag} ${path}: value ${part[i]} of example ${start + Math.floor(i / per)} is not finite`,
      );
    }
  }
  const name = start === 0 && end === total ? basename(path) : `${basename(path)}[${start}:${end}]`;
  return { name, x: part, n: end - start, featureShape: shape.slice(1) };
}

/**
 * A CSV/TSV file encoded with a given schema, features only: drift compares inputs, so the label
 * column may be absent (unlabelled production data) or hold classes the reference never had.
 */
function csvFeatures(flag: string, text: string, schema: TabularSchema): MonitorInputs {
  const spec = parseDataSpec(flag, text);
  const path = spec.path;
  const table = readCsv(path, path.toLowerCase().endsWith('.tsv') ? { delimiter: '\t' } : {});
  const total = table.rows.length;
  if (total === 0) throw new AegisInputError(`${path}: CSV has a header but no data rows`);
  const missing = schema.columns.map((c) => c.name).filter((name) => !table.header.includes(name));
  if (missing.length > 0) {
    throw new AegisInputError(`${path}: columns [${missing.join(', ')}] of the reference are missing from the CSV`);
  }
  const start = spec.start ?? 0;
  const end = spec.end ?? total;
  if (start >= total || end > total) {
    throw new AegisInputError(`${flag}: range [${start}:${end}] is outside '${basename(path)}' (${total} records)`);
  }
  const rows = csvRecords({ ...table, rows: table.rows.slice(start, end) });
  const { x } = encodeTabularFeatures(schema, rows, { source: path, lines: table.lines.slice(start, end) });
  const stem = basename(path).replace(/\.[^.]*$/, '');
  const name = start === 0 && end === total ? stem : `${stem}[${start}:${end}]`;
  return { name, x, n: end - start, featureShape: [schema.featureNames.length], schema };
}

/** Loads the examples `text` names; `schema` encodes CSV files as the reference was. */
export async function loadMonitorInputs(
  flag: string,
  text: string,
  opts: { schema?: TabularSchema; labelColumn?: string } = {},
): Promise<MonitorInputs> {
  const given = parseDataSpec(flag, text).path;
  // A FIFO or a device would block the read forever (files, folders and keywords like 'bundled' pass).
  if (existsSync(given)) {
    const stats = statSync(given);
    if (!stats.isFile() && !stats.isDirectory()) {
      throw new AegisInputError(`${flag}: '${given}' is not a regular file or a folder`);
    }
  }
  const path = given.toLowerCase();
  if (path.endsWith('.npy')) return rawArray(flag, text);
  if (opts.schema && (path.endsWith('.csv') || path.endsWith('.tsv'))) return csvFeatures(flag, text, opts.schema);
  try {
    const data = await loadDataSpec(flag, text, {
      ...(opts.schema ? { schema: opts.schema } : {}),
      ...(opts.labelColumn ? { labelColumn: opts.labelColumn } : {}),
    });
    return {
      name: data.name,
      x: data.x,
      n: data.shape[0] as number,
      featureShape: data.shape.slice(1),
      ...((data as TabularDataset).schema ? { schema: (data as TabularDataset).schema } : {}),
    };
  } catch (error) {
    // An .npz of inputs only (no labels) is fine for drift checks.
    if (path.endsWith('.npz') && error instanceof AegisInputError && /found no input\/label pair/.test(error.message)) {
      return rawArray(flag, text);
    }
    throw error;
  }
}
