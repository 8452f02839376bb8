/**
 * Training the attacker's shadow models (Shokri et al. 2017; Carlini et al. 2022): each shadow is
 * a fresh network of a chosen architecture trained on a subset of the attacker's pool, then
 * queried on a fixed set of records (under each augmentation). Only those logits come back, so
 * shadows can train in worker threads — each worker runs its own single-threaded wasm backend,
 * one shadow at a time — and the networks never cross a thread boundary.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type * as tfl from '@tensorflow/tfjs-layers';
import { AegisInputError } from '../../core/errors.js';
import { initRuntime, tf } from '../../core/runtime.js';
import type { Dataset } from '../../data/dataset.js';
import { buildLogisticRegression, buildMlp, buildSmallCnn } from '../../models/builders.js';
import { networkLogits } from '../../models/tfjs-model.js';
import { trainModel } from '../../models/train.js';
import type { Architecture } from '../../models/train-classifier.js';
import { type Augmentation, augmentImages } from './augment.js';

export interface ShadowSpec {
  arch: Architecture;
  epochs: number;
  /** Default 64. */
  batchSize?: number;
  /** Adam step size, default 1e-3. */
  learningRate?: number;
  /** Hidden layer sizes for 'mlp' (default [128, 64]). */
  hidden?: number[];
}

/** Plain-data view of a dataset (what crosses to a worker). */
export interface ShadowPool {
  x: Float32Array;
  y: Int32Array;
  /** Shape of one example. */
  shape: number[];
  numClasses: number;
}

export interface ShadowQueries {
  /** Rows of `pool.shape`, flattened. */
  x: Float32Array;
  augmentations: Augmentation[];
}

export interface ShadowJob {
  /** Pool indices the shadow trains on. */
  indices: Int32Array;
  seed: number;
}

export interface ShadowTrainingOptions {
  spec: ShadowSpec;
  pool: ShadowPool;
  queries: ShadowQueries;
  jobs: ShadowJob[];
  /** Worker threads; 0 or 1 trains in this thread. Default: defaultShadowWorkers(). */
  workers?: number;
  /** Epochs completed over all shadows. */
  onProgress?: (doneEpochs: number, totalEpochs: number) => void;
}

/**
 * Two workers on this project's 2-core machines: ~1.4x the throughput of training in-process
 * when the machine is otherwise idle (2,770 vs 2,000 samples/s for the small CNN, start-up
 * included), but ~0.85x while another job holds a core (bench/membership.ts --parts workers;
 * docs/benchmarks.md). Never more workers than cores. Pass workers: 1 on a busy machine.
 */
export function defaultShadowWorkers(): number {
  return Math.max(1, Math.min(2, availableParallelism()));
}

export function poolOf(data: Dataset, numClasses: number): ShadowPool {
  return { x: data.x, y: data.y, shape: data.shape.slice(1), numClasses };
}

export function checkSpec(spec: ShadowSpec): void {
  if (!Number.isInteger(spec.epochs) || spec.epochs <= 0) {
    throw new AegisInputError(`shadow models: epochs must be a positive integer, got ${spec.epochs}`);
  }
  if (spec.arch === 'cnn' && spec.hidden) throw new AegisInputError('shadow models: hidden sizes apply to mlp only');
}

function buildShadow(spec: ShadowSpec, inputShape: number[], numClasses: number, seed: number): tfl.Sequential {
  const o = { inputShape, numClasses, seed, name: `shadow-${spec.arch}` };
  if (spec.arch === 'cnn') {
    if (inputShape.length !== 3) {
      throw new AegisInputError(`shadow architecture cnn needs image data [h, w, c]; examples are [${inputShape}]`);
    }
    return buildSmallCnn(o);
  }
  if (spec.arch === 'mlp') return buildMlp({ ...o, hidden: spec.hidden });
  return buildLogisticRegression(o);
}

function gatherPool(pool: ShadowPool, indices: Int32Array): Dataset {
  const per = pool.shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(indices.length * per);
  const y = new Int32Array(indices.length);
  indices.forEach((j, i) => {
    x.set(pool.x.subarray(j * per, (j + 1) * per), i * per);
    y[i] = pool.y[j] as number;
  });
  const classNames = Array.from({ length: pool.numClasses }, (_, c) => `class ${c}`);
  return { name: 'shadow-training', x, y, shape: [indices.length, ...pool.shape], classNames };
}

/** Logits [augmentations][n][k] of a network on the query rows. */
function queryNetwork(net: tfl.LayersModel, pool: ShadowPool, queries: ShadowQueries): Float32Array {
  const per = pool.shape.reduce((a, b) => a * b, 1);
  const n = queries.x.length / per;
  const k = pool.numClasses;
  const out = new Float32Array(queries.augmentations.length * n * k);
  queries.augmentations.forEach((aug, a) => {
    const isIdentity = !aug.flip && aug.dx === 0 && aug.dy === 0;
    const rows = isIdentity ? queries.x : augmentImages(queries.x, pool.shape, aug);
    for (let start = 0; start < n; start += 512) {
      const count = Math.min(512, n - start);
      const logits = tf.tidy(() =>
        networkLogits(net, tf.tensor(rows.subarray(start * per, (start + count) * per), [count, ...pool.shape])),
      );
      out.set(logits.dataSync() as Float32Array, (a * n + start) * k);
      logits.dispose();
    }
  });
  return out;
}

/** Trains one shadow and returns its logits on the queries. */
export async function trainOneShadow(
  spec: ShadowSpec,
  pool: ShadowPool,
  queries: ShadowQueries,
  job: ShadowJob,
  onEpoch?: () => void,
): Promise<Float32Array> {
  await initRuntime();
  const net = buildShadow(spec, pool.shape, pool.numClasses, job.seed);
  try {
    await trainModel(net, gatherPool(pool, job.indices), {
      epochs: spec.epochs,
      batchSize: spec.batchSize ?? 64,
      learningRate: spec.learningRate ?? 1e-3,
      seed: job.seed,
      progress: onEpoch ? () => onEpoch() : false,
    });
    return queryNetwork(net, pool, queries);
  } finally {
    net.dispose();
  }
}

/** Messages between the main thread and shadow-worker.ts. */
export type ToWorker =
  | { type: 'init'; spec: ShadowSpec; pool: ShadowPool; queries: ShadowQueries }
  | { type: 'job'; id: number; job: ShadowJob };
export type FromWorker =
  | { type: 'epoch'; id: number }
  | { type: 'done'; id: number; logits: Float32Array }
  | { type: 'error'; id: number; message: string; input: boolean };

/** Trains every job's shadow (in worker threads when asked) and returns their logits in job order. */
export async function trainShadows(options: ShadowTrainingOptions): Promise<Float32Array[]> {
  checkSpec(options.spec);
  const workers = Math.min(options.workers ?? defaultShadowWorkers(), options.jobs.length);
  const total = options.jobs.length * options.spec.epochs;
  let done = 0;
  const tick = () => options.onProgress?.(++done, total);
  options.onProgress?.(0, total);
  if (workers <= 1) {
    const out: Float32Array[] = [];
    for (const job of options.jobs)
      out.push(await trainOneShadow(options.spec, options.pool, options.queries, job, tick));
    return out;
  }
  return trainInWorkers(options, workers, tick);
}

function spawnWorker(): Worker {
  // Under tsx (tests, the CLI) the worker entry is TypeScript: a small JS file registers tsx first.
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    const entry = new URL('./shadow-worker.ts', self).href;
    return new Worker(new URL('./shadow-worker-boot.mjs', self), { workerData: { entry } });
  }
  return new Worker(new URL('./shadow-worker.js', self));
}

async function trainInWorkers(
  options: ShadowTrainingOptions,
  count: number,
  tick: () => void,
): Promise<Float32Array[]> {
  const results: Float32Array[] = new Array(options.jobs.length);
  const pool = Array.from({ length: count }, spawnWorker);
  let next = 0;
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const give = () => {
              if (next >= options.jobs.length) return resolve();
              const id = next++;
              worker.postMessage({ type: 'job', id, job: options.jobs[id] } satisfies ToWorker);
            };
            worker.on('message', (message: FromWorker) => {
              if (message.type === 'epoch') tick();
              else if (message.type === 'done') {
                results[message.id] = message.logits;
                give();
              } else {
                reject(message.input ? new AegisInputError(message.message) : new Error(message.message));
              }
            });
            worker.on('error', reject);
            worker.on('exit', (code) => {
              if (code !== 0) reject(new Error(`shadow worker exited with code ${code}`));
            });
            const { spec, pool: data, queries } = options;
            worker.postMessage({ type: 'init', spec, pool: data, queries } satisfies ToWorker);
            give();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
  return results;
}
