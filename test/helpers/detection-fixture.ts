/**
 * A small CNN trained on the bundled Fashion-MNIST subset, with disjoint clean splits for
 * detector tests: `train` (the model's training data, also what Mahalanobis fits on),
 * `calibration` (thresholds: test images 0–499) and `heldOut` (evaluation: test images 500–999).
 *
 *   const f = await detectionFixture();
 *
 * Training is seeded, so the network is the same every time; it is saved once under the OS temp
 * folder and loaded by later test files (~25 s of training saved per file on 2 busy cores).
 */
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRuntime } from '../../src/core/runtime.js';
import { type Dataset, slice } from '../../src/data/dataset.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { loadTfjsModel, saveTfjsModel, type TfjsModel } from '../../src/models/tfjs-model.js';
import { trainClassifier } from '../../src/models/train-classifier.js';

export interface DetectionFixture {
  model: TfjsModel;
  train: Dataset;
  calibration: Dataset;
  heldOut: Dataset;
}

const TRAIN_SIZE = 3000;
const EPOCHS = 4;
const SEED = 7;
/** Bump when the recipe changes, so a stale saved network is never reused. */
const CACHE_DIR = join(tmpdir(), `aegis-detection-fixture-v1-cnn-${TRAIN_SIZE}-${EPOCHS}-${SEED}`);

let cached: Promise<DetectionFixture> | undefined;

async function trainedModel(train: Dataset): Promise<TfjsModel> {
  if (existsSync(join(CACHE_DIR, 'aegis.json'))) {
    try {
      return await loadTfjsModel(CACHE_DIR);
    } catch {
      // A damaged cache: train again below.
    }
  }
  const { model } = await trainClassifier('cnn', train, { epochs: EPOCHS, seed: SEED, progress: false });
  // Save beside the final name and rename, so a parallel test file never loads half a model.
  const partial = `${CACHE_DIR}.${process.pid}`;
  try {
    await saveTfjsModel(model, partial);
    await rename(partial, CACHE_DIR);
  } catch {
    await rm(partial, { recursive: true, force: true }); // another process saved it first
  }
  return model;
}

async function build(): Promise<DetectionFixture> {
  await initRuntime();
  const train = loadFashionMnist({ split: 'train', source: 'bundled', limit: TRAIN_SIZE });
  const test = loadFashionMnist({ split: 'test', source: 'bundled' });
  const model = await trainedModel(train);
  return { model, train, calibration: slice(test, 0, 500), heldOut: slice(test, 500, 1000) };
}

export function detectionFixture(): Promise<DetectionFixture> {
  cached ??= build();
  return cached;
}
