/**
 * Checkpoints of the training loop (train.ts): the network as a standard model directory
 * (saveTfjsModel: model.json, weights.bin, aegis.json) plus the loop's own state, so a run that
 * stops can continue where it was and end with the same weights as an uninterrupted run:
 *
 *   train-state.json  epoch reached, history, early-stopping bookkeeping, Adam's step count and
 *                     bias-correction powers, and the shapes of the tensors below
 *   train-state.bin   float32 values of Adam's first and second moments, then the best-weights snapshot
 *
 * The RNG position is not stored: the loop replays the draws of the epochs already run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../core/errors.js';
import { tf } from '../core/runtime.js';
import { loadTfjsModel, saveTfjsModel } from './tfjs-model.js';
import type { EpochStats } from './train.js';

export const TRAIN_STATE_JSON = 'train-state.json';
export const TRAIN_STATE_BIN = 'train-state.bin';
const FORMAT = 'aegis-train-state';

/** What must match between the run that saved a checkpoint and the run that resumes it. */
export interface RunKey {
  seed: number;
  examples: number;
  batchSize: number;
  /** Whether the run had per-batch hooks (they draw one more seed per batch). */
  hooked: boolean;
}

export interface CheckpointState extends RunKey {
  /** Last completed epoch. */
  epoch: number;
  history: EpochStats[];
  best: number;
  bestEpoch: number;
  sinceBest: number;
  stoppedEarly: boolean;
  /** Best weights so far (early stopping only). */
  snapshot?: tf.Tensor[];
}

interface OptimizerState {
  iterations: number;
  accBeta1: number;
  accBeta2: number;
  moments: Array<{ name: string; shape: number[] }>;
}

/** A loaded checkpoint; the caller owns (and disposes) `snapshot` and `moments`. */
export interface LoadedCheckpoint extends CheckpointState {
  optimizer: OptimizerState;
  moments: tf.Tensor[];
}

/** tfjs's Adam keeps the running powers beta^t in private variables; exact resumption needs them. */
interface AdamInternals {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

/** Writes the network and the loop state to `dir` (created if needed; an older checkpoint there is replaced). */
export async function saveCheckpoint(
  dir: string,
  network: tfl.LayersModel,
  optimizer: tf.Optimizer,
  state: CheckpointState,
): Promise<void> {
  const weights = await optimizer.getWeights();
  const [iter, ...moments] = weights;
  const iterations = iter ? ((await iter.tensor.data())[0] ?? 0) : 0;
  iter?.tensor.dispose(); // a fresh scalar; the moments are the optimizer's own variables
  const internals = optimizer as unknown as AdamInternals;
  const scalarOf = (v: tf.Variable | undefined) => (v ? ((v.dataSync() as Float32Array)[0] ?? 1) : 1);
  const tensors = [...moments.map((m) => m.tensor), ...(state.snapshot ?? [])];
  const total = tensors.reduce((sum, t) => sum + t.size, 0);
  const values = new Float32Array(total);
  let offset = 0;
  for (const t of tensors) {
    values.set((await t.data()) as Float32Array, offset);
    offset += t.size;
  }
  const json = {
    format: FORMAT,
    version: 1,
    seed: state.seed,
    examples: state.examples,
    batchSize: state.batchSize,
    hooked: state.hooked,
    epoch: state.epoch,
    history: state.history,
    best: Number.isFinite(state.best) ? state.best : null,
    bestEpoch: state.bestEpoch,
    sinceBest: state.sinceBest,
    stoppedEarly: state.stoppedEarly,
    optimizer: {
      iterations,
      accBeta1: scalarOf(internals.accBeta1),
      accBeta2: scalarOf(internals.accBeta2),
      moments: moments.map((m) => ({ name: m.name, shape: m.tensor.shape })),
    } satisfies OptimizerState,
    snapshot: state.snapshot ? state.snapshot.map((t) => t.shape) : null,
  };
  await saveTfjsModel(network, dir, { training: { checkpoint: { epoch: state.epoch, seed: state.seed } } });
  await writeFile(join(dir, TRAIN_STATE_BIN), values);
  // The JSON goes last, through a rename: a checkpoint interrupted while writing keeps its old state file.
  const tmp = join(dir, `${TRAIN_STATE_JSON}.tmp`);
  await writeFile(tmp, `${JSON.stringify(json)}\n`);
  await rename(tmp, join(dir, TRAIN_STATE_JSON));
}

/**
 * Reads a checkpoint, checks it belongs to this run (same seed, data size, batch size, hooks) and
 * to this network (same weight shapes), and copies its weights into `network`.
 */
export async function loadCheckpoint(dir: string, network: tfl.LayersModel, key: RunKey): Promise<LoadedCheckpoint> {
  const statePath = join(dir, TRAIN_STATE_JSON);
  if (!existsSync(statePath)) {
    throw new AegisInputError(`cannot resume from '${dir}': it has no ${TRAIN_STATE_JSON} (not a training checkpoint)`);
  }
  const json = parseState(statePath);
  for (const field of ['seed', 'examples', 'batchSize', 'hooked'] as const) {
    if (json[field] !== key[field]) {
      throw new AegisInputError(
        `cannot resume from '${dir}': the checkpoint was made with ${field} ${json[field]}, this run has ${key[field]}`,
      );
    }
  }
  const saved = await loadTfjsModel(dir);
  try {
    const target = network.getWeights();
    const source = saved.network.getWeights();
    const same =
      target.length === source.length && target.every((w, i) => w.shape.join(',') === source[i]?.shape.join(','));
    if (!same) {
      throw new AegisInputError(`cannot resume from '${dir}': its weights do not fit model '${network.name}'`);
    }
    network.setWeights(source);
  } finally {
    saved.dispose();
  }
  const shapes = [...json.optimizer.moments.map((m) => m.shape), ...(json.snapshot ?? [])];
  const values = readValues(join(dir, TRAIN_STATE_BIN), shapes);
  const tensors: tf.Tensor[] = [];
  let offset = 0;
  for (const shape of shapes) {
    const count = shape.reduce((a, b) => a * b, 1);
    tensors.push(tf.tensor(values.subarray(offset, offset + count), shape, 'float32'));
    offset += count;
  }
  const moments = tensors.slice(0, json.optimizer.moments.length);
  const snapshot = json.snapshot ? tensors.slice(json.optimizer.moments.length) : undefined;
  return {
    seed: json.seed,
    examples: json.examples,
    batchSize: json.batchSize,
    hooked: json.hooked,
    epoch: json.epoch,
    history: json.history,
    best: json.best ?? Number.POSITIVE_INFINITY,
    bestEpoch: json.bestEpoch,
    sinceBest: json.sinceBest,
    stoppedEarly: json.stoppedEarly,
    snapshot,
    optimizer: json.optimizer,
    moments,
  };
}

/** Puts the saved Adam state into a fresh optimizer and frees the loaded moment tensors. */
export async function restoreOptimizer(optimizer: tf.Optimizer, state: LoadedCheckpoint): Promise<void> {
  const { optimizer: o, moments } = state;
  try {
    if (moments.length === 0) return; // saved before the first step
    const iter = tf.scalar(o.iterations, 'int32');
    await optimizer.setWeights([
      { name: 'iter', tensor: iter },
      ...moments.map((tensor, i) => ({ name: o.moments[i]?.name ?? `m${i}`, tensor })),
    ]);
    iter.dispose();
    // setWeights recomputes beta^(t+1) with pow; the saved running products make the next step bit-identical.
    const internals = optimizer as unknown as AdamInternals;
    tf.tidy(() => {
      internals.accBeta1?.assign(tf.scalar(o.accBeta1));
      internals.accBeta2?.assign(tf.scalar(o.accBeta2));
    });
  } finally {
    tf.dispose(moments); // the optimizer's variables hold their own references
  }
}

interface StateJson {
  format: string;
  version: number;
  seed: number;
  examples: number;
  batchSize: number;
  hooked: boolean;
  epoch: number;
  history: EpochStats[];
  best: number | null;
  bestEpoch: number;
  sinceBest: number;
  stoppedEarly: boolean;
  optimizer: OptimizerState;
  snapshot: number[][] | null;
}

function parseState(path: string): StateJson {
  let json: Partial<StateJson>;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AegisInputError(`'${path}' is not valid JSON: ${(error as Error).message}`);
  }
  const ok =
    json.format === FORMAT &&
    json.version === 1 &&
    Number.isInteger(json.epoch) &&
    Array.isArray(json.history) &&
    Array.isArray(json.optimizer?.moments);
  if (!ok) throw new AegisInputError(`'${path}' is not an Aegis training state (format ${FORMAT}, version 1)`);
  return json as StateJson;
}

function readValues(path: string, shapes: number[][]): Float32Array {
  if (!existsSync(path)) throw new AegisInputError(`checkpoint file '${path}' is missing`);
  const bytes = readFileSync(path);
  const expected = shapes.reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0) * 4;
  if (bytes.byteLength !== expected) {
    throw new AegisInputError(`'${path}' has ${bytes.byteLength} bytes, expected ${expected} (truncated or corrupt)`);
  }
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
