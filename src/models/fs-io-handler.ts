/**
 * A tfjs IOHandler that reads and writes a model directory on the local file system, in the
 * standard tfjs layers format (model.json with topology + weightsManifest, weights in .bin files),
 * so models saved here load in tfjs anywhere and models saved by tfjs load here.
 * (@tensorflow/tfjs-node has its own `file://` handler, but it cannot be installed here.)
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { AegisInputError } from '../core/errors.js';
import { tf } from '../core/runtime.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Bytes per stored element of each dtype tfjs writes (quantized weights store their quantized dtype). */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Handler for `model.save(handler)` and `tfl.loadLayersModel(handler)` on the directory `dir`. */
export function fileSystemHandler(dir: string): tf.io.IOHandler {
  return {
    save: (artifacts) => saveArtifacts(dir, artifacts),
    load: () => loadArtifacts(dir),
  };
}

async function saveArtifacts(dir: string, artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new AegisInputError(`cannot save to '${dir}': binary (GraphDef) topologies are not supported`);
  }
  const weights = new Uint8Array(
    artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData),
  );
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology as object,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
  };
  if (artifacts.trainingConfig) modelJson.trainingConfig = artifacts.trainingConfig;
  if (artifacts.userDefinedMetadata) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, WEIGHTS_BIN), weights);
  await writeFile(join(dir, MODEL_JSON), JSON.stringify(modelJson));
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

async function loadArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const modelJson = readModelJson(dir);
  return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => readWeights(dir, manifest));
}

/** Parses and checks `dir/model.json`; anything missing or malformed is an AegisInputError. */
export function readModelJson(dir: string): tf.io.ModelJSON {
  const path = join(dir, MODEL_JSON);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AegisInputError(`model directory '${dir}' does not exist or is not a directory`);
  }
  if (!existsSync(path)) throw new AegisInputError(`model directory '${dir}' has no ${MODEL_JSON}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AegisInputError(`'${path}' is not valid JSON: ${(error as Error).message}`);
  }
  const json = parsed as Partial<tf.io.ModelJSON> | null;
  if (json === null || typeof json !== 'object' || typeof json.modelTopology !== 'object' || !json.modelTopology) {
    throw new AegisInputError(`'${path}' has no modelTopology object: not a tfjs layers model`);
  }
  if (!Array.isArray(json.weightsManifest)) {
    throw new AegisInputError(`'${path}' has no weightsManifest array: not a tfjs layers model`);
  }
  for (const group of json.weightsManifest) {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new AegisInputError(`'${path}': every weightsManifest entry needs 'paths' and 'weights' arrays`);
    }
  }
  return json as tf.io.ModelJSON;
}

/** Reads the weight files the manifest names (inside `dir` only) and checks their total size. */
async function readWeights(
  dir: string,
  manifest: tf.io.WeightsManifestConfig,
): Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]> {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const group of manifest) {
    specs.push(...group.weights);
    for (const relative of group.paths) {
      const file = resolveInside(dir, relative);
      if (!existsSync(file)) throw new AegisInputError(`model directory '${dir}' lacks weight file '${relative}'`);
      parts.push(await readFile(file));
    }
  }
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const expected = specs.reduce((n, s) => n + specBytes(s, dir), 0);
  if (total !== expected) {
    throw new AegisInputError(
      `model directory '${dir}': weight files hold ${total} bytes but the manifest describes ${expected} (truncated or mismatched weights)`,
    );
  }
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    joined.set(p, offset);
    offset += p.byteLength;
  }
  return [specs, joined.buffer];
}

function specBytes(spec: tf.io.WeightsManifestEntry, dir: string): number {
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const bytes = DTYPE_BYTES[dtype];
  if (bytes === undefined || !Array.isArray(spec.shape)) {
    throw new AegisInputError(`model directory '${dir}': weight '${spec.name}' has unsupported dtype '${dtype}'`);
  }
  return spec.shape.reduce((a, b) => a * b, 1) * bytes;
}

/** A manifest path must stay inside the model directory (no absolute paths, no '..'). */
function resolveInside(dir: string, relative: string): string {
  const clean = typeof relative === 'string' ? normalize(relative) : '..';
  if (isAbsolute(clean) || clean === '..' || clean.startsWith(`..${sep}`)) {
    throw new AegisInputError(`model directory '${dir}': weight path '${relative}' points outside the directory`);
  }
  return join(dir, clean);
}
