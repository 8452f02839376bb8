/**
 * Opens a model from what a user types: an ONNX file, a saved tfjs model directory, or
 * an http(s) endpoint. The access level asked for picks the adapter: white-box attacks
 * get a differentiable tfjs graph (ONNX files are imported), black-box attacks can use
 * ONNX Runtime, and a model can always be seen through a narrower window than it grants.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AegisInputError } from '../core/errors.js';
import { type Access, accessCovers } from '../core/threat-model.js';
import { parseSchema, type TabularSchema } from '../data/tabular-schema.js';
import { HttpModel } from './http-model.js';
import type { Model } from './model.js';
import { importOnnxModel } from './onnx-import.js';
import { loadOnnxModel } from './onnx-model.js';
import { QueryCountingModel } from './query-counter.js';
import { AEGIS_JSON, loadTfjsModel } from './tfjs-model.js';

export interface LoadModelOptions {
  /** The access to grant attacks (default: the most the model offers). */
  access?: Access;
  /** Needed for http endpoints: one example's shape and the number of classes. */
  inputShape?: number[];
  numClasses?: number;
  classNames?: string[];
  /** Extra HTTP headers (e.g. an API key) for endpoints. */
  headers?: Record<string, string>;
}

function isUrl(spec: string): boolean {
  return /^https?:\/\//i.test(spec);
}

async function openOnnx(path: string, opts: LoadModelOptions): Promise<Model> {
  const common = { classNames: opts.classNames };
  if (opts.access === 'scores' || opts.access === 'labels') return loadOnnxModel(path, common);
  try {
    return await importOnnxModel(path, common);
  } catch (error) {
    // Ops the importer lacks: still usable black-box through ONNX Runtime, unless gradients were demanded.
    if (opts.access === 'gradients' || !(error instanceof AegisInputError) || !/does not support/.test(error.message)) {
      throw error;
    }
    process.emitWarning(`aegis: ${error.message}; continuing with scores access`);
    return loadOnnxModel(path, common);
  }
}

/** The headers for an endpoint: the given ones, else `Authorization: Bearer $AEGIS_API_KEY` when set (an Aegis gateway key). */
function endpointHeaders(opts: LoadModelOptions): Record<string, string> | undefined {
  if (opts.headers) return opts.headers;
  const key = process.env.AEGIS_API_KEY?.trim();
  return key ? { authorization: `Bearer ${key}` } : undefined;
}

function openHttp(url: string, opts: LoadModelOptions): Model {
  if (!opts.inputShape || !opts.numClasses) {
    throw new AegisInputError(`model endpoint ${url} needs --input-shape and --num-classes`);
  }
  if (opts.access === 'gradients') throw new AegisInputError(`model endpoint ${url} cannot give gradients`);
  return new HttpModel({
    url,
    access: opts.access ?? 'scores',
    inputShape: opts.inputShape,
    numClasses: opts.numClasses,
    classNames: opts.classNames,
    headers: endpointHeaders(opts),
  });
}

/** Opens `spec` and narrows it to `opts.access` when that is less than the model grants. */
export async function loadModel(spec: string, opts: LoadModelOptions = {}): Promise<Model> {
  let model: Model;
  if (isUrl(spec)) {
    model = openHttp(spec, opts);
  } else if (!existsSync(spec)) {
    throw new AegisInputError(`model '${spec}' does not exist (give an .onnx file, a saved model directory or a URL)`);
  } else if (statSync(spec).isDirectory()) {
    model = await loadTfjsModel(spec);
  } else if (spec.toLowerCase().endsWith('.onnx')) {
    model = await openOnnx(spec, opts);
  } else {
    throw new AegisInputError(`model '${spec}': unknown format (give an .onnx file, a saved model directory or a URL)`);
  }
  const want = opts.access;
  if (want && want !== model.info.access) {
    if (!accessCovers(model.info.access, want)) {
      throw new AegisInputError(`model '${spec}' grants '${model.info.access}' access, not '${want}'`);
    }
    return new QueryCountingModel(model, want);
  }
  return model;
}

/**
 * The CSV schema a model directory was trained with (aegis.json `tabular`), so test data is
 * encoded exactly as the training data was; undefined for other models.
 */
export function tabularSchemaOf(spec: string): TabularSchema | undefined {
  const meta = join(spec, AEGIS_JSON);
  if (isUrl(spec) || !existsSync(meta)) return undefined;
  const tabular = (JSON.parse(readFileSync(meta, 'utf8')) as { tabular?: unknown }).tabular;
  return tabular === undefined ? undefined : parseSchema(tabular, meta);
}
